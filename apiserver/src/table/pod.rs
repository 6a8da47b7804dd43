//! Pods: READY, the STATUS reason kubectl users know (`Init:0/1`, `CrashLoopBackOff`,
//! `Terminating`, `Completed`…), RESTARTS with the last restart's age.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::age::{age, since, timestamp};
use super::format::{bool_at, int_at, items_at, name, or_none, str_at};
use super::{AGE, Column, NAME, TableDef};
use crate::pointer::At;

/// Pods.
pub static POD: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Ready",
            "The aggregate readiness state of this pod for accepting traffic.",
        ),
        Column::text(
            "Status",
            "The aggregate status of the containers in this pod.",
        ),
        Column::text(
            "Restarts",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        AGE,
        Column::wide(
            "IP",
            "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
        ),
        Column::wide(
            "Node",
            "NodeName indicates in which node this pod is scheduled.",
        ),
        Column::wide(
            "Nominated Node",
            "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.",
        ),
        Column::wide(
            "Readiness Gates",
            "If specified, all readiness gates will be evaluated for pod readiness.",
        ),
    ],
    cells,
};

/// What the READY, STATUS and RESTARTS cells summarize.
#[derive(Debug, PartialEq)]
struct Summary {
    ready: usize,
    total: usize,
    reason: String,
    restarts: i64,
    last_restart: Option<Timestamp>,
}

fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// When the container last terminated before its current run.
fn last_termination(status: &Value) -> Option<Timestamp> {
    status
        .at("/lastState/terminated")
        .and_then(|t| timestamp(t.get("finishedAt")))
}

/// `Signal:9` / `ExitCode:1` for a terminated state without a reason.
fn exit_reason(terminated: &Value) -> String {
    let signal = int_at(terminated, "/signal");
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", int_at(terminated, "/exitCode"))
    }
}

fn condition_true(pod: &Value, kind: &str) -> bool {
    items_at(pod, "/status/conditions")
        .iter()
        .any(|c| str_at(c, "/type") == kind && str_at(c, "/status") == "True")
}

fn summarize(pod: &Value) -> Summary {
    let init_specs = items_at(pod, "/spec/initContainers");
    // Sidecars: init containers that keep running (`restartPolicy: Always`).
    let sidecar = |name: &str| {
        init_specs
            .iter()
            .any(|c| str_at(c, "/name") == name && str_at(c, "/restartPolicy") == "Always")
    };
    let mut s = Summary {
        ready: 0,
        total: items_at(pod, "/spec/containers").len()
            + init_specs
                .iter()
                .filter(|c| str_at(c, "/restartPolicy") == "Always")
                .count(),
        reason: String::new(),
        restarts: 0,
        last_restart: None,
    };
    let phase = str_at(pod, "/status/phase");
    s.reason = match str_at(pod, "/status/reason") {
        "" => phase.to_owned(),
        r => r.to_owned(),
    };
    let gated = items_at(pod, "/status/conditions")
        .iter()
        .any(|c| str_at(c, "/type") == "PodScheduled" && str_at(c, "/reason") == "SchedulingGated");
    if gated {
        s.reason = "SchedulingGated".to_owned();
    }

    let mut sidecar_restarts = 0;
    let mut sidecar_last_restart = None;
    let mut initializing = false;
    for (i, cs) in items_at(pod, "/status/initContainerStatuses")
        .iter()
        .enumerate()
    {
        let restart_count = int_at(cs, "/restartCount");
        s.restarts += restart_count;
        s.last_restart = later(s.last_restart, last_termination(cs));
        let is_sidecar = sidecar(str_at(cs, "/name"));
        if is_sidecar {
            sidecar_restarts += restart_count;
            sidecar_last_restart = later(sidecar_last_restart, last_termination(cs));
        }
        let terminated = cs.at("/state/terminated").filter(|t| !t.is_null());
        let waiting_reason = str_at(cs, "/state/waiting/reason");
        if terminated.is_some_and(|t| int_at(t, "/exitCode") == 0) {
            continue;
        }
        if is_sidecar && bool_at(cs, "/started") {
            if bool_at(cs, "/ready") {
                s.ready += 1;
            }
            continue;
        }
        s.reason = if let Some(t) = terminated {
            match str_at(t, "/reason") {
                "" => format!("Init:{}", exit_reason(t)),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        s.restarts = sidecar_restarts;
        s.last_restart = sidecar_last_restart;
        let mut has_running = false;
        for cs in items_at(pod, "/status/containerStatuses").iter().rev() {
            s.restarts += int_at(cs, "/restartCount");
            s.last_restart = later(s.last_restart, last_termination(cs));
            let terminated = cs.at("/state/terminated").filter(|t| !t.is_null());
            let waiting_reason = str_at(cs, "/state/waiting/reason");
            if !waiting_reason.is_empty() {
                s.reason = waiting_reason.to_owned();
            } else if let Some(t) = terminated {
                s.reason = match str_at(t, "/reason") {
                    "" => exit_reason(t),
                    r => r.to_owned(),
                };
            } else if bool_at(cs, "/ready") && cs.at("/state/running").is_some_and(|r| !r.is_null())
            {
                has_running = true;
                s.ready += 1;
            }
        }
        // A pod whose last container completed but others still run is not completed.
        if s.reason == "Completed" && has_running {
            s.reason = if condition_true(pod, "Ready") {
                "Running".to_owned()
            } else {
                "NotReady".to_owned()
            };
        }
    }

    let deleting = pod
        .at("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null());
    if deleting && str_at(pod, "/status/reason") == "NodeLost" {
        s.reason = "Unknown".to_owned();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        s.reason = "Terminating".to_owned();
    }
    s
}

fn readiness_gates(pod: &Value) -> String {
    let gates = items_at(pod, "/spec/readinessGates");
    if gates.is_empty() {
        return "<none>".to_owned();
    }
    let conditions = items_at(pod, "/status/conditions");
    let met = gates
        .iter()
        .filter(|g| {
            let kind = str_at(g, "/conditionType");
            conditions
                .iter()
                .find(|c| str_at(c, "/type") == kind)
                .is_some_and(|c| str_at(c, "/status") == "True")
        })
        .count();
    format!("{met}/{}", gates.len())
}

fn cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let s = summarize(pod);
    let restarts = match s.last_restart {
        Some(t) if s.restarts != 0 => format!("{} ({} ago)", s.restarts, since(Some(t), now)),
        _ => s.restarts.to_string(),
    };
    let mut ip = str_at(pod, "/status/podIPs/0/ip");
    if ip.is_empty() {
        ip = str_at(pod, "/status/podIP");
    }
    vec![
        name(pod),
        Value::String(format!("{}/{}", s.ready, s.total)),
        Value::String(s.reason),
        Value::String(restarts),
        age(pod, now),
        Value::String(or_none(ip)),
        Value::String(or_none(str_at(pod, "/spec/nodeName"))),
        Value::String(or_none(str_at(pod, "/status/nominatedNodeName"))),
        Value::String(readiness_gates(pod)),
    ]
}

/// The row conditions upstream attaches to finished pods.
pub(super) fn row_conditions(pod: &Value) -> Option<Value> {
    let (reason, message) = match str_at(pod, "/status/phase") {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

#[cfg(test)]
#[path = "pod_tests.rs"]
mod tests;

//! A pod's API status from what the runtime and the prober report (upstream's
//! `generateAPIPodStatus`, `getPhase` and `convertToAPIContainerStatuses`). Pure.

use std::collections::HashMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    Container, ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus as ApiStatus, HostIP, Pod, PodCondition, PodIP,
    PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::runtime::{ContainerState, ContainerStatus, ProbeKind, SandboxStatus};

/// Why a container is not running, as the sync decided (`CrashLoopBackOff`,
/// `ErrImagePull`, `CreateContainerConfigError`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Waiting {
    pub(crate) reason: String,
    pub(crate) message: Option<String>,
}

/// Everything a status is computed from.
pub(crate) struct Snapshot<'a> {
    pub(crate) pod: &'a Pod,
    /// Prefix of container ids (`containerd://…`).
    pub(crate) runtime_name: &'a str,
    pub(crate) sandbox: Option<&'a SandboxStatus>,
    /// Every container of the pod the runtime holds, all attempts.
    pub(crate) containers: &'a [ContainerStatus],
    /// Containers the sync could not start, by name.
    pub(crate) waiting: &'a HashMap<String, Waiting>,
    /// The prober's latest result for a container id, if it has one.
    pub(crate) probe: &'a dyn Fn(&str, ProbeKind) -> Option<bool>,
    pub(crate) host_ip: &'a str,
    /// The pod is done for good (deleted, or every container finished for good): the
    /// phase becomes terminal even under restartPolicy Always.
    pub(crate) terminal: bool,
    /// The status this kubelet last posted (transition times and start time survive until
    /// the API echoes it back).
    pub(crate) posted: Option<&'a PodStatus>,
}

/// Unix nanoseconds → an API time (seconds, as the API serialises it).
pub(crate) fn time(nanos: i64) -> Option<Time> {
    (nanos > 0)
        .then(|| Timestamp::from_second(nanos / 1_000_000_000).ok())
        .flatten()
        .map(Time)
}

/// The latest run of a container.
pub(crate) fn latest<'c>(
    containers: &'c [ContainerStatus],
    name: &str,
) -> Option<&'c ContainerStatus> {
    containers
        .iter()
        .filter(|c| c.metadata.name == name)
        .max_by_key(|c| (c.metadata.attempt, c.created_at))
}

fn previous<'c>(
    containers: &'c [ContainerStatus],
    current: &ContainerStatus,
) -> Option<&'c ContainerStatus> {
    containers
        .iter()
        .filter(|c| {
            c.metadata.name == current.metadata.name
                && c.id != current.id
                && c.state == ContainerState::Exited
                && (c.metadata.attempt, c.created_at)
                    <= (current.metadata.attempt, current.created_at)
        })
        .max_by_key(|c| (c.metadata.attempt, c.created_at))
}

fn terminated(s: &Snapshot<'_>, c: &ContainerStatus) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: c.exit_code,
        reason: Some(c.reason.clone()).filter(|r| !r.is_empty()),
        message: Some(c.message.clone()).filter(|m| !m.is_empty()),
        started_at: time(c.started_at),
        finished_at: time(c.finished_at),
        container_id: Some(format!("{}://{}", s.runtime_name, c.id)),
        signal: None,
    }
}

fn old_status<'p>(pod: &'p Pod, name: &str, init: bool) -> Option<&'p ApiStatus> {
    let status = pod.status.as_ref()?;
    let list = if init {
        status.init_container_statuses.as_ref()
    } else {
        status.container_statuses.as_ref()
    };
    list?.iter().find(|c| c.name == name)
}

fn has_probe(spec: &Container, kind: ProbeKind) -> bool {
    match kind {
        ProbeKind::Liveness => spec.liveness_probe.is_some(),
        ProbeKind::Readiness => spec.readiness_probe.is_some(),
        ProbeKind::Startup => spec.startup_probe.is_some(),
    }
}

/// One container's API status.
fn container_status(s: &Snapshot<'_>, spec: &Container, init: bool) -> ApiStatus {
    let old = old_status(s.pod, &spec.name, init);
    let current = latest(s.containers, &spec.name);
    let mut out = ApiStatus {
        name: spec.name.clone(),
        image: spec.image.clone().unwrap_or_default(),
        restart_count: old.map_or(0, |o| o.restart_count),
        ..ApiStatus::default()
    };
    let Some(c) = current else {
        let default = if init || !initialized(s) {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        let reason = s.waiting.get(&spec.name).cloned().unwrap_or(Waiting {
            reason: default.to_owned(),
            message: None,
        });
        out.state = Some(waiting_state(&reason));
        out.last_state = old.and_then(|o| o.last_state.clone());
        out.started = Some(false);
        return out;
    };
    out.restart_count = i32::try_from(c.metadata.attempt).unwrap_or(i32::MAX);
    out.container_id = Some(format!("{}://{}", s.runtime_name, c.id));
    out.image_id = c.image_ref.clone();
    out.last_state = previous(s.containers, c)
        .map(|p| ApiState {
            terminated: Some(terminated(s, p)),
            ..ApiState::default()
        })
        .or_else(|| {
            old.and_then(|o| o.last_state.clone())
                .filter(|_| c.metadata.attempt > 0)
        });
    let running = c.state == ContainerState::Running;
    let probed = |kind| !has_probe(spec, kind) || (s.probe)(&c.id, kind).unwrap_or(false);
    let started = running && probed(ProbeKind::Startup);
    out.started = Some(started);
    out.ready = started && probed(ProbeKind::Readiness);
    out.state = Some(match c.state {
        ContainerState::Running => ApiState {
            running: Some(ContainerStateRunning {
                started_at: time(c.started_at),
            }),
            ..ApiState::default()
        },
        ContainerState::Exited => match s.waiting.get(&spec.name) {
            // Exited and waiting to be restarted: the run just ended is the last state.
            Some(w) => {
                out.last_state = Some(ApiState {
                    terminated: Some(terminated(s, c)),
                    ..ApiState::default()
                });
                waiting_state(w)
            }
            None => ApiState {
                terminated: Some(terminated(s, c)),
                ..ApiState::default()
            },
        },
        ContainerState::Created | ContainerState::Unknown => {
            waiting_state(s.waiting.get(&spec.name).unwrap_or(&Waiting {
                reason: "ContainerCreating".to_owned(),
                message: None,
            }))
        }
    });
    out
}

fn waiting_state(w: &Waiting) -> ApiState {
    ApiState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(w.reason.clone()),
            message: w.message.clone(),
        }),
        ..ApiState::default()
    }
}

pub(crate) fn init_containers(pod: &Pod) -> &[Container] {
    pod.spec
        .as_ref()
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default()
}

pub(crate) fn containers(pod: &Pod) -> &[Container] {
    pod.spec.as_ref().map_or(&[], |s| s.containers.as_slice())
}

/// A sidecar: an init container with `restartPolicy: Always`.
pub(crate) fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// Every init container is done: regular ones exited 0, sidecars started. Once the pod's
/// regular containers ran, it stays initialized (upstream never re-runs init containers).
pub(crate) fn initialized(s: &Snapshot<'_>) -> bool {
    initialized_with(s.pod, s.containers)
}

/// [`initialized`] from the pod and its runtime containers.
pub(crate) fn initialized_with(pod: &Pod, runtime: &[ContainerStatus]) -> bool {
    let regular_ran = containers(pod)
        .iter()
        .any(|c| latest(runtime, &c.name).is_some());
    regular_ran
        || init_containers(pod).iter().all(|c| {
            latest(runtime, &c.name).is_some_and(|l| {
                if is_sidecar(c) {
                    l.state == ContainerState::Running
                } else {
                    l.state == ContainerState::Exited && l.exit_code == 0
                }
            })
        })
}

/// The pod's restart policy (default Always).
pub(crate) fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

/// Upstream's `getPhase` over the computed container statuses.
fn phase(s: &Snapshot<'_>, init: &[ApiStatus], regular: &[ApiStatus]) -> &'static str {
    let policy = restart_policy(s.pod);
    let specs = init_containers(s.pod);
    let mut pending_init = false;
    for (spec, st) in specs.iter().zip(init) {
        if is_sidecar(spec) {
            continue;
        }
        let state = st.state.as_ref();
        let done = state
            .and_then(|x| x.terminated.as_ref())
            .is_some_and(|t| t.exit_code == 0);
        if done {
            continue;
        }
        let failed = state
            .and_then(|x| x.terminated.as_ref())
            .is_some_and(|t| t.exit_code != 0);
        if failed && policy == "Never" {
            return "Failed";
        }
        if !initialized(s) {
            pending_init = true;
        }
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for st in regular {
        let state = st.state.as_ref();
        if state.and_then(|x| x.running.as_ref()).is_some() {
            running += 1;
        } else if let Some(t) = state.and_then(|x| x.terminated.as_ref()) {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if st
            .last_state
            .as_ref()
            .and_then(|l| l.terminated.as_ref())
            .is_some()
        {
            stopped += 1;
        } else {
            waiting += 1;
        }
    }
    if pending_init {
        return "Pending";
    }
    if s.terminal && running == 0 && waiting == 0 {
        return if stopped == succeeded {
            "Succeeded"
        } else {
            "Failed"
        };
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped > 0 {
        if policy == "Always" {
            return "Running";
        }
        if stopped == succeeded {
            return "Succeeded";
        }
        if policy == "Never" {
            return "Failed";
        }
        return "Running";
    }
    "Pending"
}

fn condition(kind: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: kind.to_owned(),
        status: if ok { "True" } else { "False" }.to_owned(),
        reason: reason.filter(|_| !ok).map(str::to_owned),
        message: message.filter(|_| !ok),
        ..PodCondition::default()
    }
}

fn unready(names: &[&str], what: &str) -> String {
    format!("containers with {what} status: [{}]", names.join(" "))
}

/// The pod's status. Conditions owned by others (PodScheduled, DisruptionTarget, readiness
/// gates…) are carried over; transition times move only when a condition's status does.
pub(crate) fn build(s: &Snapshot<'_>) -> PodStatus {
    let init: Vec<ApiStatus> = init_containers(s.pod)
        .iter()
        .map(|c| container_status(s, c, true))
        .collect();
    let regular: Vec<ApiStatus> = containers(s.pod)
        .iter()
        .map(|c| container_status(s, c, false))
        .collect();
    let phase = phase(s, &init, &regular);
    let old = s.pod.status.clone().unwrap_or_default();
    let pending_init: Vec<&str> = init_containers(s.pod)
        .iter()
        .zip(&init)
        .filter(|(spec, st)| {
            if is_sidecar(spec) {
                !st.started.unwrap_or(false)
            } else {
                st.state
                    .as_ref()
                    .and_then(|x| x.terminated.as_ref())
                    .is_none_or(|t| t.exit_code != 0)
            }
        })
        .map(|(spec, _)| spec.name.as_str())
        .collect();
    let is_initialized = pending_init.is_empty() || initialized(s);
    let not_ready: Vec<&str> = regular
        .iter()
        .filter(|c| !c.ready)
        .map(|c| c.name.as_str())
        .chain(
            init_containers(s.pod)
                .iter()
                .zip(&init)
                .filter(|(spec, st)| is_sidecar(spec) && !st.ready)
                .map(|(spec, _)| spec.name.as_str()),
        )
        .collect();
    let completed = phase == "Succeeded" || phase == "Failed";
    let sandbox_ready = s
        .sandbox
        .is_some_and(|b| b.state == crate::runtime::SandboxState::Ready)
        && !completed;
    let ready_reason = if completed {
        "PodCompleted"
    } else {
        "ContainersNotReady"
    };
    let ready_message = (!completed).then(|| unready(&not_ready, "unready"));
    let mut owned = vec![
        condition("PodReadyToStartContainers", sandbox_ready, None, None),
        condition(
            "Initialized",
            is_initialized,
            Some(if completed {
                "PodCompleted"
            } else {
                "ContainersNotInitialized"
            }),
            Some(unready(&pending_init, "incomplete")),
        ),
        condition(
            "Ready",
            not_ready.is_empty() && !completed && readiness_gates_pass(s.pod, &old),
            Some(if not_ready.is_empty() && !completed {
                "ReadinessGatesNotReady"
            } else {
                ready_reason
            }),
            ready_message
                .clone()
                .or_else(|| (!completed).then(String::new)),
        ),
        condition(
            "ContainersReady",
            not_ready.is_empty() && !completed,
            Some(ready_reason),
            ready_message,
        ),
    ];
    if completed {
        owned[1].status = "True".to_owned();
        owned[1].reason = Some("PodCompleted".to_owned());
        owned[1].message = None;
    }
    // Whole seconds, as the API keeps times (upstream's status manager normalises the same
    // way): a status built again within the second equals the one posted.
    let now =
        Time(Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH));
    // Upstream's kubelet adds PodScheduled for pods that were never through a scheduler.
    if !owned.iter().any(|c| c.type_ == "PodScheduled")
        && !old
            .conditions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "PodScheduled")
    {
        owned.push(condition("PodScheduled", true, None, None));
    }
    let mut conditions: Vec<PodCondition> = Vec::new();
    let old_conditions = old.conditions.clone().unwrap_or_default();
    for c in &old_conditions {
        if !owned.iter().any(|o| o.type_ == c.type_) {
            conditions.push(c.clone());
        }
    }
    let posted_conditions = s
        .posted
        .and_then(|p| p.conditions.as_deref())
        .unwrap_or_default();
    for mut c in owned {
        let prev = posted_conditions
            .iter()
            .chain(&old_conditions)
            .find(|o| o.type_ == c.type_);
        c.last_transition_time = match prev {
            Some(p) if p.status == c.status => p.last_transition_time.clone(),
            _ => Some(now.clone()),
        };
        if c.message.as_deref() == Some("") {
            c.message = None;
        }
        conditions.push(c);
    }
    let pod_ips: Vec<PodIP> = s
        .sandbox
        .and_then(|b| b.ip.clone())
        .map(|ip| PodIP { ip })
        .into_iter()
        .collect();
    PodStatus {
        phase: Some(phase.to_owned()),
        conditions: Some(conditions),
        host_ip: Some(s.host_ip.to_owned()),
        host_ips: Some(vec![HostIP {
            ip: s.host_ip.to_owned(),
        }]),
        pod_ip: pod_ips.first().map(|p| p.ip.clone()).or(old.pod_ip.clone()),
        pod_ips: Some(pod_ips)
            .filter(|p| !p.is_empty())
            .or(old.pod_ips.clone()),
        start_time: old
            .start_time
            .clone()
            .or_else(|| s.posted.and_then(|p| p.start_time.clone()))
            .or(Some(now)),
        init_container_statuses: Some(init).filter(|i| !i.is_empty()),
        container_statuses: Some(regular),
        qos_class: old.qos_class.clone(),
        nominated_node_name: old.nominated_node_name.clone(),
        ..PodStatus::default()
    }
}

fn readiness_gates_pass(pod: &Pod, old: &PodStatus) -> bool {
    let gates = pod
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_deref())
        .unwrap_or_default();
    gates.iter().all(|g| {
        old.conditions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == g.condition_type && c.status == "True")
    })
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;

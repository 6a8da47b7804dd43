use serde_json::json;

use super::*;
use crate::pointer::At;

fn now() -> Timestamp {
    "2024-05-01T12:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// READY, STATUS, RESTARTS of a pod.
fn brief(pod: &Value) -> (String, String, String) {
    let c = cells(pod, now());
    let s = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    (s(&c[1]), s(&c[2]), s(&c[3]))
}

fn b(ready: &str, status: &str, restarts: &str) -> (String, String, String) {
    (ready.to_owned(), status.to_owned(), restarts.to_owned())
}

fn running(name: &str) -> Value {
    json!({"name": name, "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2024-05-01T11:00:00Z"}}})
}

fn pod(spec: Value, status: Value) -> Value {
    json!({"metadata": {"name": "p", "creationTimestamp": "2024-05-01T11:00:00Z"}, "spec": spec, "status": status})
}

#[test]
fn running_and_pending() {
    let p = pod(
        json!({"containers": [{"name": "app"}]}),
        json!({"phase": "Running", "containerStatuses": [running("app")]}),
    );
    assert_eq!(brief(&p), b("1/1", "Running", "0"));
    let pending = pod(
        json!({"containers": [{"name": "a"}, {"name": "b"}]}),
        json!({"phase": "Pending"}),
    );
    assert_eq!(brief(&pending), b("0/2", "Pending", "0"));
    let gated = pod(
        json!({"containers": [{"name": "a"}]}),
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
    );
    assert_eq!(brief(&gated), b("0/1", "SchedulingGated", "0"));
    let evicted = pod(
        json!({"containers": [{"name": "a"}]}),
        json!({"phase": "Failed", "reason": "Evicted"}),
    );
    assert_eq!(brief(&evicted), b("0/1", "Evicted", "0"));
}

#[test]
fn init_container_reasons() {
    let spec = json!({"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "app"}]});
    let init = |statuses: Value| {
        pod(
            spec.clone(),
            json!({"phase": "Pending", "initContainerStatuses": statuses}),
        )
    };
    let done =
        json!({"name": "i1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
    let cases = [
        (
            json!([{"name": "i1", "state": {"running": {}}}, {"name": "i2", "state": {"waiting": {"reason": "PodInitializing"}}}]),
            "Init:0/2",
        ),
        (
            json!([done, {"name": "i2", "state": {"running": {}}}]),
            "Init:1/2",
        ),
        (
            json!([{"name": "i1", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]),
            "Init:CrashLoopBackOff",
        ),
        (
            json!([{"name": "i1", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]),
            "Init:Error",
        ),
        (
            json!([{"name": "i1", "state": {"terminated": {"exitCode": 3}}}]),
            "Init:ExitCode:3",
        ),
        (
            json!([{"name": "i1", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]),
            "Init:Signal:9",
        ),
    ];
    for (statuses, want) in cases {
        assert_eq!(brief(&init(statuses)).1, want);
    }
    // Init restarts count while initializing.
    let crashing = init(
        json!([{"name": "i1", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]),
    );
    assert_eq!(brief(&crashing), b("0/1", "Init:CrashLoopBackOff", "4"));
    // All init containers done: the app container's waiting reason shows.
    let initializing = pod(
        spec.clone(),
        json!({"phase": "Pending",
            "initContainerStatuses": [done, {"name": "i2", "state": {"terminated": {"exitCode": 0}}}],
            "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
    );
    assert_eq!(brief(&initializing), b("0/1", "PodInitializing", "0"));
}

#[test]
fn crash_loop_restarts_with_last_restart_age() {
    let p = pod(
        json!({"containers": [{"name": "app"}]}),
        json!({"phase": "Running", "containerStatuses": [{
            "name": "app", "ready": false, "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-05-01T11:56:50Z"}},
        }]}),
    );
    assert_eq!(brief(&p), b("0/1", "CrashLoopBackOff", "5 (3m10s ago)"));
    // Without a last termination time only the count shows.
    let no_time = pod(
        json!({"containers": [{"name": "app"}]}),
        json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "ready": true, "restartCount": 3, "state": {"running": {}}}]}),
    );
    assert_eq!(brief(&no_time), b("1/1", "Running", "3"));
}

#[test]
fn terminated_containers() {
    let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
    let completed = pod(
        spec.clone(),
        json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    assert_eq!(brief(&completed), b("0/2", "Completed", "0"));
    assert_eq!(
        row_conditions(&completed),
        Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
        )
    );
    let signal = pod(
        spec.clone(),
        json!({"phase": "Failed", "containerStatuses": [
            {"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}},
            {"name": "b", "state": {"terminated": {"exitCode": 2}}}]}),
    );
    // Containers are read last to first, so the first one's reason wins.
    assert_eq!(brief(&signal).1, "Signal:9");
    assert_eq!(
        row_conditions(&signal).and_then(|c| c.at("/0/reason").cloned()),
        Some(json!("Failed"))
    );
    // One container completed while another still runs.
    let partly = |ready_condition: &str| {
        pod(
            spec.clone(),
            json!({"phase": "Running",
                "conditions": [{"type": "Ready", "status": ready_condition}],
                "containerStatuses": [
                    {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                    running("b")]}),
        )
    };
    assert_eq!(brief(&partly("True")), b("1/2", "Running", "0"));
    assert_eq!(brief(&partly("False")), b("1/2", "NotReady", "0"));
    assert_eq!(row_conditions(&partly("True")), None);
}

#[test]
fn deletion() {
    let mut p = pod(
        json!({"containers": [{"name": "app"}]}),
        json!({"phase": "Running", "containerStatuses": [running("app")]}),
    );
    p["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
    assert_eq!(brief(&p).1, "Terminating");
    p["status"]["reason"] = json!("NodeLost");
    assert_eq!(brief(&p).1, "Unknown");
    let mut done = pod(
        json!({"containers": [{"name": "app"}]}),
        json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    done["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
    assert_eq!(brief(&done).1, "Completed");
}

#[test]
fn sidecars_count_as_containers() {
    let p = pod(
        json!({"initContainers": [{"name": "setup"}, {"name": "proxy", "restartPolicy": "Always"}],
            "containers": [{"name": "app"}]}),
        json!({"phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [
                {"name": "setup", "restartCount": 7, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:59:00Z"}}},
                {"name": "proxy", "started": true, "ready": true, "restartCount": 2, "state": {"running": {}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T10:00:00Z"}}}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1, "state": {"running": {}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:00:00Z"}}}]}),
    );
    // The finished init container's restarts no longer count; the sidecar's do.
    assert_eq!(brief(&p), b("2/2", "Running", "3 (60m ago)"));
}

#[test]
fn wide_cells() {
    let p = json!({
        "metadata": {"name": "web", "creationTimestamp": "2024-04-30T12:00:00Z"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app"}],
            "readinessGates": [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]},
        "status": {"phase": "Running", "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}, {"ip": "fd00::5"}],
            "conditions": [{"type": "example.com/lb", "status": "True"}, {"type": "example.com/dns", "status": "False"}],
            "containerStatuses": [running("app")]},
    });
    assert_eq!(
        cells(&p, now()),
        vec![
            json!("web"),
            json!("1/1"),
            json!("Running"),
            json!("0"),
            json!("24h"),
            json!("10.244.0.5"),
            json!("node-1"),
            json!("<none>"),
            json!("1/2"),
        ]
    );
    let bare = cells(&json!({"metadata": {"name": "x"}}), now());
    assert_eq!(
        bare[4..],
        [
            json!("<unknown>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
    assert_eq!(bare[2], json!(""));
}

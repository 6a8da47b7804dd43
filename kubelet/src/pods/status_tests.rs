use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, Pod, PodCondition, PodSpec, PodStatus, Probe};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::*;
use crate::runtime::{ContainerMetadata, SandboxMetadata, SandboxState};

const S: i64 = 1_000_000_000;

fn container(name: &str) -> Container {
    Container {
        name: name.to_owned(),
        image: Some("busybox:1.36".to_owned()),
        ..Container::default()
    }
}

fn pod(containers: Vec<Container>, init: Vec<Container>, policy: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web".to_owned()),
            namespace: Some("default".to_owned()),
            uid: Some("u1".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers,
            init_containers: Some(init).filter(|i| !i.is_empty()),
            restart_policy: Some(policy.to_owned()),
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some("Pending".to_owned()),
            qos_class: Some("BestEffort".to_owned()),
            conditions: Some(vec![PodCondition {
                type_: "PodScheduled".to_owned(),
                status: "True".to_owned(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

fn sandbox() -> SandboxStatus {
    SandboxStatus {
        id: "sb".to_owned(),
        metadata: SandboxMetadata::default(),
        state: SandboxState::Ready,
        created_at: S,
        ip: Some("10.244.1.5".to_owned()),
    }
}

fn run(name: &str, attempt: u32, state: ContainerState, exit_code: i32) -> ContainerStatus {
    let exited = state == ContainerState::Exited;
    ContainerStatus {
        id: format!("{name}-{attempt}"),
        sandbox_id: "sb".to_owned(),
        metadata: ContainerMetadata {
            name: name.to_owned(),
            attempt,
        },
        state,
        created_at: (10 + i64::from(attempt)) * S,
        started_at: (10 + i64::from(attempt)) * S,
        finished_at: if exited {
            (11 + i64::from(attempt)) * S
        } else {
            0
        },
        exit_code,
        image: "busybox:1.36".to_owned(),
        image_ref: "sha256:abc".to_owned(),
        reason: if exited {
            if exit_code == 0 { "Completed" } else { "Error" }
        } else {
            ""
        }
        .to_owned(),
        message: String::new(),
    }
}

struct Case {
    pod: Pod,
    containers: Vec<ContainerStatus>,
    waiting: HashMap<String, Waiting>,
    probes: HashMap<(String, ProbeKind), bool>,
    terminal: bool,
}

impl Case {
    fn new(pod: Pod, containers: Vec<ContainerStatus>) -> Self {
        Self {
            pod,
            containers,
            waiting: HashMap::new(),
            probes: HashMap::new(),
            terminal: false,
        }
    }

    fn build(&self) -> PodStatus {
        let sb = sandbox();
        let probe = |id: &str, kind| self.probes.get(&(id.to_owned(), kind)).copied();
        build(&Snapshot {
            pod: &self.pod,
            runtime_name: "simulated",
            sandbox: Some(&sb),
            containers: &self.containers,
            waiting: &self.waiting,
            probe: &probe,
            host_ip: "127.1.0.1",
            terminal: self.terminal,
            posted: None,
        })
    }
}

fn cond<'s>(status: &'s PodStatus, kind: &str) -> &'s PodCondition {
    status
        .conditions
        .as_ref()
        .and_then(|c| c.iter().find(|c| c.type_ == kind))
        .unwrap_or_else(|| panic!("no {kind} condition in {status:?}"))
}

#[test]
fn a_running_container_without_probes_is_ready() {
    let case = Case::new(
        pod(vec![container("app")], vec![], "Always"),
        vec![run("app", 0, ContainerState::Running, 0)],
    );
    let status = case.build();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(status.pod_ip.as_deref(), Some("10.244.1.5"));
    assert_eq!(status.host_ip.as_deref(), Some("127.1.0.1"));
    assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));
    for kind in [
        "Ready",
        "ContainersReady",
        "Initialized",
        "PodReadyToStartContainers",
        "PodScheduled",
    ] {
        assert_eq!(cond(&status, kind).status, "True", "{kind}");
    }
    let c = &status.container_statuses.as_ref().expect("statuses")[0];
    assert!(c.ready);
    assert_eq!(c.started, Some(true));
    assert_eq!(c.restart_count, 0);
    assert_eq!(c.container_id.as_deref(), Some("simulated://app-0"));
    assert_eq!(c.image_id, "sha256:abc");
    let running = c
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .expect("running");
    assert_eq!(running.started_at, time(10 * S));
}

#[test]
fn a_crashing_container_waits_in_back_off_with_its_last_run() {
    let mut case = Case::new(
        pod(vec![container("app")], vec![], "Always"),
        vec![
            run("app", 1, ContainerState::Exited, 2),
            run("app", 2, ContainerState::Exited, 3),
        ],
    );
    case.waiting.insert(
        "app".to_owned(),
        Waiting {
            reason: "CrashLoopBackOff".to_owned(),
            message: Some("back-off 20s".to_owned()),
        },
    );
    let status = case.build();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    let c = &status.container_statuses.as_ref().expect("statuses")[0];
    assert_eq!(c.restart_count, 2);
    assert!(!c.ready);
    let waiting = c
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .expect("waiting");
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
    let last = c
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .expect("last");
    assert_eq!(last.exit_code, 3);
    assert_eq!(last.reason.as_deref(), Some("Error"));
    let ready = cond(&status, "Ready");
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(
        ready.message.as_deref(),
        Some("containers with unready status: [app]")
    );
}

#[test]
fn finished_containers_end_the_pod_per_restart_policy() {
    for (policy, codes, terminal, phase) in [
        ("Never", vec![0, 0], false, "Succeeded"),
        ("Never", vec![0, 1], false, "Failed"),
        ("OnFailure", vec![0, 0], false, "Succeeded"),
        ("OnFailure", vec![0, 1], false, "Running"),
        ("Always", vec![0, 0], false, "Running"),
        ("Always", vec![0, 0], true, "Succeeded"),
        ("Always", vec![0, 137], true, "Failed"),
    ] {
        let mut case = Case::new(
            pod(vec![container("a"), container("b")], vec![], policy),
            vec![
                run("a", 0, ContainerState::Exited, codes[0]),
                run("b", 0, ContainerState::Exited, codes[1]),
            ],
        );
        case.terminal = terminal;
        let status = case.build();
        assert_eq!(
            status.phase.as_deref(),
            Some(phase),
            "{policy} {codes:?} {terminal}"
        );
        if phase == "Succeeded" || phase == "Failed" {
            assert_eq!(
                cond(&status, "Ready").reason.as_deref(),
                Some("PodCompleted")
            );
            assert_eq!(cond(&status, "PodReadyToStartContainers").status, "False");
        }
    }
}

#[test]
fn init_containers_hold_the_pod_pending_in_order() {
    let p = pod(
        vec![container("app")],
        vec![container("one"), container("two")],
        "Always",
    );
    let case = Case::new(
        p.clone(),
        vec![
            run("one", 0, ContainerState::Exited, 0),
            run("two", 0, ContainerState::Running, 0),
        ],
    );
    let status = case.build();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    let init = cond(&status, "Initialized");
    assert_eq!(init.status, "False");
    assert_eq!(init.reason.as_deref(), Some("ContainersNotInitialized"));
    assert_eq!(
        init.message.as_deref(),
        Some("containers with incomplete status: [two]")
    );
    let app = &status.container_statuses.as_ref().expect("statuses")[0];
    let waiting = app
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .expect("waiting");
    assert_eq!(waiting.reason.as_deref(), Some("PodInitializing"));
    let inits = status
        .init_container_statuses
        .as_ref()
        .expect("init statuses");
    assert!(
        inits[0]
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .is_some()
    );

    let failed = Case::new(
        pod(vec![container("app")], vec![container("one")], "Never"),
        vec![run("one", 0, ContainerState::Exited, 1)],
    );
    assert_eq!(failed.build().phase.as_deref(), Some("Failed"));

    let done = Case::new(
        p,
        vec![
            run("one", 0, ContainerState::Exited, 0),
            run("two", 0, ContainerState::Exited, 0),
            run("app", 0, ContainerState::Running, 0),
        ],
    );
    let status = done.build();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(cond(&status, "Initialized").status, "True");
}

#[test]
fn probes_gate_ready_and_started() {
    let mut c = container("app");
    c.readiness_probe = Some(Probe::default());
    c.startup_probe = Some(Probe::default());
    let mut case = Case::new(
        pod(vec![c], vec![], "Always"),
        vec![run("app", 0, ContainerState::Running, 0)],
    );
    let first = case.build();
    let app = &first.container_statuses.as_ref().expect("statuses")[0];
    assert_eq!((app.started, app.ready), (Some(false), false));
    case.probes
        .insert(("app-0".to_owned(), ProbeKind::Startup), true);
    let started = case.build();
    let app = &started.container_statuses.as_ref().expect("statuses")[0];
    assert_eq!((app.started, app.ready), (Some(true), false));
    case.probes
        .insert(("app-0".to_owned(), ProbeKind::Readiness), true);
    let ready = case.build();
    assert!(ready.container_statuses.as_ref().expect("statuses")[0].ready);
    assert_eq!(cond(&ready, "Ready").status, "True");
}

#[test]
fn transition_times_move_only_when_a_condition_flips() {
    let mut p = pod(vec![container("app")], vec![], "Always");
    let long_ago = Time(Timestamp::UNIX_EPOCH);
    if let Some(status) = p.status.as_mut() {
        status.conditions = Some(vec![
            PodCondition {
                type_: "Ready".to_owned(),
                status: "True".to_owned(),
                last_transition_time: Some(long_ago.clone()),
                ..PodCondition::default()
            },
            PodCondition {
                type_: "Initialized".to_owned(),
                status: "False".to_owned(),
                last_transition_time: Some(long_ago.clone()),
                ..PodCondition::default()
            },
            PodCondition {
                type_: "DisruptionTarget".to_owned(),
                status: "True".to_owned(),
                ..PodCondition::default()
            },
        ]);
    }
    let case = Case::new(p, vec![run("app", 0, ContainerState::Running, 0)]);
    let status = case.build();
    assert_eq!(
        cond(&status, "Ready").last_transition_time,
        Some(long_ago.clone())
    );
    assert_ne!(
        cond(&status, "Initialized").last_transition_time,
        Some(long_ago)
    );
    assert_eq!(cond(&status, "DisruptionTarget").status, "True");
}

#[test]
fn new_times_are_whole_seconds_so_a_status_built_again_equals_the_one_posted() {
    let case = Case::new(
        pod(vec![container("app")], vec![], "Always"),
        vec![run("app", 0, ContainerState::Running, 0)],
    );
    let status = case.build();
    let times: Vec<&Time> = status
        .conditions
        .iter()
        .flatten()
        .filter_map(|c| c.last_transition_time.as_ref())
        .chain(status.start_time.as_ref())
        .collect();
    assert!(!times.is_empty());
    for t in times {
        assert_eq!(t.0.subsec_nanosecond(), 0, "{t:?}");
    }
    // What the API echoes back (serialised, whole seconds) reads as the same status.
    let echoed: PodStatus = serde_json::from_value(serde_json::to_value(&status).unwrap()).unwrap();
    assert_eq!(echoed, status);
}

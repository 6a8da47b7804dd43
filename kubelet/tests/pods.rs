//! Pod workers against an in-process apiserver and the simulated runtime: the tests play
//! the scheduler by creating pods with `spec.nodeName` set.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Event, Pod};
use keelson_kubelet::runtime::Runtime;
use keelson_kubelet::runtime::simulated::Simulated;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use support::{Cluster, eventually, fast_config};
use tokio::sync::watch;

struct Node {
    runtime: Arc<Simulated>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Node {
    async fn start(cluster: &Cluster, name: &str) -> Self {
        let runtime = Arc::new(Simulated::new(name));
        let (stop, stop_rx) = watch::channel(false);
        let dyn_runtime: Arc<dyn Runtime> = runtime.clone();
        let task = tokio::spawn({
            let client = cluster.client.clone();
            let config = fast_config(name);
            async move {
                keelson_kubelet::run(client, config, dyn_runtime, stop_rx)
                    .await
                    .unwrap();
            }
        });
        Self {
            runtime,
            stop,
            task,
        }
    }

    async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.unwrap();
    }
}

fn pod(name: &str, annotations: &[(&str, &str)], spec: serde_json::Value) -> Pod {
    let annotations: BTreeMap<String, String> = annotations
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut spec = spec;
    spec["nodeName"] = json!("n1");
    if spec.get("containers").is_none() {
        spec["containers"] = json!([{"name": "app", "image": "busybox:1.36"}]);
    }
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations},
        "spec": spec,
    }))
    .unwrap()
}

async fn create(pods: &Api<Pod>, pod: Pod) -> Pod {
    pods.create(&PostParams::default(), &pod).await.unwrap()
}

fn container_status(pod: &Pod, name: &str) -> Option<k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == name)
        .cloned()
}

fn condition(pod: &Pod, kind: &str) -> Option<String> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.clone())
}

async fn get_when(pods: &Api<Pod>, name: &str, what: &str, check: impl Fn(&Pod) -> bool) -> Pod {
    eventually(what, || async {
        pods.get_opt(name).await.unwrap().filter(|p| check(p))
    })
    .await
}

async fn event_reasons(cluster: &Cluster, pod: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    let list = events
        .list(&ListParams::default().fields(&format!("involvedObject.name={pod}")))
        .await
        .unwrap();
    list.items.into_iter().filter_map(|e| e.reason).collect()
}

#[tokio::test]
async fn a_pod_runs_and_reports_ready_with_its_ip_and_events() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1").await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    create(&pods, pod("web", &[], json!({}))).await;
    let running = get_when(&pods, "web", "a Ready pod", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    let status = running.status.clone().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert!(
        status.pod_ip.as_deref().unwrap().starts_with("10.88."),
        "{status:?}"
    );
    assert_eq!(status.host_ip.as_deref(), Some("127.0.0.1"));
    let app = container_status(&running, "app").unwrap();
    assert!(app.ready);
    assert_eq!(app.restart_count, 0);
    assert!(app.container_id.unwrap().starts_with("simulated://"));
    assert!(app.state.unwrap().running.is_some());
    for kind in [
        "Initialized",
        "ContainersReady",
        "PodReadyToStartContainers",
        "PodScheduled",
    ] {
        assert_ne!(condition(&running, kind), None, "{kind}");
    }
    let reasons = eventually("the kubelet's events", || async {
        let reasons = event_reasons(&cluster, "web").await;
        (reasons.contains(&"Started".to_owned()) && reasons.contains(&"Created".to_owned()))
            .then_some(reasons)
    })
    .await;
    assert!(reasons.contains(&"Pulled".to_owned()), "{reasons:?}");
    node.stop().await;
}

#[tokio::test]
async fn a_crashing_container_goes_into_crash_loop_back_off() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1").await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let annotations = [
        ("sim.keelson.io/exit-after", "100ms"),
        ("sim.keelson.io/exit-code", "3"),
    ];
    create(&pods, pod("crash", &annotations, json!({}))).await;
    let looping = get_when(&pods, "crash", "CrashLoopBackOff after a restart", |p| {
        container_status(p, "app").is_some_and(|c| {
            c.restart_count >= 1
                && c.state
                    .and_then(|s| s.waiting)
                    .and_then(|w| w.reason)
                    .as_deref()
                    == Some("CrashLoopBackOff")
        })
    })
    .await;
    let app = container_status(&looping, "app").unwrap();
    let last = app.last_state.unwrap().terminated.unwrap();
    assert_eq!(last.exit_code, 3);
    assert_eq!(last.reason.as_deref(), Some("Error"));
    assert_eq!(condition(&looping, "Ready").as_deref(), Some("False"));
    assert_eq!(looping.status.unwrap().phase.as_deref(), Some("Running"));
    let reasons = eventually("a BackOff event", || async {
        let r = event_reasons(&cluster, "crash").await;
        r.contains(&"BackOff".to_owned()).then_some(r)
    })
    .await;
    assert!(reasons.contains(&"Started".to_owned()));
    node.stop().await;
}

#[tokio::test]
async fn restart_policies_end_pods_as_upstream() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1").await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let ok = [("sim.keelson.io/exit-after", "50ms")];
    let fail = [
        ("sim.keelson.io/exit-after", "50ms"),
        ("sim.keelson.io/exit-code", "1"),
    ];
    create(
        &pods,
        pod("never-ok", &ok, json!({"restartPolicy": "Never"})),
    )
    .await;
    create(
        &pods,
        pod("never-fail", &fail, json!({"restartPolicy": "Never"})),
    )
    .await;
    create(
        &pods,
        pod("onfailure-ok", &ok, json!({"restartPolicy": "OnFailure"})),
    )
    .await;
    let phase = |want: &'static str| {
        move |p: &Pod| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(want)
    };
    let done = get_when(&pods, "never-ok", "Succeeded", phase("Succeeded")).await;
    let app = container_status(&done, "app").unwrap();
    assert_eq!(
        app.state.unwrap().terminated.unwrap().reason.as_deref(),
        Some("Completed")
    );
    assert_eq!(condition(&done, "Ready").as_deref(), Some("False"));
    get_when(&pods, "never-fail", "Failed", phase("Failed")).await;
    get_when(&pods, "onfailure-ok", "Succeeded", phase("Succeeded")).await;
    node.stop().await;
}

#[tokio::test]
async fn init_containers_run_in_order_before_the_containers() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1").await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let spec = json!({"initContainers": [
        {"name": "first", "image": "busybox:1.36"},
        {"name": "second", "image": "busybox:1.36"},
    ]});
    create(
        &pods,
        pod(
            "inits",
            &[("sim.keelson.io/exit-after.second", "300ms")],
            spec,
        ),
    )
    .await;
    let ready = get_when(&pods, "inits", "a Ready pod", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    let inits = ready
        .status
        .clone()
        .unwrap()
        .init_container_statuses
        .unwrap();
    let finished = |i: usize| inits[i].state.clone().unwrap().terminated.unwrap();
    assert_eq!(finished(0).exit_code, 0);
    assert_eq!(finished(1).exit_code, 0);
    assert!(finished(0).finished_at <= finished(1).started_at);
    let app = container_status(&ready, "app").unwrap();
    assert!(app.state.unwrap().running.unwrap().started_at >= finished(1).finished_at);
    node.stop().await;
}

#[tokio::test]
async fn probes_steer_readiness_and_liveness_restarts() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1").await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let probe = json!({"exec": {"command": ["true"]}, "periodSeconds": 1, "failureThreshold": 1});
    let spec = json!({"containers": [{"name": "app", "image": "busybox:1.36",
        "readinessProbe": probe, "livenessProbe": probe}]});
    let annotations = [
        ("sim.keelson.io/ready-after", "1s"),
        ("sim.keelson.io/liveness-fail-after", "3s"),
    ];
    create(&pods, pod("probed", &annotations, spec)).await;
    let first = get_when(&pods, "probed", "a running, unready pod", |p| {
        container_status(p, "app").is_some_and(|c| c.state.and_then(|s| s.running).is_some())
    })
    .await;
    assert_eq!(condition(&first, "Ready").as_deref(), Some("False"));
    get_when(&pods, "probed", "readiness", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    get_when(&pods, "probed", "a restart after failed liveness", |p| {
        container_status(p, "app").is_some_and(|c| c.restart_count >= 1)
    })
    .await;
    let reasons = event_reasons(&cluster, "probed").await;
    assert!(reasons.contains(&"Unhealthy".to_owned()), "{reasons:?}");
    assert!(reasons.contains(&"Killing".to_owned()), "{reasons:?}");
    node.stop().await;
}

#[tokio::test]
async fn deletion_is_graceful_then_final() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1").await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let annotations = [("sim.keelson.io/termination-delay", "500ms")];
    create(
        &pods,
        pod(
            "bye",
            &annotations,
            json!({"terminationGracePeriodSeconds": 5}),
        ),
    )
    .await;
    get_when(&pods, "bye", "a Ready pod", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    pods.delete("bye", &DeleteParams::default()).await.unwrap();
    let terminating = pods.get("bye").await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    eventually("the pod gone", || async {
        pods.get_opt("bye").await.unwrap().is_none().then_some(())
    })
    .await;
    eventually("the sandbox removed", || async {
        node.runtime
            .list_pod_sandboxes()
            .await
            .unwrap()
            .is_empty()
            .then_some(())
    })
    .await;
    let reasons = event_reasons(&cluster, "bye").await;
    assert!(reasons.contains(&"Killing".to_owned()), "{reasons:?}");
    node.stop().await;
}

#[tokio::test]
async fn a_pod_that_does_not_fit_is_rejected() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1").await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let spec = json!({"containers": [{"name": "app", "image": "busybox:1.36",
        "resources": {"requests": {"cpu": "100"}}}]});
    create(&pods, pod("huge", &[], spec)).await;
    let failed = get_when(&pods, "huge", "a rejected pod", |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed")
    })
    .await;
    let status = failed.status.unwrap();
    assert_eq!(status.reason.as_deref(), Some("OutOfcpu"));
    let message = status.message.unwrap();
    assert!(message.starts_with("Pod was rejected: "), "{message}");
    assert!(node.runtime.list_pod_sandboxes().await.unwrap().is_empty());
    node.stop().await;
}

#[tokio::test]
async fn image_pull_failures_back_off() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1").await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    create(
        &pods,
        pod(
            "nopull",
            &[("sim.keelson.io/image-pull-error", "no such image")],
            json!({}),
        ),
    )
    .await;
    get_when(&pods, "nopull", "ImagePullBackOff", |p| {
        container_status(p, "app")
            .and_then(|c| c.state?.waiting?.reason)
            .as_deref()
            == Some("ImagePullBackOff")
    })
    .await;
    let reasons = event_reasons(&cluster, "nopull").await;
    assert!(reasons.contains(&"Failed".to_owned()), "{reasons:?}");
    node.stop().await;
}

#[tokio::test]
async fn runtime_pods_the_api_lost_are_removed() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1").await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    create(&pods, pod("forced", &[], json!({}))).await;
    get_when(&pods, "forced", "a Ready pod", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    assert_eq!(node.runtime.list_pod_sandboxes().await.unwrap().len(), 1);
    pods.delete(
        "forced",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        },
    )
    .await
    .unwrap();
    eventually("the sandbox removed", || async {
        node.runtime
            .list_pod_sandboxes()
            .await
            .unwrap()
            .is_empty()
            .then_some(())
    })
    .await;
    node.stop().await;
}

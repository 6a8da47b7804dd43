//! The node lifecycle and taint eviction controllers against an in-process apiserver. The
//! test plays each kubelet: it creates the node, renews its Lease in `kube-node-lease` and
//! posts the conditions it is told to, until it is told to go silent.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use keelson_controllers::Settings;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use support::{Cluster, eventually};
use tokio::sync::watch;

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const NOT_READY: &str = "node.kubernetes.io/not-ready";

fn settings(cluster: &Cluster, names: &[&str]) -> Settings {
    let mut s = cluster.settings(names);
    // Long enough that the kubelet players (renewing every 200 ms) are never late on a
    // loaded machine.
    s.node_monitor_grace_period = Duration::from_secs(3);
    s.node_startup_grace_period = Duration::from_secs(2);
    s.node_monitor_period = Duration::from_millis(200);
    s
}

type Conditions = Vec<(&'static str, &'static str)>;

/// A kubelet player: while `Some`, renews the node's Lease and posts these conditions
/// whenever the node's differ; `None` is a silent kubelet.
struct Kubelet {
    want: watch::Sender<Option<Conditions>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Kubelet {
    async fn start(client: &kube::Client, name: &str, conditions: Option<Conditions>) -> Self {
        let nodes: Api<Node> = Api::all(client.clone());
        let node = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        nodes.create(&PostParams::default(), &node).await.unwrap();
        let (want, rx) = watch::channel(conditions);
        let (client, name) = (client.clone(), name.to_owned());
        let task = tokio::spawn(async move {
            loop {
                let conditions = rx.borrow().clone();
                if let Some(conditions) = conditions {
                    renew(&client, &name).await;
                    post(&client, &name, &conditions).await;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Self { want, task }
    }

    fn set(&self, conditions: Option<Conditions>) {
        self.want.send_replace(conditions);
    }
}

async fn renew(client: &kube::Client, name: &str) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let now = MicroTime(Timestamp::now());
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now},
    }))
    .unwrap();
    if leases.create(&PostParams::default(), &lease).await.is_err() {
        let patch = json!({"spec": {"renewTime": now}});
        let _ = leases
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await;
    }
}

async fn post(client: &kube::Client, name: &str, want: &Conditions) {
    let nodes: Api<Node> = Api::all(client.clone());
    let Ok(mut node) = nodes.get(name).await else {
        return;
    };
    let mut conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::now());
    let mut changed = false;
    for (kind, status) in want {
        match conditions.iter_mut().find(|c| c.type_ == *kind) {
            Some(c) if c.status == *status => {}
            Some(c) => {
                c.status = (*status).to_owned();
                c.reason = Some("KubeletPosted".to_owned());
                c.last_heartbeat_time = Some(now.clone());
                c.last_transition_time = Some(now.clone());
                changed = true;
            }
            None => {
                conditions.push(
                    serde_json::from_value(json!({
                        "type": kind, "status": status, "reason": "KubeletPosted",
                        "lastHeartbeatTime": now, "lastTransitionTime": now,
                    }))
                    .unwrap(),
                );
                changed = true;
            }
        }
    }
    if changed {
        node.status.get_or_insert_default().conditions = Some(conditions);
        let _ = nodes
            .replace_status(name, &PostParams::default(), &node)
            .await;
    }
}

fn ready() -> Option<Conditions> {
    Some(vec![("Ready", "True")])
}

/// A running, Ready pod bound to `node`, with exactly these tolerations.
async fn pod_on(client: &kube::Client, name: &str, node: &str, tolerations: serde_json::Value) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}],
            "tolerations": tolerations,
        },
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let status = json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"},
    ]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
}

fn taint<'a>(node: &'a Node, key: &str, effect: &str) -> Option<&'a Taint> {
    node.spec
        .as_ref()?
        .taints
        .as_ref()?
        .iter()
        .find(|t| t.key == key && t.effect == effect)
}

fn condition(node: &Node, kind: &str) -> Option<(String, Option<String>, Option<String>)> {
    let c = node
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn pod_ready(pod: &Pod) -> Option<String> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    Some(
        conditions
            .iter()
            .find(|c| c.type_ == "Ready")?
            .status
            .clone(),
    )
}

async fn notes(client: &kube::Client, ns: &str, reason: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let list = events.list(&ListParams::default()).await.unwrap();
    list.items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter_map(|e| e.note)
        .collect()
}

/// Waits until `check` holds for node `name`, returning it.
async fn node_until(
    client: &kube::Client,
    name: &str,
    what: &str,
    check: impl Fn(&Node) -> bool,
) -> Node {
    let nodes: Api<Node> = Api::all(client.clone());
    eventually(what, || {
        let nodes = nodes.clone();
        let check = &check;
        async move { nodes.get(name).await.ok().filter(|n| check(n)) }
    })
    .await
}

#[tokio::test]
async fn a_silent_node_becomes_unknown_tainted_and_its_pods_not_ready_until_it_returns() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _steady = Kubelet::start(&client, "steady", ready()).await;
    let kubelet = Kubelet::start(&client, "n1", ready()).await;
    pod_on(&client, "p", "n1", json!([])).await;
    let _manager = cluster.run(settings(&cluster, &["nodelifecycle"]));
    node_until(&client, "n1", "n1 Ready", |n| {
        condition(n, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await;

    kubelet.set(None);
    let node = node_until(&client, "n1", "n1 Unknown and unreachable", |n| {
        condition(n, "Ready").is_some_and(|c| c.0 == "Unknown")
            && taint(n, UNREACHABLE, "NoExecute").is_some()
            && taint(n, UNREACHABLE, "NoSchedule").is_some()
    })
    .await;
    let (_, reason, message) = condition(&node, "Ready").unwrap();
    assert_eq!(reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(
        message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );
    for kind in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
        let (status, reason, _) = condition(&node, kind).unwrap();
        assert_eq!(
            (status.as_str(), reason.as_deref()),
            ("Unknown", Some("NodeStatusNeverUpdated"))
        );
    }
    assert!(
        taint(&node, UNREACHABLE, "NoExecute")
            .unwrap()
            .time_added
            .is_some()
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually("the pod on n1 not ready", || {
        let pods = pods.clone();
        async move {
            (pod_ready(&pods.get("p").await.unwrap()).as_deref() == Some("False")).then_some(())
        }
    })
    .await;
    eventually("NodeNotReady events on the node and the pod", || {
        let client = client.clone();
        async move {
            let on_node = notes(&client, "default", "NodeNotReady").await;
            (on_node.contains(&"Node n1 status is now: NodeNotReady".to_owned())
                && on_node.contains(&"Node is not ready".to_owned()))
            .then_some(())
        }
    })
    .await;
    let steady = Api::<Node>::all(client.clone())
        .get("steady")
        .await
        .unwrap();
    assert!(taint(&steady, UNREACHABLE, "NoExecute").is_none());
    assert!(
        notes(&client, "default", "RegisteredNode")
            .await
            .contains(&"Node n1 event: Registered Node n1 in Controller".to_owned())
    );

    // The kubelet returns and posts Ready=True: the taints go.
    kubelet.set(ready());
    node_until(&client, "n1", "n1 healthy and untainted", |n| {
        condition(n, "Ready").is_some_and(|c| c.0 == "True")
            && taint(n, UNREACHABLE, "NoExecute").is_none()
            && taint(n, UNREACHABLE, "NoSchedule").is_none()
    })
    .await;
}

#[tokio::test]
async fn not_ready_pressure_and_unschedulable_nodes_are_tainted() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _steady = Kubelet::start(&client, "steady", ready()).await;
    let kubelet = Kubelet::start(&client, "n1", Some(vec![("Ready", "False")])).await;
    let _manager = cluster.run(settings(&cluster, &["nodelifecycle"]));
    let node = node_until(&client, "n1", "n1 not-ready taints", |n| {
        taint(n, NOT_READY, "NoExecute").is_some() && taint(n, NOT_READY, "NoSchedule").is_some()
    })
    .await;
    assert!(taint(&node, UNREACHABLE, "NoExecute").is_none());

    kubelet.set(Some(vec![("Ready", "True"), ("MemoryPressure", "True")]));
    let nodes: Api<Node> = Api::all(client.clone());
    let unschedulable = json!({"spec": {"unschedulable": true}});
    nodes
        .patch("n1", &PatchParams::default(), &Patch::Merge(unschedulable))
        .await
        .unwrap();
    node_until(
        &client,
        "n1",
        "pressure and unschedulable taints only",
        |n| {
            taint(n, "node.kubernetes.io/memory-pressure", "NoSchedule").is_some()
                && taint(n, "node.kubernetes.io/unschedulable", "NoSchedule").is_some()
                && taint(n, NOT_READY, "NoExecute").is_none()
                && taint(n, NOT_READY, "NoSchedule").is_none()
        },
    )
    .await;

    kubelet.set(Some(vec![("Ready", "True"), ("MemoryPressure", "False")]));
    let schedulable = json!({"spec": {"unschedulable": false}});
    nodes
        .patch("n1", &PatchParams::default(), &Patch::Merge(schedulable))
        .await
        .unwrap();
    node_until(&client, "n1", "no taints left", |n| {
        n.spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .is_none_or(Vec::is_empty)
    })
    .await;
}

#[tokio::test]
async fn a_node_that_never_posts_status_is_unknown_after_the_startup_grace() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _steady = Kubelet::start(&client, "steady", ready()).await;
    let _silent = Kubelet::start(&client, "n1", None).await;
    let _manager = cluster.run(settings(&cluster, &["nodelifecycle"]));
    let node = node_until(&client, "n1", "n1 never updated", |n| {
        condition(n, "Ready").is_some_and(|c| c.0 == "Unknown")
            && taint(n, UNREACHABLE, "NoSchedule").is_some()
    })
    .await;
    let (_, reason, message) = condition(&node, "Ready").unwrap();
    assert_eq!(reason.as_deref(), Some("NodeStatusNeverUpdated"));
    assert_eq!(
        message.as_deref(),
        Some("Kubelet never posted node status.")
    );
}

#[tokio::test]
async fn pods_are_evicted_per_their_tolerations() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _steady = Kubelet::start(&client, "steady", ready()).await;
    let kubelet = Kubelet::start(&client, "n1", ready()).await;
    let (u, nr) = (UNREACHABLE, NOT_READY);
    // Tolerations that name the taints but do not match them (a value they lack), so
    // DefaultTolerationSeconds adds none.
    pod_on(
        &client,
        "at-once",
        "n1",
        json!([
            {"key": u, "operator": "Equal", "value": "never", "effect": "NoExecute"},
            {"key": nr, "operator": "Equal", "value": "never", "effect": "NoExecute"},
        ]),
    )
    .await;
    let seconds = |s: i64| {
        json!([
            {"key": u, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": s},
            {"key": nr, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": s},
        ])
    };
    pod_on(&client, "brief", "n1", seconds(2)).await;
    pod_on(&client, "patient", "n1", seconds(3600)).await;
    pod_on(
        &client,
        "forever",
        "n1",
        json!([
            {"key": u, "operator": "Exists", "effect": "NoExecute"},
            {"key": nr, "operator": "Exists", "effect": "NoExecute"},
        ]),
    )
    .await;
    pod_on(&client, "elsewhere", "steady", json!([])).await;
    let _manager = cluster.run(settings(
        &cluster,
        &["nodelifecycle", "taint-eviction-controller"],
    ));
    node_until(&client, "n1", "n1 Ready", |n| {
        condition(n, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await;

    kubelet.set(None);
    let node = node_until(&client, "n1", "n1 unreachable", |n| {
        taint(n, UNREACHABLE, "NoExecute").is_some()
    })
    .await;
    let added = taint(&node, UNREACHABLE, "NoExecute")
        .unwrap()
        .time_added
        .clone()
        .unwrap()
        .0;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let deleted = |name: &'static str| {
        let pods = pods.clone();
        async move {
            pods.get(name)
                .await
                .unwrap()
                .metadata
                .deletion_timestamp
                .map(|t| t.0)
        }
    };
    eventually("at-once evicted", || deleted("at-once")).await;
    let at_once = pods.get("at-once").await.unwrap();
    let target = at_once
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "DisruptionTarget")
        .unwrap();
    assert_eq!(
        (target.status.as_str(), target.reason.as_deref()),
        ("True", Some("DeletionByTaintManager"))
    );

    let brief_gone = eventually("brief evicted", || deleted("brief")).await;
    assert!(
        brief_gone >= added + SignedDuration::from_secs(2),
        "evicted at {brief_gone}, tainted at {added}"
    );
    assert!(
        notes(&client, "default", "TaintManagerEviction")
            .await
            .contains(&"Marking for deletion Pod default/brief".to_owned())
    );

    // The node returns: the pending eviction is cancelled; nothing else was evicted.
    kubelet.set(ready());
    node_until(&client, "n1", "n1 untainted", |n| {
        taint(n, UNREACHABLE, "NoExecute").is_none()
    })
    .await;
    eventually("the patient pod's eviction cancelled", || {
        let client = client.clone();
        async move {
            notes(&client, "default", "TaintManagerEviction")
                .await
                .contains(&"Cancelling deletion of Pod default/patient".to_owned())
                .then_some(())
        }
    })
    .await;
    for name in ["patient", "forever", "elsewhere"] {
        assert_eq!(deleted(name).await, None, "{name} was evicted");
    }
}

#[tokio::test]
async fn when_every_node_is_down_nothing_is_evicted() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let kubelet = Kubelet::start(&client, "only", ready()).await;
    // No toleration for either taint (DefaultTolerationSeconds would add 300 s ones).
    pod_on(
        &client,
        "p",
        "only",
        json!([
            {"key": UNREACHABLE, "operator": "Equal", "value": "never", "effect": "NoExecute"},
            {"key": NOT_READY, "operator": "Equal", "value": "never", "effect": "NoExecute"},
        ]),
    )
    .await;
    let _manager = cluster.run(settings(
        &cluster,
        &["nodelifecycle", "taint-eviction-controller"],
    ));
    node_until(&client, "only", "the node Ready", |n| {
        condition(n, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await;

    // The only node goes silent: its zone, and so every zone, is fully disrupted
    // (upstream's master disruption mode): NoSchedule taint, but no NoExecute taint.
    kubelet.set(None);
    node_until(&client, "only", "the node Unknown", |n| {
        condition(n, "Ready").is_some_and(|c| c.0 == "Unknown")
            && taint(n, UNREACHABLE, "NoSchedule").is_some()
    })
    .await;
    // Several monitor passes later: still no NoExecute taint, and the pod (which would
    // have been evicted at once by any) is still there.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let node = Api::<Node>::all(client.clone()).get("only").await.unwrap();
    assert!(taint(&node, UNREACHABLE, "NoExecute").is_none());
    let pod = Api::<Pod>::namespaced(client.clone(), "default")
        .get("p")
        .await
        .unwrap();
    assert!(pod.metadata.deletion_timestamp.is_none());
}

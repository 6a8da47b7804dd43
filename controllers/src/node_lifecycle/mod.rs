//! Upstream's `node-lifecycle-controller`: every `node_monitor_period` it judges each
//! node's health from when this controller last saw its kubelet alive (a Lease renewal in
//! `kube-node-lease` or a new Ready heartbeat); an overdue node's conditions become Unknown.
//! It keeps the condition taints (NoSchedule, and NoExecute not-ready/unreachable unless
//! the zone is fully disrupted) and marks the pods of a node that is not Ready not ready.
//! Evicting those pods is the `taint-eviction-controller`'s work.

pub mod health;
mod monitor;
pub mod taints;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::PostParams;
use kube::runtime::events::EventType;

use crate::events::Recorder;
use kube::{Api, Resource as _};
use parking_lot::Mutex;

use crate::informers::index::{BY_NODE, node_keys, pods_on_node};
use crate::informers::{Change, Informer, Received};
use crate::manager::Context;
use crate::runner::{Requeue, run_workers};
use crate::workqueue::WorkQueue;
use health::ZoneState;
use taints::NoExecute;

/// Upstream's component name.
pub const NAME: &str = "node-lifecycle-controller";
/// Where kubelets renew their Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
const WORKERS: usize = 4;

/// A failed sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing a node failed (a conflict is retried).
    #[error("updating node {0}: {1}")]
    Node(String, #[source] kube::Error),
    /// Marking a pod not ready failed.
    #[error("marking pod {0} not ready: {1}")]
    Pod(String, #[source] kube::Error),
}

/// Publishes an event; failures are logged, never fatal.
pub(crate) async fn record(
    recorder: &Recorder,
    reference: &ObjectReference,
    type_: EventType,
    reason: &str,
    note: String,
) {
    recorder.record(reference, type_, reason, note).await;
}

/// A reference to the node `name` (as upstream, which records node events with no
/// namespace).
pub(crate) fn node_ref(name: &str, uid: Option<&str>) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("Node".to_owned()),
        name: Some(name.to_owned()),
        uid: uid.map(str::to_owned),
        ..Default::default()
    }
}

#[derive(Default)]
struct State {
    probes: Mutex<HashMap<String, health::Probe>>,
    /// The last pass's verdict: zone states, and each node's Ready status then.
    judged: Mutex<Judged>,
}

#[derive(Default)]
struct Judged {
    zones: BTreeMap<String, ZoneState>,
    ready: HashMap<String, Option<String>>,
}

#[derive(Clone)]
struct Shared {
    ctx: Context,
    state: Arc<State>,
    nodes: Informer<Node>,
    leases: Informer<Lease>,
    pods: Informer<Pod>,
    recorder: Recorder,
}

/// Runs the controller until the manager stops.
pub async fn run(ctx: Context) {
    let shared = Shared {
        nodes: ctx.informers.get::<Node>(),
        leases: ctx.informers.get::<Lease>(),
        pods: ctx.informers.get::<Pod>(),
        recorder: ctx.recorder(NAME),
        state: Arc::default(),
        ctx: ctx.clone(),
    };
    shared.pods.add_index(BY_NODE, node_keys);
    let mut node_rx = shared.nodes.subscribe();
    let mut pod_rx = shared.pods.subscribe();
    tokio::select! {
        () = async {
            shared.nodes.synced().await;
            shared.leases.synced().await;
            shared.pods.synced().await;
        } => {}
        () = ctx.stopped() => return,
    }
    let queue = WorkQueue::<String>::new();
    let watch = tokio::spawn({
        let (queue, nodes) = (queue.clone(), shared.nodes.clone());
        let enqueue_all = move |queue: &WorkQueue<String>| {
            for node in nodes.store().state() {
                queue.add(node.metadata.name.clone().unwrap_or_default());
            }
        };
        async move {
            loop {
                tokio::select! {
                    Some(r) = node_rx.recv() => match r {
                        Received::Change(c) => queue.add(c.object().metadata.name.clone().unwrap_or_default()),
                        Received::Resync => enqueue_all(&queue),
                    },
                    Some(r) = pod_rx.recv() => match r {
                        Received::Change(Change::Applied { new, .. }) => {
                            if let Some(node) = new.spec.as_ref().and_then(|s| s.node_name.clone()) {
                                queue.add(node);
                            }
                        }
                        Received::Change(Change::Deleted(_)) => {}
                        Received::Resync => enqueue_all(&queue),
                    },
                    else => break,
                }
            }
        }
    });
    let monitor = tokio::spawn(monitor::run(shared.clone(), queue.clone()));
    run_workers(NAME, &ctx, queue, WORKERS, move |name| {
        let shared = shared.clone();
        async move { sync(&shared, name).await }
    })
    .await;
    watch.abort();
    monitor.abort();
}

/// How NoExecute taints may change on `node`: a Ready status the last pass did not judge
/// (a write since) holds them until the next pass has seen every node's.
fn no_execute_mode(judged: &Judged, node: &Node) -> NoExecute {
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let ready = health::ready_status(node).map(str::to_owned);
    if judged.ready.get(name) != Some(&ready) {
        return NoExecute::Hold;
    }
    let (zones, zone) = (&judged.zones, health::zone_of(node));
    if !zones.is_empty() && zones.values().all(|z| *z == ZoneState::FullDisruption) {
        NoExecute::Remove
    } else if zones.get(&zone) == Some(&ZoneState::FullDisruption) {
        NoExecute::Hold
    } else {
        NoExecute::Apply
    }
}

/// The node's taints, and its pods when it is not Ready (health itself is judged by the
/// monitor, every node in one pass, so zone states see the whole picture first).
async fn sync(shared: &Shared, name: String) -> Result<Requeue, Error> {
    let Some(node) = shared.nodes.get(None, &name) else {
        return Ok(Requeue::No);
    };
    let now = Timestamp::now();
    let api: Api<Node> = Api::all(shared.ctx.client.clone());
    let mut node = (*node).clone();
    let mode = no_execute_mode(&shared.state.judged.lock(), &node);
    let current = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    if let Some(next) = taints::reconcile(&current, &taints::wanted(&node, mode), now) {
        node.spec.get_or_insert_default().taints = Some(next);
        node = api
            .replace(&name, &PostParams::default(), &node)
            .await
            .map_err(|e| Error::Node(name.clone(), e))?;
    }
    if health::ready_status(&node).is_some_and(|s| s != "True") {
        mark_pods_not_ready(shared, &name, now).await?;
    }
    Ok(Requeue::No)
}

/// Upstream's `MarkPodsNotReady`: every Ready pod on the node gets Ready=False and a
/// `NodeNotReady` event.
async fn mark_pods_not_ready(shared: &Shared, node: &str, now: Timestamp) -> Result<(), Error> {
    let on_node = pods_on_node(&shared.pods, node)
        .into_iter()
        .filter(|p| crate::podutil::is_ready(p));
    for pod in on_node {
        let mut pod = (*pod).clone();
        let Some(ready) = pod
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
            .and_then(|cs| cs.iter_mut().find(|c| c.type_ == "Ready"))
        else {
            continue;
        };
        ready.status = "False".to_owned();
        ready.last_transition_time = Some(Time(now));
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(shared.ctx.client.clone(), &ns);
        match api
            .replace_status(&name, &PostParams::default(), &pod)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => continue,
            Err(e) => return Err(Error::Pod(format!("{ns}/{name}"), e)),
        }
        let reference = pod.object_ref(&());
        let note = "Node is not ready".to_owned();
        record(
            &shared.recorder,
            &reference,
            EventType::Warning,
            "NodeNotReady",
            note,
        )
        .await;
    }
    Ok(())
}

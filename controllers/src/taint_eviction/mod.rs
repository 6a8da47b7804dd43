//! Upstream's `taint-eviction-controller`: pods on nodes with NoExecute taints they do not
//! tolerate are deleted at once; tolerated for `tolerationSeconds`, they are deleted when
//! that long has passed since the taint was added, unless the taint goes first; tolerated
//! forever, they stay. Before deleting, the pod gets the `DisruptionTarget` condition.

pub mod verdict;

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::runtime::events::EventType;

use crate::events::Recorder;
use kube::{Api, Resource as _};
use parking_lot::Mutex;

use crate::informers::index::{BY_NODE, node_keys, pods_on_node};
use crate::informers::{Change, Informer, Received, key_of, split_key};
use crate::manager::Context;
use crate::node_lifecycle::record;
use crate::runner::{Requeue, run_workers};
use crate::workqueue::WorkQueue;
use verdict::Verdict;

/// Upstream's component name.
pub const NAME: &str = "taint-eviction-controller";
const WORKERS: usize = 4;

/// A failed eviction.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Setting the DisruptionTarget condition or deleting failed.
    #[error("evicting pod {0}: {1}")]
    Evict(String, #[source] kube::Error),
}

#[derive(Clone)]
struct Shared {
    ctx: Context,
    nodes: Informer<Node>,
    pods: Informer<Pod>,
    recorder: Recorder,
    /// Pods with an eviction scheduled, and since when.
    scheduled: Arc<Mutex<HashMap<String, Timestamp>>>,
}

fn no_execute(node: Option<&Node>) -> Vec<Taint> {
    node.and_then(|n| n.spec.as_ref()?.taints.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.effect == "NoExecute")
        .collect()
}

fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.node_name.as_deref()
}

/// Runs the controller until the manager stops.
pub async fn run(ctx: Context) {
    let shared = Shared {
        nodes: ctx.informers.get::<Node>(),
        pods: ctx.informers.get::<Pod>(),
        recorder: ctx.recorder(NAME),
        scheduled: Arc::default(),
        ctx: ctx.clone(),
    };
    shared.pods.add_index(BY_NODE, node_keys);
    let mut node_rx = shared.nodes.subscribe();
    let mut pod_rx = shared.pods.subscribe();
    tokio::select! {
        () = async { shared.nodes.synced().await; shared.pods.synced().await } => {}
        () = ctx.stopped() => return,
    }
    let queue = WorkQueue::<String>::new();
    let pods_on = {
        let pods = shared.pods.clone();
        move |queue: &WorkQueue<String>, node: Option<&str>| {
            let pods = match node {
                Some(node) => pods_on_node(&pods, node),
                None => pods.store().state(),
            };
            for pod in pods {
                if node_of(&pod).is_some() {
                    queue.add(key_of(pod.as_ref()));
                }
            }
        }
    };
    pods_on(&queue, None);
    let watch = tokio::spawn({
        let queue = queue.clone();
        async move {
            loop {
                tokio::select! {
                    Some(r) = node_rx.recv() => match r {
                        Received::Change(Change::Applied { old, new }) => {
                            if no_execute(old.as_deref()) != no_execute(Some(&new)) {
                                pods_on(&queue, new.metadata.name.as_deref());
                            }
                        }
                        Received::Change(Change::Deleted(node)) => pods_on(&queue, node.metadata.name.as_deref()),
                        Received::Resync => pods_on(&queue, None),
                    },
                    Some(r) = pod_rx.recv() => match r {
                        Received::Change(c) => queue.add(key_of(c.object().as_ref())),
                        Received::Resync => pods_on(&queue, None),
                    },
                    else => break,
                }
            }
        }
    });
    run_workers(NAME, &ctx, queue, WORKERS, move |key| {
        let shared = shared.clone();
        async move { sync(&shared, key).await }
    })
    .await;
    watch.abort();
}

async fn cancel(shared: &Shared, key: &str) {
    if shared.scheduled.lock().remove(key).is_some() {
        let (ns, name) = split_key(key);
        let reference = k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("Pod".to_owned()),
            namespace: ns.map(str::to_owned),
            name: Some(name.to_owned()),
            ..Default::default()
        };
        let note = format!("Cancelling deletion of Pod {key}");
        record(
            &shared.recorder,
            &reference,
            EventType::Normal,
            "TaintManagerEviction",
            note,
        )
        .await;
    }
}

async fn sync(shared: &Shared, key: String) -> Result<Requeue, Error> {
    let (ns, name) = split_key(&key);
    let pod = shared.pods.get(ns, name);
    let Some(pod) = pod.filter(|p| p.metadata.deletion_timestamp.is_none()) else {
        shared.scheduled.lock().remove(&key);
        return Ok(Requeue::No);
    };
    let Some(node_name) = node_of(&pod) else {
        return Ok(Requeue::No);
    };
    let taints = no_execute(shared.nodes.get(None, node_name).as_deref());
    let now = Timestamp::now();
    let first_seen = shared.scheduled.lock().get(&key).copied().unwrap_or(now);
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    match verdict::verdict(&taints, &tolerations, first_seen, now) {
        Verdict::Keep => {
            cancel(shared, &key).await;
            Ok(Requeue::No)
        }
        Verdict::EvictAt(at) => {
            shared.scheduled.lock().entry(key).or_insert(now);
            let wait = at.duration_since(now).unsigned_abs();
            Ok(Requeue::After(wait + std::time::Duration::from_millis(10)))
        }
        Verdict::EvictNow => {
            evict(shared, &pod, &key).await?;
            shared.scheduled.lock().remove(&key);
            Ok(Requeue::No)
        }
    }
}

/// Upstream's `addConditionAndDeletePod`, after the `TaintManagerEviction` event.
async fn evict(shared: &Shared, pod: &Pod, key: &str) -> Result<(), Error> {
    let note = format!("Marking for deletion Pod {key}");
    let reference = pod.object_ref(&());
    record(
        &shared.recorder,
        &reference,
        EventType::Normal,
        "TaintManagerEviction",
        note,
    )
    .await;
    let (ns, name) = split_key(key);
    let api: Api<Pod> = Api::namespaced(shared.ctx.client.clone(), ns.unwrap_or_default());
    let marked = crate::podutil::condition(pod, "DisruptionTarget").is_some_and(|c| {
        c.status == "True" && c.reason.as_deref() == Some("DeletionByTaintManager")
    });
    let gone = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 404);
    if !marked {
        let patch = serde_json::json!({"status": {"conditions": [{
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "DeletionByTaintManager",
            "message": "Taint manager: deleting due to NoExecute taint",
            "lastTransitionTime": k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::now()),
        }]}});
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
        {
            Ok(_) => {}
            Err(e) if gone(&e) => return Ok(()),
            Err(e) => return Err(Error::Evict(key.to_owned(), e)),
        }
    }
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if gone(&e) => Ok(()),
        Err(e) => Err(Error::Evict(key.to_owned(), e)),
    }
}

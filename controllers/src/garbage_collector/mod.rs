//! The garbage collector, as kube-controller-manager's `garbage-collector-controller`:
//! objects whose owners are all gone are deleted (background), owners deleted in the
//! foreground wait for their blocking dependents, owners deleted with `orphan` release
//! their dependents.
//!
//! [`monitors`] watch the metadata of every deletable kind discovery reports (refreshed
//! every 30 s, so kinds served later are covered) and feed one channel; one task applies
//! those events to the uid [`graph`] in order, queueing uids for the workers
//! ([`worker`]), whose decisions are [`attempt`]'s pure functions. Workers start once
//! every monitor has listed.

pub mod attempt;
mod builder;
pub mod graph;
pub mod monitors;
mod worker;

use std::sync::Arc;

use kube::runtime::events::{Event, EventType};

use crate::events::Recorder;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};

use self::graph::{Action, Graph};
use self::monitors::{GraphEvent, Mapper};
use self::worker::Collector;
use crate::manager::Context;
use crate::runner::run_workers;
use crate::workqueue::WorkQueue;

/// Upstream's component name.
const NAME: &str = "garbage-collector-controller";

/// Why one attempt failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    /// The API call failed.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// No served resource has this apiVersion and kind (yet).
    #[error("unable to get REST mapping for {0}")]
    Unmapped(String),
    /// A cluster-scoped object names a namespaced owner; never resolves.
    #[error("cluster-scoped object cannot refer to namespace-scoped owner")]
    NamespacedOwnerOfClusterScoped,
    /// A virtual node: looked at again until a monitor observes it.
    #[error("item {0} has not been observed via informer yet")]
    NotObserved(String),
}

/// Runs the garbage collector until the manager stops.
pub async fn run(ctx: Context) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (synced_tx, mut synced) = watch::channel(false);
    let mapper = Mapper::default();
    let graph = Arc::new(Mutex::new(Graph::default()));
    let delete_queue = WorkQueue::new();
    let orphan_queue = WorkQueue::new();
    let monitors = tokio::spawn(monitors::run(
        ctx.client.clone(),
        mapper.clone(),
        tx.clone(),
        synced_tx,
    ));
    let builder = tokio::spawn(build(
        graph.clone(),
        rx,
        delete_queue.clone(),
        orphan_queue.clone(),
        ctx.recorder(NAME),
    ));
    let ready = async {
        let _ = synced.wait_for(|s| *s).await;
        // Every event the first lists produced is in the graph before workers start.
        let (done, wait) = oneshot::channel();
        let _ = tx.send(GraphEvent::Barrier(done));
        let _ = wait.await;
    };
    let started = tokio::select! {
        () = ready => true,
        () = ctx.stopped() => false,
    };
    if started {
        tracing::info!(
            nodes = graph.lock().len(),
            "garbage collector: all resource monitors have synced"
        );
        let collector = Arc::new(Collector {
            client: ctx.client.clone(),
            mapper,
            graph,
            events: tx,
            delete_queue: delete_queue.clone(),
        });
        let workers = ctx.settings.workers.garbage_collector;
        let deleter = collector.clone();
        let deletes = run_workers(NAME, &ctx, delete_queue, workers, move |uid| {
            let c = deleter.clone();
            async move { c.attempt_to_delete(uid).await }
        });
        let orphans = run_workers(NAME, &ctx, orphan_queue, workers, move |uid| {
            let c = collector.clone();
            async move { c.attempt_to_orphan(uid).await }
        });
        futures::join!(deletes, orphans);
    }
    monitors.abort();
    builder.abort();
}

/// The graph builder: applies monitor and worker events to the graph, in order.
async fn build(
    graph: Arc<Mutex<Graph>>,
    mut rx: mpsc::UnboundedReceiver<GraphEvent>,
    delete_queue: WorkQueue<String>,
    orphan_queue: WorkQueue<String>,
    recorder: Recorder,
) {
    while let Some(event) = rx.recv().await {
        let actions = {
            let mut graph = graph.lock();
            match event {
                GraphEvent::Upsert(seen) => graph.upsert(seen),
                GraphEvent::Delete(gone) => graph.delete(&gone),
                GraphEvent::VirtualDelete(gone) => graph.virtual_delete(&gone),
                GraphEvent::Barrier(done) => {
                    let _ = done.send(());
                    Vec::new()
                }
                GraphEvent::InvalidOwner(dependent, owner) => {
                    vec![Action::InvalidNamespace { dependent, owner }]
                }
            }
        };
        for action in actions {
            match action {
                Action::AttemptDelete(uid) => delete_queue.add(uid),
                Action::AttemptOrphan(uid) => orphan_queue.add(uid),
                Action::InvalidNamespace { dependent, owner } => {
                    let recorder = recorder.clone();
                    tokio::spawn(async move {
                        let reference = k8s_openapi::api::core::v1::ObjectReference {
                            api_version: Some(dependent.api_version.clone()),
                            kind: Some(dependent.kind.clone()),
                            namespace: (!dependent.namespace.is_empty())
                                .then(|| dependent.namespace.clone()),
                            name: Some(dependent.name.clone()),
                            uid: Some(dependent.uid.clone()),
                            ..Default::default()
                        };
                        let event = Event {
                            type_: EventType::Warning,
                            reason: "OwnerRefInvalidNamespace".into(),
                            note: Some(format!(
                                "ownerRef {owner} does not exist in namespace {:?}",
                                dependent.namespace
                            )),
                            action: "GarbageCollect".into(),
                            secondary: None,
                        };
                        if let Err(error) = recorder.publish(&event, &reference).await {
                            tracing::warn!(%error, "garbage collector: event not recorded");
                        }
                    });
                }
            }
        }
    }
}

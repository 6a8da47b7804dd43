//! The ReplicaSet controller (upstream's `replicaset-controller`): keeps `spec.replicas`
//! active pods for every ReplicaSet, adopting matching orphans and releasing pods that
//! stopped matching, and reports the counts in its status.
//!
//! This file is the shell: informers, and which ReplicaSets a pod or ReplicaSet change
//! wakes ([`sync`] syncs one, [`manage`] creates and deletes pods, [`ranking`] picks the
//! pods to delete, [`status`] computes the status).

pub mod manage;
pub mod memo;
pub mod ranking;
pub mod status;
pub mod sync;

use std::sync::Arc;

use crate::events::Recorder;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt as _;
use kube::core::{Selector, SelectorExt as _};

use crate::expectations::Expectations;
use crate::informers::index::{BY_CONTROLLER, controller_keys};
use crate::informers::{Change, Informer, Received, Subscription, key_of};
use crate::manager::Context;
use crate::owner::controller_of;
use crate::runner::run_workers;
use crate::workqueue::WorkQueue;

/// Upstream's name, used in events.
pub const NAME: &str = "replicaset-controller";

/// What every worker shares.
pub struct Shared {
    /// The manager's context.
    pub ctx: Context,
    /// Creates and deletes in flight, by ReplicaSet key.
    pub expectations: Expectations,
    /// Events as `replicaset-controller`.
    pub recorder: Recorder,
    /// ReplicaSets, indexed [`BY_CONTROLLER`].
    pub sets: Informer<ReplicaSet>,
    /// Pods, indexed [`BY_CONTROLLER`].
    pub pods: Informer<Pod>,
    /// What the last sync of each ReplicaSet concluded about its pods.
    pub memo: memo::Memo,
    /// The controller's queue (a ReplicaSet whose pods take long to look over rests in it).
    pub queue: WorkQueue<String>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("expectations", &self.expectations)
            .finish_non_exhaustive()
    }
}

/// Runs the controller until the manager stops.
pub async fn run(ctx: Context) {
    let sets = ctx.informers.get::<ReplicaSet>();
    let pods = ctx.informers.get::<Pod>();
    // Syncs find a ReplicaSet's pods, and a Deployment's ReplicaSets, by controller.
    pods.add_index(BY_CONTROLLER, controller_keys::<Pod>);
    sets.add_index(BY_CONTROLLER, controller_keys::<ReplicaSet>);
    let set_changes = sets.subscribe();
    let pod_changes = pods.subscribe();
    tokio::select! {
        () = async { sets.synced().await; pods.synced().await } => {}
        () = ctx.stopped() => return,
    }
    let shared = Arc::new(Shared {
        recorder: ctx.recorder(NAME),
        expectations: Expectations::new(),
        ctx: ctx.clone(),
        sets,
        pods,
        memo: memo::Memo::default(),
        queue: WorkQueue::new(),
    });
    let queue = shared.queue.clone();
    enqueue_all(&shared, &queue);
    let watch = tokio::spawn(watch(
        shared.clone(),
        queue.clone(),
        set_changes,
        pod_changes,
    ));
    let workers = ctx.settings.workers.replicaset;
    run_workers(NAME, &ctx, queue, workers, move |key: String| {
        let shared = shared.clone();
        async move { sync::sync(&shared, &key).await }
    })
    .await;
    watch.abort();
}

fn enqueue_all(shared: &Shared, queue: &WorkQueue<String>) {
    for rs in shared.sets.store().state() {
        queue.add(key_of(rs.as_ref()));
    }
}

/// Maps changes to ReplicaSet keys until the manager stops.
async fn watch(
    shared: Arc<Shared>,
    queue: WorkQueue<String>,
    mut sets: Subscription<ReplicaSet>,
    mut pods: Subscription<Pod>,
) {
    loop {
        tokio::select! {
            received = sets.recv() => match received {
                Some(Received::Change(change)) => set_changed(&shared, &queue, &change),
                Some(Received::Resync) => enqueue_all(&shared, &queue),
                None => return,
            },
            received = pods.recv() => match received {
                Some(Received::Change(change)) => pod_changed(&shared, &queue, &change),
                // Lost pod events: every ReplicaSet looks again; expectations waiting on a
                // lost event are met when they expire.
                Some(Received::Resync) => enqueue_all(&shared, &queue),
                None => return,
            },
            () = shared.ctx.stopped() => return,
        }
    }
}

fn set_changed(shared: &Shared, queue: &WorkQueue<String>, change: &Change<ReplicaSet>) {
    let key = key_of(change.object().as_ref());
    match change {
        Change::Applied {
            old: Some(old),
            new,
        } if old.uid() != new.uid() => {
            // Deleted and recreated under the same name: start clean.
            shared.expectations.delete(&key);
        }
        Change::Deleted(_) => shared.expectations.delete(&key),
        Change::Applied { .. } => {}
    }
    queue.add(key);
}

fn pod_changed(shared: &Shared, queue: &WorkQueue<String>, change: &Change<Pod>) {
    match change {
        Change::Applied { old: None, new } => pod_added(shared, queue, new),
        Change::Applied {
            old: Some(old),
            new,
        } => pod_updated(shared, queue, old, new),
        Change::Deleted(pod) => pod_deleted(shared, queue, pod),
    }
}

/// The ReplicaSet a controller reference points at, if it exists with that uid.
fn resolve(shared: &Shared, namespace: &str, r: &OwnerReference) -> Option<Arc<ReplicaSet>> {
    if r.kind != "ReplicaSet" {
        return None;
    }
    let rs = shared.sets.get(Some(namespace), &r.name)?;
    (rs.metadata.uid.as_deref() == Some(r.uid.as_str())).then_some(rs)
}

/// The ReplicaSets whose (non-empty) selector matches `pod`, for adoption.
fn matching_sets(shared: &Shared, pod: &Pod) -> Vec<Arc<ReplicaSet>> {
    let namespace = pod.namespace();
    shared
        .sets
        .store()
        .state()
        .into_iter()
        .filter(|rs| rs.namespace() == namespace)
        .filter(|rs| {
            let selector = rs.spec.as_ref().map(|s| s.selector.clone());
            selector
                .and_then(|s| Selector::try_from(s).ok())
                .is_some_and(|s| !s.selects_all() && s.matches(pod.labels()))
        })
        .collect()
}

fn pod_added(shared: &Shared, queue: &WorkQueue<String>, pod: &Pod) {
    if pod.metadata.deletion_timestamp.is_some() {
        // Seen for the first time already being deleted (e.g. after a restart).
        pod_deleted(shared, queue, pod);
        return;
    }
    if let Some(r) = controller_of(&pod.metadata) {
        if let Some(rs) = resolve(shared, &pod.namespace().unwrap_or_default(), r) {
            let key = key_of(rs.as_ref());
            shared.expectations.creation_observed(&key);
            queue.add(key);
        }
        return;
    }
    for rs in matching_sets(shared, pod) {
        queue.add(key_of(rs.as_ref()));
    }
}

fn pod_updated(shared: &Shared, queue: &WorkQueue<String>, old: &Pod, new: &Pod) {
    if old.resource_version() == new.resource_version() {
        return;
    }
    let labels_changed = old.labels() != new.labels();
    if new.metadata.deletion_timestamp.is_some() {
        // A graceful deletion counts as the deletion: replacements start now.
        pod_deleted(shared, queue, new);
        if labels_changed {
            pod_deleted(shared, queue, old);
        }
        return;
    }
    let namespace = new.namespace().unwrap_or_default();
    let (old_ref, new_ref) = (controller_of(&old.metadata), controller_of(&new.metadata));
    let ref_changed = old_ref != new_ref;
    if ref_changed && let Some(rs) = old_ref.and_then(|r| resolve(shared, &namespace, r)) {
        queue.add(key_of(rs.as_ref()));
    }
    if let Some(r) = new_ref {
        if let Some(rs) = resolve(shared, &namespace, r) {
            queue.add(key_of(rs.as_ref()));
        }
        return;
    }
    if labels_changed || ref_changed {
        for rs in matching_sets(shared, new) {
            queue.add(key_of(rs.as_ref()));
        }
    }
}

fn pod_deleted(shared: &Shared, queue: &WorkQueue<String>, pod: &Pod) {
    let Some(r) = controller_of(&pod.metadata) else {
        return;
    };
    if let Some(rs) = resolve(shared, &pod.namespace().unwrap_or_default(), r) {
        let key = key_of(rs.as_ref());
        shared.expectations.deletion_observed(&key, &key_of(pod));
        queue.add(key);
    }
}

//! The Deployment controller (upstream's `deployment-controller`): rolls a Deployment's
//! pod template out through one ReplicaSet per template revision, by the RollingUpdate or
//! Recreate strategy, scales proportionally mid-rollout, keeps a bounded history of old
//! ReplicaSets, and reports progress in the Deployment's status.
//!
//! This file is the shell: informers for Deployments, ReplicaSets and Pods, and the
//! mapping of their changes to Deployment keys. [`sync`] is one sync of one Deployment.

mod history;
mod newrs;
mod progress;
mod recreate;
mod rolling;
mod scale;
mod sync;
mod util;
mod writes;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt as _;
use kube::core::{Selector, SelectorExt as _};

use crate::informers::index::{BY_CONTROLLER, UnknownIndex, controller_keys};
use crate::informers::{Change, Informer, Received, key_of};
use crate::manager::Context;
use crate::owner::controller_of;
use crate::runner::run_workers;
use crate::workqueue::WorkQueue;

/// Upstream's component name, used for events.
pub const NAME: &str = "deployment-controller";

/// Why a sync failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// An API call failed (conflicts included: the next sync sees the newer state).
    #[error("{0}")]
    Api(#[from] kube::Error),
    /// The Deployment's selector cannot be used.
    #[error("invalid selector: {0}")]
    Selector(String),
    /// The Deployment changed identity or is being deleted while adopting.
    #[error("cannot adopt: {0}")]
    Adopt(String),
    /// A new ReplicaSet's name is taken by another template: collisionCount was bumped.
    #[error("hash collision creating replica set {0}")]
    Collision(String),
    /// An old ReplicaSet reports more available pods than it asks for: cleaning up its
    /// unhealthy ones would scale it up (the status is stale; a later sync sees more).
    #[error(
        "when cleaning up unhealthy replicas, got invalid request to scale down {0} {1} -> {2}"
    )]
    InvalidScaleDown(String, i32, i32),
    /// An informer index is missing.
    #[error("{0}")]
    Index(#[from] UnknownIndex),
    /// A strategy this controller does not know.
    #[error("unexpected deployment strategy type: {0}")]
    Strategy(String),
}

/// What syncs share.
pub(crate) struct Ctl {
    client: kube::Client,
    deployments: Informer<Deployment>,
    replica_sets: Informer<ReplicaSet>,
    pods: Informer<Pod>,
    ctx: Context,
}

/// Runs the controller until the manager stops.
pub async fn run(ctx: Context) {
    let ctl = Arc::new(Ctl {
        client: ctx.client.clone(),
        deployments: ctx.informers.get::<Deployment>(),
        replica_sets: ctx.informers.get::<ReplicaSet>(),
        pods: ctx.informers.get::<Pod>(),
        ctx: ctx.clone(),
    });
    // Syncs find a Deployment's ReplicaSets, and their pods, by controller.
    ctl.replica_sets
        .add_index(BY_CONTROLLER, controller_keys::<ReplicaSet>);
    ctl.pods.add_index(BY_CONTROLLER, controller_keys::<Pod>);
    let mut deployments = ctl.deployments.subscribe();
    let mut replica_sets = ctl.replica_sets.subscribe();
    let mut pods = ctl.pods.subscribe();
    tokio::select! {
        () = async {
            ctl.deployments.synced().await;
            ctl.replica_sets.synced().await;
            ctl.pods.synced().await;
        } => {}
        () = ctx.stopped() => return,
    }
    let queue = WorkQueue::new();
    ctl.enqueue_all(&queue);

    let watcher = {
        let ctl = ctl.clone();
        let queue = queue.clone();
        async move {
            loop {
                tokio::select! {
                    Some(r) = deployments.recv() => match r {
                        Received::Change(c) => queue.add(key_of(c.object().as_ref())),
                        Received::Resync => ctl.enqueue_all(&queue),
                    },
                    Some(r) = replica_sets.recv() => match r {
                        Received::Change(c) => {
                            for key in ctl.keys_for_replica_set(&c) {
                                queue.add(key);
                            }
                        }
                        Received::Resync => ctl.enqueue_all(&queue),
                    },
                    Some(r) = pods.recv() => match r {
                        Received::Change(Change::Deleted(pod)) => {
                            if let Some(key) = ctl.key_for_deleted_pod(&pod) {
                                queue.add(key);
                            }
                        }
                        Received::Change(_) => {}
                        Received::Resync => ctl.enqueue_all(&queue),
                    },
                    else => break,
                }
            }
        }
    };
    let watcher = tokio::spawn(watcher);
    let workers = ctx.settings.workers.deployment;
    let sync_ctl = ctl.clone();
    run_workers(NAME, &ctx, queue, workers, move |key| {
        let ctl = sync_ctl.clone();
        async move { Box::pin(ctl.sync_deployment(&key)).await }
    })
    .await;
    watcher.abort();
}

impl Ctl {
    /// Queues every Deployment.
    fn enqueue_all(&self, queue: &WorkQueue<String>) {
        for d in self.deployments.store().state() {
            queue.add(key_of(d.as_ref()));
        }
    }

    /// The Deployment a controller reference points at, if it exists with that uid.
    fn resolve(&self, namespace: Option<&str>, r: &OwnerReference) -> Option<Arc<Deployment>> {
        if r.kind != "Deployment" {
            return None;
        }
        self.deployments
            .get(namespace, &r.name)
            .filter(|d| d.metadata.uid.as_deref() == Some(r.uid.as_str()))
    }

    /// Deployments in the ReplicaSet's namespace whose (non-empty) selector matches it.
    fn matching(&self, rs: &ReplicaSet) -> Vec<Arc<Deployment>> {
        let labels = rs.labels();
        self.deployments
            .store()
            .state()
            .into_iter()
            .filter(|d| d.metadata.namespace == rs.metadata.namespace)
            .filter(|d| {
                let Some(spec) = &d.spec else { return false };
                let empty = spec
                    .selector
                    .match_labels
                    .as_ref()
                    .is_none_or(|m| m.is_empty())
                    && spec
                        .selector
                        .match_expressions
                        .as_ref()
                        .is_none_or(|e| e.is_empty());
                !empty && Selector::try_from(spec.selector.clone()).is_ok_and(|s| s.matches(labels))
            })
            .collect()
    }

    /// Keys to sync for a ReplicaSet change (upstream's add/update/deleteReplicaSet).
    fn keys_for_replica_set(&self, change: &Change<ReplicaSet>) -> Vec<String> {
        let ns = change.object().metadata.namespace.as_deref();
        let key = |d: Arc<Deployment>| key_of(d.as_ref());
        match change {
            Change::Deleted(rs) => controller_of(&rs.metadata)
                .and_then(|r| self.resolve(ns, r))
                .map(key)
                .into_iter()
                .collect(),
            Change::Applied { old, new } => {
                if old
                    .as_ref()
                    .is_some_and(|o| o.metadata.resource_version == new.metadata.resource_version)
                {
                    return Vec::new();
                }
                let cur_ref = controller_of(&new.metadata);
                let old_ref = old.as_ref().and_then(|o| controller_of(&o.metadata));
                let ref_changed = old.is_some() && cur_ref != old_ref;
                let mut keys = Vec::new();
                if ref_changed && let Some(d) = old_ref.and_then(|r| self.resolve(ns, r)) {
                    keys.push(key(d));
                }
                if let Some(r) = cur_ref {
                    keys.extend(self.resolve(ns, r).map(key));
                    return keys;
                }
                // An orphan: every matching Deployment may want to adopt it.
                let labels_changed = old
                    .as_ref()
                    .is_none_or(|o| o.metadata.labels != new.metadata.labels);
                if labels_changed || ref_changed {
                    keys.extend(self.matching(new).into_iter().map(key));
                }
                keys
            }
        }
    }

    /// A deleted pod's Deployment, when it uses Recreate and has no pods left (upstream's
    /// `deletePod`: Recreate waits for old pods to be gone).
    fn key_for_deleted_pod(&self, pod: &Pod) -> Option<String> {
        let ns = pod.metadata.namespace.as_deref();
        let r = controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet")?;
        let rs = self
            .replica_sets
            .get(ns, &r.name)
            .filter(|rs| rs.metadata.uid.as_deref() == Some(r.uid.as_str()))?;
        let d = self.resolve(ns, controller_of(&rs.metadata)?)?;
        if util::is_rolling(&d) {
            return None;
        }
        let owned = self.owned_replica_sets(&d).ok()?;
        // The index may still hold the deleted pod.
        let pods = self
            .pod_map(&d, owned.iter().map(AsRef::as_ref))
            .ok()?
            .values()
            .flatten()
            .filter(|p| p.metadata.uid != pod.metadata.uid)
            .count();
        (pods == 0).then(|| key_of(d.as_ref()))
    }
}

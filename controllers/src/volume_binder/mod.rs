//! The PersistentVolume binder (upstream v1.33 `persistentvolume-binder-controller`,
//! `pkg/controller/volume/persistentvolume`): binds claims to volumes, asks provisioners
//! for volumes (the `volume.kubernetes.io/storage-provisioner` annotation), assigns the
//! default class to claims without one, marks claims Lost and volumes Released, and
//! reclaims released volumes by their policy.
//!
//! Two queues, as upstream: claims ([`claim`]) and volumes ([`volume`]), one worker each so
//! one claim or volume is never handled twice at once. Pending claims are looked at again
//! every [`RESYNC`] (upstream's periodic resync) and whenever a volume or class changes.

mod claim;
pub mod matching;
pub mod quantity;
mod volume;
mod write;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::runtime::events::EventType;

use crate::events::Recorder;
use kube::{Resource, ResourceExt as _};

use crate::informers::{Change, Informer, Received, key_of};
use crate::manager::Context;
use crate::runner::run_workers;
use crate::workqueue::WorkQueue;

/// The controller's name in `--controllers`.
pub const NAME: &str = "persistentvolume-binder-controller";
/// The component upstream's events come from.
pub const COMPONENT: &str = "persistentvolume-controller";
/// How often an unbound claim is looked at again (upstream `--pvclaimbinder-sync-period`).
pub const RESYNC: Duration = Duration::from_secs(15);

/// The claim annotation set once binding is complete.
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Set on claims and volumes the controller bound (rather than a user).
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// The provisioner a claim waits for.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// Its deprecated beta form, still set.
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// The node the scheduler chose for a claim's first consumer.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// The provisioner that made a volume.
pub const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";

/// What a sync can fail with (a failed sync is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum BinderError {
    /// An API call failed (a conflict is a normal retry).
    #[error(transparent)]
    Api(#[from] kube::Error),
    /// A state the controller refuses to act on.
    #[error("{0}")]
    Invalid(String),
}

/// What the claim and volume syncs share.
#[derive(Clone)]
pub(crate) struct Binder {
    pub(crate) client: kube::Client,
    pub(crate) claims: Informer<PersistentVolumeClaim>,
    pub(crate) volumes: Informer<PersistentVolume>,
    pub(crate) classes: Informer<StorageClass>,
    pub(crate) nodes: Informer<Node>,
    pub(crate) pods: Informer<Pod>,
    pub(crate) claim_queue: WorkQueue<String>,
    recorder: Arc<Recorder>,
}

impl Binder {
    /// Emits an event on `obj`; failures are logged only.
    pub(crate) async fn event<K>(&self, obj: &K, type_: EventType, reason: &str, note: String)
    where
        K: Resource<DynamicType = ()>,
    {
        self.recorder.record_on(obj, type_, reason, note).await;
    }

    /// Every claim not yet bound.
    fn unbound_claim_keys(&self) -> Vec<String> {
        self.claims
            .store()
            .state()
            .iter()
            .filter(|c| !c.annotations().contains_key(ANN_BIND_COMPLETED))
            .map(|c| key_of(c.as_ref()))
            .collect()
    }
}

/// The claim key a volume's `claimRef` names.
fn claim_ref_key(pv: &PersistentVolume) -> Option<String> {
    let r = pv.spec.as_ref()?.claim_ref.as_ref()?;
    Some(format!(
        "{}/{}",
        r.namespace.as_deref()?,
        r.name.as_deref()?
    ))
}

/// Runs the binder until the manager stops.
pub async fn run(ctx: Context) {
    let binder = Binder {
        client: ctx.client.clone(),
        claims: ctx.informers.get(),
        volumes: ctx.informers.get(),
        classes: ctx.informers.get(),
        nodes: ctx.informers.get(),
        pods: ctx.informers.get(),
        claim_queue: WorkQueue::new(),
        recorder: Arc::new(ctx.recorder(COMPONENT)),
    };
    let volume_queue = WorkQueue::new();
    let mut claim_changes = binder.claims.subscribe();
    let mut volume_changes = binder.volumes.subscribe();
    let mut class_changes = binder.classes.subscribe();
    tokio::select! {
        () = async {
            binder.claims.synced().await;
            binder.volumes.synced().await;
            binder.classes.synced().await;
            binder.nodes.synced().await;
            binder.pods.synced().await;
        } => {}
        () = ctx.stopped() => return,
    }
    let claim_queue = binder.claim_queue.clone();
    let enqueue_all = {
        let (binder, volume_queue) = (binder.clone(), volume_queue.clone());
        move || {
            for c in binder.claims.store().state() {
                binder.claim_queue.add(key_of(c.as_ref()));
            }
            for v in binder.volumes.store().state() {
                volume_queue.add(key_of(v.as_ref()));
            }
        }
    };
    enqueue_all();
    let dispatch = {
        let (binder, volume_queue) = (binder.clone(), volume_queue.clone());
        async move {
            loop {
                tokio::select! {
                    Some(r) = claim_changes.recv() => match r {
                        Received::Change(change) => {
                            let claim = change.object();
                            binder.claim_queue.add(key_of(claim.as_ref()));
                            if let Change::Deleted(claim) = &change {
                                // Its volume is released now.
                                let key = key_of(claim.as_ref());
                                for v in binder.volumes.store().state() {
                                    if claim_ref_key(&v).as_deref() == Some(key.as_str()) {
                                        volume_queue.add(key_of(v.as_ref()));
                                    }
                                }
                            }
                        }
                        Received::Resync => enqueue_all(),
                    },
                    Some(r) = volume_changes.recv() => match r {
                        Received::Change(change) => {
                            let pv = change.object();
                            volume_queue.add(key_of(pv.as_ref()));
                            if let Some(key) = claim_ref_key(pv) {
                                binder.claim_queue.add(key);
                            }
                            if matches!(change, Change::Applied { .. }) {
                                // A volume may have become available for a pending claim.
                                for key in binder.unbound_claim_keys() {
                                    binder.claim_queue.add(key);
                                }
                            }
                        }
                        Received::Resync => enqueue_all(),
                    },
                    Some(_) = class_changes.recv() => {
                        for key in binder.unbound_claim_keys() {
                            binder.claim_queue.add(key);
                        }
                    }
                    else => break,
                }
            }
        }
    };
    let dispatch = tokio::spawn(dispatch);
    let claims = {
        let binder = binder.clone();
        run_workers(NAME, &ctx, claim_queue, 1, move |key| {
            let binder = binder.clone();
            async move { claim::sync(&binder, &key).await }
        })
    };
    let volumes = {
        let binder = binder.clone();
        run_workers(NAME, &ctx, volume_queue, 1, move |key| {
            let binder = binder.clone();
            async move { volume::sync(&binder, &key).await }
        })
    };
    tokio::join!(claims, volumes);
    dispatch.abort();
}

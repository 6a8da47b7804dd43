//! Keelson's built-in local provisioner (as k3s's `local-path`): the default StorageClass
//! `local-path` (provisioner `keelson.io/local-path`, WaitForFirstConsumer, reclaim Delete)
//! is created at start if missing (never overwritten), claims handed to the provisioner by
//! the binder get a `hostPath` volume in a directory of their own on the selected node,
//! and released volumes of ours with reclaim Delete are removed with their directory.
//!
//! The provisioner's protocol is upstream's external-provisioner one: it acts on claims
//! annotated `volume.kubernetes.io/storage-provisioner: keelson.io/local-path`, creates
//! volume `pvc-<claim uid>` pre-bound to the claim, and lets the binder bind.

mod provision;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::events::EventType;

use crate::events::Recorder;
use kube::{Api, Resource};

use crate::informers::{Informer, Received, key_of};
use crate::manager::Context;
use crate::runner::run_workers;
use crate::volume_binder::matching::DEFAULT_CLASS_ANNOTATIONS;
use crate::workqueue::WorkQueue;

/// The controller's name in `--controllers`.
pub const NAME: &str = "local-path-provisioner";
/// The provisioner name classes and volumes carry.
pub const PROVISIONER: &str = "keelson.io/local-path";
/// The StorageClass made at start.
pub const CLASS: &str = "local-path";

/// What a sync can fail with (a failed sync is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// An API call failed.
    #[error(transparent)]
    Api(#[from] kube::Error),
    /// The volume's directory could not be made or removed.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Nothing to provision on, or a claim that cannot be served.
    #[error("{0}")]
    Unusable(String),
}

/// What the syncs share.
#[derive(Clone)]
pub(crate) struct Provisioner {
    pub(crate) client: kube::Client,
    pub(crate) claims: Informer<PersistentVolumeClaim>,
    pub(crate) volumes: Informer<PersistentVolume>,
    pub(crate) classes: Informer<StorageClass>,
    pub(crate) nodes: Informer<Node>,
    pub(crate) root: PathBuf,
    recorder: Arc<Recorder>,
}

impl Provisioner {
    /// Emits an event on `obj`; failures are logged only.
    pub(crate) async fn event<K>(&self, obj: &K, type_: EventType, reason: &str, note: String)
    where
        K: Resource<DynamicType = ()>,
    {
        self.recorder.record_on(obj, type_, reason, note).await;
    }
}

/// The class made at start.
pub fn default_class() -> StorageClass {
    StorageClass {
        metadata: ObjectMeta {
            name: Some(CLASS.to_owned()),
            annotations: Some(
                [(DEFAULT_CLASS_ANNOTATIONS[0].to_owned(), "true".to_owned())].into(),
            ),
            ..ObjectMeta::default()
        },
        provisioner: PROVISIONER.to_owned(),
        reclaim_policy: Some("Delete".to_owned()),
        volume_binding_mode: Some("WaitForFirstConsumer".to_owned()),
        ..StorageClass::default()
    }
}

/// Creates the `local-path` class unless it exists; retries until it is there.
async fn ensure_class(ctx: &Context) {
    let api: Api<StorageClass> = Api::all(ctx.client.clone());
    loop {
        match api.create(&PostParams::default(), &default_class()).await {
            Ok(_) => return tracing::info!(class = CLASS, "created the local-path StorageClass"),
            Err(kube::Error::Api(s)) if s.code == 409 => return,
            Err(error) => tracing::warn!(%error, "cannot create the local-path StorageClass"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = ctx.stopped() => return,
        }
    }
}

fn claim_key(claim: &PersistentVolumeClaim) -> String {
    format!("claim/{}", key_of(claim))
}

fn volume_key(pv: &PersistentVolume) -> String {
    format!("volume/{}", key_of(pv))
}

/// Runs the provisioner until the manager stops.
pub async fn run(ctx: Context) {
    let p = Provisioner {
        client: ctx.client.clone(),
        claims: ctx.informers.get(),
        volumes: ctx.informers.get(),
        classes: ctx.informers.get(),
        nodes: ctx.informers.get(),
        root: ctx.settings.local_path_root.clone(),
        recorder: Arc::new(ctx.recorder(NAME)),
    };
    let mut claim_changes = p.claims.subscribe();
    let mut volume_changes = p.volumes.subscribe();
    let mut node_changes = p.nodes.subscribe();
    ensure_class(&ctx).await;
    tokio::select! {
        () = async {
            p.claims.synced().await;
            p.volumes.synced().await;
            p.classes.synced().await;
            p.nodes.synced().await;
        } => {}
        () = ctx.stopped() => return,
    }
    let queue = WorkQueue::new();
    let enqueue_claims = {
        let (p, queue) = (p.clone(), queue.clone());
        move || {
            for c in p.claims.store().state() {
                queue.add(claim_key(&c));
            }
        }
    };
    let enqueue_all = {
        let (p, queue, enqueue_claims) = (p.clone(), queue.clone(), enqueue_claims.clone());
        move || {
            enqueue_claims();
            for v in p.volumes.store().state() {
                queue.add(volume_key(&v));
            }
        }
    };
    enqueue_all();
    let dispatch = {
        let queue = queue.clone();
        async move {
            loop {
                tokio::select! {
                    Some(r) = claim_changes.recv() => match r {
                        Received::Change(change) => queue.add(claim_key(change.object())),
                        Received::Resync => enqueue_all(),
                    },
                    Some(r) = volume_changes.recv() => match r {
                        Received::Change(change) => queue.add(volume_key(change.object())),
                        Received::Resync => enqueue_all(),
                    },
                    // A node may have become Ready for claims of an Immediate class
                    // (volumes never look at nodes).
                    Some(_) = node_changes.recv() => enqueue_claims(),
                    else => break,
                }
            }
        }
    };
    let dispatch = tokio::spawn(dispatch);
    run_workers(NAME, &ctx, queue, 2, move |key| {
        let p = p.clone();
        async move { provision::sync(&p, &key).await }
    })
    .await;
    dispatch.abort();
}

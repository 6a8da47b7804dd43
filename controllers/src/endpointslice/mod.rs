//! The EndpointSlice controller (upstream's `endpointslice-controller`): keeps the
//! EndpointSlices of every Service with a selector — per address type, at most 100
//! endpoints each, owned by the Service and labelled as managed by this controller —
//! listing the pods it selects with their readiness, serving and terminating conditions.
//! Slices managed by others are never touched.

pub mod desired;
mod events;
pub mod reconcile;
pub mod tracker;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::events::{Event, EventType};

use crate::events::Recorder;
use kube::{Api, Resource as _};

use crate::informers::{Informer, Received, key_of, split_key};
use crate::manager::Context;
use crate::runner::{self, Requeue};
use crate::service_pods::{self as sp, TriggerTimes};
use crate::workqueue::WorkQueue;
use events::managed_service;
use tracker::SliceTracker;

/// Upstream's component name.
pub const NAME: &str = "endpointslice-controller";

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The informer has not seen this controller's latest writes yet.
    #[error("EndpointSlice informer cache is out of date")]
    Stale,
    /// Writes failed or pods were left out.
    #[error("{0}")]
    Failed(String),
    /// An API call failed.
    #[error("{0}")]
    Api(#[from] kube::Error),
}

struct Controller {
    client: kube::Client,
    services: Informer<Service>,
    pods: Informer<Pod>,
    nodes: Informer<Node>,
    slices: Informer<EndpointSlice>,
    recorder: Recorder,
    triggers: TriggerTimes,
    tracker: SliceTracker,
}

/// Runs the controller until the manager stops.
pub async fn run(ctx: Context) {
    let ctl = Arc::new(Controller {
        client: ctx.client.clone(),
        services: ctx.informers.get::<Service>(),
        pods: ctx.informers.get::<Pod>(),
        nodes: ctx.informers.get::<Node>(),
        slices: ctx.informers.get::<EndpointSlice>(),
        recorder: ctx.recorder(NAME),
        triggers: TriggerTimes::default(),
        tracker: SliceTracker::default(),
    });
    sp::index_pods(&ctl.pods);
    let mut svc_rx = ctl.services.subscribe();
    let mut pod_rx = ctl.pods.subscribe();
    let mut node_rx = ctl.nodes.subscribe();
    let mut slice_rx = ctl.slices.subscribe();
    tokio::select! {
        () = async {
            tokio::join!(ctl.services.synced(), ctl.pods.synced(), ctl.nodes.synced(), ctl.slices.synced());
        } => {}
        () = ctx.stopped() => return,
    }
    let queue = WorkQueue::new();
    ctl.enqueue_all(&queue);
    // Leftovers: slices of Services that are gone are deleted by their sync.
    for slice in ctl.slices.store().state() {
        if let Some(key) = managed_service(&slice) {
            queue.add(key);
        }
    }
    let events = {
        let (ctl, queue, ctx) = (ctl.clone(), queue.clone(), ctx.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = svc_rx.recv() => match r {
                        Some(Received::Change(c)) => queue.add(key_of(c.object().as_ref())),
                        Some(Received::Resync) => ctl.enqueue_all(&queue),
                        None => break,
                    },
                    r = pod_rx.recv() => match r {
                        Some(Received::Change(c)) => ctl.on_pod(&queue, &c),
                        Some(Received::Resync) => ctl.enqueue_all(&queue),
                        None => break,
                    },
                    r = node_rx.recv() => match r {
                        Some(Received::Change(c)) => ctl.on_node(&queue, &c),
                        Some(Received::Resync) => ctl.enqueue_all(&queue),
                        None => break,
                    },
                    r = slice_rx.recv() => match r {
                        Some(Received::Change(c)) => ctl.on_slice(&queue, &c),
                        Some(Received::Resync) => ctl.enqueue_all(&queue),
                        None => break,
                    },
                    () = ctx.stopped() => break,
                }
            }
        })
    };
    let sync_ctl = ctl.clone();
    runner::run_workers(
        NAME,
        &ctx,
        queue,
        ctx.settings.workers.endpointslice,
        move |key| {
            let ctl = sync_ctl.clone();
            async move { ctl.sync(&key).await }
        },
    )
    .await;
    events.abort();
}

impl Controller {
    /// This controller's slices of Service `ns/name` in the informer, but those being
    /// deleted.
    fn managed_slices(&self, key: &str) -> Vec<Arc<EndpointSlice>> {
        self.slices
            .store()
            .state()
            .into_iter()
            .filter(|s| s.metadata.deletion_timestamp.is_none())
            .filter(|s| managed_service(s).as_deref() == Some(key))
            .collect()
    }

    async fn sync(&self, key: &str) -> Result<Requeue, SyncError> {
        let (ns, name) = split_key(key);
        let namespace = ns.unwrap_or_default();
        let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), namespace);
        let Some(svc) = self.services.get(ns, name) else {
            self.triggers.forget(key);
            self.tracker.delete_service(key);
            for slice in self.managed_slices(key) {
                let slice_name = slice.metadata.name.as_deref().unwrap_or_default();
                match api.delete(slice_name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(Requeue::No);
        };
        let Some(selector) = sp::selector(&svc) else {
            return Ok(Requeue::No);
        };
        let pods = sp::selected_pods(&self.pods, ns, &selector);
        let slices = self.managed_slices(key);
        if self
            .tracker
            .stale(key, svc.metadata.uid.as_deref(), &slices)
        {
            return Err(SyncError::Stale);
        }
        let (trigger, seen) = self.triggers.compute(key, &svc, &pods);
        let plan = reconcile::plan(
            &svc,
            &pods,
            |node| self.nodes.get(None, node),
            &slices,
            trigger,
            reconcile::MAX_ENDPOINTS_PER_SLICE,
        );
        let mut errors = plan.skipped.clone();
        if let Err((error, message)) = self.write(&api, &svc, plan).await {
            match &error {
                kube::Error::Api(s) if sp::namespace_terminating(s) => return Ok(Requeue::No),
                _ => errors.push(message),
            }
        }
        if errors.is_empty() {
            self.triggers.commit(key, seen);
            return Ok(Requeue::No);
        }
        let message = errors.join(", ");
        let note =
            format!("Error updating Endpoint Slices for Service {namespace}/{name}: {message}");
        let event = Event {
            type_: EventType::Warning,
            reason: "FailedToUpdateEndpointSlices".to_owned(),
            note: Some(note),
            action: "Sync".to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &svc.object_ref(&())).await {
            tracing::warn!(%error, "failed to record event");
        }
        Err(SyncError::Failed(message))
    }

    /// Carries out `plan`: creates (unless the Service is being deleted), updates, deletes.
    /// Fails with the error and upstream's message for it.
    async fn write(
        &self,
        api: &Api<EndpointSlice>,
        svc: &Service,
        plan: reconcile::Plan,
    ) -> Result<(), (kube::Error, String)> {
        let service = key_of(svc);
        if svc.metadata.deletion_timestamp.is_none() {
            for slice in &plan.create {
                let created = api
                    .create(&PostParams::default(), slice)
                    .await
                    .map_err(|e| {
                        let message =
                            format!("failed to create EndpointSlice for Service {service}: {e}");
                        (e, message)
                    })?;
                self.tracker.update(&created);
            }
        }
        for slice in &plan.update {
            let name = slice.metadata.name.as_deref().unwrap_or_default();
            let updated = api
                .replace(name, &PostParams::default(), slice)
                .await
                .map_err(|e| {
                    let message =
                        format!("failed to update {name} EndpointSlice for Service {service}: {e}");
                    (e, message)
                })?;
            self.tracker.update(&updated);
        }
        for slice in &plan.delete {
            let name = slice.metadata.name.as_deref().unwrap_or_default();
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.is_not_found() => {}
                Err(e) => {
                    let message =
                        format!("failed to delete {name} EndpointSlice for Service {service}: {e}");
                    return Err((e, message));
                }
            }
            self.tracker.expect_deletion(slice);
        }
        Ok(())
    }
}

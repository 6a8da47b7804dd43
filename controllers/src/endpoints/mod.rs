//! The Endpoints controller (upstream's `endpoints-controller`): keeps one Endpoints per
//! Service with a selector, listing the addresses of the pods it selects; deletes the
//! Endpoints of deleted Services (and, at start, Endpoints left without a Service).

pub mod build;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use kube::api::{DeleteParams, PostParams};
use kube::runtime::events::{Event, EventType};

use crate::events::Recorder;
use kube::{Api, Resource as _};

use crate::informers::{Change, Informer, Received, key_of, split_key};
use crate::manager::Context;
use crate::runner::{self, Requeue};
use crate::service_pods::{self as sp, TriggerTimes};
use crate::workqueue::WorkQueue;

/// Upstream's component name.
pub const NAME: &str = "endpoints-controller";
/// Endpoints carrying this annotation are leader-election records, never leftovers.
const LEADER: &str = "control-plane.alpha.kubernetes.io/leader";

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// An API call failed.
    #[error("{0}")]
    Api(#[from] kube::Error),
}

struct Controller {
    client: kube::Client,
    services: Informer<Service>,
    pods: Informer<Pod>,
    endpoints: Informer<Endpoints>,
    recorder: Recorder,
    triggers: TriggerTimes,
}

/// Runs the controller until the manager stops.
pub async fn run(ctx: Context) {
    let ctl = Arc::new(Controller {
        client: ctx.client.clone(),
        services: ctx.informers.get::<Service>(),
        pods: ctx.informers.get::<Pod>(),
        endpoints: ctx.informers.get::<Endpoints>(),
        recorder: ctx.recorder(NAME),
        triggers: TriggerTimes::default(),
    });
    sp::index_pods(&ctl.pods);
    let mut svc_rx = ctl.services.subscribe();
    let mut pod_rx = ctl.pods.subscribe();
    let mut ep_rx = ctl.endpoints.subscribe();
    tokio::select! {
        () = async { tokio::join!(ctl.services.synced(), ctl.pods.synced(), ctl.endpoints.synced()); } => {}
        () = ctx.stopped() => return,
    }
    let queue = WorkQueue::new();
    ctl.enqueue_all(&queue);
    // Leftovers: Endpoints whose Service is gone are deleted by their sync.
    for ep in ctl.endpoints.store().state() {
        let leader = ep
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(LEADER));
        if !leader {
            queue.add(key_of(ep.as_ref()));
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
                    r = ep_rx.recv() => match r {
                        Some(Received::Change(c)) => {
                            // Repair hand edits and deletions of a live Service's Endpoints.
                            let ep = c.object();
                            if ctl.services.get(ep.metadata.namespace.as_deref(), ep.metadata.name.as_deref().unwrap_or_default()).is_some() {
                                queue.add(key_of(ep.as_ref()));
                            }
                        }
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
        ctx.settings.workers.endpoints,
        move |key| {
            let ctl = sync_ctl.clone();
            async move { ctl.sync(&key).await }
        },
    )
    .await;
    events.abort();
}

impl Controller {
    fn enqueue_all(&self, queue: &WorkQueue<String>) {
        sp::enqueue_all(&self.services, queue);
    }

    fn on_pod(&self, queue: &WorkQueue<String>, change: &Change<Pod>) {
        sp::enqueue_for_pod(&self.services, queue, change);
    }

    async fn sync(&self, key: &str) -> Result<Requeue, SyncError> {
        let (ns, name) = split_key(key);
        let namespace = ns.unwrap_or_default();
        let api: Api<Endpoints> = Api::namespaced(self.client.clone(), namespace);
        let Some(svc) = self.services.get(ns, name) else {
            self.triggers.forget(key);
            if self.endpoints.get(ns, name).is_some() {
                match api.delete(name, &DeleteParams::default()).await {
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
        let (trigger, seen) = self.triggers.compute(key, &svc, &pods);
        let subsets = build::subsets(&svc, &pods);
        let current = self.endpoints.get(ns, name);
        let Some(want) = build::desired(&svc, current.as_deref(), subsets, trigger) else {
            self.triggers.commit(key, seen);
            return Ok(Requeue::No);
        };
        let create = current.is_none();
        let result = if create {
            api.create(&PostParams::default(), &want).await
        } else {
            api.replace(name, &PostParams::default(), &want).await
        };
        let Err(error) = result else {
            self.triggers.commit(key, seen);
            return Ok(Requeue::No);
        };
        if let kube::Error::Api(s) = &error {
            if create && sp::namespace_terminating(s) {
                return Ok(Requeue::No);
            }
            // A stale cache: the retry reads the newer object.
            if s.is_conflict() || s.is_already_exists() {
                return Err(error.into());
            }
        }
        let (reason, note) = if create {
            (
                "FailedToCreateEndpoint",
                format!("Failed to create endpoint for service {namespace}/{name}: {error}"),
            )
        } else {
            (
                "FailedToUpdateEndpoint",
                format!("Failed to update endpoint {namespace}/{name}: {error}"),
            )
        };
        self.warn(&want, reason, note).await;
        Err(error.into())
    }

    async fn warn(&self, ep: &Endpoints, reason: &str, note: String) {
        let event = Event {
            type_: EventType::Warning,
            reason: reason.to_owned(),
            note: Some(note),
            action: "Sync".to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &ep.object_ref(&())).await {
            tracing::warn!(%error, reason, "failed to record event");
        }
    }
}

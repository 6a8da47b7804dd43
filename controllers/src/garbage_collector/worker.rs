//! The workers: attemptToDelete (collect an object whose owners are gone, finish a
//! foreground deletion) and attemptToOrphan (strip an owner's references from its
//! dependents), as upstream's GarbageCollector, verifying owners with live GETs.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions,
    PropagationPolicy,
};
use kube::core::PartialObjectMeta;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::mpsc;

use super::GcError;
use super::attempt::{self, Decision, OwnerState, Propagation};
use super::graph::{FOREGROUND, Graph, Identity, ORPHAN};
use super::monitors::{GraphEvent, Mapper};
use crate::runner::Requeue;
use crate::workqueue::WorkQueue;

/// What the workers share.
pub(super) struct Collector {
    pub(super) client: kube::Client,
    pub(super) mapper: Mapper,
    pub(super) graph: Arc<Mutex<Graph>>,
    pub(super) events: mpsc::UnboundedSender<GraphEvent>,
    pub(super) delete_queue: WorkQueue<String>,
}

type Meta = PartialObjectMeta<DynamicObject>;

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

impl Collector {
    fn api(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
    ) -> Result<(Api<DynamicObject>, ApiResource, bool), GcError> {
        let (ar, namespaced) = self
            .mapper
            .resolve(api_version, kind)
            .ok_or_else(|| GcError::Unmapped(format!("{api_version}, Kind={kind}")))?;
        let api = if namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &ar)
        } else {
            Api::all_with(self.client.clone(), &ar)
        };
        Ok((api, ar, namespaced))
    }

    async fn get(&self, id: &Identity) -> Result<Option<Meta>, GcError> {
        let (api, _, namespaced) = self.api(&id.api_version, &id.kind, &id.namespace)?;
        if namespaced && id.namespace.is_empty() {
            // A virtual node a cluster-scoped dependent made for a namespaced owner:
            // no object has these coordinates.
            return Ok(None);
        }
        Ok(api.get_metadata_opt(&id.name).await?)
    }

    fn virtual_delete(&self, id: &Identity) {
        let _ = self.events.send(GraphEvent::VirtualDelete(id.clone()));
    }

    /// upstream's attemptToDeleteItem for the node of `uid`.
    pub(super) async fn attempt_to_delete(&self, uid: String) -> Result<Requeue, GcError> {
        let Some(node) = self.graph.lock().node(&uid).cloned() else {
            return Ok(Requeue::No);
        };
        // Being deleted is a one-way trip: its dependents are looked at once it is gone.
        if node.being_deleted && !node.deleting_dependents {
            return Ok(Requeue::No);
        }
        let latest = match self.get(&node.identity).await? {
            Some(latest) if latest.metadata.uid.as_deref() == Some(uid.as_str()) => latest,
            _ => {
                self.virtual_delete(&node.identity);
                return Ok(Requeue::No);
            }
        };
        if node.deleting_dependents {
            return self.deleting_dependents(&node.identity).await;
        }
        let owners = latest.metadata.owner_references.clone().unwrap_or_default();
        if !owners.is_empty() {
            let mut states = Vec::with_capacity(owners.len());
            for owner in &owners {
                match self.classify(owner, &node.identity).await {
                    Ok(state) => states.push(state),
                    // Will not resolve on retry. Reported here, whichever of the two
                    // objects the monitors saw first.
                    Err(GcError::NamespacedOwnerOfClusterScoped) => {
                        let _ = self.events.send(GraphEvent::InvalidOwner(
                            Box::new(node.identity.clone()),
                            Box::new(Identity::of_owner(owner, "")),
                        ));
                        return Ok(Requeue::No);
                    }
                    Err(e) => return Err(e),
                }
            }
            let (has_dependents, dependent_deleting) = {
                let graph = self.graph.lock();
                let deps = graph
                    .node(&uid)
                    .map(|n| n.dependents.clone())
                    .unwrap_or_default();
                let deleting = deps
                    .iter()
                    .any(|d| graph.node(d).is_some_and(|d| d.deleting_dependents));
                (!deps.is_empty(), deleting)
            };
            let finalizers = latest.metadata.finalizers.clone().unwrap_or_default();
            let decision = attempt::decide(
                &owners,
                &states,
                &finalizers,
                has_dependents,
                dependent_deleting,
            );
            tracing::debug!(item = %node.identity, ?decision, "garbage collector: attemptToDelete");
            match decision {
                Decision::Keep => {}
                Decision::RemoveOwners(uids) => {
                    let patch = attempt::remove_owners_patch(&uid, &uids);
                    self.patch(&node.identity, patch).await?;
                }
                Decision::Delete { policy, unblock } => {
                    if unblock {
                        let patch = attempt::unblock_patch(&uid, &owners);
                        self.patch(&node.identity, patch).await?;
                    }
                    self.delete(&node.identity, &latest, policy).await?;
                }
            }
        }
        if node.virtual_node {
            // Looked at again until a monitor observes it.
            return Err(GcError::NotObserved(node.identity.to_string()));
        }
        Ok(Requeue::No)
    }

    /// upstream's isDangling + classifyReferences for one reference of `item`.
    async fn classify(
        &self,
        owner: &OwnerReference,
        item: &Identity,
    ) -> Result<OwnerState, GcError> {
        let (api, _, namespaced) = self.api(&owner.api_version, &owner.kind, &item.namespace)?;
        if namespaced && item.namespace.is_empty() {
            return Err(GcError::NamespacedOwnerOfClusterScoped);
        }
        if self
            .graph
            .lock()
            .recorded_absent(owner, &item.namespace, namespaced)
        {
            return Ok(OwnerState::Dangling);
        }
        let key = Identity::of_owner(owner, if namespaced { &item.namespace } else { "" });
        match api.get_metadata_opt(&owner.name).await? {
            Some(live) if live.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
                let waiting = live.metadata.deletion_timestamp.is_some()
                    && live
                        .metadata
                        .finalizers
                        .iter()
                        .flatten()
                        .any(|f| f == FOREGROUND);
                Ok(if waiting {
                    OwnerState::WaitingForDependents
                } else {
                    OwnerState::Solid
                })
            }
            _ => {
                self.graph.lock().mark_absent(key);
                Ok(OwnerState::Dangling)
            }
        }
    }

    /// upstream's processDeletingDependentsItem.
    async fn deleting_dependents(&self, owner: &Identity) -> Result<Requeue, GcError> {
        let blocking: Vec<(String, bool)> = self
            .graph
            .lock()
            .blocking_dependents(&owner.uid)
            .iter()
            .map(|d| (d.identity.uid.clone(), d.deleting_dependents))
            .collect();
        if blocking.is_empty() {
            tracing::debug!(item = %owner, "garbage collector: removing the foregroundDeletion finalizer");
            self.remove_finalizer(owner, FOREGROUND).await?;
        }
        for (dep, deleting) in blocking {
            if !deleting {
                self.delete_queue.add(dep);
            }
        }
        Ok(Requeue::No)
    }

    async fn patch(&self, id: &Identity, patch: Value) -> Result<(), GcError> {
        let (api, _, _) = self.api(&id.api_version, &id.kind, &id.namespace)?;
        match api
            .patch(&id.name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
        {
            Err(e) if is_status(&e, 404) => Ok(()),
            other => other.map(|_| ()).map_err(GcError::from),
        }
    }

    /// Deletes `id` (as `latest` was) with `policy`, preconditioned on its uid and
    /// resourceVersion; a conflict caused by changes other than its owners retries without
    /// the resourceVersion.
    async fn delete(
        &self,
        id: &Identity,
        latest: &Meta,
        policy: Propagation,
    ) -> Result<(), GcError> {
        let (api, _, _) = self.api(&id.api_version, &id.kind, &id.namespace)?;
        let mut params = DeleteParams {
            propagation_policy: Some(match policy {
                Propagation::Background => PropagationPolicy::Background,
                Propagation::Foreground => PropagationPolicy::Foreground,
                Propagation::Orphan => PropagationPolicy::Orphan,
            }),
            preconditions: Some(Preconditions {
                uid: Some(id.uid.clone()),
                resource_version: latest.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        tracing::info!(item = %id, ?policy, "garbage collector: deleting object");
        let result = match api.delete(&id.name, &params).await {
            Err(e) if is_status(&e, 409) => match api.get_metadata_opt(&id.name).await? {
                None => return Ok(()),
                Some(live)
                    if live.metadata.uid == latest.metadata.uid
                        && live.metadata.owner_references == latest.metadata.owner_references =>
                {
                    if let Some(p) = params.preconditions.as_mut() {
                        p.resource_version = None;
                    }
                    api.delete(&id.name, &params).await
                }
                Some(_) => Err(e),
            },
            other => other,
        };
        match result {
            Err(e) if is_status(&e, 404) => Ok(()),
            other => other.map(|_| ()).map_err(GcError::from),
        }
    }

    async fn remove_finalizer(&self, id: &Identity, finalizer: &str) -> Result<(), GcError> {
        let (api, _, _) = self.api(&id.api_version, &id.kind, &id.namespace)?;
        let Some(live) = api.get_metadata_opt(&id.name).await? else {
            return Ok(());
        };
        if live.metadata.uid.as_deref() != Some(id.uid.as_str()) {
            return Ok(());
        }
        let finalizers = live.metadata.finalizers.unwrap_or_default();
        let rv = live.metadata.resource_version.unwrap_or_default();
        let Some(patch) = attempt::remove_finalizer_patch(&finalizers, finalizer, &rv) else {
            return Ok(());
        };
        match api
            .patch(&id.name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Err(e) if is_status(&e, 404) => Ok(()),
            other => other.map(|_| ()).map_err(GcError::from),
        }
    }

    /// upstream's attemptToOrphanWorker for the owner `uid`.
    pub(super) async fn attempt_to_orphan(&self, uid: String) -> Result<Requeue, GcError> {
        let (owner, dependents) = {
            let graph = self.graph.lock();
            let Some(node) = graph.node(&uid) else {
                return Ok(Requeue::No);
            };
            let deps: Vec<Identity> = node
                .dependents
                .iter()
                .filter_map(|d| graph.node(d).map(|n| n.identity.clone()))
                .collect();
            (node.identity.clone(), deps)
        };
        for dep in &dependents {
            let patch = crate::owner::release_patch(&uid, &dep.uid);
            match self.patch(dep, patch).await {
                // The dependent was replaced by another object of its name: nothing to do.
                Err(GcError::Kube(e)) if is_status(&e, 409) => {}
                other => other?,
            }
        }
        self.remove_finalizer(&owner, ORPHAN).await?;
        Ok(Requeue::No)
    }
}

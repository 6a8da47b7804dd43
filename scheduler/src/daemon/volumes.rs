//! VolumeBinding's side of the daemon: claim, volume and storage class changes applied to
//! the snapshot's [`VolumeState`] (with the queue events they stand for), and PreBind —
//! the API writes for the chosen node followed by the wait until every claim is bound.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::BindFailure;
use super::watch::Listing;
use crate::plugins::volume_binding::{
    self, Plan, SELECTED_NODE_ANNOTATION, VolumeState, claim_key, is_bound,
};
use crate::queue::ClusterEvent;
use crate::snapshot::NodeInfo;

/// The annotation the binder sets on a volume it binds (as upstream's PV controller).
const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// The claim annotation upstream's PV controller sets once the binding is complete.
const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// How often PreBind checks whether the claims are bound.
const POLL: Duration = Duration::from_millis(200);

/// Add when new, update otherwise.
fn add_or_update(new: bool, add: ClusterEvent, update: ClusterEvent) -> ClusterEvent {
    if new { add } else { update }
}

/// Applies a claim change; the events it stands for.
pub(super) fn apply_claims(
    state: &mut VolumeState,
    change: Listing<PersistentVolumeClaim>,
) -> Vec<ClusterEvent> {
    use ClusterEvent::{PvcAdd, PvcUpdate};
    match change {
        Listing::Apply(c) => vec![add_or_update(state.set_claim(c), PvcAdd, PvcUpdate)],
        Listing::Delete(c) => {
            state.delete_claim(&c);
            Vec::new()
        }
        Listing::All(all) => {
            state.replace_claims(all);
            vec![PvcAdd]
        }
    }
}

/// Applies a volume change; the events it stands for.
pub(super) fn apply_volumes(
    state: &mut VolumeState,
    change: Listing<PersistentVolume>,
) -> Vec<ClusterEvent> {
    use ClusterEvent::{PvAdd, PvUpdate};
    match change {
        Listing::Apply(v) => vec![add_or_update(state.set_volume(v), PvAdd, PvUpdate)],
        Listing::Delete(v) => {
            state.delete_volume(&v);
            Vec::new()
        }
        Listing::All(all) => {
            state.replace_volumes(all);
            vec![PvAdd]
        }
    }
}

/// Applies a storage class change; the events it stands for.
pub(super) fn apply_classes(
    state: &mut VolumeState,
    change: Listing<k8s_openapi::api::storage::v1::StorageClass>,
) -> Vec<ClusterEvent> {
    use ClusterEvent::{StorageClassAdd, StorageClassUpdate};
    match change {
        Listing::Apply(c) => vec![add_or_update(
            state.set_class(c),
            StorageClassAdd,
            StorageClassUpdate,
        )],
        Listing::Delete(c) => {
            state.delete_class(&c);
            Vec::new()
        }
        Listing::All(all) => {
            state.replace_classes(all);
            vec![StorageClassAdd]
        }
    }
}

/// The volume work for `pod` on the chosen `node` (Reserve), `None` when there is none.
pub(super) fn plan_for(
    pod: &Pod,
    node: &str,
    nodes: &[NodeInfo],
    state: &VolumeState,
) -> Option<Plan> {
    let Some(Ok(pre)) = volume_binding::pre_filter(pod, state) else {
        return None;
    };
    let node = nodes.iter().find(|n| n.name == node)?;
    volume_binding::plan(&pre, &node.node)
        .ok()
        .filter(|p| !p.is_empty())
}

/// Promises the plan's volumes to their claims for `pod` (`namespace/name`).
pub(super) fn assume(state: &mut VolumeState, plan: &Plan, pod: &str) {
    for (claim, pv) in &plan.static_bindings {
        let name = pv.metadata.name.as_deref().unwrap_or_default();
        state.assume(name, claim_key(claim), pod);
    }
}

/// PreBind of a pod placed on `node` with volume work (`plan`): [`bind`]; a failure
/// carries the text upstream reports for a failed PreBind plugin.
pub(super) async fn pre_bind(
    client: &kube::Client,
    node: &str,
    plan: Option<Plan>,
    timeout: Duration,
) -> Result<(), BindFailure> {
    let Some(plan) = plan else {
        return Ok(());
    };
    let Err(message) = bind(client, &plan, node, timeout).await else {
        return Ok(());
    };
    Err(BindFailure {
        message: format!("running PreBind plugin \"VolumeBinding\": {message}"),
        not_found: false,
    })
}

/// PreBind: sets each statically matched volume's `claimRef`, annotates each claim to
/// provision with the selected node, then waits (at most `timeout`) until the PV
/// controller has bound every claim. The error text on failure.
pub(super) async fn bind(
    client: &kube::Client,
    plan: &Plan,
    node: &str,
    timeout: Duration,
) -> Result<(), String> {
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    for (claim, pv) in &plan.static_bindings {
        let mut bound = (**pv).clone();
        let name = bound.metadata.name.clone().unwrap_or_default();
        bound
            .metadata
            .annotations
            .get_or_insert_default()
            .insert(BOUND_BY_CONTROLLER.to_owned(), "yes".to_owned());
        if let Some(spec) = bound.spec.as_mut() {
            spec.claim_ref = Some(ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("PersistentVolumeClaim".to_owned()),
                namespace: claim.metadata.namespace.clone(),
                name: claim.metadata.name.clone(),
                uid: claim.metadata.uid.clone(),
                resource_version: claim.metadata.resource_version.clone(),
                ..ObjectReference::default()
            });
        }
        volumes
            .replace(&name, &PostParams::default(), &bound)
            .await
            .map_err(|e| format!("binding volumes: {e}"))?;
    }
    for claim in &plan.provisions {
        let patch = json!({"metadata": {"annotations": {SELECTED_NODE_ANNOTATION: node}}});
        claims_api(client, claim)
            .patch(
                claim.metadata.name.as_deref().unwrap_or_default(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
            .map_err(|e| format!("binding volumes: {e}"))?;
    }
    let all: Vec<&Arc<PersistentVolumeClaim>> = plan
        .static_bindings
        .iter()
        .map(|(c, _)| c)
        .chain(&plan.provisions)
        .collect();
    let wait = async {
        for claim in all {
            let api = claims_api(client, claim);
            let name = claim.metadata.name.as_deref().unwrap_or_default();
            loop {
                match api.get(name).await {
                    Ok(c) if fully_bound(&c) => break,
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {
                        return Err(format!("binding volumes: claim {name} was deleted"));
                    }
                    Err(error) => tracing::debug!(%error, "checking a claim"),
                }
                tokio::time::sleep(POLL).await;
            }
        }
        Ok(())
    };
    tokio::time::timeout(timeout, wait)
        .await
        .map_err(|_| "binding volumes: context deadline exceeded".to_owned())?
}

fn claims_api(client: &kube::Client, claim: &PersistentVolumeClaim) -> Api<PersistentVolumeClaim> {
    let ns = claim.metadata.namespace.as_deref().unwrap_or("default");
    Api::namespaced(client.clone(), ns)
}

/// Bound by the PV controller: a volume named and the binding complete (phase `Bound`
/// or the bind-completed annotation).
fn fully_bound(claim: &PersistentVolumeClaim) -> bool {
    let phase = claim.status.as_ref().and_then(|s| s.phase.as_deref());
    let completed = claim
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(BIND_COMPLETED));
    is_bound(claim) && (phase == Some("Bound") || completed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn claim(name: &str) -> Arc<PersistentVolumeClaim> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"}}))
                .unwrap(),
        )
    }

    #[test]
    fn changes_become_queue_events() {
        let mut state = VolumeState::default();
        let cases: Vec<(Listing<PersistentVolumeClaim>, Vec<ClusterEvent>)> = vec![
            (Listing::Apply(claim("a")), vec![ClusterEvent::PvcAdd]),
            (Listing::Apply(claim("a")), vec![ClusterEvent::PvcUpdate]),
            (Listing::Delete(claim("a")), vec![]),
            (Listing::All(vec![claim("b")]), vec![ClusterEvent::PvcAdd]),
        ];
        for (change, want) in cases {
            assert_eq!(apply_claims(&mut state, change), want);
        }
        assert!(state.claim("default", "b").is_some());
        assert!(state.claim("default", "a").is_none());
    }

    #[test]
    fn fully_bound_needs_a_volume_and_completion() {
        let cases = [
            (json!({}), false),
            (json!({"spec": {"volumeName": "v"}}), false),
            (
                json!({"spec": {"volumeName": "v"}, "status": {"phase": "Bound"}}),
                true,
            ),
            (
                json!({"metadata": {"annotations": {BIND_COMPLETED: "yes"}},
                "spec": {"volumeName": "v"}}),
                true,
            ),
            (json!({"status": {"phase": "Bound"}}), false),
        ];
        for (value, want) in cases {
            let c: PersistentVolumeClaim = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(fully_bound(&c), want, "{value}");
        }
    }
}

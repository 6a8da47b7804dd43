//! VolumeBinding (upstream v1.33): a pod's PersistentVolumeClaims decide where it can run.
//!
//! PreFilter resolves every `persistentVolumeClaim` volume: a missing or terminating claim,
//! or an unbound claim of an `Immediate` class, rejects the pod outright. Filter checks,
//! per node, that every bound claim's volume may be used there (its `nodeAffinity`) and
//! that every unbound claim of a `WaitForFirstConsumer` class either has an available
//! volume reachable from the node or can be provisioned there. [`plan`] turns the chosen
//! node into the API writes of PreBind (see `daemon/volumes.rs`).
//!
//! Scoring (StorageCapacityScoring gate, off by default) is not implemented.

mod matching;
mod state;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;

pub use state::{VolumeState, claim_key};

use super::{Status, node_labels, node_name};

/// Upstream `ErrReasonBindConflict`.
pub const REASON_BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";
/// Upstream `ErrReasonNodeConflict`.
pub const REASON_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
/// Upstream `ErrReasonPVNotExist`.
pub const REASON_PV_NOT_EXIST: &str =
    "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
/// Upstream's PreFilter rejection of unbound claims whose class binds immediately.
pub const REASON_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";
/// The class value meaning "no dynamic provisioning" (local volumes).
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
/// The claim annotation naming the node a provisioner must create the volume for.
pub const SELECTED_NODE_ANNOTATION: &str = "volume.kubernetes.io/selected-node";

/// A bound claim and the volume it names (`None`: no such volume).
#[derive(Debug, Clone)]
pub struct BoundClaim {
    /// The claim.
    pub claim: Arc<PersistentVolumeClaim>,
    /// Its volume.
    pub volume: Option<Arc<PersistentVolume>>,
}

/// An unbound claim whose class waits for the first consumer.
#[derive(Debug, Clone)]
pub struct DelayedClaim {
    /// The claim.
    pub claim: Arc<PersistentVolumeClaim>,
    /// Its storage class.
    pub class: Arc<StorageClass>,
    /// Volumes that match it regardless of node, best (prebound, then smallest) first.
    pub candidates: Vec<Arc<PersistentVolume>>,
}

/// What PreFilter found for a pod with claims.
#[derive(Debug, Clone, Default)]
pub struct PreFilterState {
    /// Claims already bound to a volume.
    pub bound: Vec<BoundClaim>,
    /// Claims to bind on the chosen node.
    pub delayed: Vec<DelayedClaim>,
}

/// The volume work PreBind does for a pod on its chosen node.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Claims to bind to an existing volume (the volume's `claimRef` is set).
    pub static_bindings: Vec<(Arc<PersistentVolumeClaim>, Arc<PersistentVolume>)>,
    /// Claims to provision on the node (annotated with the selected node).
    pub provisions: Vec<Arc<PersistentVolumeClaim>>,
}

impl Plan {
    /// Whether nothing needs to be written or waited for.
    pub fn is_empty(&self) -> bool {
        self.static_bindings.is_empty() && self.provisions.is_empty()
    }
}

/// The claims a pod's volumes use: their names and whether each is a generic ephemeral
/// volume's (named `<pod>-<volume>`, created for the pod by the ephemeral controller).
fn claim_names(pod: &Pod) -> impl Iterator<Item = (String, bool)> {
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(move |v| {
            if let Some(c) = &v.persistent_volume_claim {
                Some((c.claim_name.clone(), false))
            } else {
                v.ephemeral
                    .as_ref()
                    .map(|_| (format!("{pod_name}-{}", v.name), true))
            }
        })
}

/// Whether the pod is the claim's controlling owner (an ephemeral volume's claim).
fn owned_by(claim: &PersistentVolumeClaim, pod: &Pod) -> bool {
    claim
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.controller == Some(true) && Some(&r.uid) == pod.metadata.uid.as_ref())
}

/// Whether a claim is bound to a volume.
pub fn is_bound(claim: &PersistentVolumeClaim) -> bool {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .is_some_and(|v| !v.is_empty())
}

/// PreFilter: `None` when the pod uses no claims (the plugin is skipped), else the
/// claims resolved, or the status rejecting the pod on every node.
pub fn pre_filter(pod: &Pod, volumes: &VolumeState) -> Option<Result<PreFilterState, Status>> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut names = claim_names(pod).peekable();
    names.peek()?;
    let mut state = PreFilterState::default();
    let mut immediate = false;
    for (name, ephemeral) in names {
        let reject = |text: String| Some(Err(Status::unresolvable(text)));
        let Some(claim) = volumes.claim(namespace, &name) else {
            return reject(if ephemeral {
                format!(
                    "waiting for ephemeral volume controller to create the persistentvolumeclaim \"{name}\""
                )
            } else {
                format!("persistentvolumeclaim \"{name}\" not found")
            });
        };
        if claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Lost") {
            let volume = claim.spec.as_ref().and_then(|s| s.volume_name.as_deref());
            return reject(format!(
                "persistentvolumeclaim \"{name}\" bound to non-existent persistentvolume \"{}\"",
                volume.unwrap_or_default()
            ));
        }
        if claim.metadata.deletion_timestamp.is_some() {
            return reject(format!("persistentvolumeclaim \"{name}\" is being deleted"));
        }
        if ephemeral && !owned_by(claim, pod) {
            let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
            return reject(format!(
                "PVC {namespace}/{name} was not created for pod {namespace}/{pod_name} (pod is not owner)"
            ));
        }
        if is_bound(claim) {
            let volume_name = claim.spec.as_ref().and_then(|s| s.volume_name.as_deref());
            let volume = volume_name.and_then(|v| volumes.volume(v)).cloned();
            state.bound.push(BoundClaim {
                claim: Arc::clone(claim),
                volume,
            });
            continue;
        }
        let class_name = matching::class_of_claim(claim);
        let class = match volumes.class(class_name) {
            Some(c) => c,
            None if class_name.is_empty() => {
                immediate = true;
                continue;
            }
            None => {
                return Some(Err(Status::unresolvable(format!(
                    "storageclass.storage.k8s.io \"{class_name}\" not found"
                ))));
            }
        };
        if class.volume_binding_mode.as_deref() != Some("WaitForFirstConsumer") {
            immediate = true;
            continue;
        }
        let candidates = matching::candidates(claim, volumes);
        state.delayed.push(DelayedClaim {
            claim: Arc::clone(claim),
            class: Arc::clone(class),
            candidates,
        });
    }
    if immediate {
        return Some(Err(Status::unresolvable(REASON_UNBOUND_IMMEDIATE)));
    }
    // Claims take volumes in increasing order of their request (smallest fits first).
    state.delayed.sort_by_key(|d| matching::request(&d.claim));
    Some(Ok(state))
}

/// Filter: whether the pod's claims can be used on `node`.
pub fn filter(state: &PreFilterState, node: &Node) -> Status {
    match plan(state, node) {
        Ok(_) => Status::success(),
        Err(reasons) => Status {
            code: super::Code::UnschedulableAndUnresolvable,
            reasons: reasons.into_iter().map(str::to_owned).collect(),
        },
    }
}

/// The volume work for the pod on `node`, or upstream's reasons why the node cannot serve
/// its claims (in upstream's order: node conflict, bind conflict, missing volume).
///
/// As upstream: the bound claims are checked until the first failure; a delayed claim
/// already annotated with a selected node fits only that node and is provisioned there;
/// the others take the smallest matching volume (claims by increasing request, each
/// volume once), and the rest must all be provisionable on the node.
pub fn plan(state: &PreFilterState, node: &Node) -> Result<Plan, Vec<&'static str>> {
    let labels = node_labels(node);
    let name = node_name(node);
    let (mut bound_ok, mut volumes_found, mut unbound_ok) = (true, true, true);
    for bound in &state.bound {
        match &bound.volume {
            None => volumes_found = false,
            Some(pv) if !matching::volume_fits_node(pv, labels, name) => bound_ok = false,
            Some(_) => continue,
        }
        break;
    }
    let mut out = Plan::default();
    let mut to_provision: Vec<&DelayedClaim> = Vec::new();
    for delayed in &state.delayed {
        match matching::selected_node(&delayed.claim) {
            Some(selected) if selected != name => {
                unbound_ok = false;
                to_provision.clear();
                break;
            }
            Some(_) => {
                to_provision.push(delayed);
                continue;
            }
            None => {}
        }
        let taken = |pv: &PersistentVolume| {
            out.static_bindings
                .iter()
                .any(|(_, t)| t.metadata.name == pv.metadata.name)
        };
        let found = delayed
            .candidates
            .iter()
            .find(|pv| !taken(pv) && matching::volume_fits_node(pv, labels, name));
        match found {
            Some(pv) => out
                .static_bindings
                .push((Arc::clone(&delayed.claim), Arc::clone(pv))),
            None => to_provision.push(delayed),
        }
    }
    if to_provision
        .iter()
        .all(|d| matching::can_provision(&d.class, labels))
    {
        out.provisions = to_provision.iter().map(|d| Arc::clone(&d.claim)).collect();
    } else {
        unbound_ok = false;
    }
    let reasons: Vec<&'static str> = [
        (bound_ok, REASON_NODE_CONFLICT),
        (unbound_ok, REASON_BIND_CONFLICT),
        (volumes_found, REASON_PV_NOT_EXIST),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, reason)| reason)
    .collect();
    if reasons.is_empty() {
        Ok(out)
    } else {
        Err(reasons)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

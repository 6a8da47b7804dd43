//! Which volumes an unbound claim may bind to (upstream `FindMatchingVolume`): same
//! storage class, enough capacity, every requested access mode, the same volume mode,
//! the claim's selector, not promised to another claim; the node part (the volume's
//! `nodeAffinity`) is checked per node. And whether a class can provision on a node.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{NO_PROVISIONER, VolumeState, claim_key};
use crate::resources::ExactQuantity;
use crate::selector::{Labels, label_selector_matches, node_selector_matches};

/// The deprecated annotation naming a claim's class, still honoured upstream.
const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// A claim's storage class name ("" when none).
pub(super) fn class_of_claim(claim: &PersistentVolumeClaim) -> &str {
    let spec = claim.spec.as_ref();
    class_name(
        &claim.metadata,
        spec.and_then(|s| s.storage_class_name.as_deref()),
    )
}

fn class_of_volume(pv: &PersistentVolume) -> &str {
    let spec = pv.spec.as_ref();
    class_name(
        &pv.metadata,
        spec.and_then(|s| s.storage_class_name.as_deref()),
    )
}

/// The class an object names: the deprecated annotation first, then its spec field.
fn class_name<'a>(meta: &'a ObjectMeta, spec_class: Option<&'a str>) -> &'a str {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(BETA_CLASS_ANNOTATION))
        .map(String::as_str)
        .or(spec_class)
        .unwrap_or("")
}

fn storage(q: Option<&Quantity>) -> i128 {
    q.and_then(|q| ExactQuantity::parse(&q.0).ok())
        .map_or(0, ExactQuantity::nanos)
}

/// A claim's storage request (nano-units; 0 when absent).
pub(super) fn request(claim: &PersistentVolumeClaim) -> i128 {
    storage(
        claim
            .spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage")),
    )
}

/// The node a claim was annotated for by an earlier scheduling attempt.
pub(super) fn selected_node(claim: &PersistentVolumeClaim) -> Option<&str> {
    let annotations = claim.metadata.annotations.as_ref()?;
    annotations
        .get(super::SELECTED_NODE_ANNOTATION)
        .map(String::as_str)
}

fn capacity(pv: &PersistentVolume) -> i128 {
    storage(
        pv.spec
            .as_ref()
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage")),
    )
}

/// Whether `pv` names `claim` in its `claimRef` (uid too, when both have one).
fn prebound_to(pv: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(r) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    let ns = claim.metadata.namespace.as_deref().unwrap_or("default");
    let uid_ok = match (&r.uid, &claim.metadata.uid) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    r.name == claim.metadata.name && r.namespace.as_deref().unwrap_or("default") == ns && uid_ok
}

fn matches_claim(pv: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let (Some(spec), Some(want)) = (pv.spec.as_ref(), claim.spec.as_ref()) else {
        return false;
    };
    if pv.metadata.deletion_timestamp.is_some() || class_of_volume(pv) != class_of_claim(claim) {
        return false;
    }
    let request = request(claim);
    let modes = spec.access_modes.as_deref().unwrap_or_default();
    let modes_ok = want
        .access_modes
        .iter()
        .flatten()
        .all(|m| modes.contains(m));
    let mode = |m: Option<&String>| m.map_or("Filesystem", String::as_str).to_owned();
    let labels: Labels = pv.metadata.labels.clone().unwrap_or_default();
    let selector_ok = want
        .selector
        .as_ref()
        .is_none_or(|s| label_selector_matches(Some(s), &labels));
    capacity(pv) >= request
        && modes_ok
        && mode(spec.volume_mode.as_ref()) == mode(want.volume_mode.as_ref())
        && selector_ok
        && spec.claim_ref.is_none()
}

/// The volumes `claim` may bind to, on some node: the one prebound to it (its `claimRef`
/// names the claim) first, then free matching ones by size, smallest first. Volumes
/// assumed for another claim are left out.
pub(super) fn candidates(
    claim: &PersistentVolumeClaim,
    state: &VolumeState,
) -> Vec<Arc<PersistentVolume>> {
    let key = claim_key(claim);
    let mut prebound: Vec<Arc<PersistentVolume>> = Vec::new();
    let mut free: Vec<Arc<PersistentVolume>> = Vec::new();
    for pv in state.volumes() {
        let name = pv.metadata.name.as_deref().unwrap_or_default();
        if state.assumed_claim(name).is_some_and(|c| c != key) {
            continue;
        }
        if prebound_to(pv, claim) {
            prebound.push(Arc::clone(pv));
        } else if matches_claim(pv, claim) {
            free.push(Arc::clone(pv));
        }
    }
    free.sort_by_key(|pv| capacity(pv));
    prebound.extend(free);
    prebound
}

/// Whether the volume's required node affinity admits the node (none admits all).
pub(super) fn volume_fits_node(pv: &PersistentVolume, labels: &Labels, name: &str) -> bool {
    let required = pv
        .spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref());
    required.is_none_or(|r| node_selector_matches(r, labels, name))
}

/// Whether the class can provision a volume reachable from a node with `labels`: it has
/// a provisioner, and its `allowedTopologies` (if any) admit the node.
pub(super) fn can_provision(class: &StorageClass, labels: &Labels) -> bool {
    if class.provisioner.is_empty() || class.provisioner == NO_PROVISIONER {
        return false;
    }
    let terms = class.allowed_topologies.as_deref().unwrap_or_default();
    terms.is_empty()
        || terms.iter().any(|t| {
            t.match_label_expressions
                .iter()
                .flatten()
                .all(|r| labels.get(&r.key).is_some_and(|v| r.values.contains(v)))
        })
}

//! Pure matching (upstream `FindMatchingVolume` behind `findBestMatchForClaim`,
//! `checkVolumeSatisfyClaim`, `GetDefaultClass`): which volume an unbound claim binds to,
//! whether a volume it asked for by name satisfies it, and the default StorageClass.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    NodeSelectorRequirement, PersistentVolume, PersistentVolumeClaim,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{Selector, SelectorExt as _};

use super::quantity;

/// The deprecated annotation naming a claim's or volume's class (still honoured).
pub const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";
/// The annotations marking the default StorageClass (GA and beta).
pub const DEFAULT_CLASS_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];

/// The node a volume must be usable from: its name and labels.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// A claim's class ("" when none): the beta annotation first, then the field.
pub fn claim_class(claim: &PersistentVolumeClaim) -> &str {
    annotation(&claim.metadata, BETA_CLASS_ANNOTATION)
        .or_else(|| claim.spec.as_ref()?.storage_class_name.as_deref())
        .unwrap_or("")
}

/// Whether a claim asked for a class at all (`""` included).
pub fn claim_has_class(claim: &PersistentVolumeClaim) -> bool {
    annotation(&claim.metadata, BETA_CLASS_ANNOTATION).is_some()
        || claim
            .spec
            .as_ref()
            .is_some_and(|s| s.storage_class_name.is_some())
}

/// A volume's class ("" when none).
pub fn volume_class(pv: &PersistentVolume) -> &str {
    annotation(&pv.metadata, BETA_CLASS_ANNOTATION)
        .or_else(|| pv.spec.as_ref()?.storage_class_name.as_deref())
        .unwrap_or("")
}

/// A claim's storage request in nano-units (0 when absent).
pub fn request(claim: &PersistentVolumeClaim) -> i128 {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref()?.requests.as_ref()?.get("storage"))
        .and_then(|q| quantity::parse(&q.0))
        .unwrap_or(0)
}

/// A volume's storage capacity in nano-units (0 when absent).
pub fn capacity(pv: &PersistentVolume) -> i128 {
    pv.spec
        .as_ref()
        .and_then(|s| s.capacity.as_ref()?.get("storage"))
        .and_then(|q| quantity::parse(&q.0))
        .unwrap_or(0)
}

fn access_modes(pv: &PersistentVolume) -> Vec<String> {
    let mut modes = pv
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.clone())
        .unwrap_or_default();
    modes.sort();
    modes.dedup();
    modes
}

/// Whether the volume offers every access mode the claim asks for.
pub fn access_modes_ok(claim: &PersistentVolumeClaim, pv: &PersistentVolume) -> bool {
    let offered = access_modes(pv);
    claim
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.as_ref())
        .into_iter()
        .flatten()
        .all(|m| offered.contains(m))
}

/// Whether claim and volume differ in volume mode (absent = Filesystem).
pub fn volume_mode_mismatch(claim: &PersistentVolumeClaim, pv: &PersistentVolume) -> bool {
    let mode = |m: Option<&String>| m.map_or("Filesystem", String::as_str).to_owned();
    mode(claim.spec.as_ref().and_then(|s| s.volume_mode.as_ref()))
        != mode(pv.spec.as_ref().and_then(|s| s.volume_mode.as_ref()))
}

/// Whether the volume's `claimRef` names the claim (and its uid, when the ref has one).
pub fn is_bound_to_claim(pv: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(r) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    r.name == claim.metadata.name
        && r.namespace == claim.metadata.namespace
        && r.uid
            .as_deref()
            .is_none_or(|uid| uid.is_empty() || Some(uid) == claim.metadata.uid.as_deref())
}

fn requirement_holds(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let listed = |v: &str| values.iter().any(|x| x == v);
    let number = |v: &str| v.parse::<i64>().ok();
    match (r.operator.as_str(), value) {
        ("In", Some(v)) => listed(v),
        ("NotIn", v) => v.is_none_or(|v| !listed(v)),
        ("Exists", v) => v.is_some(),
        ("DoesNotExist", v) => v.is_none(),
        ("Gt" | "Lt", Some(v)) => match (number(v), values.first().and_then(|b| number(b))) {
            (Some(v), Some(b)) if values.len() == 1 => {
                if r.operator == "Gt" {
                    v > b
                } else {
                    v < b
                }
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether the volume's required node affinity admits the node (none = any node).
pub fn node_affinity_admits(pv: &PersistentVolume, node: &NodeInfo) -> bool {
    let Some(required) = pv
        .spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref()?.required.as_ref())
    else {
        return true;
    };
    required.node_selector_terms.iter().any(|term| {
        let exprs = term.match_expressions.as_deref().unwrap_or_default();
        let fields = term.match_fields.as_deref().unwrap_or_default();
        (!exprs.is_empty() || !fields.is_empty())
            && exprs
                .iter()
                .all(|r| requirement_holds(r, node.labels.get(&r.key).map(String::as_str)))
            && fields
                .iter()
                .all(|r| r.key == "metadata.name" && requirement_holds(r, Some(&node.name)))
    })
}

/// Upstream `FindMatchingVolume` over one access-mode group.
fn find_matching(
    claim: &PersistentVolumeClaim,
    volumes: &[&Arc<PersistentVolume>],
    node: Option<&NodeInfo>,
    delay_binding: bool,
) -> Result<Option<Arc<PersistentVolume>>, String> {
    let selector = match claim.spec.as_ref().and_then(|s| s.selector.clone()) {
        Some(s) => Some(
            Selector::try_from(s)
                .map_err(|e| format!("error creating internal label selector for claim: {e}"))?,
        ),
        None => None,
    };
    let (wanted, class) = (request(claim), claim_class(claim));
    let mut best: Option<(&Arc<PersistentVolume>, i128)> = None;
    for pv in volumes {
        let spec = pv.spec.as_ref();
        if spec.and_then(|s| s.claim_ref.as_ref()).is_some() && !is_bound_to_claim(pv, claim) {
            continue;
        }
        let size = capacity(pv);
        if size < wanted
            || volume_mode_mismatch(claim, pv)
            || pv.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let affinity_ok = node.is_none_or(|n| node_affinity_admits(pv, n));
        if is_bound_to_claim(pv, claim) {
            return Ok(affinity_ok.then(|| Arc::clone(pv)));
        }
        if node.is_none() && delay_binding {
            continue;
        }
        let available = pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Available");
        let labels = pv.metadata.labels.clone().unwrap_or_default();
        if !available
            || selector.as_ref().is_some_and(|s| !s.matches(&labels))
            || volume_class(pv) != class
            || !affinity_ok
        {
            continue;
        }
        if best.is_none_or(|(_, b)| size < b) {
            best = Some((pv, size));
        }
    }
    Ok(best.map(|(pv, _)| Arc::clone(pv)))
}

/// Upstream `findBestMatchForClaim`: volumes are grouped by their set of access modes;
/// the groups offering every mode the claim asks for are searched fewest modes first, and
/// within a group a volume pre-bound to the claim wins, else the smallest that matches.
/// `node` is the node a consumer was scheduled to (only volumes usable there match);
/// without one, `delay_binding` (a WaitForFirstConsumer class) matches pre-bound volumes
/// only.
pub fn find_best_match(
    claim: &PersistentVolumeClaim,
    volumes: &[Arc<PersistentVolume>],
    node: Option<&NodeInfo>,
    delay_binding: bool,
) -> Result<Option<Arc<PersistentVolume>>, String> {
    let mut groups: BTreeMap<(usize, Vec<String>), Vec<&Arc<PersistentVolume>>> = BTreeMap::new();
    for pv in volumes.iter().filter(|pv| access_modes_ok(claim, pv)) {
        let modes = access_modes(pv);
        groups.entry((modes.len(), modes)).or_default().push(pv);
    }
    for group in groups.values() {
        if let Some(found) = find_matching(claim, group, node, delay_binding)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Upstream `checkVolumeSatisfyClaim`: why a volume named by a claim cannot serve it.
pub fn check_volume_satisfies_claim(
    pv: &PersistentVolume,
    claim: &PersistentVolumeClaim,
) -> Result<(), String> {
    let name = pv.metadata.name.as_deref().unwrap_or_default();
    if pv.metadata.deletion_timestamp.is_some() {
        return Err(format!("the volume is marked for deletion {name:?}"));
    }
    if quantity::round_up(capacity(pv)) < quantity::round_up(request(claim)) {
        return Err("requested PV is too small".to_owned());
    }
    if volume_class(pv) != claim_class(claim) {
        return Err("storageClassName does not match".to_owned());
    }
    if volume_mode_mismatch(claim, pv) {
        return Err("incompatible volumeMode".to_owned());
    }
    if !access_modes_ok(claim, pv) {
        return Err("incompatible accessMode".to_owned());
    }
    Ok(())
}

/// Whether a class is marked as the default.
pub fn is_default_class(class: &StorageClass) -> bool {
    DEFAULT_CLASS_ANNOTATIONS
        .iter()
        .any(|a| annotation(&class.metadata, a) == Some("true"))
}

/// Upstream `GetDefaultClass`: the newest default class, ties by name.
pub fn default_class(classes: &[Arc<StorageClass>]) -> Option<&Arc<StorageClass>> {
    classes
        .iter()
        .filter(|c| is_default_class(c))
        .min_by(|a, b| {
            let created = |c: &StorageClass| c.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(b)
                .cmp(&created(a))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        })
}

#[cfg(test)]
#[path = "matching_tests.rs"]
mod tests;

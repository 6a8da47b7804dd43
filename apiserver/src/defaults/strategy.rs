//! The create strategy: what upstream's registry strategies (`PrepareForCreate`) set on a
//! new object besides defaulting — above all its initial status, which a client cannot
//! choose on create.
//!
//! - Pod: `{phase: Pending, qosClass}` (a given `qosClass` is kept, as upstream's
//!   `GetPodQOS` does), a `PodScheduled=False/SchedulingGated` condition when the pod has
//!   scheduling gates, `matchLabelKeys`/`mismatchLabelKeys` of pod (anti-)affinity terms
//!   merged into their label selectors, and the deprecated AppArmor annotations copied to
//!   the containers' `appArmorProfile` fields.
//! - Namespace: `{phase: Active}`, the `kubernetes` finalizer, the name label (for a
//!   generated name, once it is known: [`canonicalize`]).
//! - PersistentVolume: `{phase: Pending, lastPhaseTransitionTime: now}`.
//! - PersistentVolumeClaim: `{phase: Pending}`; `dataSource` and `dataSourceRef` mirror
//!   each other when only one is given.
//! - Service: `{loadBalancer: {}}`.
//! - Node: its status is kept (kubelets register nodes with their status).
//! - Any other kind with a status subresource: an empty status.
//!
//! On update (`PrepareForUpdate`) upstream keeps the stored status for all of these, which
//! `merge_update` does; [`prepare_update`] does the rest: a namespace keeps its
//! `spec.finalizers` (only `/finalize` changes them), a claim's data sources mirror again.

use serde_json::{Map, Value, json};

use super::qos;
use crate::object;
use crate::pointer::At;
use crate::registry::ResourceDef;

/// The message of the condition a pod with scheduling gates starts with.
const SCHEDULING_GATED_MESSAGE: &str = "Scheduling is blocked due to non-empty scheduling gates";

/// The annotation prefix of the deprecated per-container AppArmor profiles.
const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// The longest `localhostProfile` validation accepts.
const MAX_LOCALHOST_PROFILE: usize = 4095;

/// Sets the server-owned state of a new object of `def` (stored form), as upstream's
/// `PrepareForCreate` does.
pub(crate) fn prepare_create(def: &ResourceDef, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match def.kind {
        "Pod" => pod(obj),
        "Namespace" => namespace(obj),
        "PersistentVolume" => {
            obj["status"] = json!({
                "phase": "Pending",
                "lastPhaseTransitionTime": object::now_rfc3339(),
            });
        }
        "PersistentVolumeClaim" => {
            obj["status"] = json!({"phase": "Pending"});
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                mirror_data_sources(spec);
            }
        }
        "Service" => obj["status"] = json!({"loadBalancer": {}}),
        "Node" => {}
        _ if def.status_subresource => obj["status"] = json!({}),
        _ => {}
    }
}

/// Finishes a new object once its name is known (upstream's `Canonicalize`): a namespace
/// created with `generateName` gets its name label only now.
pub(crate) fn canonicalize(def: &ResourceDef, obj: &mut Value) {
    if def.kind == "Namespace" && obj.is_object() {
        name_label(obj);
    }
}

/// Sets what a main-resource update of an object of `def` may not change, from `old`
/// (both stored form), as upstream's `PrepareForUpdate` does beyond keeping the status.
pub(crate) fn prepare_update(def: &ResourceDef, old: &Value, new: &mut Value) {
    if !new.is_object() {
        return;
    }
    match def.kind {
        "Namespace" => {
            let finalizers = old.at("/spec/finalizers").cloned();
            if !new.get("spec").is_some_and(Value::is_object) {
                new["spec"] = json!({});
            }
            if let Some(spec) = new["spec"].as_object_mut() {
                match finalizers {
                    Some(f) => spec.insert("finalizers".into(), f),
                    None => spec.remove("finalizers"),
                };
            }
        }
        "PersistentVolumeClaim" => {
            if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                mirror_data_sources(spec);
            }
        }
        _ => {}
    }
}

/// A new pod: Pending with its QoS class, and the spec mutations of pod creation.
fn pod(obj: &mut Value) {
    let given_class = obj
        .at("/status/qosClass")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let class = given_class.unwrap_or_else(|| qos::pod_qos(&spec).to_owned());
    let mut status = json!({"phase": "Pending", "qosClass": class});
    let gated = spec
        .get("schedulingGates")
        .and_then(Value::as_array)
        .is_some_and(|g| !g.is_empty());
    if gated {
        status["conditions"] = json!([{
            "type": "PodScheduled",
            "status": "False",
            "reason": "SchedulingGated",
            "message": SCHEDULING_GATED_MESSAGE,
            "lastProbeTime": null,
            "lastTransitionTime": object::now_rfc3339(),
        }]);
    }
    obj["status"] = status;
    let labels = object::labels(obj);
    let annotations: Map<String, Value> = obj
        .at("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        merge_affinity_label_keys(spec, &labels);
        apparmor_fields_from_annotations(spec, &annotations);
    }
}

/// `matchLabelKeys` / `mismatchLabelKeys` of every pod (anti-)affinity term become
/// `In` / `NotIn` requirements on the pod's own label values, added to the term's label
/// selector (a term without a selector matches nothing and is left alone).
fn merge_affinity_label_keys(
    spec: &mut Map<String, Value>,
    labels: &std::collections::BTreeMap<String, String>,
) {
    let Some(affinity) = spec.get_mut("affinity").and_then(Value::as_object_mut) else {
        return;
    };
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(a) = affinity.get_mut(kind).and_then(Value::as_object_mut) else {
            continue;
        };
        let preferred = a
            .get_mut("preferredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(|w| w.get_mut("podAffinityTerm"));
        for term in preferred {
            merge_term(term, labels);
        }
        let required = a
            .get_mut("requiredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten();
        for term in required {
            merge_term(term, labels);
        }
    }
}

fn merge_term(term: &mut Value, labels: &std::collections::BTreeMap<String, String>) {
    let keys = |field: &str| -> Vec<String> {
        term.get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect()
    };
    let (matching, mismatching) = (keys("matchLabelKeys"), keys("mismatchLabelKeys"));
    if matching.is_empty() && mismatching.is_empty() {
        return;
    }
    let Some(selector) = term.get_mut("labelSelector").and_then(Value::as_object_mut) else {
        return;
    };
    let mut added = Vec::new();
    for (keys, operator) in [(matching, "In"), (mismatching, "NotIn")] {
        for key in keys {
            if let Some(value) = labels.get(&key) {
                added.push(json!({"key": key, "operator": operator, "values": [value]}));
            }
        }
    }
    if added.is_empty() {
        return;
    }
    let expressions = selector
        .entry("matchExpressions")
        .or_insert_with(|| json!([]));
    if expressions.is_null() {
        *expressions = json!([]);
    }
    if let Some(list) = expressions.as_array_mut() {
        list.extend(added);
    }
}

/// A container named in a deprecated AppArmor annotation that has no `appArmorProfile`
/// of its own gets the profile the annotation names, unless it is invalid or the pod's
/// profile already says the same (Windows pods excepted).
fn apparmor_fields_from_annotations(
    spec: &mut Map<String, Value>,
    annotations: &Map<String, Value>,
) {
    let windows = spec
        .get("os")
        .and_then(|os| os.get("name"))
        .and_then(Value::as_str)
        == Some("windows");
    if windows {
        return;
    }
    let pod_profile = spec
        .get("securityContext")
        .and_then(|s| s.get("appArmorProfile"))
        .filter(|p| !p.is_null())
        .cloned();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let containers = spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut);
        for c in containers {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            let key = format!("{APPARMOR_ANNOTATION_PREFIX}{name}");
            let Some(annotation) = annotations.get(&key).and_then(Value::as_str) else {
                continue;
            };
            let has_field = c
                .get("securityContext")
                .and_then(|s| s.get("appArmorProfile"))
                .is_some_and(|p| !p.is_null());
            if has_field {
                continue;
            }
            let Some(profile) = apparmor_profile(annotation) else {
                continue;
            };
            if pod_profile.as_ref() == Some(&profile) {
                continue;
            }
            let context = c.entry("securityContext").or_insert_with(|| json!({}));
            if context.is_null() {
                *context = json!({});
            }
            if let Some(context) = context.as_object_mut() {
                context.insert("appArmorProfile".into(), profile);
            }
        }
    }
}

/// The valid profile an annotation value names.
fn apparmor_profile(annotation: &str) -> Option<Value> {
    match annotation {
        "unconfined" => Some(json!({"type": "Unconfined"})),
        "runtime/default" => Some(json!({"type": "RuntimeDefault"})),
        _ => {
            let profile = annotation.strip_prefix("localhost/")?;
            let valid = !profile.trim().is_empty() && profile.len() <= MAX_LOCALHOST_PROFILE;
            valid.then(|| json!({"type": "Localhost", "localhostProfile": profile}))
        }
    }
}

/// A new namespace: Active, finalized by `kubernetes`, labelled with its name.
fn namespace(obj: &mut Value) {
    name_label(obj);
    obj["status"] = json!({"phase": "Active"});
    if !obj.get("spec").is_some_and(Value::is_object) {
        obj["spec"] = json!({});
    }
    let finalizers = &mut obj["spec"]["finalizers"];
    if !finalizers.is_array() {
        *finalizers = json!([]);
    }
    if let Some(list) = finalizers.as_array_mut()
        && !list.iter().any(|f| f == "kubernetes")
    {
        list.push(json!("kubernetes"));
    }
}

/// The `kubernetes.io/metadata.name` label of a named namespace.
fn name_label(obj: &mut Value) {
    let name = object::name(obj).to_owned();
    if name.is_empty() {
        return;
    }
    let meta = object::metadata_mut(obj);
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if labels.is_null() {
        *labels = json!({});
    }
    if let Some(l) = labels.as_object_mut() {
        l.insert("kubernetes.io/metadata.name".into(), Value::String(name));
    }
}

/// `dataSource` (a local reference) and `dataSourceRef` (possibly in another namespace)
/// say the same: whichever is given fills the other, except a cross-namespace reference.
fn mirror_data_sources(spec: &mut Map<String, Value>) {
    let given = |v: Option<&Value>| v.is_some_and(|v| !v.is_null());
    let copy = |from: &Value| -> Value {
        let mut out = Map::new();
        for key in ["apiGroup", "kind", "name"] {
            if let Some(v) = from.get(key).filter(|v| !v.is_null()) {
                out.insert(key.into(), v.clone());
            }
        }
        Value::Object(out)
    };
    match (
        given(spec.get("dataSource")),
        given(spec.get("dataSourceRef")),
    ) {
        (true, false) => {
            let reference = copy(&spec["dataSource"]);
            spec.insert("dataSourceRef".into(), reference);
        }
        (false, true) => {
            let cross_namespace = spec["dataSourceRef"]
                .get("namespace")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if !cross_namespace {
                let source = copy(&spec["dataSourceRef"]);
                spec.insert("dataSource".into(), source);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "strategy_tests.rs"]
mod tests;

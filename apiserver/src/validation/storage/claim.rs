//! PersistentVolumeClaims: the spec (`ValidatePersistentVolumeClaimSpec`), what an update
//! may change (a bound claim's storage request may grow; `volumeName` may be set once;
//! the rest is immutable), and the status.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::qty::Qty;
use super::{access_modes, diff, immutable, semantic, volume_mode};
use crate::pointer::At;
use crate::validation::errors::{Errors, Path};
use crate::validation::meta::{dns1123_label, dns1123_subdomain, qualified_name};

/// The annotation that named a claim's class before `spec.storageClassName`.
const BETA_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
const SPEC_IMMUTABLE: &str = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

fn storage_request(obj: &Value) -> Option<&Value> {
    obj.at("/spec/resources/requests/storage")
}

/// A claim on create or main-resource update.
pub(super) fn validate(obj: &Value, old: Option<&Value>, errors: &mut Errors) {
    let empty = Value::Object(Map::new());
    let spec = obj.get("spec").unwrap_or(&empty);
    claim_spec(spec, &Path::root("spec"), errors);
    if let Some(old) = old {
        update(obj, old, errors);
    }
}

/// `ValidatePersistentVolumeClaimSpec` (also the spec of claim templates).
pub(super) fn claim_spec(spec: &Value, path: &Path, errors: &mut Errors) {
    access_modes(
        spec,
        &path.child("accessModes"),
        "at least 1 access mode is required",
        errors,
    );
    let storage_path = path.child("resources").key("storage");
    match spec
        .at("/resources/requests/storage")
        .and_then(Qty::from_json)
    {
        None if spec.at("/resources/requests/storage").is_none() => {
            errors.required(&storage_path, "");
        }
        None => {}
        Some(q) if !q.is_positive() => {
            errors.invalid(
                &storage_path,
                &Value::String(q.shown()),
                "must be greater than zero",
            );
        }
        Some(_) => {}
    }
    let class = text(spec, "storageClassName");
    if !class.is_empty() {
        for m in dns1123_subdomain(class) {
            errors.invalid(
                &path.child("storageClassName"),
                &Value::String(class.to_owned()),
                &m,
            );
        }
    }
    volume_mode(spec, &path.child("volumeMode"), errors);
    let source = spec.get("dataSource").filter(|d| !d.is_null());
    let source_ref = spec.get("dataSourceRef").filter(|d| !d.is_null());
    if let Some(source) = source {
        data_source(source, &path.child("dataSource"), errors);
    }
    if let Some(source_ref) = source_ref {
        let ref_path = path.child("dataSourceRef");
        data_source(source_ref, &ref_path, errors);
        let namespace = text(source_ref, "namespace");
        if !namespace.is_empty() {
            for m in dns1123_label(namespace) {
                errors.invalid(
                    &ref_path.child("namespace"),
                    &Value::String(namespace.to_owned()),
                    &m,
                );
            }
        }
    }
    // Upstream prints the `*field.Path` it passes as the value, which has no exported
    // fields: `{}`.
    let path_value = Value::Object(Map::new());
    match (source, source_ref) {
        (Some(_), Some(r)) if !text(r, "namespace").is_empty() => errors.invalid(
            path,
            &path_value,
            "may not be specified when dataSourceRef.namespace is specified",
        ),
        (Some(s), Some(r)) => {
            let same = ["apiGroup", "kind", "name"]
                .iter()
                .all(|f| s.get(*f) == r.get(*f));
            if !same {
                errors.invalid(path, &path_value, "must match dataSourceRef");
            }
        }
        _ => {}
    }
}

/// `validateDataSource` / `validateDataSourceRef`'s shared part.
fn data_source(source: &Value, path: &Path, errors: &mut Errors) {
    if text(source, "name").is_empty() {
        errors.required(&path.child("name"), "");
    }
    let kind = text(source, "kind");
    if kind.is_empty() {
        errors.required(&path.child("kind"), "");
    }
    let group = text(source, "apiGroup");
    if group.is_empty() && kind != "PersistentVolumeClaim" {
        errors.invalid(
            path,
            &Value::String(kind.to_owned()),
            "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
        );
    }
    if !group.is_empty() {
        for m in dns1123_subdomain(group) {
            errors.invalid(
                &path.child("apiGroup"),
                &Value::String(group.to_owned()),
                &m,
            );
        }
    }
}

/// `ValidatePersistentVolumeClaimUpdate`'s spec rules.
fn update(obj: &Value, old: &Value, errors: &mut Errors) {
    let spec_of = |o: &Value| {
        o.get("spec")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (mut new_spec, mut old_spec) = (spec_of(obj), spec_of(old));
    // `volumeName` may be set once, by the binder.
    if text(old.get("spec").unwrap_or(&Value::Null), "volumeName").is_empty() {
        match new_spec.get("volumeName") {
            Some(v) => old_spec.insert("volumeName".to_owned(), v.clone()),
            None => old_spec.remove("volumeName"),
        };
    }
    let annotation = |o: &Value| {
        o.at("/metadata/annotations")
            .and_then(|a| a.get(BETA_CLASS))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (new_ann, old_ann) = (annotation(obj), annotation(old));
    let new_class = new_spec.get("storageClassName").and_then(Value::as_str);
    let old_class_unset = old_spec.get("storageClassName").is_none_or(Value::is_null);
    let from_annotation = old_ann.is_some()
        && old_class_unset
        && new_class.is_some_and(|c| Some(c) == old_ann.as_deref())
        && (new_ann.is_none() || new_ann == old_ann);
    if from_annotation {
        new_spec.remove("storageClassName");
    } else {
        if new_ann != old_ann {
            let path = Path::root("metadata")
                .child("annotations")
                .child(BETA_CLASS);
            let shown = Value::String(new_ann.unwrap_or_default());
            errors.invalid(&path, &shown, super::IMMUTABLE);
        }
        let from_nil = new_class.is_some()
            && old_class_unset
            && old_ann.as_deref().is_none_or(|a| Some(a) == new_class);
        if from_nil {
            new_spec.remove("storageClassName");
        }
    }
    let bound = obj.at("/status/phase").and_then(Value::as_str) == Some("Bound");
    if bound {
        let old_storage = storage_request(old).cloned();
        if let Some(requests) = new_spec
            .get_mut("resources")
            .and_then(|r| r.get_mut("requests"))
            .and_then(Value::as_object_mut)
        {
            match old_storage {
                Some(v) => requests.insert("storage".to_owned(), v),
                None => requests.remove("storage"),
            };
        }
        if new_spec.contains_key("volumeAttributesClassName") {
            match old_spec.get("volumeAttributesClassName") {
                Some(v) => new_spec.insert("volumeAttributesClassName".to_owned(), v.clone()),
                None => new_spec.remove("volumeAttributesClassName"),
            };
        }
    }
    let (new_cmp, old_cmp) = (
        semantic(&quantities_as_numbers(&new_spec)),
        semantic(&quantities_as_numbers(&old_spec)),
    );
    if new_cmp != old_cmp {
        // List the fields that differ by amount, as written.
        let differs = |k: &String| new_cmp.get(k.as_str()) != old_cmp.get(k.as_str());
        let (mut a, mut b) = (old_spec.clone(), new_spec.clone());
        a.retain(|k, _| differs(k));
        b.retain(|k, _| differs(k));
        let message = format!(
            "{SPEC_IMMUTABLE}\n{}",
            diff("core.PersistentVolumeClaimSpec", &a, &b)
        );
        errors.forbidden(&Path::root("spec"), &message);
    }
    let size = |o: &Value, p: &str| o.at(p).and_then(Qty::from_json);
    if let (Some(new_size), Some(old_size)) = (
        size(obj, "/spec/resources/requests/storage"),
        size(old, "/spec/resources/requests/storage"),
    ) {
        let status_size = size(old, "/status/capacity/storage");
        let at_or_below_status = match &status_size {
            Some(s) => new_size.cmp_amount(s) != Ordering::Greater,
            None => !new_size.is_positive(),
        };
        if new_size.cmp_amount(&old_size) == Ordering::Less && at_or_below_status {
            errors.forbidden(
                &Path::root("spec")
                    .child("resources")
                    .child("requests")
                    .child("storage"),
                "field can not be less than status.capacity",
            );
        }
    }
    let mode = |o: &Value| o.at("/spec/volumeMode").cloned();
    if mode(obj) != mode(old) {
        immutable(errors, &Path::root("volumeMode"), mode(obj).as_ref());
    }
}

/// The spec with its resource quantities replaced by amounts, so `1Gi` equals `1024Mi`.
fn quantities_as_numbers(spec: &Map<String, Value>) -> Value {
    let mut spec = spec.clone();
    if let Some(resources) = spec.get_mut("resources").and_then(Value::as_object_mut) {
        for list in ["requests", "limits"] {
            if let Some(map) = resources.get_mut(list).and_then(Value::as_object_mut) {
                for v in map.values_mut() {
                    if let Some(q) = Qty::from_json(v) {
                        *v = Value::String(q.amount_key());
                    }
                }
            }
        }
    }
    Value::Object(spec)
}

/// `ValidatePersistentVolumeClaimStatusUpdate`.
pub(super) fn status(obj: &Value, errors: &mut Errors) {
    let modes = obj.at("/spec/accessModes").and_then(Value::as_array);
    if modes.is_none_or(Vec::is_empty) {
        errors.required(&Path::root("Spec").child("accessModes"), "");
    }
    let capacity = Path::root("status").child("capacity");
    if let Some(map) = obj.at("/status/capacity").and_then(Value::as_object) {
        for (name, v) in map {
            basic_resource(v, &capacity.key(name), errors);
        }
    }
    let allocated = Path::root("status").child("allocatedResources");
    if let Some(map) = obj
        .at("/status/allocatedResources")
        .and_then(Value::as_object)
    {
        for (name, v) in map {
            if !resource_key(name, &allocated, errors) {
                continue;
            }
            let path = allocated.key(name);
            if !basic_resource(v, &path, errors)
                && let Some(q) = Qty::from_json(v).filter(Qty::is_negative)
            {
                errors.invalid(
                    &path,
                    &Value::String(q.shown()),
                    "must be greater than or equal to 0",
                );
            }
        }
    }
}

/// `validateBasicResource`: the integer value may not be negative. `true` when it erred.
fn basic_resource(v: &Value, path: &Path, errors: &mut Errors) -> bool {
    match Qty::from_json(v) {
        Some(q) if q.value() < 0 => {
            let value = i64::try_from(q.value()).unwrap_or(i64::MIN);
            errors.invalid(
                path,
                &Value::from(value),
                "must be a valid resource quantity",
            );
            true
        }
        _ => false,
    }
}

/// `validatePersistentVolumeClaimResourceKey`: `true` when the key is fine.
fn resource_key(key: &str, path: &Path, errors: &mut Errors) -> bool {
    let messages = qualified_name(key);
    for m in &messages {
        errors.invalid(path, &Value::String(key.to_owned()), m);
    }
    if !messages.is_empty() {
        return false;
    }
    let native = !key.contains('/') || key.starts_with("kubernetes.io/");
    if native && key != "storage" {
        errors.not_supported(path, &Value::String(key.to_owned()), &["storage"]);
        return false;
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tests::{causes, pairs};
    use crate::admission::Operation;
    use crate::api::Part;
    use serde_json::{Value, json};

    type Causes = Vec<(String, String)>;

    fn claim(spec: Value) -> Value {
        json!({"metadata": {"name": "c", "namespace": "default"}, "spec": spec})
    }

    #[test]
    fn specs() {
        let cases: Vec<(Value, Vec<(String, String)>)> = vec![
            (
                claim(json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                    "volumeMode": "Filesystem", "storageClassName": "fast"})),
                vec![],
            ),
            (
                claim(json!({})),
                pairs(&[
                    ("spec.accessModes", "Required value: at least 1 access mode is required"),
                    ("spec.resources[storage]", "Required value"),
                ]),
            ),
            (
                claim(json!({"accessModes": ["ReadWriteOncePod", "ReadWriteOnce", "Sometimes"],
                    "resources": {"requests": {"storage": "0Gi"}}, "volumeMode": "Raw",
                    "storageClassName": "Fast"})),
                vec![
                    ("spec.accessModes".to_owned(), "Unsupported value: \"Sometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"".to_owned()),
                    ("spec.accessModes".to_owned(), "Forbidden: may not use ReadWriteOncePod with other access modes".to_owned()),
                    ("spec.resources[storage]".to_owned(), "Invalid value: \"0\": must be greater than zero".to_owned()),
                    ("spec.storageClassName".to_owned(), format!("Invalid value: \"Fast\": {}", crate::validation::meta::dns1123_subdomain("Fast")[0])),
                    ("spec.volumeMode".to_owned(), "Unsupported value: \"Raw\": supported values: \"Block\", \"Filesystem\"".to_owned()),
                ],
            ),
            (
                claim(json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                    "dataSource": {"kind": "Snapshot"}})),
                pairs(&[
                    ("spec.dataSource.name", "Required value"),
                    ("spec.dataSource", "Invalid value: \"Snapshot\": must be 'PersistentVolumeClaim' when referencing the default apiGroup"),
                ]),
            ),
            (
                claim(json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                    "dataSource": {"kind": "PersistentVolumeClaim", "name": "a"},
                    "dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "b"}})),
                pairs(&[("spec", "Invalid value: {}: must match dataSourceRef")]),
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(
                causes("PersistentVolumeClaim", &obj, Operation::Create),
                want,
                "{obj}"
            );
        }
    }

    #[test]
    fn updates() {
        let spec = |storage: &str| {
            json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}},
                "volumeMode": "Filesystem"})
        };
        let bound = |storage: &str, capacity: &str| {
            let mut c = claim(spec(storage));
            c["status"] = json!({"phase": "Bound", "capacity": {"storage": capacity}});
            c
        };
        let forbidden_spec = |storage_old: &str, storage_new: &str| {
            format!(
                "Forbidden: {}\n  core.PersistentVolumeClaimSpec{{\n- \tResources: {},\n+ \tResources: {},\n  }}\n",
                super::SPEC_IMMUTABLE,
                json!({"requests": {"storage": storage_old}}),
                json!({"requests": {"storage": storage_new}}),
            )
        };
        let shrink = "Forbidden: field can not be less than status.capacity";
        let cases: Vec<(Value, Value, Causes)> = vec![
            // A bound claim may grow, and shrink while above its capacity.
            (bound("1Gi", "1Gi"), bound("2Gi", "1Gi"), vec![]),
            (bound("3Gi", "1Gi"), bound("2Gi", "1Gi"), vec![]),
            (
                bound("2Gi", "1Gi"),
                bound("1Gi", "1Gi"),
                pairs(&[("spec.resources.requests.storage", shrink)]),
            ),
            (bound("1Gi", "1Gi"), bound("1024Mi", "1Gi"), vec![]),
            // An unbound claim may not change its request at all.
            (
                claim(spec("1Gi")),
                claim(spec("2Gi")),
                vec![("spec".to_owned(), forbidden_spec("1Gi", "2Gi"))],
            ),
            // volumeName may be set once.
            (
                claim(spec("1Gi")),
                {
                    let mut c = claim(spec("1Gi"));
                    c["spec"]["volumeName"] = json!("pv1");
                    c
                },
                vec![],
            ),
            // A class may be set on a claim without one.
            (
                claim(spec("1Gi")),
                {
                    let mut c = claim(spec("1Gi"));
                    c["spec"]["storageClassName"] = json!("fast");
                    c
                },
                vec![],
            ),
            (
                claim(spec("1Gi")),
                {
                    let mut c = claim(spec("1Gi"));
                    c["spec"]["volumeMode"] = json!("Block");
                    c
                },
                vec![
                    (
                        "spec".to_owned(),
                        format!(
                            "Forbidden: {}\n  core.PersistentVolumeClaimSpec{{\n- \tVolumeMode: \"Filesystem\",\n+ \tVolumeMode: \"Block\",\n  }}\n",
                            super::SPEC_IMMUTABLE
                        ),
                    ),
                    (
                        "volumeMode".to_owned(),
                        "Invalid value: \"Block\": field is immutable".to_owned(),
                    ),
                ],
            ),
        ];
        for (old, new, want) in cases {
            let op = Operation::Update {
                old: &old,
                part: Part::Main,
            };
            assert_eq!(
                causes("PersistentVolumeClaim", &new, op),
                want,
                "{old} -> {new}"
            );
        }
    }

    #[test]
    fn status() {
        let mut c = claim(json!({"resources": {"requests": {"storage": "1Gi"}}}));
        c["status"] = json!({"capacity": {"storage": "-1Gi"}, "allocatedResources": {"cpu": "1"}});
        let op = Operation::Update {
            old: &c,
            part: Part::Status,
        };
        assert_eq!(
            causes("PersistentVolumeClaim", &c, op),
            pairs(&[
                ("Spec.accessModes", "Required value"),
                (
                    "status.capacity[storage]",
                    "Invalid value: -1073741824: must be a valid resource quantity"
                ),
                (
                    "status.allocatedResources",
                    "Unsupported value: \"cpu\": supported values: \"storage\""
                ),
            ])
        );
    }
}

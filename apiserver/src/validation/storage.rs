//! Storage kinds, as upstream v1.33: PersistentVolumeClaims (`claim`), PersistentVolumes
//! (`volume`) and StorageClasses (here), with their update rules.

mod claim;
mod qty;
mod volume;

use serde_json::{Map, Value};

use super::errors::{Errors, Path};
use super::meta::qualified_name;
use crate::admission::Operation;
use crate::api::Part;

/// Upstream's `FieldImmutableErrorMsg`.
const IMMUTABLE: &str = "field is immutable";
/// Access modes, in upstream's (sorted) order.
const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];
/// Most parameters a StorageClass may carry, and their total size.
const MAX_PARAMETERS: usize = 512;
const MAX_PARAMETERS_SIZE: usize = 256 * 1024;

/// Validates a PersistentVolume, PersistentVolumeClaim or StorageClass (stored form).
pub(super) fn validate(kind: &str, obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let (old, part) = match op {
        Operation::Create => (None, Part::Main),
        Operation::Update { old, part } => (Some(old), part),
    };
    match (kind, part) {
        ("PersistentVolumeClaim", Part::Status) => claim::status(obj, errors),
        ("PersistentVolumeClaim", _) => claim::validate(obj, old, errors),
        // A volume's status update checks only metadata.
        ("PersistentVolume", Part::Status) => {}
        ("PersistentVolume", _) => volume::validate(obj, old, errors),
        _ => storage_class(obj, old, errors),
    }
}

/// `ValidateImmutableField`'s error: the new value, `field is immutable`.
fn immutable(errors: &mut Errors, path: &Path, new: Option<&Value>) {
    errors.invalid(path, new.unwrap_or(&Value::Null), IMMUTABLE);
}

/// `accessModes`: required (with `required_detail`), each supported, and
/// `ReadWriteOncePod` alone.
fn access_modes(spec: &Value, path: &Path, required_detail: &str, errors: &mut Errors) {
    let modes = spec
        .get("accessModes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if modes.is_empty() {
        errors.required(path, required_detail);
    }
    let (mut once_pod, mut others) = (false, false);
    for mode in modes {
        let text = mode.as_str().unwrap_or("");
        if !ACCESS_MODES.contains(&text) {
            errors.not_supported(path, mode, ACCESS_MODES);
        } else if text == "ReadWriteOncePod" {
            once_pod = true;
        } else {
            others = true;
        }
    }
    if once_pod && others {
        errors.forbidden(path, "may not use ReadWriteOncePod with other access modes");
    }
}

/// `volumeMode`, when set, is `Block` or `Filesystem`.
fn volume_mode(spec: &Value, path: &Path, errors: &mut Errors) {
    if let Some(mode) = spec.get("volumeMode").filter(|m| !m.is_null())
        && !mode.as_str().is_some_and(|m| VOLUME_MODES.contains(&m))
    {
        errors.not_supported(path, mode, VOLUME_MODES);
    }
}

/// A value with nulls, empty lists and empty maps dropped: upstream's semantic equality
/// treats them as unset.
fn semantic(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !is_unset(v))
                .map(|(k, v)| (k.clone(), semantic(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(semantic).collect()),
        other => other.clone(),
    }
}

fn is_unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty() || o.values().all(is_unset),
        _ => false,
    }
}

/// A short listing of what changed between two specs, in the manner of the diff upstream
/// appends to its immutability errors (`-` old, `+` new, Go field names).
fn diff(go_type: &str, old: &Map<String, Value>, new: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = format!("  {go_type}{{\n");
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        let name = go_field(key);
        let show = |v: Option<&Value>| v.map_or("nil".to_owned(), Value::to_string);
        out.push_str(&format!("- \t{name}: {},\n", show(a)));
        out.push_str(&format!("+ \t{name}: {},\n", show(b)));
    }
    out.push_str("  }\n");
    out
}

/// A JSON field name as the Go field (`storageClassName` → `StorageClassName`).
fn go_field(json: &str) -> String {
    let mut chars = json.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

fn storage_class(obj: &Value, old: Option<&Value>, errors: &mut Errors) {
    let provisioner = obj.get("provisioner").and_then(Value::as_str).unwrap_or("");
    let ppath = Path::root("provisioner");
    if provisioner.is_empty() {
        errors.required(&ppath, "");
    } else {
        for m in qualified_name(&provisioner.to_lowercase()) {
            errors.invalid(&ppath, &Value::String(provisioner.to_owned()), &m);
        }
    }
    parameters(obj.get("parameters"), errors);
    if let Some(policy) = obj
        .get("reclaimPolicy")
        .filter(|p| p.as_str().is_some_and(|s| !s.is_empty()))
        && !matches!(policy.as_str(), Some("Delete" | "Retain"))
    {
        errors.not_supported(&Path::root("reclaimPolicy"), policy, &["Delete", "Retain"]);
    }
    let mode_path = Path::root("volumeBindingMode");
    match obj.get("volumeBindingMode").filter(|m| !m.is_null()) {
        None => errors.required(&mode_path, ""),
        Some(mode) => {
            if !matches!(mode.as_str(), Some("Immediate" | "WaitForFirstConsumer")) {
                errors.not_supported(&mode_path, mode, &["Immediate", "WaitForFirstConsumer"]);
            }
        }
    }
    let Some(old) = old else { return };
    let forbidden = [
        ("parameters", "updates to parameters are forbidden."),
        ("provisioner", "updates to provisioner are forbidden."),
        ("reclaimPolicy", "updates to reclaimPolicy are forbidden."),
    ];
    for (field, message) in forbidden {
        let unset = |o: &Value| o.get(field).is_none_or(is_unset);
        let changed = obj.get(field) != old.get(field) && !(unset(obj) && unset(old));
        if changed {
            errors.forbidden(&Path::root(field), message);
        }
    }
    if obj.get("volumeBindingMode") != old.get("volumeBindingMode") {
        immutable(errors, &mode_path, obj.get("volumeBindingMode"));
    }
}

fn parameters(params: Option<&Value>, errors: &mut Errors) {
    let Some(params) = params.and_then(Value::as_object) else {
        return;
    };
    let path = Path::root("parameters");
    if params.len() > MAX_PARAMETERS {
        errors.too_long(&path, MAX_PARAMETERS);
        return;
    }
    let mut total = 0;
    for (k, v) in params {
        if k.is_empty() {
            errors.invalid(
                &path,
                &Value::String(String::new()),
                "field can not be empty.",
            );
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > MAX_PARAMETERS_SIZE {
        errors.too_long(&path, MAX_PARAMETERS_SIZE);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn causes(kind: &str, obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
        let mut e = Errors::default();
        validate(kind, obj, op, &mut e);
        e.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    pub(super) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
            .collect()
    }

    #[test]
    fn storage_classes() {
        let many: Map<String, Value> = (0..513).map(|i| (format!("k{i}"), json!("v"))).collect();
        let cases: Vec<(Value, Vec<(String, String)>)> = vec![
            (
                json!({"provisioner": "example.com/nfs", "parameters": {"a": "b"},
                    "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}),
                vec![],
            ),
            (
                json!({"reclaimPolicy": "Recycle", "volumeBindingMode": "Later"}),
                pairs(&[
                    ("provisioner", "Required value"),
                    (
                        "reclaimPolicy",
                        "Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"",
                    ),
                    (
                        "volumeBindingMode",
                        "Unsupported value: \"Later\": supported values: \"Immediate\", \"WaitForFirstConsumer\"",
                    ),
                ]),
            ),
            (
                json!({"provisioner": "x", "parameters": many, "volumeBindingMode": "Immediate"}),
                pairs(&[("parameters", "Too long: may not be more than 512 bytes")]),
            ),
            (
                json!({"provisioner": "a/b/c"}),
                vec![
                    (
                        "provisioner".to_owned(),
                        format!("Invalid value: \"a/b/c\": {}", qualified_name("a/b/c")[0]),
                    ),
                    ("volumeBindingMode".to_owned(), "Required value".to_owned()),
                ],
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(
                causes("StorageClass", &obj, Operation::Create),
                want,
                "{obj}"
            );
        }
    }

    #[test]
    fn storage_class_updates() {
        let old = json!({"provisioner": "a", "parameters": {"x": "1"}, "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate"});
        let new = json!({"provisioner": "b", "parameters": {"x": "2"}, "reclaimPolicy": "Retain",
            "volumeBindingMode": "WaitForFirstConsumer"});
        let op = Operation::Update {
            old: &old,
            part: Part::Main,
        };
        assert_eq!(
            causes("StorageClass", &new, op),
            pairs(&[
                (
                    "parameters",
                    "Forbidden: updates to parameters are forbidden."
                ),
                (
                    "provisioner",
                    "Forbidden: updates to provisioner are forbidden."
                ),
                (
                    "reclaimPolicy",
                    "Forbidden: updates to reclaimPolicy are forbidden."
                ),
                (
                    "volumeBindingMode",
                    "Invalid value: \"WaitForFirstConsumer\": field is immutable"
                ),
            ])
        );
        let op = Operation::Update {
            old: &old,
            part: Part::Main,
        };
        assert!(causes("StorageClass", &old, op).is_empty());
    }
}

//! ConfigMaps and Secrets, as upstream v1.33's `ValidateConfigMap`, `ValidateSecret` and
//! their update rules: key names, the 1 MiB total, `immutable: true`, Secret types.
//!
//! Objects arrive in stored form: Secret `data` and ConfigMap `binaryData` values are
//! base64 strings (already checked by the typed decode, which answers 400 for bad
//! base64 as upstream's decoder does); sizes count the decoded bytes.

mod json;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::errors::{Errors, Path};
use crate::admission::Operation;
use crate::api::Part;
use crate::pointer::At;

/// Upstream's `MaxSecretSize`, also the ConfigMap limit.
pub(crate) const MAX_SIZE: usize = 1024 * 1024;

const KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";
const REDACTED: &str = "<secret contents redacted>";

/// Validates a ConfigMap or Secret (stored form) and, on update, its immutability rules.
pub(super) fn validate(kind: &str, obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    if let Operation::Update {
        old,
        part: Part::Main,
    } = op
    {
        if kind == "Secret" {
            type_unchanged(obj, old, errors);
        }
        immutable_honoured(kind, obj, old, errors);
    }
    match kind {
        "ConfigMap" => config_map(obj, errors),
        _ => secret(obj, errors),
    }
}

/// Messages for a key that may not name a file in a volume (`IsConfigMapKey`).
pub(crate) fn config_key(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    if key.len() > 253 {
        out.push("must be no more than 253 characters".to_owned());
    }
    let chars_ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !chars_ok {
        out.push(KEY_MSG.to_owned());
    }
    if key == "." {
        out.push("must not be '.'".to_owned());
    } else if key == ".." {
        out.push("must not be '..'".to_owned());
    } else if key.starts_with("..") {
        out.push("must not start with '..'".to_owned());
    }
    out
}

fn map<'a>(obj: &'a Value, field: &str) -> Option<&'a Map<String, Value>> {
    obj.get(field).and_then(Value::as_object)
}

/// The bytes a stored base64 value stands for (empty when it is not base64, which the
/// typed decode has already refused).
fn decoded(v: &Value) -> Vec<u8> {
    v.as_str()
        .and_then(|s| STANDARD.decode(s).ok())
        .unwrap_or_default()
}

fn check_keys(entries: &Map<String, Value>, path: &Path, errors: &mut Errors) {
    for key in entries.keys() {
        for m in config_key(key) {
            errors.invalid(&path.key(key), &Value::String(key.clone()), &m);
        }
    }
}

fn config_map(obj: &Value, errors: &mut Errors) {
    let data = map(obj, "data");
    let binary = map(obj, "binaryData");
    let mut total = 0;
    if let Some(data) = data {
        let path = Path::root("data");
        for (key, value) in data {
            for m in config_key(key) {
                errors.invalid(&path.key(key), &Value::String(key.clone()), &m);
            }
            if binary.is_some_and(|b| b.contains_key(key)) {
                errors.invalid(
                    &path.key(key),
                    &Value::String(key.clone()),
                    "duplicate of key present in binaryData",
                );
            }
            total += value.as_str().map_or(0, str::len);
        }
    }
    if let Some(binary) = binary {
        check_keys(binary, &Path::root("binaryData"), errors);
        total += binary.values().map(|v| decoded(v).len()).sum::<usize>();
    }
    if total > MAX_SIZE {
        // Upstream reports the whole object, with an empty field path.
        errors.too_long(&Path::root(""), MAX_SIZE);
    }
}

fn secret(obj: &Value, errors: &mut Errors) {
    let data_path = Path::root("data");
    let data = map(obj, "data");
    if let Some(data) = data {
        check_keys(data, &data_path, errors);
        let total: usize = data.values().map(|v| decoded(v).len()).sum();
        if total > MAX_SIZE {
            errors.too_long(&data_path, MAX_SIZE);
        }
    }
    let entry = |key: &str| data.and_then(|d| d.get(key));
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
    match ty {
        "kubernetes.io/service-account-token" => {
            let name = obj
                .at("/metadata/annotations/kubernetes.io~1service-account.name")
                .and_then(Value::as_str)
                .unwrap_or("");
            if name.is_empty() {
                errors.required(
                    &Path::root("metadata")
                        .child("annotations")
                        .key("kubernetes.io/service-account.name"),
                    "",
                );
            }
        }
        "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson" => {
            let key = if ty == "kubernetes.io/dockercfg" {
                ".dockercfg"
            } else {
                ".dockerconfigjson"
            };
            match entry(key) {
                None => errors.required(&data_path.key(key), ""),
                Some(v) => {
                    if let Some(problem) = json::object_error(&decoded(v)) {
                        errors.invalid(
                            &data_path.key(key),
                            &Value::String(REDACTED.to_owned()),
                            &problem,
                        );
                    }
                }
            }
        }
        "kubernetes.io/basic-auth"
            if entry("username").is_none() && entry("password").is_none() =>
        {
            errors.required(&data_path.key("username"), "");
            errors.required(&data_path.key("password"), "");
        }
        "kubernetes.io/ssh-auth"
            if entry("ssh-privatekey").is_none_or(|v| decoded(v).is_empty()) =>
        {
            errors.required(&data_path.key("ssh-privatekey"), "");
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if entry(key).is_none() {
                    errors.required(&data_path.key(key), "");
                }
            }
        }
        _ => {}
    }
}

/// A Secret's `type` never changes (`ValidateImmutableField`).
fn type_unchanged(obj: &Value, old: &Value, errors: &mut Errors) {
    let new_type = obj
        .get("type")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    let old_type = old
        .get("type")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    if new_type != old_type {
        errors.invalid(&Path::root("type"), &new_type, "field is immutable");
    }
}

/// Once `immutable: true` is stored, neither it nor the data may change.
fn immutable_honoured(kind: &str, obj: &Value, old: &Value, errors: &mut Errors) {
    let is_true = |o: &Value| o.get("immutable").and_then(Value::as_bool) == Some(true);
    if !is_true(old) {
        return;
    }
    if !is_true(obj) {
        errors.forbidden(&Path::root("immutable"), IMMUTABLE_SET);
    }
    let fields: &[&str] = if kind == "ConfigMap" {
        &["data", "binaryData"]
    } else {
        &["data"]
    };
    for field in fields {
        if obj.get(*field) != old.get(*field) {
            errors.forbidden(&Path::root(field), IMMUTABLE_SET);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    type Causes = Vec<(String, String)>;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    fn causes(kind: &str, obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
        let mut e = Errors::default();
        validate(kind, obj, op, &mut e);
        e.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
            .collect()
    }

    #[test]
    fn config_maps() {
        let key_msg = format!("Invalid value: \"a b\": {KEY_MSG}");
        let cases: Vec<(Value, Vec<(String, String)>)> = vec![
            (
                json!({"data": {"k.1": "v", "K_2": "w"}, "binaryData": {"bin": b64("x")}}),
                vec![],
            ),
            (
                json!({"data": {"a b": "v"}}),
                pairs(&[("data[a b]", &key_msg)]),
            ),
            (
                json!({"data": {"..x": "v"}, "binaryData": {".": b64("x")}}),
                pairs(&[
                    (
                        "data[..x]",
                        "Invalid value: \"..x\": must not start with '..'",
                    ),
                    ("binaryData[.]", "Invalid value: \".\": must not be '.'"),
                ]),
            ),
            (
                json!({"data": {"k": "v"}, "binaryData": {"k": b64("x")}}),
                pairs(&[(
                    "data[k]",
                    "Invalid value: \"k\": duplicate of key present in binaryData",
                )]),
            ),
            (
                json!({"data": {"a": "x".repeat(MAX_SIZE)}, "binaryData": {"b": b64("y")}}),
                pairs(&[("", "Too long: may not be more than 1048576 bytes")]),
            ),
            (json!({"data": {"a": "x".repeat(MAX_SIZE)}}), vec![]),
        ];
        for (obj, want) in cases {
            assert_eq!(causes("ConfigMap", &obj, Operation::Create), want, "{obj}");
        }
    }

    #[test]
    fn secrets() {
        let cases: Vec<(Value, Vec<(String, String)>)> = vec![
            (json!({"type": "Opaque", "data": {"k": b64("v")}}), vec![]),
            (
                json!({"type": "Opaque", "data": {"a": STANDARD.encode(vec![0u8; MAX_SIZE]), "b": b64("x")}}),
                pairs(&[("data", "Too long: may not be more than 1048576 bytes")]),
            ),
            (
                json!({"type": "kubernetes.io/service-account-token"}),
                pairs(&[(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "Required value",
                )]),
            ),
            (
                json!({"type": "kubernetes.io/service-account-token",
                    "metadata": {"annotations": {"kubernetes.io/service-account.name": "default"}}}),
                vec![],
            ),
            (
                json!({"type": "kubernetes.io/dockerconfigjson"}),
                pairs(&[("data[.dockerconfigjson]", "Required value")]),
            ),
            (
                json!({"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": b64("{oops")}}),
                pairs(&[(
                    "data[.dockerconfigjson]",
                    "Invalid value: \"<secret contents redacted>\": invalid character 'o' looking for beginning of object key string",
                )]),
            ),
            (
                json!({"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": b64("{\"auths\":{}}")}}),
                vec![],
            ),
            (
                json!({"type": "kubernetes.io/dockercfg", "data": {".dockercfg": b64("")}}),
                pairs(&[(
                    "data[.dockercfg]",
                    "Invalid value: \"<secret contents redacted>\": unexpected end of JSON input",
                )]),
            ),
            (
                json!({"type": "kubernetes.io/basic-auth", "data": {}}),
                pairs(&[
                    ("data[username]", "Required value"),
                    ("data[password]", "Required value"),
                ]),
            ),
            (
                json!({"type": "kubernetes.io/basic-auth", "data": {"password": ""}}),
                vec![],
            ),
            (
                json!({"type": "kubernetes.io/ssh-auth", "data": {"ssh-privatekey": ""}}),
                pairs(&[("data[ssh-privatekey]", "Required value")]),
            ),
            (
                json!({"type": "kubernetes.io/tls", "data": {"tls.crt": b64("c")}}),
                pairs(&[("data[tls.key]", "Required value")]),
            ),
            (
                json!({"type": "example.com/custom", "data": {"x": b64("y")}}),
                vec![],
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(causes("Secret", &obj, Operation::Create), want, "{obj}");
        }
    }

    #[test]
    fn updates() {
        let immutable_msg = "Forbidden: field is immutable when `immutable` is set";
        let cm = json!({"data": {"a": "1"}, "binaryData": {"b": b64("x")}, "immutable": true});
        let secret = json!({"type": "Opaque", "data": {"a": b64("1")}, "immutable": true});
        let cases: Vec<(&str, Value, Value, Causes)> = vec![
            ("ConfigMap", cm.clone(), cm.clone(), vec![]),
            (
                "ConfigMap",
                cm.clone(),
                json!({"data": {"a": "2"}, "immutable": false}),
                pairs(&[
                    ("immutable", immutable_msg),
                    ("data", immutable_msg),
                    ("binaryData", immutable_msg),
                ]),
            ),
            (
                "ConfigMap",
                json!({"data": {"a": "1"}}),
                json!({"data": {"a": "2"}, "immutable": true}),
                vec![],
            ),
            (
                "Secret",
                secret.clone(),
                json!({"type": "kubernetes.io/tls", "data": {"a": b64("2")}, "immutable": true}),
                pairs(&[
                    (
                        "type",
                        "Invalid value: \"kubernetes.io/tls\": field is immutable",
                    ),
                    ("data", immutable_msg),
                    ("data[tls.crt]", "Required value"),
                    ("data[tls.key]", "Required value"),
                ]),
            ),
        ];
        for (kind, old, new, want) in cases {
            let op = Operation::Update {
                old: &old,
                part: Part::Main,
            };
            assert_eq!(causes(kind, &new, op), want, "{kind} {old} -> {new}");
        }
    }
}

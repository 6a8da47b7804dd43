//! Container environment: `env` (names, `valueFrom` sources) and `envFrom`, with
//! v1.33's relaxed variable names (any printable ASCII but `=`).

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::meta;
use super::{is_unset, qualified, subdomain, text};

const RELAXED_NAME_MSG: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";

/// Field paths a `fieldRef` of an environment variable may name.
const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// Field paths upstream's downward API conversion knows at all.
const CONVERTIBLE: [&str; 14] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// Resources a `resourceFieldRef` may name (hugepages by prefix).
pub(super) const RESOURCE_FIELDS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// Messages for an environment variable name (or `envFrom` prefix).
fn relaxed_name(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if name.is_empty() {
        out.push("environment variable name must be non-empty".to_owned());
    }
    if name
        .chars()
        .any(|c| !c.is_ascii() || c.is_ascii_control() || c == '=')
    {
        out.push(RELAXED_NAME_MSG.to_owned());
    }
    out
}

/// `ValidateEnv`.
pub(super) fn env(list: &[Value], path: &Path, errors: &mut Errors) {
    for (i, e) in list.iter().enumerate() {
        let p = path.index(i);
        let name = text(e, "name");
        if name.is_empty() {
            errors.required(&p.child("name"), "");
        }
        for m in relaxed_name(name) {
            errors.invalid(&p.child("name"), &Value::String(name.to_owned()), &m);
        }
        if let Some(from) = e.get("valueFrom").filter(|v| !v.is_null()) {
            value_from(
                from,
                !text(e, "value").is_empty(),
                &p.child("valueFrom"),
                errors,
            );
        }
    }
}

fn value_from(from: &Value, has_value: bool, path: &Path, errors: &mut Errors) {
    let mut sources = 0;
    if let Some(f) = from.get("fieldRef").filter(|v| !v.is_null()) {
        sources += 1;
        field_selector(f, &ENV_FIELD_PATHS, &path.child("fieldRef"), errors);
    }
    if let Some(r) = from.get("resourceFieldRef").filter(|v| !v.is_null()) {
        sources += 1;
        resource_selector(r, false, &path.child("resourceFieldRef"), errors);
    }
    for (field, name_field) in [("configMapKeyRef", "name"), ("secretKeyRef", "name")] {
        if let Some(r) = from.get(field).filter(|v| !v.is_null()) {
            sources += 1;
            key_selector(r, name_field, &path.child(field), errors);
        }
    }
    let empty = Value::String(String::new());
    if sources == 0 {
        errors.invalid(
            path,
            &empty,
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        );
    } else if has_value {
        errors.invalid(
            path,
            &empty,
            "may not be specified when `value` is not empty",
        );
    } else if sources > 1 {
        errors.invalid(
            path,
            &empty,
            "may not have more than one field specified at a time",
        );
    }
}

/// A ConfigMap or Secret key reference: the object's name and a valid key.
fn key_selector(r: &Value, name_field: &str, path: &Path, errors: &mut Errors) {
    subdomain(text(r, name_field), &path.child(name_field), errors);
    let key = text(r, "key");
    if key.is_empty() {
        errors.required(&path.child("key"), "");
    } else {
        for m in config_key(key) {
            errors.invalid(&path.child("key"), &Value::String(key.to_owned()), &m);
        }
    }
}

/// Messages for a ConfigMap/Secret key (`IsConfigMapKey`).
fn config_key(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    if key.len() > 253 {
        out.push("must be no more than 253 characters".to_owned());
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        out.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_owned());
    }
    match key {
        "." => out.push("must not be '.'".to_owned()),
        ".." => out.push("must not be '..'".to_owned()),
        k if k.starts_with("..") => out.push("must not start with '..'".to_owned()),
        _ => {}
    }
    out
}

/// `validateObjectFieldSelector`: an API version, and a supported field path (labels and
/// annotations by subscript: `metadata.labels['app']`).
pub(super) fn field_selector(f: &Value, allowed: &[&str], path: &Path, errors: &mut Errors) {
    if text(f, "apiVersion").is_empty() {
        errors.required(&path.child("apiVersion"), "");
        return;
    }
    let field_path = text(f, "fieldPath");
    if field_path.is_empty() {
        errors.required(&path.child("fieldPath"), "");
        return;
    }
    let base = field_path.split_once("['").map_or(field_path, |(b, _)| b);
    let subscripted = base != field_path;
    if !CONVERTIBLE.contains(&base)
        || (subscripted && !matches!(base, "metadata.labels" | "metadata.annotations"))
    {
        errors.invalid(
            &path.child("fieldPath"),
            &Value::String(field_path.to_owned()),
            &format!("error converting fieldPath: field label not supported: {field_path}"),
        );
        return;
    }
    if let Some((base, rest)) = field_path.split_once("['")
        && let Some(key) = rest.strip_suffix("']")
    {
        match base {
            "metadata.annotations" => {
                qualified(&key.to_lowercase(), path, errors);
            }
            "metadata.labels" => qualified(key, path, errors),
            _ => errors.invalid(
                path,
                &Value::String(base.to_owned()),
                "does not support subscript",
            ),
        }
    } else if !allowed.contains(&field_path) {
        errors.not_supported(
            &path.child("fieldPath"),
            &Value::String(field_path.to_owned()),
            allowed,
        );
    }
}

/// `validateContainerResourceFieldSelector`: a known resource (and, in volumes, a
/// container name).
pub(super) fn resource_selector(r: &Value, volume: bool, path: &Path, errors: &mut Errors) {
    let resource = text(r, "resource");
    if volume && text(r, "containerName").is_empty() {
        errors.required(&path.child("containerName"), "");
    } else if resource.is_empty() {
        errors.required(&path.child("resource"), "");
    } else if !RESOURCE_FIELDS.contains(&resource)
        && !resource.starts_with("requests.hugepages-")
        && !resource.starts_with("limits.hugepages-")
    {
        errors.not_supported(
            &path.child("resource"),
            &Value::String(resource.to_owned()),
            &RESOURCE_FIELDS,
        );
    }
}

/// `ValidateEnvFrom`: prefix, and exactly one of `configMapRef` or `secretRef`.
pub(super) fn env_from(list: &[Value], path: &Path, errors: &mut Errors) {
    for (i, e) in list.iter().enumerate() {
        let p = path.index(i);
        let prefix = text(e, "prefix");
        if !prefix.is_empty() {
            for m in relaxed_name(prefix) {
                errors.invalid(&p.child("prefix"), &Value::String(prefix.to_owned()), &m);
            }
        }
        let mut sources = 0;
        for field in ["configMapRef", "secretRef"] {
            if let Some(r) = e.get(field).filter(|v| !is_unset(Some(v))) {
                sources += 1;
                let name = text(r, "name");
                let np = p.child(field).child("name");
                if name.is_empty() {
                    errors.required(&np, "");
                } else {
                    for m in meta::dns1123_subdomain(name) {
                        errors.invalid(&np, &Value::String(name.to_owned()), &m);
                    }
                }
            }
        }
        let empty = Value::String(String::new());
        if sources == 0 {
            errors.invalid(
                &p,
                &empty,
                "must specify one of: `configMapRef` or `secretRef`",
            );
        } else if sources > 1 {
            errors.invalid(
                &p,
                &empty,
                "may not have more than one field specified at a time",
            );
        }
    }
}

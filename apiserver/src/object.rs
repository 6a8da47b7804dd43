//! Small accessors for Kubernetes objects held as JSON (`serde_json::Value`).

use std::collections::BTreeMap;

use crate::pointer::At;
use serde_json::{Map, Value};

/// `metadata.<field>` as a string, if present.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// `metadata.name` or "".
pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

/// `metadata.namespace` or "".
pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace").unwrap_or("")
}

/// `metadata`, created as an empty object when missing or not an object.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = Value::Object(Map::new());
    }
    match &mut obj["metadata"] {
        Value::Object(m) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// Sets `metadata.<field>`, or removes it for `Value::Null`.
pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    let meta = metadata_mut(obj);
    if value.is_null() {
        meta.remove(field);
    } else {
        meta.insert(field.to_owned(), value);
    }
}

/// `metadata.labels` as a sorted map (non-string values ignored).
pub fn labels(obj: &Value) -> BTreeMap<String, String> {
    obj.at("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// `metadata.finalizers`.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.at("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A Namespace's `spec.finalizers` (the namespace controller's `kubernetes`): while any
/// remain, a deleting namespace stays, Terminating.
pub fn namespace_finalizers(obj: &Value) -> usize {
    obj.at("/spec/finalizers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// Whether `obj` (of `kind`) is held by finalizers: `metadata.finalizers`, and for a
/// Namespace also `spec.finalizers`.
pub fn held_by_finalizers(kind: &str, obj: &Value) -> bool {
    !finalizers(obj).is_empty() || (kind == "Namespace" && namespace_finalizers(obj) > 0)
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    meta_str(obj, "deletionTimestamp").is_some()
}

/// `metadata.resourceVersion` parsed, if it is a number.
pub fn resource_version(obj: &Value) -> Option<i64> {
    meta_str(obj, "resourceVersion").and_then(|s| s.parse().ok())
}

/// The current time as RFC 3339 with seconds precision, as upstream's `metav1.Time`.
pub fn now_rfc3339() -> String {
    format_time(jiff::Timestamp::now())
}

/// A timestamp as RFC 3339 with seconds precision (`2024-05-01T10:00:00Z`).
pub fn format_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The object without `metadata.resourceVersion` (what storage keeps; the revision is the
/// resourceVersion). Serialised from a view that skips those fields, not from a copy.
pub fn to_stored_bytes(obj: &Value) -> Vec<u8> {
    serde_json::to_vec(&Stored(obj)).unwrap_or_default()
}

/// Metadata fields storage does not keep.
const NOT_STORED: [&str; 2] = ["resourceVersion", "selfLink"];

/// An object serialised as storage keeps it.
struct Stored<'a>(&'a Value);

/// `metadata` serialised without [`NOT_STORED`].
struct StoredMeta<'a>(&'a Map<String, Value>);

impl serde::Serialize for Stored<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Value::Object(fields) = self.0 else {
            return self.0.serialize(serializer);
        };
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for (k, v) in fields {
            match v {
                Value::Object(meta) if k == "metadata" => {
                    map.serialize_entry(k, &StoredMeta(meta))?;
                }
                _ => map.serialize_entry(k, v)?,
            }
        }
        map.end()
    }
}

impl serde::Serialize for StoredMeta<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let kept = self
            .0
            .iter()
            .filter(|(k, _)| !NOT_STORED.contains(&k.as_str()));
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in kept {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Everything of an object but `metadata` and `status`: what a generation bump watches.
pub fn spec_part(obj: &Value) -> Map<String, Value> {
    obj.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_read_and_write_metadata() {
        let mut obj =
            json!({"metadata": {"name": "a", "labels": {"x": "1", "n": 2}, "finalizers": ["f"]}});
        assert_eq!(name(&obj), "a");
        assert_eq!(namespace(&obj), "");
        assert_eq!(labels(&obj).get("x").map(String::as_str), Some("1"));
        assert!(!labels(&obj).contains_key("n"));
        assert_eq!(finalizers(&obj), vec!["f".to_owned()]);
        set_meta(&mut obj, "resourceVersion", json!("12"));
        assert_eq!(resource_version(&obj), Some(12));
        set_meta(&mut obj, "selfLink", json!("/x"));
        let stored: Value = serde_json::from_slice(&to_stored_bytes(&obj)).unwrap();
        assert_eq!(
            stored,
            json!({"metadata": {"name": "a", "labels": {"x": "1", "n": 2}, "finalizers": ["f"]}})
        );
        set_meta(&mut obj, "name", Value::Null);
        assert_eq!(name(&obj), "");
        let mut not_obj = json!(3);
        set_meta(&mut not_obj, "name", json!("b"));
        assert_eq!(name(&not_obj), "b");
    }

    #[test]
    fn spec_part_ignores_metadata_and_status() {
        let a = json!({"kind": "Pod", "metadata": {"labels": {"a": "b"}}, "spec": {"x": 1}, "status": {"y": 1}});
        let b = json!({"kind": "Pod", "metadata": {}, "spec": {"x": 1}, "status": {"y": 2}});
        assert_eq!(spec_part(&a), spec_part(&b));
        assert!(format_time("2024-05-01T10:00:00.5Z".parse().unwrap()).ends_with(":00Z"));
    }
}

//! Defaulting: the values upstream v1.33 fills in when a field is left out, per kind.
//!
//! Upstream's `SetDefaults_*` functions and declarative `+default` markers, applied to the
//! stored form (camelCase JSON) on every create and update (`/status` included, as upstream
//! defaults every object it decodes). Each rule fills only what is unset in Go's sense — a
//! missing or null field, and for a plain (non-pointer) string or number also `""` or `0` —
//! so defaulting never overwrites a given value and running it twice changes nothing. Fields a Go struct always has (`spec`, a pod template)
//! are created empty when missing, as decoding into Go structs does.
//!
//! Not here, because upstream does them elsewhere: `clusterIP(s)` and node ports
//! (allocation), priority and tolerations (admission plugins). Quantities are first put
//! in canonical form (`crate::validation::quantity`), as upstream's decoding does. What a registry strategy sets on create (initial status, a pod's
//! `qosClass`) is in [`strategy`], called by the create handler.

mod image;
mod misc;
mod pod;
mod qos;
mod service;
mod storage;
pub(crate) mod strategy;
mod volume;
mod workloads;

use serde_json::{Map, Value};

/// A JSON object.
type Obj = Map<String, Value>;

/// Fills the defaults of `kind` into `obj` (stored form), as upstream's defaulting does on
/// every create and update.
pub fn apply(kind: &str, obj: &mut Value) {
    // Quantities are stored in canonical form (`0.1` → `100m`), as upstream's decoding
    // leaves them; the defaults below (requests from limits) then copy canonical values.
    crate::validation::quantity::canonicalize_kind(kind, obj);
    match kind {
        "Pod" => pod::pod(obj),
        "Deployment" => workloads::deployment(obj),
        "ReplicaSet" => workloads::replica_set(obj),
        "Service" => service::service(obj),
        "PersistentVolume" => storage::persistent_volume(obj),
        "PersistentVolumeClaim" => storage::persistent_volume_claim(obj),
        "StorageClass" => storage::storage_class(obj),
        "Secret" => misc::secret(obj),
        "Namespace" => misc::namespace(obj),
        "Node" => misc::node(obj),
        "Endpoints" => misc::endpoints(obj),
        "EndpointSlice" => misc::endpoint_slice(obj),
        "PriorityClass" => misc::priority_class(obj),
        "Event" => misc::event(obj),
        "Lease" => misc::lease(obj),
        // ConfigMap (its `data: {}` default never shows: empty maps are omitted) and
        // ServiceAccount have no defaults.
        _ => {}
    }
}

/// `m[key]` as an object, if it is one.
fn field<'a>(m: &'a mut Obj, key: &str) -> Option<&'a mut Obj> {
    m.get_mut(key)?.as_object_mut()
}

/// `m[key]` as an object, created empty when missing or null: a Go struct field, which is
/// never nil.
fn struct_field<'a>(m: &'a mut Obj, key: &str) -> Option<&'a mut Obj> {
    let v = m.entry(key).or_insert(Value::Null);
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    v.as_object_mut()
}

/// The top-level object and its struct field `key` (`spec`, `status`).
fn root_field<'a>(obj: &'a mut Value, key: &str) -> Option<&'a mut Obj> {
    struct_field(obj.as_object_mut()?, key)
}

/// The objects in the array `m[key]`.
fn items<'a>(m: &'a mut Obj, key: &str) -> impl Iterator<Item = &'a mut Obj> {
    m.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

fn unset(v: Option<&Value>) -> bool {
    v.is_none_or(Value::is_null)
}

/// A Go pointer field: set when missing or null.
fn default_ptr(m: &mut Obj, key: &str, value: impl Into<Value>) {
    if unset(m.get(key)) {
        m.insert(key.to_owned(), value.into());
    }
}

/// A Go string field: set when missing, null or "".
fn default_str(m: &mut Obj, key: &str, value: &str) {
    if unset(m.get(key)) || m.get(key).and_then(Value::as_str) == Some("") {
        m.insert(key.to_owned(), Value::from(value));
    }
}

/// A Go integer field: set when missing, null or 0.
fn default_int(m: &mut Obj, key: &str, value: i64) {
    if unset(m.get(key)) || m.get(key).and_then(Value::as_i64) == Some(0) {
        m.insert(key.to_owned(), Value::from(value));
    }
}

/// `m[key]` as a string, "" when missing.
fn str_of<'a>(m: &'a Obj, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn helpers_fill_only_what_go_calls_unset() {
        let mut v = json!({"s": "", "t": "x", "n": 0, "m": 5, "p": "", "q": null});
        let m = v.as_object_mut().unwrap();
        default_str(m, "s", "d");
        default_str(m, "t", "d");
        default_str(m, "u", "d");
        default_int(m, "n", 7);
        default_int(m, "m", 7);
        default_ptr(m, "p", "d");
        default_ptr(m, "q", "d");
        assert_eq!(
            v,
            json!({"s": "d", "t": "x", "u": "d", "n": 7, "m": 5, "p": "", "q": "d"})
        );
    }

    #[test]
    fn kinds_without_defaults_are_left_alone() {
        for kind in ["ConfigMap", "ServiceAccount", "Unknown"] {
            let mut v = json!({"metadata": {"name": "x"}, "data": {"a": "b"}});
            let before = v.clone();
            apply(kind, &mut v);
            assert_eq!(v, before, "{kind}");
        }
    }

    #[test]
    fn non_objects_do_not_panic() {
        for kind in [
            "Pod",
            "Deployment",
            "Service",
            "PersistentVolume",
            "Namespace",
        ] {
            let mut v = json!([1, 2]);
            apply(kind, &mut v);
            let mut v = json!({"spec": 3, "status": "x"});
            apply(kind, &mut v);
        }
    }
}

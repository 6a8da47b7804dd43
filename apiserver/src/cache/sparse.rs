//! Parsing only the parts of a stored object the cache indexes: its name, namespace and
//! labels, and the kind's selectable fields. Everything else is skipped by the parser
//! without building values, which is most of a pod (containers, managedFields, status).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::selector::fields::FieldDef;

/// Which parts of an object to keep: a tree of object keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// The whole value.
    Whole,
    /// Of an object, only these members (anything else than an object is kept whole).
    Members(Vec<(String, Keep)>),
}

/// What every object's cached form needs, beside its kind's fields.
const METADATA: [&str; 3] = ["/metadata/name", "/metadata/namespace", "/metadata/labels"];

impl Keep {
    /// The parts read by `metadata.name`, `metadata.namespace`, labels and `fields`.
    pub fn for_fields(fields: &[FieldDef]) -> Self {
        let pointers = fields.iter().flat_map(|f| f.pointers().iter().copied());
        let all: Vec<&str> = METADATA.into_iter().chain(pointers).collect();
        Self::members(&all)
    }

    /// The values at `pointers`.
    pub fn members(pointers: &[&str]) -> Self {
        let mut keep = Self::Members(Vec::new());
        for pointer in pointers {
            keep.add(pointer);
        }
        keep
    }

    /// Keeps the value at `pointer` (a JSON pointer; an array on the way is kept whole).
    fn add(&mut self, pointer: &str) {
        let mut node = self;
        for segment in pointer.split('/').skip(1) {
            let Self::Members(members) = node else {
                return; // already kept whole
            };
            let at = match members.iter().position(|(k, _)| k == segment) {
                Some(at) => at,
                None => {
                    members.push((segment.to_owned(), Self::Members(Vec::new())));
                    members.len() - 1
                }
            };
            node = &mut members[at].1;
        }
        *node = Self::Whole;
    }

    /// Parses `bytes`, keeping only what this selects.
    pub fn parse(&self, bytes: &[u8]) -> serde_json::Result<Value> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value = self.deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }
}

impl<'de> DeserializeSeed<'de> for &Keep {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        match self {
            Keep::Whole => serde::Deserialize::deserialize(de),
            Keep::Members(members) => de.deserialize_any(Sparse(members)),
        }
    }
}

/// Builds an object from the kept members; any other JSON value is kept whole.
struct Sparse<'k>(&'k [(String, Keep)]);

impl<'de> Visitor<'de> for Sparse<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key()? {
            match self.0.iter().find(|(k, _)| *k == key) {
                Some((_, keep)) => {
                    let value = map.next_value_seed(keep)?;
                    out.insert(key.into_owned(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        serde::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))
    }

    crate::value_visit::scalar_visits!();
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        de.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::selector::field;
    use crate::selector::fields;

    fn pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "a", "t\"x": "1"},
                         "uid": "u", "managedFields": [{"manager": "m"}],
                         "annotations": {"a": "b"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}],
                     "serviceAccount": "legacy", "hostNetwork": true,
                     "restartPolicy": "Always", "schedulerName": "s"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.2"}],
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "nominatedNodeName": "n2"},
        })
    }

    #[test]
    fn keeps_exactly_what_the_fields_and_metadata_read() {
        let keep = Keep::for_fields(fields::POD);
        let bytes = serde_json::to_vec(&pod()).expect("encode");
        let sparse = keep.parse(&bytes).expect("parse");
        assert_eq!(
            sparse,
            json!({
                "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "a", "t\"x": "1"}},
                "spec": {"nodeName": "n1", "serviceAccount": "legacy", "hostNetwork": true,
                         "restartPolicy": "Always", "schedulerName": "s"},
                "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.2"}],
                           "nominatedNodeName": "n2"},
            })
        );
        assert_eq!(
            field::extract(&sparse, fields::POD),
            field::extract(&pod(), fields::POD)
        );
        assert_eq!(
            crate::object::labels(&sparse),
            crate::object::labels(&pod())
        );
    }

    #[test]
    fn every_kinds_fields_read_the_same_from_the_sparse_form() {
        let event = json!({
            "metadata": {"name": "e", "namespace": "ns"},
            "involvedObject": {"kind": "Pod", "name": "p", "uid": "u", "fieldPath": "x"},
            "source": {"component": "kubelet"}, "reason": "R", "type": "Normal",
            "reportingComponent": "rc", "message": "m", "count": 2,
        });
        let objects = [
            (fields::EVENT, event.clone()),
            (fields::EVENTS_K8S_IO, event),
            (
                fields::SECRET,
                json!({"type": "Opaque", "data": {"k": "dg=="}}),
            ),
            (fields::NAMESPACE, json!({"status": {"phase": "Active"}})),
            (
                fields::NODE,
                json!({"spec": {"unschedulable": true, "taints": []}}),
            ),
            (fields::REPLICA_SET, json!({"status": {"replicas": 3}})),
            (
                fields::SERVICE,
                json!({"spec": {"clusterIP": "None", "type": "ClusterIP"}}),
            ),
            (
                fields::NONE,
                json!({"metadata": {"name": "x"}, "data": {"a": "b"}}),
            ),
        ];
        for (defs, obj) in objects {
            let bytes = serde_json::to_vec(&obj).expect("encode");
            let sparse = Keep::for_fields(defs).parse(&bytes).expect("parse");
            assert_eq!(
                field::extract(&sparse, defs),
                field::extract(&obj, defs),
                "{obj}"
            );
        }
    }

    #[test]
    fn unexpected_shapes_are_kept_whole_and_bad_json_is_an_error() {
        let keep = Keep::for_fields(fields::POD);
        let odd = keep.parse(br#"{"spec": [1, {"a": 2}], "metadata": "x"}"#);
        assert_eq!(
            odd.ok(),
            Some(json!({"spec": [1, {"a": 2}], "metadata": "x"}))
        );
        assert_eq!(keep.parse(b"[1]").ok(), Some(json!([1])));
        assert!(keep.parse(br#"{"spec": {"nodeName": }"#).is_err());
        assert!(keep.parse(br#"{} trailing"#).is_err());
    }

    #[test]
    fn a_pointer_under_a_kept_whole_value_changes_nothing() {
        let mut keep = Keep::Members(Vec::new());
        keep.add("/status");
        keep.add("/status/phase");
        assert_eq!(
            keep,
            Keep::Members(vec![("status".to_owned(), Keep::Whole)])
        );
    }
}

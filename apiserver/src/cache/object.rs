//! What the cache keeps per object: the served JSON bytes (with `resourceVersion` set) and
//! the attributes selectors need, so lists and watches never parse JSON again.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use super::sparse::Keep;
use crate::registry::ResourceDef;
use crate::selector::field::{self, FieldSelector, Fields};
use crate::selector::label::LabelSelector;
use crate::storage::{EventKind, Revision};

/// One object as the cache holds it.
#[derive(Debug)]
pub struct CachedObject {
    /// The storage key.
    pub key: String,
    /// Its revision (for a deletion event: the deletion's revision).
    pub rev: Revision,
    /// The stored JSON with `metadata.resourceVersion` set to `rev`.
    pub bytes: Bytes,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// The selectable fields of its kind.
    pub fields: Fields,
}

impl CachedObject {
    /// Builds the cached form of a stored value, parsing only what `keep` selects (see
    /// [`Keep::for_fields`]). A value that is not a JSON object (never written by this
    /// server) is kept as stored, with no labels or fields.
    pub fn new(def: &ResourceDef, keep: &Keep, key: &str, value: &[u8], rev: Revision) -> Self {
        match keep.parse(value) {
            Ok(obj) if obj.is_object() => {
                let bytes = super::splice::with_resource_version(value, rev)
                    .unwrap_or_else(|| reencoded(value, rev));
                Self {
                    key: key.to_owned(),
                    rev,
                    bytes: Bytes::from(bytes),
                    labels: crate::object::labels(&obj),
                    fields: field::extract(&obj, def.fields),
                }
            }
            _ => {
                tracing::warn!(key, "stored value is not a JSON object");
                Self {
                    key: key.to_owned(),
                    rev,
                    bytes: Bytes::copy_from_slice(value),
                    labels: BTreeMap::new(),
                    fields: Fields::new(),
                }
            }
        }
    }

    /// The object with only its `metadata` parsed (for PartialObjectMetadata).
    pub fn metadata_value(&self) -> Value {
        static METADATA: std::sync::LazyLock<Keep> =
            std::sync::LazyLock::new(|| Keep::members(&["/metadata"]));
        METADATA.parse(&self.bytes).unwrap_or(Value::Null)
    }

    /// The object parsed (for Tables, conversions and writes).
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

/// `value` with `metadata.resourceVersion` set to `rev` by parsing and re-encoding it (for
/// what the splice does not handle).
fn reencoded(value: &[u8], rev: Revision) -> Vec<u8> {
    match serde_json::from_slice::<Value>(value) {
        Ok(mut obj) => {
            crate::object::set_meta(&mut obj, "resourceVersion", Value::String(rev.to_string()));
            serde_json::to_vec(&obj).unwrap_or_else(|_| value.to_vec())
        }
        Err(_) => value.to_vec(),
    }
}

/// One change as the cache delivers it to watchers.
#[derive(Debug)]
pub struct CacheEvent {
    /// What happened.
    pub kind: EventKind,
    /// The object after the change (for deletions: its last state at the deletion's
    /// revision).
    pub object: std::sync::Arc<CachedObject>,
    /// The object before the change.
    pub prev: Option<std::sync::Arc<CachedObject>>,
}

impl CacheEvent {
    /// The revision of the change.
    pub fn rev(&self) -> Revision {
        self.object.rev
    }
}

/// Which objects a list or watch wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Keys must start with this (the resource's prefix, with the namespace if any).
    pub key_prefix: String,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
}

impl Filter {
    /// Whether `obj` is selected.
    pub fn matches(&self, obj: &CachedObject) -> bool {
        obj.key.starts_with(&self.key_prefix)
            && (self.labels.is_empty() || self.labels.matches(&obj.labels))
            && (self.fields.is_empty() || self.fields.matches(&obj.fields))
    }

    /// The event a watcher with this filter sees for `event`, upstream's way: an object
    /// that starts matching is ADDED, one that stops matching is DELETED.
    pub fn translate(&self, event: &CacheEvent) -> Option<EventKind> {
        let now = self.matches(&event.object);
        let before = event.prev.as_deref().is_some_and(|p| self.matches(p));
        match event.kind {
            EventKind::Added => now.then_some(EventKind::Added),
            EventKind::Deleted => {
                (before || (event.prev.is_none() && now)).then_some(EventKind::Deleted)
            }
            EventKind::Modified => match (before, now) {
                (true, true) => Some(EventKind::Modified),
                (false, true) => Some(EventKind::Added),
                (true, false) => Some(EventKind::Deleted),
                (false, false) => None,
            },
        }
    }
}

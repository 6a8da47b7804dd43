//! The fields each kind can be selected by, beyond `metadata.name` and
//! `metadata.namespace` (which every kind supports).

use serde_json::Value;

/// One selectable field and how to read it from an object (as a string; missing → "").
#[derive(Debug)]
pub struct FieldDef {
    /// The field label (`spec.nodeName`).
    pub name: &'static str,
    /// Reads its value.
    pub get: fn(&Value) -> String,
}

/// Kinds with only the metadata fields.
pub static NONE: &[FieldDef] = &[];
/// Pods.
pub static POD: &[FieldDef] = &[];
/// Events.
pub static EVENT: &[FieldDef] = &[];
/// Secrets.
pub static SECRET: &[FieldDef] = &[];
/// Namespaces.
pub static NAMESPACE: &[FieldDef] = &[];
/// Nodes.
pub static NODE: &[FieldDef] = &[];
/// ReplicaSets.
pub static REPLICA_SET: &[FieldDef] = &[];

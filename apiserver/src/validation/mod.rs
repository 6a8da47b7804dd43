//! Validation: upstream v1.33's rules per kind, every field error at once, in upstream's
//! wording and paths (`spec.containers[0].image: Required value`).
//!
//! `errors` builds the causes, `meta` checks names, labels, annotations and metadata; one
//! file per kind group holds the rest. Updates are checked as a whole object plus the
//! upstream immutability rules against the old object.

mod config;
pub(crate) mod errors;
pub(crate) mod go_value;
pub(crate) mod meta;
mod other;
mod pod;
pub(crate) mod quantity;
mod service;
mod storage;
mod workloads;

use serde_json::Value;

use crate::admission::Operation;
use crate::api::Cause;
use crate::registry::ResourceDef;
use errors::Errors;
use meta::NameRule;

/// The field errors of `obj` (stored form of `def`, written through `served_group`, which
/// decides between Events' legacy and strict rules); empty when it is valid.
pub(crate) fn validate(
    def: &ResourceDef,
    served_group: &str,
    obj: &Value,
    op: Operation<'_>,
) -> Vec<Cause> {
    let mut errors = Errors::default();
    meta::object_meta(obj, name_rule(def.kind), def.namespaced, &mut errors);
    match def.kind {
        "Pod" => pod::validate(obj, op, &mut errors),
        "Deployment" | "ReplicaSet" => workloads::validate(def.kind, obj, op, &mut errors),
        "Service" => service::validate(obj, op, &mut errors),
        "ConfigMap" | "Secret" => config::validate(def.kind, obj, op, &mut errors),
        "PersistentVolume" | "PersistentVolumeClaim" | "StorageClass" => {
            storage::validate(def.kind, obj, op, &mut errors)
        }
        _ => other::validate(def.kind, served_group, obj, op, &mut errors),
    }
    errors.0
}

/// How names of `kind` are checked (upstream's per-kind `ValidateObjectMeta` name funcs).
fn name_rule(kind: &str) -> NameRule {
    match kind {
        "Namespace" => NameRule::Label,
        "Service" => NameRule::Dns1035,
        "Event" => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

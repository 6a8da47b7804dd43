//! Validation of the kinds with few rules of their own, as upstream v1.33: Namespaces
//! (`namespace.rs`), Nodes (`node.rs`), Endpoints and EndpointSlices (`endpoints.rs`,
//! `slice.rs`), Events (`event.rs`), Leases and PriorityClasses (`control.rs`).
//! ServiceAccounts have nothing beyond their metadata.

mod control;
mod endpoints;
mod event;
mod namespace;
mod node;
mod slice;

use serde_json::Value;

use super::errors::{Errors, Path};
use super::meta;
use crate::admission::Operation;

pub(super) fn validate(
    kind: &str,
    served_group: &str,
    obj: &Value,
    op: Operation<'_>,
    errors: &mut Errors,
) {
    match kind {
        "Namespace" => namespace::validate(obj, op, errors),
        "Node" => node::validate(obj, op, errors),
        "Endpoints" => endpoints::validate(obj, errors),
        "EndpointSlice" => slice::validate(obj, op, errors),
        "Event" => event::validate(served_group, obj, op, errors),
        "Lease" => control::lease(obj, errors),
        "PriorityClass" => control::priority_class(obj, op, errors),
        _ => {}
    }
}

/// The string at `field` of `v` ("" when absent).
fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

/// The array at `field` of `v` (empty when absent).
fn arr<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v.get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// One `Invalid value` per message of `check(value)`.
fn each_message(value: &str, check: fn(&str) -> Vec<String>, path: &Path, errors: &mut Errors) {
    for m in check(value) {
        errors.invalid(path, &Value::String(value.to_owned()), &m);
    }
}

/// `ValidateQualifiedName` (label keys, finalizer names): one error per problem.
fn qualified(value: &str, path: &Path, errors: &mut Errors) {
    each_message(value, meta::qualified_name, path, errors);
}

/// `ValidateDNS1123Label` with its messages.
fn dns_label(value: &str, path: &Path, errors: &mut Errors) {
    each_message(value, meta::dns1123_label, path, errors);
}

/// `ValidateDNS1123Subdomain` with its messages.
fn dns_subdomain(value: &str, path: &Path, errors: &mut Errors) {
    each_message(value, meta::dns1123_subdomain, path, errors);
}

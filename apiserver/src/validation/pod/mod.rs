//! Validation of pods and pod templates, as upstream v1.33's `ValidatePodCreate`,
//! `ValidatePodSpec`, `ValidatePodUpdate` and `ValidatePodStatusUpdate`.
//!
//! `mod.rs` walks the pod spec in upstream's order; `container.rs` checks containers
//! (with `env.rs`, `resources.rs`, `probe.rs`), `volume.rs` volumes, `scheduling.rs`
//! tolerations, affinity and spread constraints, `update.rs` what an update may change
//! and the status rules.

use crate::pointer::At;

mod container;
mod env;
mod probe;
mod resources;
mod scheduling;
mod update;
mod volume;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_update;

use serde_json::Value;

use super::errors::{Errors, Path};
use super::meta;
use super::quantity::Quantity;
use crate::admission::Operation;
use crate::api::Part;

/// A Pod: on create its metadata-independent spec rules plus the pod-only ones; on update
/// the same plus what may change; on `/status` only the status rules.
pub(super) fn validate(obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let spec_path = Path::root("spec");
    match op {
        Operation::Update {
            old,
            part: Part::Status,
        } => update::status(obj, old, errors),
        Operation::Update {
            part: Part::Finalize,
            ..
        } => {}
        Operation::Create => {
            pod_metadata_and_spec(spec, &spec_path, errors);
            if !arr(spec, "ephemeralContainers").is_empty() {
                errors.forbidden(
                    &spec_path.child("ephemeralContainers"),
                    "cannot be set on create",
                );
            }
            if !text(spec, "nodeName").is_empty() && !arr(spec, "schedulingGates").is_empty() {
                errors.forbidden(
                    &spec_path.child("nodeName"),
                    "cannot be set until all schedulingGates have been cleared",
                );
            }
            update::pod_ips(obj, errors);
        }
        Operation::Update {
            old,
            part: Part::Main,
        } => {
            pod_metadata_and_spec(spec, &spec_path, errors);
            let old_spec = old.get("spec").unwrap_or(&Value::Null);
            update::spec(spec, old_spec, &spec_path, errors);
        }
    }
}

/// `validatePodMetadataAndSpec` without the metadata (checked by `meta` for every kind):
/// the pod spec, then what upstream checks only on pods, not templates.
fn pod_metadata_and_spec(spec: &Value, path: &Path, errors: &mut Errors) {
    pod_spec(spec, path, errors);
    if text(spec, "serviceAccountName").is_empty() {
        for (vi, v) in arr(spec, "volumes").iter().enumerate() {
            let sources = v.at("/projected/sources").and_then(Value::as_array);
            for (si, s) in sources.into_iter().flatten().enumerate() {
                if s.get("serviceAccountToken").is_some_and(|t| !t.is_null()) {
                    let p = path
                        .child("volumes")
                        .index(vi)
                        .child("projected")
                        .child("sources")
                        .index(si)
                        .child("serviceAccountToken");
                    errors.forbidden(
                        &p,
                        "must not be specified when serviceAccountName is not set",
                    );
                }
            }
        }
    }
    for list in ["containers", "initContainers"] {
        for (i, c) in arr(spec, list).iter().enumerate() {
            let image = text(c, "image");
            if image.trim() != image {
                errors.invalid(
                    &path.child(list).index(i).child("image"),
                    &Value::String(image.to_owned()),
                    "must not have leading or trailing whitespace",
                );
            }
        }
    }
}

/// A pod template (`spec.template` of a Deployment or ReplicaSet) at `path`: its metadata
/// (labels, annotations) and its pod spec, as upstream's `ValidatePodTemplateSpec` (which
/// reports label errors at `<path>.labels`).
pub(super) fn template(template: &Value, path: &Path, errors: &mut Errors) {
    let metadata = template.get("metadata");
    meta::labels(
        metadata.and_then(|m| m.get("labels")),
        &path.child("labels"),
        errors,
    );
    meta::annotations(
        metadata.and_then(|m| m.get("annotations")),
        &path.child("annotations"),
        errors,
    );
    let spec = template.get("spec").unwrap_or(&Value::Null);
    let spec_path = path.child("spec");
    pod_spec(spec, &spec_path, errors);
    if !arr(spec, "ephemeralContainers").is_empty() {
        errors.forbidden(
            &spec_path.child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        );
    }
}

/// `ValidatePodSpec`, in upstream's order.
fn pod_spec(spec: &Value, path: &Path, errors: &mut Errors) {
    if is_unset(spec.get("terminationGracePeriodSeconds")) {
        errors.required(&path.child("terminationGracePeriodSeconds"), "");
    }
    let volumes = volume::volumes(arr(spec, "volumes"), &path.child("volumes"), errors);
    container::containers(spec, &volumes, path, errors);
    container::init_containers(spec, &volumes, path, errors);
    container::host_network_ports(spec, path, errors);
    one_of(
        spec,
        "restartPolicy",
        &["Always", "OnFailure", "Never"],
        path,
        errors,
    );
    one_of(
        spec,
        "dnsPolicy",
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        path,
        errors,
    );
    meta::labels(
        spec.get("nodeSelector"),
        &path.child("nodeSelector"),
        errors,
    );
    container::pod_security_context(spec, path, errors);
    scheduling::affinity(spec.get("affinity"), &path.child("affinity"), errors);
    dns_config(spec, path, errors);
    for (i, g) in arr(spec, "readinessGates").iter().enumerate() {
        qualified(
            text(g, "conditionType"),
            &path.child("readinessGates").index(i).child("conditionType"),
            errors,
        );
    }
    scheduling::spread_constraints(
        arr(spec, "topologySpreadConstraints"),
        &path.child("topologySpreadConstraints"),
        errors,
    );
    for field in ["serviceAccountName", "nodeName"] {
        let value = text(spec, field);
        if !value.is_empty() {
            subdomain(value, &path.child(field), errors);
        }
    }
    if let Some(v) = int(spec, "activeDeadlineSeconds")
        && !(1..=i64::from(i32::MAX)).contains(&v)
    {
        errors.invalid(
            &path.child("activeDeadlineSeconds"),
            &Value::from(v),
            "must be between 1 and 2147483647, inclusive",
        );
    }
    for field in ["hostname", "subdomain"] {
        let value = text(spec, field);
        if !value.is_empty() {
            dns_label(value, &path.child(field), errors);
        }
    }
    scheduling::tolerations(arr(spec, "tolerations"), &path.child("tolerations"), errors);
    let class = text(spec, "priorityClassName");
    if !class.is_empty() {
        subdomain(class, &path.child("priorityClassName"), errors);
    }
    if let Some(p) = spec.get("preemptionPolicy").and_then(Value::as_str)
        && !["PreemptLowerPriority", "Never"].contains(&p)
    {
        errors.not_supported(
            &path.child("preemptionPolicy"),
            &Value::String(p.to_owned()),
            &["PreemptLowerPriority", "Never"],
        );
    }
    if let Some(overhead) = spec.get("overhead").and_then(Value::as_object) {
        for (name, q) in overhead {
            resources::quantity_value(name, q, &path.child("overhead").key(name), errors);
        }
    }
    scheduling_gates(
        arr(spec, "schedulingGates"),
        &path.child("schedulingGates"),
        errors,
    );
}

/// `dnsPolicy: None` needs a `dnsConfig` with at least one nameserver.
fn dns_config(spec: &Value, path: &Path, errors: &mut Errors) {
    if text(spec, "dnsPolicy") != "None" {
        return;
    }
    let config_path = path.child("dnsConfig");
    match spec.get("dnsConfig").filter(|c| !c.is_null()) {
        None => errors.required(
            &config_path,
            "must provide `dnsConfig` when `dnsPolicy` is None",
        ),
        Some(c) if arr(c, "nameservers").is_empty() => errors.required(
            &config_path.child("nameservers"),
            "must provide at least one DNS nameserver when `dnsPolicy` is None",
        ),
        Some(_) => {}
    }
}

fn scheduling_gates(gates: &[Value], path: &Path, errors: &mut Errors) {
    let mut seen = std::collections::HashSet::new();
    for (i, g) in gates.iter().enumerate() {
        let name = text(g, "name");
        qualified(name, &path.index(i), errors);
        if !seen.insert(name) {
            errors.duplicate(&path.index(i), &Value::String(name.to_owned()));
        }
    }
}

/// An enum field: `Required value` when empty, `Unsupported value` when unknown.
fn one_of(obj: &Value, field: &str, supported: &[&str], path: &Path, errors: &mut Errors) {
    let value = text(obj, field);
    if value.is_empty() {
        errors.required(&path.child(field), "");
    } else if !supported.contains(&value) {
        errors.not_supported(
            &path.child(field),
            &Value::String(value.to_owned()),
            supported,
        );
    }
}

/// A string field (`""` when absent or not a string, as Go's zero value).
fn text<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A list field (empty when absent).
fn arr<'a>(obj: &'a Value, field: &str) -> &'a [Value] {
    obj.get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// An integer field.
fn int(obj: &Value, field: &str) -> Option<i64> {
    obj.get(field).and_then(Value::as_i64)
}

/// Absent or null (a nil pointer).
fn is_unset(v: Option<&Value>) -> bool {
    v.is_none_or(Value::is_null)
}

/// `ValidateDNS1123Label`.
fn dns_label(value: &str, path: &Path, errors: &mut Errors) {
    for m in meta::dns1123_label(value) {
        errors.invalid(path, &Value::String(value.to_owned()), &m);
    }
}

/// A name that must be a DNS-1123 subdomain.
fn subdomain(value: &str, path: &Path, errors: &mut Errors) {
    for m in meta::dns1123_subdomain(value) {
        errors.invalid(path, &Value::String(value.to_owned()), &m);
    }
}

/// `ValidateQualifiedName` / `ValidateLabelName`.
fn qualified(value: &str, path: &Path, errors: &mut Errors) {
    for m in meta::qualified_name(value) {
        errors.invalid(path, &Value::String(value.to_owned()), &m);
    }
}

/// A quantity field parsed as upstream's decoder would; unreadable ones are reported
/// here (upstream refuses them while decoding, with the same message).
fn quantity(v: &Value, path: &Path, errors: &mut Errors) -> Option<Quantity> {
    match Quantity::from_json(v) {
        Ok(q) => Some(q),
        Err(e) => {
            errors.invalid(path, v, &e.to_string());
            None
        }
    }
}

//! Deployments and ReplicaSets (apps/v1) as upstream v1.33 validates them: the spec on
//! create and update (replicas, selector, pod template, strategy), the selector's
//! immutability on update, and the status rules on `/status` updates.

mod deployment;
mod selector;

use serde_json::{Map, Value};

use super::errors::{Errors, Path};
use super::go_value;
use super::pod;
use crate::admission::Operation;
use crate::api::Part;

/// Upstream's `ValidateNonnegativeField` message.
const NEGATIVE: &str = "must be greater than or equal to 0";
/// Upstream's message for a status count above `status.replicas`.
const ABOVE_REPLICAS: &str = "cannot be greater than status.replicas";

/// The field errors of a Deployment or ReplicaSet (`kind`) for `op`: the spec on create
/// and main-resource updates (plus the immutable selector), the status on `/status`.
pub(super) fn validate(kind: &str, obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let empty = Value::Object(Map::new());
    let spec = obj.get("spec").unwrap_or(&empty);
    let spec_path = Path::root("spec");
    match op {
        Operation::Create => spec_rules(kind, spec, &spec_path, errors),
        Operation::Update {
            old,
            part: Part::Main,
        } => {
            spec_rules(kind, spec, &spec_path, errors);
            immutable_selector(spec, old.get("spec").unwrap_or(&empty), errors);
        }
        Operation::Update {
            old,
            part: Part::Status,
        } => {
            let status = obj.get("status").unwrap_or(&empty);
            let old_status = old.get("status").unwrap_or(&empty);
            if kind == "Deployment" {
                deployment::status(status, old_status, errors);
            } else {
                replica_set_status(status, errors);
            }
        }
        Operation::Update {
            part: Part::Finalize,
            ..
        } => {}
    }
}

/// `ValidateDeploymentSpec` or `ValidateReplicaSetSpec`.
fn spec_rules(kind: &str, spec: &Value, path: &Path, errors: &mut Errors) {
    if kind == "Deployment" {
        deployment::spec(spec, path, errors);
    } else {
        nonnegative(spec.get("replicas"), &path.child("replicas"), errors);
        nonnegative(
            spec.get("minReadySeconds"),
            &path.child("minReadySeconds"),
            errors,
        );
        selector_and_template(spec, path, errors);
    }
}

/// An integer field read as Go reads it (absent is 0).
fn int(v: Option<&Value>) -> i64 {
    v.and_then(Value::as_i64).unwrap_or(0)
}

/// `ValidateNonnegativeField` (absent counts as 0, which is fine).
fn nonnegative(v: Option<&Value>, path: &Path, errors: &mut Errors) {
    let n = int(v);
    if n < 0 {
        errors.invalid(path, &Value::from(n), NEGATIVE);
    }
}

/// The selector rules shared by Deployments and ReplicaSets, then
/// `ValidatePodTemplateSpecForReplicaSet` when the selector converts.
fn selector_and_template(spec: &Value, path: &Path, errors: &mut Errors) {
    let sel = spec.get("selector").filter(|s| !s.is_null());
    let sel_path = path.child("selector");
    match sel {
        None => errors.required(&sel_path, ""),
        Some(s) => {
            selector::validate(s, &sel_path, errors);
            if selector::has_no_terms(s) {
                go_value::invalid(
                    errors,
                    &sel_path,
                    &go_value::label_selector(Some(s)),
                    "empty selector is invalid for deployment",
                );
            }
        }
    }
    match selector::as_selector(sel) {
        None => go_value::invalid(
            errors,
            &sel_path,
            &go_value::label_selector(sel),
            "invalid label selector",
        ),
        Some(selector) => {
            let empty = Value::Object(Map::new());
            let template = spec.get("template").filter(|t| t.is_object());
            let template = template.unwrap_or(&empty);
            template_rules(template, &selector, &path.child("template"), errors);
        }
    }
}

/// The template's labels against the selector, the pod template itself, and the
/// controller-only rules (restartPolicy Always, no activeDeadlineSeconds).
fn template_rules(
    template: &Value,
    selector: &selector::Selector<'_>,
    path: &Path,
    errors: &mut Errors,
) {
    let labels = template.get("metadata").and_then(|m| m.get("labels"));
    if !selector.is_empty() && !selector.matches(labels) {
        go_value::invalid(
            errors,
            &path.child("metadata").child("labels"),
            &go_value::string_map(labels),
            "`selector` does not match template `labels`",
        );
    }
    pod::template(template, path, errors);
    let pod_spec = template.get("spec");
    let restart = pod_spec
        .and_then(|s| s.get("restartPolicy"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if restart != "Always" {
        errors.not_supported(
            &path.child("spec").child("restartPolicy"),
            &Value::String(restart.to_owned()),
            &["Always"],
        );
    }
    if pod_spec
        .and_then(|s| s.get("activeDeadlineSeconds"))
        .is_some_and(|v| !v.is_null())
    {
        errors.forbidden(
            &path.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        );
    }
}

/// `spec.selector` may not change (apps/v1): compared as upstream's semantic equality,
/// where absent, null and empty lists and maps are the same.
fn immutable_selector(spec: &Value, old_spec: &Value, errors: &mut Errors) {
    let new = spec.get("selector");
    if !semantic_eq(new, old_spec.get("selector")) {
        go_value::invalid(
            errors,
            &Path::root("spec").child("selector"),
            &go_value::label_selector(new),
            "field is immutable",
        );
    }
}

/// Whether two JSON values are equal once empty and null members are dropped.
fn semantic_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    fn pruned(v: Option<&Value>) -> Value {
        match v {
            Some(Value::Object(m)) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), pruned(Some(v))))
                    .filter(|(_, v)| !is_blank(v))
                    .collect(),
            ),
            Some(Value::Array(a)) => Value::Array(a.iter().map(|v| pruned(Some(v))).collect()),
            Some(other) => other.clone(),
            None => Value::Null,
        }
    }
    fn is_blank(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        }
    }
    pruned(a) == pruned(b)
}

/// `ValidateReplicaSetStatus`.
fn replica_set_status(status: &Value, errors: &mut Errors) {
    let path = Path::root("status");
    for f in [
        "replicas",
        "fullyLabeledReplicas",
        "readyReplicas",
        "availableReplicas",
        "observedGeneration",
    ] {
        nonnegative(status.get(f), &path.child(f), errors);
    }
    let n = |f: &str| int(status.get(f));
    for f in ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] {
        if n(f) > n("replicas") {
            errors.invalid(&path.child(f), &Value::from(n(f)), ABOVE_REPLICAS);
        }
    }
    if n("availableReplicas") > n("readyReplicas") {
        errors.invalid(
            &path.child("availableReplicas"),
            &Value::from(n("availableReplicas")),
            "cannot be greater than readyReplicas",
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

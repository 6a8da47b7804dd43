//! What only Deployments have: the update strategy (rolling update bounds as int or
//! percent), revision history, progress deadline, and their status rules.

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::go_value;
use super::{ABOVE_REPLICAS, int, nonnegative, selector_and_template};

/// `IsValidPercent`'s message.
const PERCENT: &str = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/// `ValidateDeploymentSpec`, in upstream's order.
pub(super) fn spec(spec: &Value, path: &Path, errors: &mut Errors) {
    nonnegative(spec.get("replicas"), &path.child("replicas"), errors);
    selector_and_template(spec, path, errors);
    strategy(spec.get("strategy"), &path.child("strategy"), errors);
    let min_ready = spec.get("minReadySeconds");
    nonnegative(min_ready, &path.child("minReadySeconds"), errors);
    if let Some(limit) = spec.get("revisionHistoryLimit").filter(|v| !v.is_null()) {
        nonnegative(Some(limit), &path.child("revisionHistoryLimit"), errors);
    }
    if let Some(deadline) = spec.get("progressDeadlineSeconds").filter(|v| !v.is_null()) {
        let dpath = path.child("progressDeadlineSeconds");
        nonnegative(Some(deadline), &dpath, errors);
        let seconds = int(Some(deadline));
        if seconds <= int(min_ready) {
            errors.invalid(
                &dpath,
                &Value::from(seconds),
                "must be greater than minReadySeconds",
            );
        }
    }
}

/// `ValidateDeploymentStrategy`.
fn strategy(strategy: Option<&Value>, path: &Path, errors: &mut Errors) {
    let kind = strategy
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let rolling = strategy
        .and_then(|s| s.get("rollingUpdate"))
        .filter(|r| !r.is_null());
    match kind {
        "Recreate" => {
            if rolling.is_some() {
                errors.forbidden(
                    &path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                );
            }
        }
        "RollingUpdate" => match rolling {
            None => errors.required(
                &path.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            ),
            Some(r) => rolling_update(r, &path.child("rollingUpdate"), errors),
        },
        other => {
            let shown = format!(
                "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{}}}",
                go_value::quote(other),
                go_value::pointer(rolling, "apps.RollingUpdateDeployment")
            );
            go_value::not_supported(errors, path, &shown, &["Recreate", "RollingUpdate"]);
        }
    }
}

/// `ValidateRollingUpdateDeployment`: both bounds int-or-percent, not both zero, and
/// `maxUnavailable` at most 100%.
fn rolling_update(rolling: &Value, path: &Path, errors: &mut Errors) {
    let unavailable = rolling.get("maxUnavailable").filter(|v| !v.is_null());
    let surge = rolling.get("maxSurge").filter(|v| !v.is_null());
    let upath = path.child("maxUnavailable");
    positive_int_or_percent(unavailable, &upath, errors);
    positive_int_or_percent(surge, &path.child("maxSurge"), errors);
    if int_or_percent_value(unavailable) == 0 && int_or_percent_value(surge) == 0 {
        go_value::invalid(
            errors,
            &upath,
            &go_value::int_or_string(unavailable),
            "may not be 0 when `maxSurge` is 0",
        );
    }
    if percent(unavailable).is_some_and(|p| p > 100) {
        go_value::invalid(
            errors,
            &upath,
            &go_value::int_or_string(unavailable),
            "must not be greater than 100%",
        );
    }
}

/// The number of a valid percent string (`25%` → 25).
fn percent(v: Option<&Value>) -> Option<i64> {
    let digits = v?.as_str()?.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(0))
}

/// `getIntOrPercentValue`: the percent number, or the value as Go's `IntValue` reads it.
fn int_or_percent_value(v: Option<&Value>) -> i64 {
    if let Some(p) = percent(v) {
        return p;
    }
    match v {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        other => int(other),
    }
}

/// `ValidatePositiveIntOrPercent`.
fn positive_int_or_percent(v: Option<&Value>, path: &Path, errors: &mut Errors) {
    match v {
        Some(Value::String(_)) => {
            if percent(v).is_none() {
                go_value::invalid(errors, path, &go_value::int_or_string(v), PERCENT);
            }
        }
        other => nonnegative(other, path, errors),
    }
}

/// `ValidateDeploymentStatusUpdate`: counts non-negative and consistent, and the collision
/// count never decremented.
pub(super) fn status(status: &Value, old: &Value, errors: &mut Errors) {
    let path = Path::root("status");
    for f in [
        "observedGeneration",
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
        "unavailableReplicas",
        "collisionCount",
    ] {
        nonnegative(status.get(f), &path.child(f), errors);
    }
    let n = |f: &str| int(status.get(f));
    for f in ["updatedReplicas", "readyReplicas", "availableReplicas"] {
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
    let new = status.get("collisionCount").and_then(Value::as_i64);
    let before = old.get("collisionCount").and_then(Value::as_i64);
    let decremented = match (new, before) {
        (None, Some(_)) => true,
        (Some(n), Some(o)) => n < o,
        _ => false,
    };
    if decremented {
        errors.invalid(
            &path.child("collisionCount"),
            &Value::from(new.unwrap_or(0)),
            "cannot be decremented",
        );
    }
}

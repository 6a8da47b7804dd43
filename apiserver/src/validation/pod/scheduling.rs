//! Where a pod may run: tolerations, node and pod (anti-)affinity, topology spread
//! constraints.

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::go_value;
use super::super::meta;
use super::{arr, int, qualified, text};

const WEIGHT_MSG: &str = "must be in the range 1-100";
const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// A toleration as Go prints a `core.Toleration` with `%#v`.
fn toleration_go(t: &Value) -> String {
    let seconds = go_value::pointer(t.get("tolerationSeconds"), "int64");
    format!(
        "core.Toleration{{Key:{}, Operator:{}, Value:{}, Effect:{}, TolerationSeconds:{seconds}}}",
        go_value::quote(text(t, "key")),
        go_value::quote(text(t, "operator")),
        go_value::quote(text(t, "value")),
        go_value::quote(text(t, "effect")),
    )
}

/// `ValidateTolerations`.
pub(super) fn tolerations(list: &[Value], path: &Path, errors: &mut Errors) {
    for (i, t) in list.iter().enumerate() {
        let p = path.index(i);
        let (key, operator, value, effect) = (
            text(t, "key"),
            text(t, "operator"),
            text(t, "value"),
            text(t, "effect"),
        );
        if !key.is_empty() {
            qualified(key, &p.child("key"), errors);
        }
        if key.is_empty() && operator != "Exists" {
            errors.invalid(
                &p.child("operator"),
                &Value::String(operator.to_owned()),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            );
        }
        if t.get("tolerationSeconds").is_some_and(|s| !s.is_null()) && effect != "NoExecute" {
            errors.invalid(
                &p.child("effect"),
                &Value::String(effect.to_owned()),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            );
        }
        match operator {
            "Equal" | "" => {
                let msgs = meta::label_value(value);
                if !msgs.is_empty() {
                    errors.invalid(
                        &p.child("operator"),
                        &Value::String(value.to_owned()),
                        &msgs.join(";"),
                    );
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    go_value::invalid(
                        errors,
                        &p.child("operator"),
                        &toleration_go(t),
                        "value must be empty when `operator` is 'Exists'",
                    );
                }
            }
            other => errors.not_supported(
                &p.child("operator"),
                &Value::String(other.to_owned()),
                &["Equal", "Exists"],
            ),
        }
        if !effect.is_empty() && !EFFECTS.contains(&effect) {
            errors.not_supported(
                &p.child("effect"),
                &Value::String(effect.to_owned()),
                &EFFECTS,
            );
        }
    }
}

/// `validateAffinity`.
pub(super) fn affinity(affinity: Option<&Value>, path: &Path, errors: &mut Errors) {
    let Some(a) = affinity.filter(|a| !a.is_null()) else {
        return;
    };
    if let Some(na) = a.get("nodeAffinity").filter(|v| !v.is_null()) {
        let np = path.child("nodeAffinity");
        let required = "requiredDuringSchedulingIgnoredDuringExecution";
        if let Some(sel) = na.get(required).filter(|v| !v.is_null()) {
            node_selector(sel, &np.child(required), errors);
        }
        let preferred = "preferredDuringSchedulingIgnoredDuringExecution";
        for (i, term) in arr(na, preferred).iter().enumerate() {
            let tp = np.child(preferred).index(i);
            weight(term, &tp, errors);
            let empty = Value::Null;
            node_selector_term(
                term.get("preference").unwrap_or(&empty),
                &tp.child("preference"),
                errors,
            );
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = a.get(kind).filter(|v| !v.is_null()) else {
            continue;
        };
        let pp = path.child(kind);
        let required = "requiredDuringSchedulingIgnoredDuringExecution";
        for (i, term) in arr(pa, required).iter().enumerate() {
            pod_affinity_term(term, &pp.child(required).index(i), errors);
        }
        let preferred = "preferredDuringSchedulingIgnoredDuringExecution";
        for (i, term) in arr(pa, preferred).iter().enumerate() {
            let tp = pp.child(preferred).index(i);
            weight(term, &tp, errors);
            let empty = Value::Null;
            let inner = term.get("podAffinityTerm").unwrap_or(&empty);
            pod_affinity_term(inner, &tp.child("podAffinityTerm"), errors);
        }
    }
}

fn weight(term: &Value, path: &Path, errors: &mut Errors) {
    let w = int(term, "weight").unwrap_or(0);
    if !(1..=100).contains(&w) {
        errors.invalid(&path.child("weight"), &Value::from(w), WEIGHT_MSG);
    }
}

/// `ValidateNodeSelector` (a required node affinity).
fn node_selector(sel: &Value, path: &Path, errors: &mut Errors) {
    let terms_path = path.child("nodeSelectorTerms");
    let terms = arr(sel, "nodeSelectorTerms");
    if terms.is_empty() {
        errors.required(&terms_path, "must have at least one node selector term");
        return;
    }
    for (i, term) in terms.iter().enumerate() {
        node_selector_term(term, &terms_path.index(i), errors);
    }
}

fn node_selector_term(term: &Value, path: &Path, errors: &mut Errors) {
    for (j, req) in arr(term, "matchExpressions").iter().enumerate() {
        let p = path.child("matchExpressions").index(j);
        let values = arr(req, "values");
        let vp = p.child("values");
        match text(req, "operator") {
            "In" | "NotIn" if values.is_empty() => {
                errors.required(&vp, "must be specified when `operator` is 'In' or 'NotIn'")
            }
            "Exists" | "DoesNotExist" if !values.is_empty() => errors.forbidden(
                &vp,
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
            "Gt" | "Lt" if values.len() != 1 => errors.required(
                &vp,
                "must be specified single value when `operator` is 'Lt' or 'Gt'",
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
            op => errors.invalid(
                &p.child("operator"),
                &Value::String(op.to_owned()),
                "not a valid selector operator",
            ),
        }
        qualified(text(req, "key"), &p.child("key"), errors);
        label_values(values, &vp, errors);
    }
    for (j, req) in arr(term, "matchFields").iter().enumerate() {
        let p = path.child("matchFields").index(j);
        let values = arr(req, "values");
        match text(req, "operator") {
            "In" | "NotIn" => {
                if values.len() != 1 {
                    errors.required(
                        &p.child("values"),
                        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                    );
                }
            }
            op => errors.invalid(
                &p.child("operator"),
                &Value::String(op.to_owned()),
                "not a valid selector operator",
            ),
        }
        let key = text(req, "key");
        if key != "metadata.name" {
            errors.invalid(
                &p.child("key"),
                &Value::String(key.to_owned()),
                "not a valid field selector key",
            );
        }
    }
}

fn label_values(values: &[Value], path: &Path, errors: &mut Errors) {
    for (i, v) in values.iter().enumerate() {
        let v = v.as_str().unwrap_or("");
        for m in meta::label_value(v) {
            errors.invalid(&path.index(i), &Value::String(v.to_owned()), &m);
        }
    }
}

fn pod_affinity_term(term: &Value, path: &Path, errors: &mut Errors) {
    for field in ["labelSelector", "namespaceSelector"] {
        if let Some(sel) = term.get(field).filter(|v| !v.is_null()) {
            label_selector(sel, &path.child(field), errors);
        }
    }
    for ns in arr(term, "namespaces") {
        let ns = ns.as_str().unwrap_or("");
        for m in meta::dns1123_label(ns) {
            errors.invalid(&path.child("namespace"), &Value::String(ns.to_owned()), &m);
        }
    }
    let key = text(term, "topologyKey");
    if key.is_empty() {
        errors.required(&path.child("topologyKey"), "can not be empty");
    }
    qualified(key, &path.child("topologyKey"), errors);
}

/// `ValidateLabelSelector` with label values checked strictly.
pub(super) fn label_selector(sel: &Value, path: &Path, errors: &mut Errors) {
    meta::labels(sel.get("matchLabels"), &path.child("matchLabels"), errors);
    for (i, e) in arr(sel, "matchExpressions").iter().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let values = arr(e, "values");
        match text(e, "operator") {
            "In" | "NotIn" if values.is_empty() => errors.required(
                &p.child("values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            ),
            "Exists" | "DoesNotExist" if !values.is_empty() => errors.forbidden(
                &p.child("values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            op => errors.invalid(
                &p.child("operator"),
                &Value::String(op.to_owned()),
                "not a valid selector operator",
            ),
        }
        qualified(text(e, "key"), &p.child("key"), errors);
        label_values(values, &p.child("values"), errors);
    }
}

/// `validateTopologySpreadConstraints`.
pub(super) fn spread_constraints(list: &[Value], path: &Path, errors: &mut Errors) {
    for (i, c) in list.iter().enumerate() {
        let p = path.index(i);
        let skew = int(c, "maxSkew").unwrap_or(0);
        if skew <= 0 {
            errors.invalid(
                &p.child("maxSkew"),
                &Value::from(skew),
                "must be greater than zero",
            );
        }
        let key = text(c, "topologyKey");
        if key.is_empty() {
            errors.required(&p.child("topologyKey"), "can not be empty");
        }
        let action = text(c, "whenUnsatisfiable");
        let actions = ["DoNotSchedule", "ScheduleAnyway"];
        if !actions.contains(&action) {
            errors.not_supported(
                &p.child("whenUnsatisfiable"),
                &Value::String(action.to_owned()),
                &actions,
            );
        }
        let repeated = list[i + 1..]
            .iter()
            .any(|o| text(o, "topologyKey") == key && text(o, "whenUnsatisfiable") == action);
        if repeated {
            errors.duplicate(
                &p.child("{topologyKey, whenUnsatisfiable}"),
                &Value::String(format!("{{{key}, {action}}}")),
            );
        }
        if let Some(min) = int(c, "minDomains") {
            let mp = p.child("minDomains");
            if min <= 0 {
                errors.invalid(&mp, &Value::from(min), "must be greater than zero");
            }
            if action != "DoNotSchedule" {
                errors.invalid(
                    &mp,
                    &Value::from(min),
                    &format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}"
                    ),
                );
            }
        }
        for field in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
            if let Some(policy) = c.get(field).and_then(Value::as_str)
                && !["Honor", "Ignore"].contains(&policy)
            {
                errors.not_supported(
                    &p.child(field),
                    &Value::String(policy.to_owned()),
                    &["Honor", "Ignore"],
                );
            }
        }
        for (j, k) in arr(c, "matchLabelKeys").iter().enumerate() {
            qualified(
                k.as_str().unwrap_or(""),
                &p.child("matchLabelKeys").index(j),
                errors,
            );
        }
        if let Some(sel) = c.get("labelSelector").filter(|v| !v.is_null()) {
            label_selector(sel, &p.child("labelSelector"), errors);
        }
    }
}

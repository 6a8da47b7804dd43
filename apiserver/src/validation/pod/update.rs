//! What an update may change: the pod spec is immutable except images,
//! `activeDeadlineSeconds` (set or lowered), added tolerations, removed scheduling gates
//! (and, while gated, added node selectors); `/status` has its own rules.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::super::errors::{Errors, Path};
use super::super::go_value;
use super::super::quantity::canonicalize_pod_spec;
use super::{arr, int, is_unset, qualified, text};
use crate::pointer::At;

const SPEC_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// `ValidatePodUpdate` past the new object's own validation.
pub(super) fn spec(new: &Value, old: &Value, path: &Path, errors: &mut Errors) {
    for list in ["containers", "initContainers"] {
        let (n, o) = (arr(new, list), arr(old, list));
        if n.len() != o.len() {
            errors.forbidden(
                &path.child(list),
                "pod updates may not add or remove containers",
            );
            return;
        }
        for (i, c) in n.iter().enumerate() {
            let image = text(c, "image");
            let p = path.child(list).index(i).child("image");
            if image.is_empty() {
                errors.required(&p, "");
            }
            if image.trim() != image {
                errors.invalid(
                    &p,
                    &Value::String(image.to_owned()),
                    "must not have leading or trailing whitespace",
                );
            }
        }
    }
    let deadline = path.child("activeDeadlineSeconds");
    match (
        int(new, "activeDeadlineSeconds"),
        int(old, "activeDeadlineSeconds"),
    ) {
        (Some(n), _) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            errors.invalid(
                &deadline,
                &Value::from(n),
                "must be between 0 and 2147483647, inclusive",
            );
            return;
        }
        (Some(n), Some(o)) if o < n => {
            errors.invalid(
                &deadline,
                &Value::from(n),
                "must be less than or equal to previous value",
            );
            return;
        }
        (None, Some(_)) => errors.invalid(
            &deadline,
            &Value::Null,
            "must not update from a positive integer to nil value",
        ),
        _ => {}
    }
    only_added_tolerations(
        arr(new, "tolerations"),
        arr(old, "tolerations"),
        path,
        errors,
    );
    only_deleted_gates(
        arr(new, "schedulingGates"),
        arr(old, "schedulingGates"),
        path,
        errors,
    );

    let mut munged = new.clone();
    munge(&mut munged, old, path, errors);
    let (mut before, mut after) = (old.clone(), munged);
    canonicalize_pod_spec(&mut before);
    canonicalize_pod_spec(&mut after);
    let (before, after) = (semantic(&before), semantic(&after));
    if before != after {
        errors.forbidden(
            path,
            &format!("{SPEC_FORBIDDEN}\n{}", diff(&before, &after)),
        );
    }
}

/// Puts back into `munged` (a copy of the new spec) the old values of what may change.
fn munge(munged: &mut Value, old: &Value, path: &Path, errors: &mut Errors) {
    let Some(m) = munged.as_object_mut() else {
        return;
    };
    for list in ["containers", "initContainers"] {
        if let Some(items) = m.get_mut(list).and_then(Value::as_array_mut) {
            for (c, o) in items.iter_mut().zip(arr(old, list)) {
                if let Some(c) = c.as_object_mut() {
                    set_or_remove(c, "image", o.get("image"));
                }
            }
        }
    }
    for field in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        set_or_remove(m, field, old.get(field));
    }
    let old_grace = int(old, "terminationGracePeriodSeconds");
    if old_grace.is_some_and(|g| g < 0)
        && m.get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            == Some(1)
    {
        set_or_remove(
            m,
            "terminationGracePeriodSeconds",
            old.get("terminationGracePeriodSeconds"),
        );
    }
    // A pod still gated may gain node selector entries.
    if !arr(old, "schedulingGates").is_empty() {
        let new_sel = m.get("nodeSelector").cloned();
        let old_sel = old.get("nodeSelector");
        if semantic(new_sel.as_ref().unwrap_or(&Value::Null))
            != semantic(old_sel.unwrap_or(&Value::Null))
        {
            let kept = old_sel.and_then(Value::as_object).is_none_or(|o| {
                o.iter()
                    .all(|(k, v)| new_sel.as_ref().and_then(|n| n.get(k)) == Some(v))
            });
            if !kept {
                go_value::invalid(
                    errors,
                    &path.child("nodeSelector"),
                    &go_value::string_map(new_sel.as_ref()),
                    "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
                );
            }
            set_or_remove(m, "nodeSelector", old_sel);
        }
    }
}

fn set_or_remove(m: &mut Map<String, Value>, field: &str, value: Option<&Value>) {
    match value {
        Some(v) => {
            m.insert(field.to_owned(), v.clone());
        }
        None => {
            m.remove(field);
        }
    }
}

/// A value with what Go's semantic equality ignores removed: nulls and empty lists.
fn semantic(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !is_unset(Some(v)) && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k.clone(), semantic(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(semantic).collect()),
        other => other.clone(),
    }
}

/// The changed top-level fields, one `-` (old) and one `+` (new) line each, in the
/// shape of upstream's `cmp.Diff` of the two pod specs.
fn diff(old: &Value, new: &Value) -> String {
    let empty = Map::new();
    let (o, n) = (
        old.as_object().unwrap_or(&empty),
        new.as_object().unwrap_or(&empty),
    );
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    let mut out = String::from("  core.PodSpec{\n");
    for k in keys {
        if o.get(k) == n.get(k) {
            continue;
        }
        let mut name = k.clone();
        if let Some(first) = name.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let show = |v: Option<&Value>| v.map_or("nil".to_owned(), Value::to_string);
        out.push_str(&format!("- \t{name}: {},\n", show(o.get(k))));
        out.push_str(&format!("+ \t{name}: {},\n", show(n.get(k))));
    }
    out.push_str("  }\n");
    out
}

/// Existing tolerations must stay (only their `tolerationSeconds` may change).
fn only_added_tolerations(new: &[Value], old: &[Value], path: &Path, errors: &mut Errors) {
    let without_seconds = |t: &Value| {
        let mut t = semantic(t);
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    let new: Vec<Value> = new.iter().map(without_seconds).collect();
    if old.iter().any(|o| !new.contains(&without_seconds(o))) {
        errors.forbidden(
            &path.child("tolerations"),
            "existing toleration can not be modified except its tolerationSeconds",
        );
    }
}

/// Scheduling gates may only be removed.
fn only_deleted_gates(new: &[Value], old: &[Value], path: &Path, errors: &mut Errors) {
    let mut added: HashMap<&str, usize> = new
        .iter()
        .enumerate()
        .map(|(i, g)| (text(g, "name"), i))
        .collect();
    for g in old {
        added.remove(text(g, "name"));
    }
    let mut added: Vec<(&str, usize)> = added.into_iter().collect();
    added.sort_by_key(|(_, i)| *i);
    for (name, i) in added {
        errors.forbidden(
            &path.child("schedulingGates").index(i).child("name"),
            &format!("only deletion is allowed, but found new scheduling gate '{name}'"),
        );
    }
}

/// `ValidatePodStatusUpdate`: condition types, the node name untouched, the nominated
/// node, no terminated container coming back when the pod does not restart, pod IPs.
pub(super) fn status(new: &Value, old: &Value, errors: &mut Errors) {
    let status = new.get("status").unwrap_or(&Value::Null);
    let conditions = Path::root("metadata").child("conditions");
    for (i, c) in arr(status, "conditions").iter().enumerate() {
        let kind = text(c, "type");
        if !["PodScheduled", "Ready", "Initialized"].contains(&kind) {
            qualified(kind, &conditions.index(i).child("Type"), errors);
        }
    }
    let path = Path::root("status");
    let node = |p: &Value| {
        p.at("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    if node(new) != node(old) {
        errors.forbidden(&path.child("nodeName"), "may not be changed directly");
    }
    let nominated = text(status, "nominatedNodeName");
    let old_status = old.get("status").unwrap_or(&Value::Null);
    if !nominated.is_empty() && nominated != text(old_status, "nominatedNodeName") {
        super::subdomain(nominated, &path.child("nominatedNodeName"), errors);
    }
    let policy = old
        .at("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("");
    for list in ["containerStatuses", "initContainerStatuses"] {
        state_transitions(
            arr(status, list),
            arr(old_status, list),
            policy,
            &path.child(list),
            errors,
        );
    }
    pod_ips(new, errors);
}

/// Terminated containers stay terminated unless the pod restarts them.
fn state_transitions(new: &[Value], old: &[Value], policy: &str, path: &Path, errors: &mut Errors) {
    if policy == "Always" {
        return;
    }
    for (i, o) in old.iter().enumerate() {
        let Some(term) = o.at("/state/terminated").filter(|t| !t.is_null()) else {
            continue;
        };
        if int(term, "exitCode").unwrap_or(0) != 0 && policy == "OnFailure" {
            continue;
        }
        let revived = new
            .iter()
            .any(|n| text(n, "name") == text(o, "name") && is_unset(n.at("/state/terminated")));
        if revived {
            errors.forbidden(
                &path.index(i).child("state"),
                "may not be transitioned to non-terminated state",
            );
        }
    }
}

/// `status.podIPs`: valid addresses, at most one per family, no duplicates.
pub(super) fn pod_ips(pod: &Value, errors: &mut Errors) {
    let Some(ips) = pod.at("/status/podIPs").and_then(Value::as_array) else {
        return;
    };
    let path = Path::root("status").child("podIPs");
    let mut parsed = Vec::new();
    for (i, entry) in ips.iter().enumerate() {
        let ip = text(entry, "ip");
        match ip.parse::<std::net::IpAddr>() {
            Ok(addr) => parsed.push(addr),
            Err(_) => errors.invalid(
                &path.index(i),
                &Value::String(ip.to_owned()),
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ),
        }
    }
    if ips.len() > 1 {
        let v4 = parsed.iter().filter(|a| a.is_ipv4()).count();
        let dual = ips.len() == 2 && parsed.len() == 2 && v4 == 1;
        if !dual {
            go_value::invalid(
                errors,
                &path,
                &go_value::typed_slice(Some(&Value::Array(ips.clone())), "[]core.PodIP", |e| {
                    format!("core.PodIP{{IP:{}}}", go_value::quote(text(e, "ip")))
                }),
                "may specify no more than one IP for each IP family",
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, entry) in ips.iter().enumerate() {
            let ip = text(entry, "ip");
            if !seen.insert(ip) {
                errors.duplicate(&path.index(i), &Value::String(ip.to_owned()));
            }
        }
    }
}

//! Nodes, as upstream v1.33's `ValidateNode` and `ValidateNodeUpdate`: taints (reported
//! under `metadata.taints`, as upstream does), pod CIDRs, capacity and allocatable
//! quantities, and the fields an update may only fill in once.

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::go_value;
use super::super::meta;
use super::super::quantity::Quantity;
use super::super::service::net;
use super::{arr, qualified, text};
use crate::admission::Operation;
use crate::pointer::At;

const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
const ONCE_CIDR: &str = "node updates may not change podCIDR except from \"\" to valid";
const ONCE_PROVIDER: &str = "node updates may not change providerID except from \"\" to valid";

pub(super) fn validate(obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    taints(
        arr(spec, "taints"),
        &Path::root("metadata").child("taints"),
        errors,
    );
    let cidrs = pod_cidrs(spec);
    if !cidrs.is_empty() {
        pod_cidr_list(&cidrs, errors);
    }
    resources(obj, errors);
    if let Some(old) = op.old() {
        let old_spec = old.get("spec").unwrap_or(&Value::Null);
        let old_cidrs = pod_cidrs(old_spec);
        if !old_cidrs.is_empty() {
            let spec_path = Path::root("spec").child("podCIDRs");
            if old_cidrs.len() != cidrs.len() {
                errors.forbidden(&spec_path, ONCE_CIDR);
            } else {
                for (a, b) in old_cidrs.iter().zip(&cidrs) {
                    if a != b {
                        errors.forbidden(&spec_path, ONCE_CIDR);
                    }
                }
            }
        }
        let old_provider = text(old_spec, "providerID");
        if !old_provider.is_empty() && old_provider != text(spec, "providerID") {
            errors.forbidden(&Path::root("spec").child("providerID"), ONCE_PROVIDER);
        }
    }
}

/// `spec.podCIDRs`, or the single `spec.podCIDR` of older clients (the v1 conversion
/// fills one from the other).
fn pod_cidrs(spec: &Value) -> Vec<&str> {
    let list: Vec<&str> = arr(spec, "podCIDRs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !list.is_empty() {
        return list;
    }
    match text(spec, "podCIDR") {
        "" => Vec::new(),
        one => vec![one],
    }
}

/// `validateNodeTaints`: key, value, effect, and unique by key and effect.
fn taints(list: &[Value], path: &Path, errors: &mut Errors) {
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for (i, t) in list.iter().enumerate() {
        let p = path.index(i);
        let (key, value, effect) = (text(t, "key"), text(t, "value"), text(t, "effect"));
        if key.is_empty() {
            errors.required(&p.child("key"), "");
        }
        qualified(key, &p.child("key"), errors);
        let msgs = meta::label_value(value);
        if !msgs.is_empty() {
            errors.invalid(
                &p.child("value"),
                &Value::String(value.to_owned()),
                &msgs.join(";"),
            );
        }
        if effect.is_empty() {
            errors.required(&p.child("effect"), "");
        } else if !EFFECTS.contains(&effect) {
            errors.not_supported(
                &p.child("effect"),
                &Value::String(effect.to_owned()),
                &EFFECTS,
            );
        }
        if !seen.insert((key, effect)) {
            go_value::duplicate(
                errors,
                &p,
                &taint_go(t),
                "taints must be unique by key and effect pair",
            );
        }
    }
}

/// A taint as Go prints a `core.Taint` with `%#v`.
fn taint_go(t: &Value) -> String {
    let added = match t.get("timeAdded").and_then(Value::as_str) {
        Some(_) => "(*v1.Time)(0x…)".to_owned(),
        None => "(*v1.Time)(nil)".to_owned(),
    };
    format!(
        "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:{added}}}",
        go_value::quote(text(t, "key")),
        go_value::quote(text(t, "value")),
        go_value::quote(text(t, "effect")),
    )
}

/// Every pod CIDR valid; two at most, one per family, no repeats.
fn pod_cidr_list(cidrs: &[&str], errors: &mut Errors) {
    let path = Path::root("spec").child("podCIDRs");
    let before = errors.0.len();
    for (i, c) in cidrs.iter().enumerate() {
        net::valid_cidr(c, &path.index(i), errors);
    }
    if cidrs.len() < 2 || errors.0.len() != before {
        return;
    }
    let list = Value::Array(
        cidrs
            .iter()
            .map(|c| Value::String((*c).to_owned()))
            .collect(),
    );
    let shown = go_value::string_slice(Some(&list));
    let addrs: Vec<IpAddr> = cidrs
        .iter()
        .filter_map(|c| net::parse_cidr_sloppy(c).map(|(ip, _)| ip))
        .collect();
    if !net::is_dual_stack(&addrs) || cidrs.len() > 2 {
        go_value::invalid(
            errors,
            &path,
            &shown,
            "may specify no more than one CIDR for each IP family",
        );
    }
    let mut seen = HashSet::new();
    for (i, c) in cidrs.iter().enumerate() {
        if !seen.insert(*c) {
            errors.duplicate(&path.index(i), &Value::String((*c).to_owned()));
        }
    }
}

/// `ValidateNodeResources`: capacity and allocatable are non-negative quantities.
fn resources(obj: &Value, errors: &mut Errors) {
    for field in ["capacity", "allocatable"] {
        let Some(map) = obj
            .at(&format!("/status/{field}"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        let base = Path::root("status").child(field);
        for (name, v) in map {
            let p = base.child(name);
            match Quantity::from_json(v) {
                Ok(q) if q.is_negative() => errors.invalid(
                    &p,
                    &Value::String(q.to_string()),
                    "must be greater than or equal to 0",
                ),
                Ok(_) => {}
                Err(e) => errors.invalid(&p, v, &e.to_string()),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::api::Part;
    use serde_json::json;

    fn causes(obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
        let mut e = Errors::default();
        validate(obj, op, &mut e);
        e.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    fn pair(f: &str, m: &str) -> (String, String) {
        (f.to_owned(), m.to_owned())
    }

    #[test]
    fn taints_as_upstream() {
        let node = json!({"spec": {"taints": [
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
            {"key": "dedicated", "value": "other", "effect": "NoSchedule"},
            {"key": "k", "value": "a b", "effect": "Sometimes"},
            {"key": "k"},
        ]}});
        let got = causes(&node, Operation::Create);
        assert_eq!(
            got,
            vec![
                pair(
                    "metadata.taints[1]",
                    "Duplicate value: core.Taint{Key:\"dedicated\", Value:\"other\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair"
                ),
                pair(
                    "metadata.taints[2].value",
                    "Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
                ),
                pair(
                    "metadata.taints[2].effect",
                    "Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""
                ),
                pair("metadata.taints[3].effect", "Required value"),
            ]
        );
    }

    #[test]
    fn pod_cidrs_and_quantities() {
        let node = json!({
            "spec": {"podCIDRs": ["10.244.0.0/24", "10.245.0.0/24"]},
            "status": {"capacity": {"cpu": "-1", "pods": "110"}}
        });
        assert_eq!(
            causes(&node, Operation::Create),
            vec![
                pair(
                    "spec.podCIDRs",
                    "Invalid value: []string{\"10.244.0.0/24\", \"10.245.0.0/24\"}: may specify no more than one CIDR for each IP family"
                ),
                pair(
                    "status.capacity.cpu",
                    "Invalid value: \"-1\": must be greater than or equal to 0"
                ),
            ]
        );
        let bad = json!({"spec": {"podCIDR": "10.244.0.0"}});
        assert_eq!(causes(&bad, Operation::Create)[0].0, "spec.podCIDRs[0]");
        let dual = json!({"spec": {"podCIDRs": ["10.244.0.0/24", "fd00::/64"]}});
        assert!(causes(&dual, Operation::Create).is_empty());
    }

    #[test]
    fn pod_cidr_and_provider_are_set_once() {
        let old = json!({"spec": {"podCIDR": "10.244.0.0/24", "providerID": "kwok://a"}});
        let update = Operation::Update {
            old: &old,
            part: Part::Main,
        };
        let changed = json!({"spec": {"podCIDRs": ["10.244.1.0/24"], "providerID": "kwok://b"}});
        assert_eq!(
            causes(&changed, update),
            vec![
                pair("spec.podCIDRs", &format!("Forbidden: {ONCE_CIDR}")),
                pair("spec.providerID", &format!("Forbidden: {ONCE_PROVIDER}"))
            ]
        );
        let fresh = json!({});
        let first = Operation::Update {
            old: &fresh,
            part: Part::Main,
        };
        assert!(causes(&old, first).is_empty());
        assert!(causes(&old, update).is_empty());
    }
}

//! Events, as upstream v1.33's `ValidateEventCreate` and `ValidateEventUpdate`.
//!
//! Events written through core `v1` get the lenient legacy rules (the involved object's
//! namespace agrees with the event's; new-style events carry their reporting fields);
//! those written through `events.k8s.io/v1` get the strict rules as well (eventTime
//! required, type Normal or Warning, deprecated fields unset, the recorded facts
//! immutable). Objects arrive in the stored core form, so `reportingComponent` holds
//! what `events.k8s.io/v1` calls `reportingController`.

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::meta;
use super::text;
use crate::admission::Operation;
use crate::pointer::At;

const LENGTH_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

pub(super) fn validate(group: &str, obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let strict = group == "events.k8s.io";
    legacy(obj, strict, errors);
    if !strict {
        return;
    }
    match op.old() {
        None => strict_create(obj, errors),
        Some(old) => {
            if obj.get("series") != old.get("series") {
                series(obj, errors);
            }
            immutable_facts(obj, old, errors);
        }
    }
}

fn is_set(obj: &Value, field: &str) -> bool {
    obj.get(field)
        .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
}

fn too_long(path: &str, limit: usize, errors: &mut Errors) {
    errors.invalid(
        &Path::root(path),
        &Value::String(String::new()),
        &format!("can have at most {limit} characters"),
    );
}

/// `legacyValidateEvent`.
fn legacy(obj: &Value, strict: bool, errors: &mut Errors) {
    let namespace = obj
        .at("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let involved_ns = obj
        .at("/involvedObject/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ns_path = Path::root("involvedObject").child("namespace");
    let mismatch = || Value::String(involved_ns.to_owned());
    if !is_set(obj, "eventTime") {
        let agrees = if involved_ns.is_empty() {
            namespace.is_empty() || namespace == "default"
        } else {
            namespace == involved_ns
        };
        if !agrees {
            errors.invalid(&ns_path, &mismatch(), "does not match event.namespace");
        }
    } else {
        if involved_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
            errors.invalid(&ns_path, &mismatch(), "does not match event.namespace");
        }
        let controller_path = Path::root(if strict {
            "reportingController"
        } else {
            "reportingComponent"
        });
        let controller = text(obj, "reportingComponent");
        if controller.is_empty() {
            errors.required(&controller_path, "");
        }
        for m in meta::qualified_name(controller) {
            errors.invalid(&controller_path, &Value::String(controller.to_owned()), &m);
        }
        for (field, limit) in [
            ("reportingInstance", LENGTH_LIMIT),
            ("action", LENGTH_LIMIT),
            ("reason", LENGTH_LIMIT),
        ] {
            let value = text(obj, field);
            if value.is_empty() {
                errors.required(&Path::root(field), "");
            }
            if value.len() > limit {
                too_long(field, limit, errors);
            }
        }
        if text(obj, "message").len() > NOTE_LIMIT {
            too_long("message", NOTE_LIMIT, errors);
        }
    }
    for m in meta::dns1123_subdomain(namespace) {
        errors.invalid(
            &Path::root("namespace"),
            &Value::String(namespace.to_owned()),
            &m,
        );
    }
}

/// What an event created through `events.k8s.io/v1` must look like.
fn strict_create(obj: &Value, errors: &mut Errors) {
    series(obj, errors);
    if !is_set(obj, "eventTime") {
        errors.required(&Path::root("eventTime"), "");
    }
    let ty = text(obj, "type");
    if ty != "Normal" && ty != "Warning" {
        errors.invalid(
            &Path::root("type"),
            &Value::String(String::new()),
            &format!("has invalid value: {ty}"),
        );
    }
    for field in ["firstTimestamp", "lastTimestamp"] {
        if is_set(obj, field) {
            errors.invalid(
                &Path::root(field),
                &Value::String(String::new()),
                "needs to be unset",
            );
        }
    }
    if obj
        .get("count")
        .and_then(Value::as_i64)
        .is_some_and(|c| c != 0)
    {
        errors.invalid(
            &Path::root("count"),
            &Value::String(String::new()),
            "needs to be unset",
        );
    }
    let source = obj.get("source").unwrap_or(&Value::Null);
    if !text(source, "component").is_empty() || !text(source, "host").is_empty() {
        errors.invalid(
            &Path::root("source"),
            &Value::String(String::new()),
            "needs to be unset",
        );
    }
}

/// `validateV1EventSeries`.
fn series(obj: &Value, errors: &mut Errors) {
    let Some(series) = obj.get("series").filter(|s| !s.is_null()) else {
        return;
    };
    if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
        errors.invalid(
            &Path::root("series.count"),
            &Value::String(String::new()),
            "should be at least 2",
        );
    }
    if !is_set(series, "lastObservedTime") {
        errors.required(&Path::root("series.lastObservedTime"), "");
    }
}

/// What an event recorded once may not change (upstream's `ValidateImmutableField`
/// on each). Paths are the internal names upstream reports.
fn immutable_facts(obj: &Value, old: &Value, errors: &mut Errors) {
    const FACTS: [(&str, &str); 12] = [
        ("involvedObject", "involvedObject"),
        ("reason", "reason"),
        ("message", "message"),
        ("source", "source"),
        ("firstTimestamp", "firstTimestamp"),
        ("lastTimestamp", "lastTimestamp"),
        ("count", "count"),
        ("reportingComponent", "reportingController"),
        ("reportingInstance", "reportingInstance"),
        ("action", "action"),
        ("type", "type"),
        ("eventTime", "eventTime"),
    ];
    for (stored, shown) in FACTS {
        let (new, was) = (obj.get(stored), old.get(stored));
        let absent = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v == "" || v == 0);
        if new != was && !(absent(new) && absent(was)) {
            errors.invalid(
                &Path::root(shown),
                new.unwrap_or(&Value::String(String::new())),
                "field is immutable",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Part;
    use serde_json::json;

    fn causes(group: &str, obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
        let mut e = Errors::default();
        validate(group, obj, op, &mut e);
        e.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    fn pair(f: &str, m: &str) -> (String, String) {
        (f.to_owned(), m.to_owned())
    }

    #[test]
    fn legacy_events_need_agreeing_namespaces() {
        let ok = json!({"metadata": {"namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web"},
            "reason": "Started", "message": "started", "type": "Normal"});
        assert!(causes("", &ok, Operation::Create).is_empty());
        let other = json!({"metadata": {"namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "prod"}});
        assert_eq!(
            causes("", &other, Operation::Create),
            vec![pair(
                "involvedObject.namespace",
                "Invalid value: \"prod\": does not match event.namespace"
            )]
        );
        let new_style = json!({"metadata": {"namespace": "default"},
            "involvedObject": {"namespace": "default"}, "eventTime": "2026-01-01T00:00:00.000000Z"});
        assert_eq!(
            causes("", &new_style, Operation::Create),
            vec![
                pair("reportingComponent", "Required value"),
                pair(
                    "reportingComponent",
                    "Invalid value: \"\": name part must be non-empty"
                ),
                pair(
                    "reportingComponent",
                    "Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
                ),
                pair("reportingInstance", "Required value"),
                pair("action", "Required value"),
                pair("reason", "Required value"),
            ]
        );
    }

    #[test]
    fn events_v1_are_strict() {
        let ev = json!({"metadata": {"namespace": "default"},
            "involvedObject": {"namespace": "default"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingComponent": "keelson/scheduler",
            "reportingInstance": "sched-1", "action": "Binding", "reason": "Scheduled",
            "type": "Normal"});
        assert!(causes("events.k8s.io", &ev, Operation::Create).is_empty());
        let mut bad = ev.clone();
        bad["type"] = json!("Info");
        bad["count"] = json!(3);
        bad["series"] = json!({"count": 1});
        assert_eq!(
            causes("events.k8s.io", &bad, Operation::Create),
            vec![
                pair("series.count", "Invalid value: \"\": should be at least 2"),
                pair("series.lastObservedTime", "Required value"),
                pair("type", "Invalid value: \"\": has invalid value: Info"),
                pair("count", "Invalid value: \"\": needs to be unset"),
            ]
        );
        let mut changed = ev.clone();
        changed["reason"] = json!("Other");
        let op = Operation::Update {
            old: &ev,
            part: Part::Main,
        };
        assert_eq!(
            causes("events.k8s.io", &changed, op),
            vec![pair(
                "reason",
                "Invalid value: \"Other\": field is immutable"
            )]
        );
        assert!(causes("", &changed, op).is_empty());
    }
}

//! Conversion between stored and served forms (core/v1 Events ⇄ events.k8s.io/v1 Events).
//!
//! Events are stored once, as core/v1 `Event`s, and served under both `v1` and
//! `events.k8s.io/v1`. Upstream (v1.33) converts through the internal type, and the
//! mapping is a plain renaming of fields; no field is defaulted from another during
//! conversion (for instance an empty `reportingController` is *not* filled from
//! `source.component` — that happens, if at all, in the client that records the event).
//!
//! | events.k8s.io/v1           | core/v1              |
//! |----------------------------|----------------------|
//! | `regarding`                | `involvedObject`     |
//! | `note`                     | `message`            |
//! | `reportingController`      | `reportingComponent` |
//! | `deprecatedSource`         | `source`             |
//! | `deprecatedFirstTimestamp` | `firstTimestamp`     |
//! | `deprecatedLastTimestamp`  | `lastTimestamp`      |
//! | `deprecatedCount`          | `count`              |
//!
//! `metadata`, `eventTime`, `series` (`count`, `lastObservedTime`), `related`, `action`,
//! `reason`, `type` and `reportingInstance` have the same name and shape in both forms.
//! Both forms carry every field, so round trips are lossless.

use serde_json::{Map, Value};

use crate::registry::Conversion;

/// The conversion of `events.k8s.io/v1` Events, stored as core/v1 Events.
pub const EVENTS_V1: Conversion = Conversion {
    to_served: core_to_events_v1,
    to_stored: events_v1_to_core,
};

/// Fields renamed between the forms: (events.k8s.io/v1 name, core/v1 name).
const RENAMED: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// A stored core/v1 Event in its events.k8s.io/v1 form.
pub fn core_to_events_v1(value: Value) -> Value {
    let mut out = convert(value, "events.k8s.io/v1", |(events, core)| (core, events));
    // Fields core/v1 always shows but events.k8s.io/v1 declares `omitempty`: their zero
    // values are not served there.
    if let Some(m) = out.as_object_mut() {
        m.retain(|k, v| {
            !(OMITTED_WHEN_EMPTY.contains(&k.as_str()) && (v == "" || v == 0 || v.is_null()))
        });
    }
    out
}

/// events.k8s.io/v1 fields with `omitempty` whose zero value core/v1 stores.
const OMITTED_WHEN_EMPTY: [&str; 7] = [
    "reportingController",
    "reportingInstance",
    "action",
    "reason",
    "note",
    "type",
    "deprecatedCount",
];

/// An events.k8s.io/v1 Event in its stored core/v1 form.
pub fn events_v1_to_core(value: Value) -> Value {
    convert(value, "v1", |pair| pair)
}

/// Renames the fields of `value`; `direction` turns each `(events, core)` pair into
/// `(from, to)`. Non-objects are returned unchanged.
fn convert(
    value: Value,
    api_version: &str,
    direction: fn((&'static str, &'static str)) -> (&'static str, &'static str),
) -> Value {
    let Value::Object(mut from) = value else {
        return value;
    };
    let mut out = Map::with_capacity(from.len());
    out.insert("kind".into(), Value::String("Event".into()));
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    from.remove("kind");
    from.remove("apiVersion");
    // A target-form name in the input is an unknown field of the source form: upstream's
    // typed decoding drops it, and it must not shadow the renamed field.
    for pair in RENAMED {
        let (_, to) = direction(pair);
        from.remove(to);
    }
    for pair in RENAMED {
        let (source, target) = direction(pair);
        if let Some(v) = from.remove(source) {
            out.insert(target.into(), v);
        }
    }
    out.extend(from);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn core_event() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "foo.1", "namespace": "default", "resourceVersion": "7"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "foo", "uid": "u1"},
            "reason": "Started",
            "message": "Started container",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2024-01-01T00:00:00Z",
            "lastTimestamp": "2024-01-01T00:01:00Z",
            "count": 3,
            "type": "Normal",
            "eventTime": "2024-01-01T00:00:00.000001Z",
            "series": {"count": 2, "lastObservedTime": "2024-01-01T00:01:00.000002Z"},
            "action": "Start",
            "related": {"kind": "Node", "name": "node-1"},
            "reportingComponent": "kubelet",
            "reportingInstance": "node-1",
        })
    }

    fn events_event() -> Value {
        json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "foo.1", "namespace": "default", "resourceVersion": "7"},
            "regarding": {"kind": "Pod", "namespace": "default", "name": "foo", "uid": "u1"},
            "reason": "Started",
            "note": "Started container",
            "deprecatedSource": {"component": "kubelet", "host": "node-1"},
            "deprecatedFirstTimestamp": "2024-01-01T00:00:00Z",
            "deprecatedLastTimestamp": "2024-01-01T00:01:00Z",
            "deprecatedCount": 3,
            "type": "Normal",
            "eventTime": "2024-01-01T00:00:00.000001Z",
            "series": {"count": 2, "lastObservedTime": "2024-01-01T00:01:00.000002Z"},
            "action": "Start",
            "related": {"kind": "Node", "name": "node-1"},
            "reportingController": "kubelet",
            "reportingInstance": "node-1",
        })
    }

    #[test]
    fn core_to_events_maps_every_field() {
        assert_eq!((EVENTS_V1.to_served)(core_event()), events_event());
    }

    #[test]
    fn events_to_core_maps_every_field() {
        assert_eq!((EVENTS_V1.to_stored)(events_event()), core_event());
    }

    #[test]
    fn round_trips_are_lossless() {
        let core = core_event();
        assert_eq!(events_v1_to_core(core_to_events_v1(core.clone())), core);
        let events = events_event();
        assert_eq!(core_to_events_v1(events_v1_to_core(events.clone())), events);
    }

    #[test]
    fn sets_target_type_meta_even_when_missing() {
        let served = core_to_events_v1(json!({"metadata": {"name": "a"}, "message": "m"}));
        assert_eq!(
            served,
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "a"}, "note": "m"})
        );
        let stored =
            events_v1_to_core(json!({"apiVersion": "wrong/v9", "kind": "Event", "note": "n"}));
        assert_eq!(
            stored,
            json!({"apiVersion": "v1", "kind": "Event", "message": "n"})
        );
    }

    #[test]
    fn no_defaulting_from_source_component() {
        let served = core_to_events_v1(json!({"source": {"component": "kubelet"}}));
        assert!(served.get("reportingController").is_none());
        let stored = events_v1_to_core(json!({"deprecatedSource": {"component": "kubelet"}}));
        assert!(stored.get("reportingComponent").is_none());
    }

    #[test]
    fn target_form_names_in_the_input_are_dropped() {
        // `message` is not an events.k8s.io/v1 field; it must not override `note`.
        let stored = events_v1_to_core(json!({"note": "right", "message": "wrong", "count": 9}));
        assert_eq!(stored["message"], "right");
        assert!(stored.get("count").is_none());
        let served = core_to_events_v1(json!({"message": "right", "note": "wrong"}));
        assert_eq!(served["note"], "right");
    }

    #[test]
    fn nulls_are_carried_over() {
        let served = core_to_events_v1(json!({"firstTimestamp": null, "eventTime": null}));
        assert_eq!(served["deprecatedFirstTimestamp"], Value::Null);
        assert!(
            served
                .as_object()
                .is_some_and(|m| m.contains_key("eventTime"))
        );
    }

    #[test]
    fn empty_omitempty_fields_are_not_served() {
        let mut core = core_event();
        core["reportingComponent"] = json!("");
        core["reportingInstance"] = json!("");
        core["count"] = json!(0);
        let served = core_to_events_v1(core);
        for f in [
            "reportingController",
            "reportingInstance",
            "deprecatedCount",
        ] {
            assert!(served.get(f).is_none(), "{f}: {served}");
        }
        assert_eq!(served["reason"], core_event()["reason"]);
    }

    #[test]
    fn non_objects_pass_through() {
        assert_eq!(core_to_events_v1(json!(null)), json!(null));
        assert_eq!(events_v1_to_core(json!([1])), json!([1]));
    }
}

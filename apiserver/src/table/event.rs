//! Events: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (wide: SUBOBJECT, SOURCE, FIRST SEEN,
//! COUNT, NAME).
//!
//! Upstream prints core/v1 and events.k8s.io/v1 Events from one internal form, so the
//! cells read either served form.

use jiff::Timestamp;
use serde_json::Value;

use super::age::{since, timestamp};
use super::format::{int_at, name, str_at};
use super::{Column, NAME, TableDef};
use crate::pointer::At;

/// Events (core/v1 and events.k8s.io/v1 share the columns).
pub static EVENT: TableDef = TableDef {
    columns: &[
        Column::text(
            "Last Seen",
            "The time at which the most recent occurrence of this event was recorded.",
        ),
        Column::text(
            "Type",
            "Type of this event (Normal, Warning), new types could be added in the future",
        ),
        Column::text(
            "Reason",
            "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
        ),
        Column::text("Object", "The object that this event is about."),
        Column::wide(
            "Subobject",
            "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
        ),
        Column::wide(
            "Source",
            "The component reporting this event. Should be a short machine understandable string.",
        ),
        Column::text(
            "Message",
            "A human-readable description of the status of this operation.",
        ),
        Column::wide(
            "First Seen",
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
        ),
        Column::wide("Count", "The number of times this event has occurred."),
        Column {
            priority: 1,
            ..NAME
        },
    ],
    cells,
};

/// Where each printed field lives in the served form.
struct Layout {
    regarding: &'static str,
    message: &'static str,
    source: &'static str,
    first: &'static str,
    last: &'static str,
    count: &'static str,
    reporting_controller: &'static str,
}

const CORE_V1: Layout = Layout {
    regarding: "/involvedObject",
    message: "/message",
    source: "/source",
    first: "/firstTimestamp",
    last: "/lastTimestamp",
    count: "/count",
    reporting_controller: "/reportingComponent",
};

const EVENTS_API: Layout = Layout {
    regarding: "/regarding",
    message: "/note",
    source: "/deprecatedSource",
    first: "/deprecatedFirstTimestamp",
    last: "/deprecatedLastTimestamp",
    count: "/deprecatedCount",
    reporting_controller: "/reportingController",
};

fn layout(ev: &Value) -> &'static Layout {
    if str_at(ev, "/apiVersion").starts_with("events.k8s.io/") || ev.get("regarding").is_some() {
        &EVENTS_API
    } else {
        &CORE_V1
    }
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}

fn cells(ev: &Value, now: Timestamp) -> Vec<Value> {
    let f = layout(ev);
    let at = |field: &str, sub: &str| str_at(ev, &format!("{field}{sub}"));

    let first_seen = match timestamp(ev.at(f.first)) {
        Some(t) => since(Some(t), now),
        None => since(timestamp(ev.get("eventTime")), now),
    };
    let mut last_seen = match timestamp(ev.at(f.last)) {
        Some(t) => since(Some(t), now),
        None => first_seen.clone(),
    };
    let mut count = int_at(ev, f.count);
    match ev.get("series").filter(|s| s.is_object()) {
        Some(series) => {
            last_seen = since(timestamp(series.get("lastObservedTime")), now);
            count = int_at(series, "/count");
        }
        // Singleton events carry no count in the new API.
        None if count == 0 => count = 1,
        None => {}
    }

    let kind = at(f.regarding, "/kind").to_lowercase();
    let target = match at(f.regarding, "/name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let component = first_non_empty(
        at(f.source, "/component"),
        str_at(ev, f.reporting_controller),
    );
    let host = first_non_empty(at(f.source, "/host"), str_at(ev, "/reportingInstance"));
    let source = if host.is_empty() {
        component.to_owned()
    } else {
        format!("{component}, {host}")
    };

    vec![
        Value::String(last_seen),
        Value::from(str_at(ev, "/type")),
        Value::from(str_at(ev, "/reason")),
        Value::String(target),
        Value::from(at(f.regarding, "/fieldPath")),
        Value::String(source),
        Value::from(str_at(ev, f.message).trim()),
        Value::String(first_seen),
        Value::from(count),
        name(ev),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2024-05-01T12:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn core_event_row() {
        let ev = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web-1.17c", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
            "reason": "BackOff", "type": "Warning",
            "message": "Back-off restarting failed container\n",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2024-05-01T11:00:00Z",
            "lastTimestamp": "2024-05-01T11:59:30Z",
            "count": 7,
        });
        assert_eq!(
            cells(&ev, now()),
            vec![
                json!("30s"),
                json!("Warning"),
                json!("BackOff"),
                json!("pod/web-1"),
                json!("spec.containers{app}"),
                json!("kubelet, node-1"),
                json!("Back-off restarting failed container"),
                json!("60m"),
                json!(7),
                json!("web-1.17c"),
            ]
        );
    }

    #[test]
    fn new_style_events() {
        // Written through events.k8s.io but read as core/v1: eventTime, series, no count.
        let ev = json!({
            "metadata": {"name": "n.1"},
            "involvedObject": {"kind": "Node", "name": ""},
            "eventTime": "2024-05-01T11:58:00.000000Z",
            "reportingComponent": "scheduler", "reportingInstance": "sched-1",
            "message": "hi",
        });
        let c = cells(&ev, now());
        assert_eq!(c[0], json!("2m"));
        assert_eq!(c[3], json!("node"));
        assert_eq!(c[5], json!("scheduler, sched-1"));
        assert_eq!(c[7], json!("2m"));
        assert_eq!(c[8], json!(1));

        let series = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "s.1"},
            "regarding": {"kind": "Deployment", "name": "web"},
            "note": "scaled", "reportingController": "deployment-controller",
            "eventTime": "2024-05-01T10:00:00.000000Z",
            "series": {"count": 4, "lastObservedTime": "2024-05-01T11:59:50.500000Z"},
        });
        let c = cells(&series, now());
        assert_eq!(c[0], json!("9s"));
        assert_eq!(c[3], json!("deployment/web"));
        assert_eq!(c[5], json!("deployment-controller"));
        assert_eq!(c[6], json!("scaled"));
        assert_eq!(c[7], json!("120m"));
        assert_eq!(c[8], json!(4));

        let unknown = cells(&json!({"metadata": {"name": "x"}}), now());
        assert_eq!(unknown[0], json!("<unknown>"));
        assert_eq!(unknown[7], json!("<unknown>"));
    }
}

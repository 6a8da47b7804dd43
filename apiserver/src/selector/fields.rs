//! The fields each kind can be selected by, beyond `metadata.name` and
//! `metadata.namespace` (which every kind supports).
//!
//! The lists are upstream v1.33's: the field labels each group-version's field label
//! conversion function accepts, valued as the registry's `GetAttrs` (`ToSelectableFields`)
//! renders them. Objects are read in their stored JSON form (core/v1 for both Event APIs).
//! A missing string is `""`, a missing boolean `"false"` and a missing integer `"0"`, as
//! upstream's zero values print.

use serde_json::Value;

/// One selectable field and how to read it from an object (as a string; missing → "").
#[derive(Debug)]
pub struct FieldDef {
    /// The field label (`spec.nodeName`).
    pub name: &'static str,
    /// Reads its value.
    pub get: fn(&Value) -> String,
}

const fn def(name: &'static str, get: fn(&Value) -> String) -> FieldDef {
    FieldDef { name, get }
}

/// Kinds with only the metadata fields.
pub static NONE: &[FieldDef] = &[];

/// Pods (`pkg/registry/core/pod/strategy.go` `ToSelectableFields`).
pub static POD: &[FieldDef] = &[
    def("spec.nodeName", pod_node_name),
    def("spec.restartPolicy", |o| text(o, "/spec/restartPolicy")),
    def("spec.schedulerName", |o| text(o, "/spec/schedulerName")),
    def("spec.serviceAccountName", pod_service_account),
    def("spec.hostNetwork", |o| boolean(o, "/spec/hostNetwork")),
    def("status.phase", |o| text(o, "/status/phase")),
    def("status.podIP", pod_ip),
    def("status.nominatedNodeName", |o| {
        text(o, "/status/nominatedNodeName")
    }),
    // Accepted by the v1 conversion func but never in the field set: always "".
    def("status.podIPs", |_| String::new()),
    // Old clients' name for spec.nodeName, which the v1 conversion func renames.
    def("spec.host", pod_node_name),
];

/// core/v1 Events (`pkg/registry/core/event/strategy.go`).
pub static EVENT: &[FieldDef] = &[
    def("involvedObject.kind", |o| text(o, "/involvedObject/kind")),
    def("involvedObject.namespace", |o| {
        text(o, "/involvedObject/namespace")
    }),
    def("involvedObject.name", |o| text(o, "/involvedObject/name")),
    def("involvedObject.uid", |o| text(o, "/involvedObject/uid")),
    def("involvedObject.apiVersion", |o| {
        text(o, "/involvedObject/apiVersion")
    }),
    def("involvedObject.resourceVersion", |o| {
        text(o, "/involvedObject/resourceVersion")
    }),
    def("involvedObject.fieldPath", |o| {
        text(o, "/involvedObject/fieldPath")
    }),
    def("reason", |o| text(o, "/reason")),
    def("reportingComponent", |o| text(o, "/reportingComponent")),
    def("source", event_source),
    def("type", |o| text(o, "/type")),
];

/// events.k8s.io/v1 Events: that API's spellings (`pkg/apis/events/v1/conversion.go`),
/// which upstream maps onto the core field set, so they read the stored core/v1 form.
pub static EVENTS_K8S_IO: &[FieldDef] = &[
    def("regarding.kind", |o| text(o, "/involvedObject/kind")),
    def("regarding.namespace", |o| {
        text(o, "/involvedObject/namespace")
    }),
    def("regarding.name", |o| text(o, "/involvedObject/name")),
    def("regarding.uid", |o| text(o, "/involvedObject/uid")),
    def("regarding.apiVersion", |o| {
        text(o, "/involvedObject/apiVersion")
    }),
    def("regarding.resourceVersion", |o| {
        text(o, "/involvedObject/resourceVersion")
    }),
    def("regarding.fieldPath", |o| {
        text(o, "/involvedObject/fieldPath")
    }),
    def("reason", |o| text(o, "/reason")),
    def("reportingController", |o| text(o, "/reportingComponent")),
    def("source", event_source),
    def("type", |o| text(o, "/type")),
];

/// Secrets.
pub static SECRET: &[FieldDef] = &[def("type", |o| text(o, "/type"))];

/// Namespaces.
pub static NAMESPACE: &[FieldDef] = &[def("status.phase", |o| text(o, "/status/phase"))];

/// Nodes.
pub static NODE: &[FieldDef] = &[def("spec.unschedulable", |o| {
    boolean(o, "/spec/unschedulable")
})];

/// ReplicaSets. Upstream's registry renders this field, but apps/v1 registers no field
/// label conversion for it, so a real v1.33 server rejects it (kubernetes#135136).
pub static REPLICA_SET: &[FieldDef] = &[def("status.replicas", |o| integer(o, "/status/replicas"))];

/// Services (`pkg/registry/core/service/strategy.go` `SelectableFields`).
pub static SERVICE: &[FieldDef] = &[
    def("spec.clusterIP", |o| text(o, "/spec/clusterIP")),
    def("spec.type", |o| text(o, "/spec/type")),
];

/// The string at `pointer`, or "" when missing or not a string.
fn text(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The boolean at `pointer` as Go prints it; missing is `false`.
fn boolean(obj: &Value, pointer: &str) -> String {
    let value = obj
        .pointer(pointer)
        .and_then(Value::as_bool)
        .unwrap_or(false);
    value.to_string()
}

/// The integer at `pointer` in decimal; missing is `0`.
fn integer(obj: &Value, pointer: &str) -> String {
    let value = obj.pointer(pointer);
    match value.and_then(Value::as_i64) {
        Some(n) => n.to_string(),
        None => value.and_then(Value::as_u64).unwrap_or(0).to_string(),
    }
}

fn pod_node_name(obj: &Value) -> String {
    text(obj, "/spec/nodeName")
}

/// `serviceAccountName`, or the deprecated `serviceAccount` when that is empty, as the v1
/// conversion fills the internal field.
fn pod_service_account(obj: &Value) -> String {
    let name = text(obj, "/spec/serviceAccountName");
    if name.is_empty() {
        text(obj, "/spec/serviceAccount")
    } else {
        name
    }
}

/// The primary pod IP: `podIP` when set (the v1 conversion makes it authoritative), else
/// the first of `podIPs`.
fn pod_ip(obj: &Value) -> String {
    let ip = text(obj, "/status/podIP");
    if ip.is_empty() {
        text(obj, "/status/podIPs/0/ip")
    } else {
        ip
    }
}

/// `source.component`, falling back to `reportingComponent` for Events written through
/// events.k8s.io (which have no source).
fn event_source(obj: &Value) -> String {
    let component = text(obj, "/source/component");
    if component.is_empty() {
        text(obj, "/reportingComponent")
    } else {
        component
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn value(defs: &[FieldDef], obj: &Value, name: &str) -> String {
        let found = defs.iter().find(|d| d.name == name);
        let def = found.unwrap_or_else(|| panic!("no field {name}"));
        (def.get)(obj)
    }

    #[test]
    fn every_list_has_unique_names_and_no_metadata_fields() {
        let lists = [
            NONE,
            POD,
            EVENT,
            EVENTS_K8S_IO,
            SECRET,
            NAMESPACE,
            NODE,
            REPLICA_SET,
            SERVICE,
        ];
        for defs in lists {
            for (i, d) in defs.iter().enumerate() {
                assert!(!d.name.starts_with("metadata."), "{}", d.name);
                assert!(defs[i + 1..].iter().all(|o| o.name != d.name), "{}", d.name);
            }
        }
    }

    #[test]
    fn pod_fields_render_as_upstream() {
        let pod = json!({
            "spec": {"nodeName": "n1", "restartPolicy": "Never", "schedulerName": "s",
                     "serviceAccount": "legacy", "hostNetwork": true},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.2"}, {"ip": "fd00::2"}],
                       "nominatedNodeName": "n2"},
        });
        let empty = json!({});
        let cases = [
            (&pod, "spec.nodeName", "n1"),
            (&pod, "spec.host", "n1"),
            (&pod, "spec.restartPolicy", "Never"),
            (&pod, "spec.schedulerName", "s"),
            (&pod, "spec.serviceAccountName", "legacy"),
            (&pod, "spec.hostNetwork", "true"),
            (&pod, "status.phase", "Running"),
            (&pod, "status.podIP", "10.0.0.2"),
            (&pod, "status.podIPs", ""),
            (&pod, "status.nominatedNodeName", "n2"),
            (&empty, "spec.nodeName", ""),
            (&empty, "spec.hostNetwork", "false"),
            (&empty, "status.podIP", ""),
        ];
        for (obj, name, want) in cases {
            assert_eq!(value(POD, obj, name), want, "{name}");
        }
        let both = json!({"spec": {"serviceAccountName": "new", "serviceAccount": "old"},
                          "status": {"podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.2"}]}});
        assert_eq!(value(POD, &both, "spec.serviceAccountName"), "new");
        assert_eq!(value(POD, &both, "status.podIP"), "10.0.0.9");
    }

    #[test]
    fn event_fields_read_the_core_form_under_both_spellings() {
        let event = json!({
            "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "p", "uid": "u",
                               "apiVersion": "v1", "resourceVersion": "7",
                               "fieldPath": "spec.containers{c}"},
            "reason": "Started", "type": "Normal", "reportingComponent": "kubelet",
        });
        let pairs = [
            ("involvedObject.kind", "regarding.kind", "Pod"),
            ("involvedObject.namespace", "regarding.namespace", "ns"),
            ("involvedObject.name", "regarding.name", "p"),
            ("involvedObject.uid", "regarding.uid", "u"),
            ("involvedObject.apiVersion", "regarding.apiVersion", "v1"),
            (
                "involvedObject.resourceVersion",
                "regarding.resourceVersion",
                "7",
            ),
            (
                "involvedObject.fieldPath",
                "regarding.fieldPath",
                "spec.containers{c}",
            ),
            ("reportingComponent", "reportingController", "kubelet"),
            ("reason", "reason", "Started"),
            ("type", "type", "Normal"),
            // No source.component: falls back to the reporting controller.
            ("source", "source", "kubelet"),
        ];
        for (core, events, want) in pairs {
            assert_eq!(value(EVENT, &event, core), want, "{core}");
            assert_eq!(value(EVENTS_K8S_IO, &event, events), want, "{events}");
        }
        let sourced = json!({"source": {"component": "scheduler"}, "reportingComponent": "x"});
        assert_eq!(value(EVENT, &sourced, "source"), "scheduler");
    }

    #[test]
    fn other_kinds_render_as_upstream() {
        let cases = [
            (SECRET, json!({"type": "Opaque"}), "type", "Opaque"),
            (
                NAMESPACE,
                json!({"status": {"phase": "Terminating"}}),
                "status.phase",
                "Terminating",
            ),
            (
                NODE,
                json!({"spec": {"unschedulable": true}}),
                "spec.unschedulable",
                "true",
            ),
            (NODE, json!({"spec": {}}), "spec.unschedulable", "false"),
            (
                REPLICA_SET,
                json!({"status": {"replicas": 3}}),
                "status.replicas",
                "3",
            ),
            (REPLICA_SET, json!({}), "status.replicas", "0"),
            (
                SERVICE,
                json!({"spec": {"clusterIP": "None"}}),
                "spec.clusterIP",
                "None",
            ),
            (
                SERVICE,
                json!({"spec": {"type": "NodePort"}}),
                "spec.type",
                "NodePort",
            ),
        ];
        for (defs, obj, name, want) in cases {
            assert_eq!(value(defs, &obj, name), want, "{name} of {obj}");
        }
    }
}

//! The fields each kind can be selected by, beyond `metadata.name` and
//! `metadata.namespace` (which every kind supports).
//!
//! The lists are upstream v1.33's: the field labels each group-version's field label
//! conversion function accepts, valued as the registry's `GetAttrs` (`ToSelectableFields`)
//! renders them. Objects are read in their stored JSON form (core/v1 for both Event APIs).
//! A missing string is `""`, a missing boolean `"false"` and a missing integer `"0"`, as
//! upstream's zero values print.

use crate::pointer::At;
use serde_json::Value;

/// One selectable field and where its value is read from in the stored object.
#[derive(Debug)]
pub struct FieldDef {
    /// The field label (`spec.nodeName`).
    pub name: &'static str,
    /// How its value is read.
    pub read: Read,
}

/// How a field's value is read from an object, as a JSON pointer into its stored form.
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// The string at the pointer; missing (or not a string) is `""`.
    Text(&'static str),
    /// The first non-empty string among the pointers (a field with a fallback).
    FirstText(&'static [&'static str]),
    /// The boolean at the pointer as Go prints it; missing is `false`.
    Bool(&'static str),
    /// The integer at the pointer in decimal; missing is `0`.
    Int(&'static str),
    /// Always `""` (accepted by upstream's conversion but never in the field set).
    Empty,
}

impl FieldDef {
    /// The field's value in `obj`, as upstream's selectable-field set renders it.
    pub fn get(&self, obj: &Value) -> String {
        match self.read {
            Read::Text(pointer) => text(obj, pointer),
            Read::FirstText(pointers) => pointers
                .iter()
                .map(|p| text(obj, p))
                .find(|s| !s.is_empty())
                .unwrap_or_default(),
            Read::Bool(pointer) => boolean(obj, pointer),
            Read::Int(pointer) => integer(obj, pointer),
            Read::Empty => String::new(),
        }
    }

    /// The JSON pointers the value is read from (the cache parses only these).
    pub fn pointers(&self) -> &[&'static str] {
        match &self.read {
            Read::Text(p) | Read::Bool(p) | Read::Int(p) => std::slice::from_ref(p),
            Read::FirstText(pointers) => pointers,
            Read::Empty => &[],
        }
    }
}

const fn def(name: &'static str, read: Read) -> FieldDef {
    FieldDef { name, read }
}

/// Kinds with only the metadata fields.
pub static NONE: &[FieldDef] = &[];

const POD_NODE_NAME: Read = Read::Text("/spec/nodeName");

/// Pods (`pkg/registry/core/pod/strategy.go` `ToSelectableFields`).
pub static POD: &[FieldDef] = &[
    def("spec.nodeName", POD_NODE_NAME),
    def("spec.restartPolicy", Read::Text("/spec/restartPolicy")),
    def("spec.schedulerName", Read::Text("/spec/schedulerName")),
    // `serviceAccountName`, or the deprecated `serviceAccount` when that is empty, as the
    // v1 conversion fills the internal field.
    def(
        "spec.serviceAccountName",
        Read::FirstText(&["/spec/serviceAccountName", "/spec/serviceAccount"]),
    ),
    def("spec.hostNetwork", Read::Bool("/spec/hostNetwork")),
    def("status.phase", Read::Text("/status/phase")),
    // The primary pod IP: `podIP` when set (the v1 conversion makes it authoritative),
    // else the first of `podIPs`.
    def(
        "status.podIP",
        Read::FirstText(&["/status/podIP", "/status/podIPs/0/ip"]),
    ),
    def(
        "status.nominatedNodeName",
        Read::Text("/status/nominatedNodeName"),
    ),
    // Accepted by the v1 conversion func but never in the field set: always "".
    def("status.podIPs", Read::Empty),
    // Old clients' name for spec.nodeName, which the v1 conversion func renames.
    def("spec.host", POD_NODE_NAME),
];

/// Where each Event field is read in the stored core/v1 form, in the order of
/// [`EVENT_NAMES`] and [`EVENTS_K8S_IO_NAMES`].
const EVENT_READS: [Read; 11] = [
    Read::Text("/involvedObject/kind"),
    Read::Text("/involvedObject/namespace"),
    Read::Text("/involvedObject/name"),
    Read::Text("/involvedObject/uid"),
    Read::Text("/involvedObject/apiVersion"),
    Read::Text("/involvedObject/resourceVersion"),
    Read::Text("/involvedObject/fieldPath"),
    Read::Text("/reason"),
    Read::Text("/reportingComponent"),
    // `source.component`, falling back to `reportingComponent` for Events written
    // through events.k8s.io (which have no source).
    Read::FirstText(&["/source/component", "/reportingComponent"]),
    Read::Text("/type"),
];

/// core/v1 Events' field labels (`pkg/registry/core/event/strategy.go`).
const EVENT_NAMES: [&str; 11] = [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// events.k8s.io/v1's spellings of the same fields (`pkg/apis/events/v1/conversion.go`),
/// which upstream maps onto the core field set.
const EVENTS_K8S_IO_NAMES: [&str; 11] = [
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "source",
    "type",
];

/// The Event fields under `names`.
const fn event_fields(names: [&'static str; 11]) -> [FieldDef; 11] {
    let mut out = [const { def("", Read::Empty) }; 11];
    let mut i = 0;
    while i < out.len() {
        out[i] = def(names[i], EVENT_READS[i]);
        i += 1;
    }
    out
}

/// core/v1 Events.
pub static EVENT: &[FieldDef] = &event_fields(EVENT_NAMES);

/// events.k8s.io/v1 Events: both read the stored core/v1 form.
pub static EVENTS_K8S_IO: &[FieldDef] = &event_fields(EVENTS_K8S_IO_NAMES);

/// Secrets.
pub static SECRET: &[FieldDef] = &[def("type", Read::Text("/type"))];

/// Namespaces.
pub static NAMESPACE: &[FieldDef] = &[def("status.phase", Read::Text("/status/phase"))];

/// Nodes.
pub static NODE: &[FieldDef] = &[def("spec.unschedulable", Read::Bool("/spec/unschedulable"))];

/// ReplicaSets. Upstream's registry renders this field, but apps/v1 registers no field
/// label conversion for it, so a real v1.33 server rejects it (kubernetes#135136).
pub static REPLICA_SET: &[FieldDef] = &[def("status.replicas", Read::Int("/status/replicas"))];

/// Services (`pkg/registry/core/service/strategy.go` `SelectableFields`).
pub static SERVICE: &[FieldDef] = &[
    def("spec.clusterIP", Read::Text("/spec/clusterIP")),
    def("spec.type", Read::Text("/spec/type")),
];

fn text(obj: &Value, pointer: &str) -> String {
    obj.at(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn boolean(obj: &Value, pointer: &str) -> String {
    let value = obj.at(pointer).and_then(Value::as_bool).unwrap_or(false);
    value.to_string()
}

fn integer(obj: &Value, pointer: &str) -> String {
    let value = obj.at(pointer);
    match value.and_then(Value::as_i64) {
        Some(n) => n.to_string(),
        None => value.and_then(Value::as_u64).unwrap_or(0).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn value(defs: &[FieldDef], obj: &Value, name: &str) -> String {
        let found = defs.iter().find(|d| d.name == name);
        let def = found.unwrap_or_else(|| panic!("no field {name}"));
        def.get(obj)
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

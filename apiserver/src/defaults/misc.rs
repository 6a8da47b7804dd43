//! Secrets, Namespaces, Nodes, Endpoints, EndpointSlices, PriorityClasses, Events and
//! Leases.

use serde_json::{Value, json};

use super::{default_ptr, default_str, items, root_field, struct_field};
use crate::object;

/// A Secret without a type is `Opaque`.
pub(super) fn secret(obj: &mut Value) {
    if let Some(s) = obj.as_object_mut() {
        default_str(s, "type", "Opaque");
    }
}

/// A named Namespace carries its name as the `kubernetes.io/metadata.name` label (always
/// set, as upstream does); its phase is Active until deleted.
pub(super) fn namespace(obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    let name = object::name(obj).to_owned();
    if !name.is_empty() {
        let meta = object::metadata_mut(obj);
        let labels = meta.entry("labels").or_insert(json!({}));
        if labels.is_null() {
            *labels = json!({});
        }
        if let Some(labels) = labels.as_object_mut() {
            labels.insert("kubernetes.io/metadata.name".into(), name.into());
        }
    }
    if let Some(status) = root_field(obj, "status") {
        default_str(status, "phase", "Active");
    }
}

/// The fields of a node's system info, plain Go strings that always show.
const NODE_INFO_FIELDS: [&str; 10] = [
    "machineID",
    "systemUUID",
    "bootID",
    "kernelVersion",
    "osImage",
    "containerRuntimeVersion",
    "kubeletVersion",
    "kubeProxyVersion",
    "operatingSystem",
    "architecture",
];

/// A Node that reports capacity but no allocatable can allocate all of it. Its spec, the
/// kubelet endpoint (`Port: 0`) and the system info (empty strings) are Go structs, so
/// they always show.
pub(super) fn node(obj: &mut Value) {
    root_field(obj, "spec");
    let Some(status) = root_field(obj, "status") else {
        return;
    };
    if let Some(capacity) = status.get("capacity").filter(|c| c.is_object()).cloned() {
        default_ptr(status, "allocatable", capacity);
    }
    if let Some(endpoint) =
        struct_field(status, "daemonEndpoints").and_then(|d| struct_field(d, "kubeletEndpoint"))
    {
        default_ptr(endpoint, "Port", 0);
    }
    if let Some(info) = struct_field(status, "nodeInfo") {
        for key in NODE_INFO_FIELDS {
            default_ptr(info, key, "");
        }
    }
}

/// An Event: its `source` is a Go struct and the reporting component and instance plain
/// strings, so they always show.
pub(super) fn event(obj: &mut Value) {
    let Some(e) = obj.as_object_mut() else {
        return;
    };
    struct_field(e, "source");
    default_ptr(e, "reportingComponent", "");
    default_ptr(e, "reportingInstance", "");
}

/// A Lease: its spec is a Go struct, so it always shows.
pub(super) fn lease(obj: &mut Value) {
    root_field(obj, "spec");
}

/// Endpoints ports are TCP unless said otherwise.
pub(super) fn endpoints(obj: &mut Value) {
    let Some(e) = obj.as_object_mut() else {
        return;
    };
    for subset in items(e, "subsets") {
        for p in items(subset, "ports") {
            default_str(p, "protocol", "TCP");
        }
    }
}

/// EndpointSlice ports: name "" and TCP when not given. An endpoint's `conditions` is a
/// Go struct, so it always shows.
pub(super) fn endpoint_slice(obj: &mut Value) {
    let Some(e) = obj.as_object_mut() else {
        return;
    };
    for endpoint in items(e, "endpoints") {
        struct_field(endpoint, "conditions");
    }
    for p in items(e, "ports") {
        default_ptr(p, "name", "");
        default_ptr(p, "protocol", "TCP");
    }
}

/// A PriorityClass preempts lower priorities unless told not to.
pub(super) fn priority_class(obj: &mut Value) {
    if let Some(pc) = obj.as_object_mut() {
        default_ptr(pc, "preemptionPolicy", "PreemptLowerPriority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        let mut s = json!({"data": {}});
        secret(&mut s);
        assert_eq!(s["type"], "Opaque");
        let mut s = json!({"type": "kubernetes.io/tls"});
        secret(&mut s);
        assert_eq!(s["type"], "kubernetes.io/tls");
    }

    #[test]
    fn namespaces() {
        let mut ns = json!({"metadata": {"name": "team", "labels": {"a": "b",
            "kubernetes.io/metadata.name": "other"}}});
        namespace(&mut ns);
        let want = json!({
            "metadata": {"name": "team", "labels": {"a": "b", "kubernetes.io/metadata.name": "team"}},
            "status": {"phase": "Active"},
        });
        assert_eq!(ns, want);
        namespace(&mut ns);
        assert_eq!(ns, want, "idempotent");

        let mut ns =
            json!({"metadata": {"generateName": "t-"}, "status": {"phase": "Terminating"}});
        namespace(&mut ns);
        assert!(ns["metadata"].get("labels").is_none());
        assert_eq!(ns["status"]["phase"], "Terminating");
    }

    #[test]
    fn nodes() {
        let mut n = json!({"status": {"capacity": {"cpu": "4", "pods": "110"}}});
        node(&mut n);
        assert_eq!(
            n["status"]["allocatable"],
            json!({"cpu": "4", "pods": "110"})
        );
        let mut n = json!({"status": {"capacity": {"cpu": "4"}, "allocatable": {"cpu": "3"}}});
        node(&mut n);
        assert_eq!(n["status"]["allocatable"], json!({"cpu": "3"}));

        let mut n = json!({"metadata": {"name": "n"}});
        node(&mut n);
        let want = json!({
            "metadata": {"name": "n"},
            "spec": {},
            "status": {
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
                "nodeInfo": {
                    "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "",
                    "osImage": "", "containerRuntimeVersion": "", "kubeletVersion": "",
                    "kubeProxyVersion": "", "operatingSystem": "", "architecture": "",
                },
            },
        });
        assert_eq!(n, want);
        node(&mut n);
        assert_eq!(n, want, "idempotent");

        let mut n = json!({"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"kubeletVersion": "v1.33.0", "architecture": "arm64"}}});
        node(&mut n);
        assert_eq!(
            n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"],
            10250
        );
        assert_eq!(n["status"]["nodeInfo"]["kubeletVersion"], "v1.33.0");
        assert_eq!(n["status"]["nodeInfo"]["architecture"], "arm64");
        assert_eq!(n["status"]["nodeInfo"]["osImage"], "");
    }

    #[test]
    fn events_and_leases() {
        let mut e = json!({"reason": "R"});
        event(&mut e);
        assert_eq!(
            e,
            json!({"reason": "R", "source": {}, "reportingComponent": "", "reportingInstance": ""})
        );
        let given = json!({"source": {"component": "kubelet"}, "reportingComponent": "kubelet",
            "reportingInstance": "node-1"});
        let mut e = given.clone();
        event(&mut e);
        assert_eq!(e, given);

        let mut l = json!({"metadata": {"name": "l"}});
        lease(&mut l);
        assert_eq!(l, json!({"metadata": {"name": "l"}, "spec": {}}));
        let mut l = json!({"spec": {"holderIdentity": "me"}});
        lease(&mut l);
        assert_eq!(l, json!({"spec": {"holderIdentity": "me"}}));
    }

    #[test]
    fn endpoint_ports() {
        let mut e =
            json!({"subsets": [{"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}]});
        endpoints(&mut e);
        assert_eq!(
            e["subsets"][0]["ports"],
            json!([{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}])
        );
        let mut s = json!({"addressType": "IPv4", "ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"], "conditions": {"ready": true}}]});
        endpoint_slice(&mut s);
        assert_eq!(
            s["endpoints"],
            json!([{"addresses": ["10.0.0.1"], "conditions": {}},
                {"addresses": ["10.0.0.2"], "conditions": {"ready": true}}])
        );
        assert_eq!(
            s["ports"],
            json!([{"name": "", "port": 80, "protocol": "TCP"}, {"name": "dns", "port": 53, "protocol": "UDP"}])
        );
    }

    #[test]
    fn priority_classes() {
        let mut pc = json!({"value": 10});
        priority_class(&mut pc);
        assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
        let mut pc = json!({"value": 10, "preemptionPolicy": "Never"});
        priority_class(&mut pc);
        assert_eq!(pc["preemptionPolicy"], "Never");
    }
}

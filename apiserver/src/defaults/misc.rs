//! Secrets, Namespaces, Nodes, Endpoints, EndpointSlices and PriorityClasses.

use serde_json::{Value, json};

use super::{default_ptr, default_str, items, root_field};
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

/// A Node that reports capacity but no allocatable can allocate all of it.
pub(super) fn node(obj: &mut Value) {
    let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(capacity) = status.get("capacity").filter(|c| c.is_object()).cloned() {
        default_ptr(status, "allocatable", capacity);
    }
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

/// EndpointSlice ports: name "" and TCP when not given.
pub(super) fn endpoint_slice(obj: &mut Value) {
    let Some(e) = obj.as_object_mut() else {
        return;
    };
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
        let mut n = json!({"spec": {}});
        node(&mut n);
        assert_eq!(n, json!({"spec": {}}));
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
        let mut s = json!({"addressType": "IPv4", "ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]});
        endpoint_slice(&mut s);
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

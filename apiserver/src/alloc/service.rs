//! What a Service (stored JSON form) holds and asks for, and the fix-ups upstream applies to
//! an update before allocating: fields that no longer apply after a type change are
//! dropped, and values allocated earlier are patched back in when the client left them out.

use std::net::IpAddr;

use crate::pointer::At;
use serde_json::{Map, Value};

type Obj = Map<String, Value>;

/// `spec.type` (ClusterIP when absent).
pub(crate) fn service_type(svc: &Value) -> &str {
    svc.at("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

/// Everything but ExternalName has a cluster IP (`None` counts).
pub(crate) fn needs_cluster_ip(svc: &Value) -> bool {
    service_type(svc) != "ExternalName"
}

/// NodePort and LoadBalancer Services have node ports.
pub(crate) fn needs_node_ports(svc: &Value) -> bool {
    matches!(service_type(svc), "NodePort" | "LoadBalancer")
}

/// Missing node ports are allocated, unless a LoadBalancer opts out with
/// `allocateLoadBalancerNodePorts: false`.
pub(crate) fn allocates_node_ports(svc: &Value) -> bool {
    match service_type(svc) {
        "NodePort" => true,
        "LoadBalancer" => {
            svc.at("/spec/allocateLoadBalancerNodePorts")
                .and_then(Value::as_bool)
                != Some(false)
        }
        _ => false,
    }
}

/// A LoadBalancer with `externalTrafficPolicy: Local` has a health check node port.
pub(crate) fn needs_health_check(svc: &Value) -> bool {
    service_type(svc) == "LoadBalancer"
        && svc
            .at("/spec/externalTrafficPolicy")
            .and_then(Value::as_str)
            == Some("Local")
}

/// The first cluster IP as written: `clusterIPs[0]`, else `clusterIP` ("" when unset).
pub(crate) fn first_cluster_ip(svc: &Value) -> &str {
    let from_list = svc
        .at("/spec/clusterIPs/0")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    from_list
        .or_else(|| svc.at("/spec/clusterIP").and_then(Value::as_str))
        .unwrap_or("")
}

/// The cluster IP a stored Service holds: its first one, when it has one that parses.
pub(crate) fn held_ip(svc: &Value) -> Option<IpAddr> {
    if !needs_cluster_ip(svc) {
        return None;
    }
    first_cluster_ip(svc).parse().ok()
}

/// `spec.ports[*].nodePort` (0 when unset), in order.
pub(crate) fn node_ports(svc: &Value) -> Vec<i64> {
    ports(svc)
        .iter()
        .map(|p| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0))
        .collect()
}

/// `spec.healthCheckNodePort` (0 when unset).
pub(crate) fn health_check_port(svc: &Value) -> i64 {
    svc.at("/spec/healthCheckNodePort")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Every node port a stored Service holds: the set ones of its ports and its health
/// check port.
pub(crate) fn held_ports(svc: &Value) -> Vec<i64> {
    let mut held: Vec<i64> = node_ports(svc).into_iter().filter(|p| *p != 0).collect();
    let hc = health_check_port(svc);
    if hc != 0 {
        held.push(hc);
    }
    held.sort_unstable();
    held.dedup();
    held
}

/// `spec.ports`, or nothing.
pub(crate) fn ports(svc: &Value) -> &[Value] {
    svc.at("/spec/ports")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn spec_mut(svc: &mut Value) -> Option<&mut Obj> {
    svc.get_mut("spec").and_then(Value::as_object_mut)
}

/// Create: a client that only sets `clusterIP` gets `clusterIPs` from it.
pub(crate) fn normalize_create(svc: &mut Value) {
    let single = svc
        .at("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let plural_empty = svc
        .at("/spec/clusterIPs")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if !single.is_empty()
        && plural_empty
        && let Some(spec) = spec_mut(svc)
    {
        spec.insert("clusterIPs".into(), Value::Array(vec![single.into()]));
    }
}

/// Update: upstream's fix-ups, in its order (type-dependent fields dropped, `clusterIPs`
/// kept in step with `clusterIP`, allocated values patched back in).
pub(crate) fn prepare_update(old: &Value, new: &mut Value) {
    drop_type_dependent(old, new);
    normalize_update(old, new);
    patch_allocated(old, new);
}

fn same(old: &Value, new: &Value, pointer: &str) -> bool {
    let norm = |v: Option<&Value>| match v {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Array(a)) if a.is_empty() => Value::Null,
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Value::Null,
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(v) => v.clone(),
    };
    norm(old.at(pointer)) == norm(new.at(pointer))
}

fn same_node_ports(old: &Value, new: &Value) -> bool {
    node_ports(old) == node_ports(new)
}

/// Fields a type change makes meaningless are cleared when the client left them as they
/// were (a changed value is the client's and is left for validation).
fn drop_type_dependent(old: &Value, new: &mut Value) {
    let mut clear: Vec<&str> = Vec::new();
    if needs_cluster_ip(old) && !needs_cluster_ip(new) {
        if same(old, new, "/spec/clusterIP") && same(old, new, "/spec/clusterIPs") {
            clear.extend(["clusterIP", "clusterIPs"]);
        }
        if same(old, new, "/spec/ipFamilies") {
            clear.push("ipFamilies");
        }
        if same(old, new, "/spec/ipFamilyPolicy") {
            clear.push("ipFamilyPolicy");
        }
    }
    let clear_node_ports =
        needs_node_ports(old) && !needs_node_ports(new) && same_node_ports(old, new);
    if needs_health_check(old)
        && !needs_health_check(new)
        && same(old, new, "/spec/healthCheckNodePort")
    {
        clear.push("healthCheckNodePort");
    }
    let leaves_lb = service_type(old) == "LoadBalancer" && service_type(new) != "LoadBalancer";
    if leaves_lb && same(old, new, "/spec/allocateLoadBalancerNodePorts") {
        clear.push("allocateLoadBalancerNodePorts");
    }
    if leaves_lb && same(old, new, "/spec/loadBalancerClass") {
        clear.push("loadBalancerClass");
    }
    if externally_accessible(old)
        && !externally_accessible(new)
        && same(old, new, "/spec/externalTrafficPolicy")
    {
        clear.push("externalTrafficPolicy");
    }
    let Some(spec) = spec_mut(new) else {
        return;
    };
    for field in clear {
        spec.remove(field);
    }
    if clear_node_ports && let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.remove("nodePort");
        }
    }
}

/// NodePort and LoadBalancer Services, and ClusterIP ones with external IPs.
fn externally_accessible(svc: &Value) -> bool {
    needs_node_ports(svc)
        || (service_type(svc) == "ClusterIP"
            && svc
                .at("/spec/externalIPs")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty()))
}

/// Keeps `clusterIPs` in step with `clusterIP` for clients that only know the latter.
fn normalize_update(old: &Value, new: &mut Value) {
    let old_single = old
        .at("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("");
    let new_single = new
        .at("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let old_plural = old.at("/spec/clusterIPs").cloned();
    let new_plural_empty = new
        .at("/spec/clusterIPs")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    let old_plural_set = old_plural
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let same_plural = same(old, new, "/spec/clusterIPs");
    let Some(spec) = spec_mut(new) else {
        return;
    };
    if old_plural_set && new_plural_empty && old_single == new_single {
        if let Some(p) = old_plural {
            spec.insert("clusterIPs".into(), p);
        }
        return;
    }
    if old_single != new_single && same_plural {
        if !old_single.is_empty() && new_single.is_empty() {
            spec.remove("clusterIPs");
        } else {
            spec.insert("clusterIPs".into(), Value::Array(vec![new_single.into()]));
        }
    }
}

/// Values allocated before and left out by the client come back: the cluster IP, node
/// ports by port name (unless another port now uses them), the health check port.
fn patch_allocated(old: &Value, new: &mut Value) {
    let copy_ip = needs_cluster_ip(old) && needs_cluster_ip(new);
    let copy_ports = needs_node_ports(old) && needs_node_ports(new);
    let copy_hc = needs_health_check(old) && needs_health_check(new);
    let old_ports: Vec<(String, i64)> = ports(old)
        .iter()
        .map(|p| {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            let np = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
            (name.to_owned(), np)
        })
        .collect();
    let new_used = node_ports(new);
    let kept: Vec<i64> = node_ports(old)
        .into_iter()
        .filter(|p| *p != 0 && new_used.contains(p))
        .collect();
    let old_hc = health_check_port(old);
    let old_single = old.at("/spec/clusterIP").cloned();
    let old_plural = old.at("/spec/clusterIPs").cloned();
    let Some(spec) = spec_mut(new) else {
        return;
    };
    if copy_ip {
        let unset = |v: Option<&Value>| match v {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if unset(spec.get("clusterIP"))
            && let Some(v) = old_single
        {
            spec.insert("clusterIP".into(), v);
        }
        if unset(spec.get("clusterIPs"))
            && let Some(v) = old_plural.filter(|v| !unset(Some(v)))
        {
            spec.insert("clusterIPs".into(), v);
        }
    }
    if copy_ports && let Some(list) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in list.iter_mut().filter_map(Value::as_object_mut) {
            if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                continue;
            }
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            let found = old_ports.iter().find(|(n, _)| n == name).map(|(_, np)| *np);
            if let Some(np) = found.filter(|np| *np != 0 && !kept.contains(np)) {
                p.insert("nodePort".into(), np.into());
            }
        }
    }
    if copy_hc
        && spec
            .get("healthCheckNodePort")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            == 0
        && old_hc != 0
    {
        spec.insert("healthCheckNodePort".into(), old_hc.into());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(spec: Value) -> Value {
        json!({"metadata": {"name": "s"}, "spec": spec})
    }

    #[test]
    fn what_a_service_holds() {
        let cases = [
            (
                json!({"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"]}),
                Some("10.96.0.5"),
                vec![],
            ),
            (json!({"clusterIP": "None"}), None, vec![]),
            (
                json!({"type": "ExternalName", "clusterIP": "10.96.0.5"}),
                None,
                vec![],
            ),
            (
                json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.9"], "healthCheckNodePort": 30001,
                       "ports": [{"nodePort": 30005}, {"nodePort": 30005}, {"port": 1}]}),
                Some("10.96.0.9"),
                vec![30001, 30005],
            ),
        ];
        for (spec, ip, ports) in cases {
            let s = svc(spec.clone());
            assert_eq!(held_ip(&s), ip.map(|i| i.parse().unwrap()), "{spec}");
            assert_eq!(held_ports(&s), ports, "{spec}");
        }
    }

    #[test]
    fn create_fills_cluster_ips_from_cluster_ip() {
        let mut s = svc(json!({"clusterIP": "10.96.0.7"}));
        normalize_create(&mut s);
        assert_eq!(s["spec"]["clusterIPs"], json!(["10.96.0.7"]));
        let mut s = svc(json!({}));
        normalize_create(&mut s);
        assert!(s["spec"].get("clusterIPs").is_none());
    }

    #[test]
    fn updates_are_prepared_as_upstream() {
        let node_port = json!({"type": "NodePort", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"],
            "externalTrafficPolicy": "Cluster",
            "ports": [{"name": "a", "port": 80, "nodePort": 30001}, {"name": "b", "port": 81, "nodePort": 30002}]});
        let cases = [
            (
                "client omits allocated values",
                node_port.clone(),
                json!({"type": "NodePort", "ports": [{"name": "b", "port": 81}, {"name": "a", "port": 80}]}),
                json!({"type": "NodePort", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"],
                    "ports": [{"name": "b", "port": 81, "nodePort": 30002}, {"name": "a", "port": 80, "nodePort": 30001}]}),
            ),
            (
                "a port already used elsewhere is not patched in",
                node_port.clone(),
                json!({"type": "NodePort", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"],
                    "ports": [{"name": "a", "port": 80}, {"name": "c", "port": 82, "nodePort": 30001}]}),
                json!({"type": "NodePort", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"],
                    "ports": [{"name": "a", "port": 80}, {"name": "c", "port": 82, "nodePort": 30001}]}),
            ),
            (
                "NodePort to ClusterIP drops unchanged node ports and the traffic policy",
                node_port.clone(),
                {
                    let mut n = node_port.clone();
                    n["type"] = json!("ClusterIP");
                    n
                },
                json!({"type": "ClusterIP", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"],
                    "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}),
            ),
            (
                "to ExternalName drops the cluster IP and families",
                json!({"type": "ClusterIP", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"],
                    "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"}),
                json!({"type": "ExternalName", "externalName": "x.example", "clusterIP": "10.96.0.7",
                    "clusterIPs": ["10.96.0.7"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"}),
                json!({"type": "ExternalName", "externalName": "x.example"}),
            ),
            (
                "an old client clearing clusterIP with unchanged clusterIPs clears both, then gets them back",
                json!({"clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"]}),
                json!({"clusterIP": "", "clusterIPs": ["10.96.0.7"]}),
                json!({"clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"]}),
            ),
        ];
        for (name, old, new, want) in cases {
            let old = svc(old);
            let mut new = svc(new);
            prepare_update(&old, &mut new);
            assert_eq!(new, svc(want), "{name}");
        }
    }

    #[test]
    fn types_and_their_needs() {
        let cases = [
            (json!({}), true, false, false, false),
            (json!({"type": "NodePort"}), true, true, true, false),
            (
                json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false}),
                true,
                true,
                false,
                false,
            ),
            (
                json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local"}),
                true,
                true,
                true,
                true,
            ),
            (json!({"type": "ExternalName"}), false, false, false, false),
        ];
        for (spec, ip, np, alloc, hc) in cases {
            let s = svc(spec.clone());
            assert_eq!(
                (
                    needs_cluster_ip(&s),
                    needs_node_ports(&s),
                    allocates_node_ports(&s),
                    needs_health_check(&s)
                ),
                (ip, np, alloc, hc),
                "{spec}"
            );
        }
    }
}

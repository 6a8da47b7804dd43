//! Services. Cluster IPs and node ports are allocated later (`crate::alloc`); what is
//! defaulted here is everything else, including the IP family fields upstream's service
//! REST storage infers for a single-stack cluster.

use std::net::IpAddr;

use serde_json::{Value, json};

use super::{Obj, default_ptr, default_str, field, items, root_field, str_of};

/// `sessionAffinityConfig.clientIP.timeoutSeconds` when not given (3 hours).
const CLIENT_IP_TIMEOUT_SECONDS: i64 = 10_800;

/// The family of a cluster without any configured otherwise (the default service CIDR is
/// IPv4).
const DEFAULT_FAMILY: &str = "IPv4";

pub(super) fn service(obj: &mut Value) {
    let Some(spec) = root_field(obj, "spec") else {
        return;
    };
    session_affinity(spec);
    default_str(spec, "type", "ClusterIP");
    for p in items(spec, "ports") {
        default_str(p, "protocol", "TCP");
        let unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(v) => v.as_i64() == Some(0) || v.as_str() == Some(""),
        };
        if unset {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            p.insert("targetPort".into(), port.into());
        }
    }
    let kind = str_of(spec, "type").to_owned();
    let external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally_accessible = matches!(kind.as_str(), "LoadBalancer" | "NodePort")
        || (kind == "ClusterIP" && external_ips);
    if externally_accessible {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(kind.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        default_ptr(spec, "internalTrafficPolicy", "Cluster");
    }
    if kind == "LoadBalancer" {
        default_ptr(spec, "allocateLoadBalancerNodePorts", true);
        load_balancer_ip_mode(obj);
    }
    if kind != "ExternalName"
        && let Some(spec) = root_field(obj, "spec")
    {
        ip_families(spec);
    }
}

/// `None` drops any affinity config; `ClientIP` without a timeout gets the 3 h one.
fn session_affinity(spec: &mut Obj) {
    default_str(spec, "sessionAffinity", "None");
    match str_of(spec, "sessionAffinity") {
        "None" => {
            spec.remove("sessionAffinityConfig");
        }
        "ClientIP" => {
            let has_timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.get("clientIP"))
                .and_then(|c| c.get("timeoutSeconds"))
                .is_some_and(|t| !t.is_null());
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": CLIENT_IP_TIMEOUT_SECONDS}}),
                );
            }
        }
        _ => {}
    }
}

/// Load balancer ingress points with an IP default to the `VIP` mode.
fn load_balancer_ip_mode(obj: &mut Value) {
    let Some(lb) = obj
        .get_mut("status")
        .and_then(Value::as_object_mut)
        .and_then(|s| field(s, "loadBalancer"))
    else {
        return;
    };
    for ingress in items(lb, "ingress") {
        if !str_of(ingress, "ip").is_empty() {
            default_ptr(ingress, "ipMode", "VIP");
        }
    }
}

/// `ipFamilyPolicy`: SingleStack when not given, except for a headless service without a
/// selector, which may front endpoints of either family: RequireDualStack. (Two IPs or
/// families under SingleStack are then refused by validation, as upstream does.)
/// `ipFamilies`: those of the given cluster IPs, else the cluster's family; a headless
/// selectorless service that is not SingleStack gets both families.
fn ip_families(spec: &mut Obj) {
    let ips: Vec<String> = match spec.get("clusterIPs").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => match str_of(spec, "clusterIP") {
            "" => Vec::new(),
            ip => vec![ip.to_owned()],
        },
    };
    let selectorless = spec
        .get("selector")
        .and_then(Value::as_object)
        .is_none_or(|s| s.is_empty());
    let headless_selectorless = ips.first().map(String::as_str) == Some("None") && selectorless;
    if headless_selectorless {
        default_ptr(spec, "ipFamilyPolicy", "RequireDualStack");
    } else {
        default_ptr(spec, "ipFamilyPolicy", "SingleStack");
    }
    let mut families: Vec<Value> = spec
        .get("ipFamilies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, ip) in ips.iter().enumerate() {
        if ip == "None" {
            break;
        }
        let Ok(addr) = ip.parse::<IpAddr>() else {
            break; // refused by validation
        };
        if i >= families.len() {
            let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
            families.push(family.into());
        }
    }
    if families.is_empty() {
        families.push(DEFAULT_FAMILY.into());
    }
    if headless_selectorless
        && families.len() == 1
        && str_of(spec, "ipFamilyPolicy") != "SingleStack"
    {
        let other = if families[0] == "IPv6" {
            "IPv4"
        } else {
            "IPv6"
        };
        families.push(other.into());
    }
    spec.insert("ipFamilies".into(), Value::Array(families));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(spec: Value) -> Value {
        let mut v = json!({"metadata": {"name": "s"}, "spec": spec});
        service(&mut v);
        let again = {
            let mut w = v.clone();
            service(&mut w);
            w
        };
        assert_eq!(again, v, "idempotent");
        v["spec"].take()
    }

    #[test]
    fn cluster_ip_service() {
        let got = defaulted(json!({"selector": {"app": "a"}, "ports": [{"port": 80}]}));
        assert_eq!(
            got,
            json!({
                "selector": {"app": "a"},
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                "type": "ClusterIP",
                "sessionAffinity": "None",
                "internalTrafficPolicy": "Cluster",
                "ipFamilyPolicy": "SingleStack",
                "ipFamilies": ["IPv4"],
            })
        );
    }

    #[test]
    fn ports() {
        let got = defaulted(json!({"ports": [
            {"port": 53, "protocol": "UDP", "targetPort": "dns"},
            {"port": 80, "targetPort": 0},
            {"port": 81, "targetPort": ""},
            {"port": 82, "targetPort": 8082},
        ]}));
        assert_eq!(
            got["ports"],
            json!([
                {"port": 53, "protocol": "UDP", "targetPort": "dns"},
                {"port": 80, "protocol": "TCP", "targetPort": 80},
                {"port": 81, "protocol": "TCP", "targetPort": 81},
                {"port": 82, "protocol": "TCP", "targetPort": 8082},
            ])
        );
    }

    #[test]
    fn traffic_policies_by_type() {
        // (type, externalIPs, externalTrafficPolicy, internalTrafficPolicy, allocateLBNodePorts)
        let cases = [
            ("NodePort", false, Some("Cluster"), Some("Cluster"), None),
            (
                "LoadBalancer",
                false,
                Some("Cluster"),
                Some("Cluster"),
                Some(true),
            ),
            ("ClusterIP", false, None, Some("Cluster"), None),
            ("ClusterIP", true, Some("Cluster"), Some("Cluster"), None),
            ("ExternalName", false, None, None, None),
        ];
        for (kind, external, etp, itp, alloc) in cases {
            let mut spec = json!({"type": kind, "ports": [{"port": 80}]});
            if external {
                spec["externalIPs"] = json!(["1.2.3.4"]);
            }
            let got = defaulted(spec);
            let name = format!("{kind} externalIPs={external}");
            assert_eq!(
                got.get("externalTrafficPolicy").and_then(Value::as_str),
                etp,
                "{name}"
            );
            assert_eq!(
                got.get("internalTrafficPolicy").and_then(Value::as_str),
                itp,
                "{name}"
            );
            assert_eq!(
                got.get("allocateLoadBalancerNodePorts")
                    .and_then(Value::as_bool),
                alloc,
                "{name}"
            );
        }
        let got = defaulted(json!({"type": "NodePort", "externalTrafficPolicy": "Local",
            "internalTrafficPolicy": "Local"}));
        assert_eq!(got["externalTrafficPolicy"], "Local");
        assert_eq!(got["internalTrafficPolicy"], "Local");
    }

    #[test]
    fn external_name_has_no_ip_fields() {
        let got = defaulted(json!({"type": "ExternalName", "externalName": "example.com"}));
        assert_eq!(
            got,
            json!({"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None"})
        );
    }

    #[test]
    fn session_affinity() {
        let got = defaulted(json!({"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}}));
        assert!(got.get("sessionAffinityConfig").is_none());
        let got = defaulted(json!({"sessionAffinity": "ClientIP"}));
        assert_eq!(
            got["sessionAffinityConfig"],
            json!({"clientIP": {"timeoutSeconds": 10800}})
        );
        let got = defaulted(json!({"sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}));
        assert_eq!(
            got["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
            60
        );
    }

    #[test]
    fn ip_families_follow_the_cluster_ips() {
        let cases = [
            (
                json!({"clusterIP": "None", "selector": {"app": "a"}}),
                "SingleStack",
                json!(["IPv4"]),
            ),
            // Headless without a selector: endpoints of either family.
            (
                json!({"clusterIP": "None"}),
                "RequireDualStack",
                json!(["IPv4", "IPv6"]),
            ),
            (
                json!({"clusterIPs": ["None"], "selector": {}}),
                "RequireDualStack",
                json!(["IPv4", "IPv6"]),
            ),
            (
                json!({"clusterIP": "None", "ipFamilies": ["IPv6"]}),
                "RequireDualStack",
                json!(["IPv6", "IPv4"]),
            ),
            (
                json!({"clusterIP": "None", "ipFamilyPolicy": "SingleStack"}),
                "SingleStack",
                json!(["IPv4"]),
            ),
            (
                json!({"clusterIP": "None", "ipFamilyPolicy": "PreferDualStack"}),
                "PreferDualStack",
                json!(["IPv4", "IPv6"]),
            ),
            (
                json!({"clusterIP": "10.96.0.20"}),
                "SingleStack",
                json!(["IPv4"]),
            ),
            (
                json!({"clusterIP": "fd00::20"}),
                "SingleStack",
                json!(["IPv6"]),
            ),
            // Two IPs or families need a dual-stack policy; validation says so.
            (
                json!({"clusterIPs": ["10.96.0.20", "fd00::20"]}),
                "SingleStack",
                json!(["IPv4", "IPv6"]),
            ),
            (
                json!({"ipFamilies": ["IPv6", "IPv4"]}),
                "SingleStack",
                json!(["IPv6", "IPv4"]),
            ),
            (
                json!({"clusterIPs": ["10.96.0.20", "fd00::20"], "ipFamilyPolicy": "RequireDualStack"}),
                "RequireDualStack",
                json!(["IPv4", "IPv6"]),
            ),
            (
                json!({"ipFamilies": ["IPv6"]}),
                "SingleStack",
                json!(["IPv6"]),
            ),
            (
                json!({"ipFamilyPolicy": "PreferDualStack"}),
                "PreferDualStack",
                json!(["IPv4"]),
            ),
        ];
        for (given, policy, families) in cases {
            let got = defaulted(given.clone());
            assert_eq!(got["ipFamilyPolicy"], policy, "{given}");
            assert_eq!(got["ipFamilies"], families, "{given}");
        }
    }

    #[test]
    fn load_balancer_ingress_ip_mode() {
        let mut v = json!({"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [
            {"ip": "1.2.3.4"}, {"hostname": "lb.example.com"}, {"ip": "1.2.3.5", "ipMode": "Proxy"},
        ]}}});
        service(&mut v);
        assert_eq!(
            v["status"]["loadBalancer"]["ingress"],
            json!([
                {"ip": "1.2.3.4", "ipMode": "VIP"},
                {"hostname": "lb.example.com"},
                {"ip": "1.2.3.5", "ipMode": "Proxy"},
            ])
        );
    }
}

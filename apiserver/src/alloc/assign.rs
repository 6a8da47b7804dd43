//! Deciding a Service's numbers inside one read of a range: what it asks for (computed
//! once per request), then taking it from a set (repeatable, because a compare-and-swap
//! that loses a race runs it again on a fresh read).

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::Value;

use super::range::{IpFamily, PortRange, ServiceCidr};
use super::service;
use super::set::{self, Allocated};
use crate::api::Cause;
use crate::pointer::At;

/// Why a Service cannot have what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// 422 with these causes.
    Invalid(Vec<Cause>),
    /// 500 with this message (upstream's internal errors: a full range, a taken health
    /// check port).
    Internal(String),
}

fn invalid(field: String, shown: &str, detail: &str) -> Failure {
    Failure::Invalid(vec![cause(field, shown, detail)])
}

fn cause(field: String, shown: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("Invalid value: {shown}: {detail}"),
        field,
    }
}

/// What a Service asks of the IP range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpWant {
    /// No cluster IP (ExternalName, headless, or an address validation will refuse).
    Nothing,
    /// The address it held before the update.
    Keep(IpAddr),
    /// A specific new address.
    Requested(IpAddr),
    /// Any free address.
    Any,
}

/// What `new` asks of the IP range, given what `old` held.
pub(crate) fn ip_want(old: Option<&Value>, new: &Value) -> IpWant {
    if !service::needs_cluster_ip(new) {
        return IpWant::Nothing;
    }
    match service::first_cluster_ip(new) {
        "" => IpWant::Any,
        "None" => IpWant::Nothing,
        text => match text.parse::<IpAddr>() {
            Ok(ip) if old.and_then(service::held_ip) == Some(ip) => IpWant::Keep(ip),
            Ok(ip) => IpWant::Requested(ip),
            Err(_) => IpWant::Nothing,
        },
    }
}

/// Takes what `want` asks from `set`; `shown` is `spec.clusterIPs` as Go prints it.
pub(crate) fn take_ip(
    set: &mut Allocated,
    cidr: &ServiceCidr,
    want: IpWant,
    shown: &str,
) -> Result<Option<IpAddr>, Failure> {
    match want {
        IpWant::Nothing => Ok(None),
        IpWant::Keep(ip) => {
            // Held already; marking it again heals a range that lost it.
            if let Ok(offset) = cidr.offset_of(ip) {
                set.allocate(offset);
            }
            Ok(Some(ip))
        }
        IpWant::Requested(ip) => {
            let taken = match cidr.offset_of(ip) {
                Err(_) => Err(format!(
                    "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {cidr}"
                )),
                Ok(offset) if !set.allocate(offset) => {
                    Err("provided IP is already allocated".to_owned())
                }
                Ok(_) => Ok(Some(ip)),
            };
            taken.map_err(|why| {
                invalid(
                    "spec.clusterIPs".into(),
                    shown,
                    &format!("failed to allocate IP {ip}: {why}"),
                )
            })
        }
        IpWant::Any => match set.allocate_next(set::random()) {
            Some(offset) => Ok(Some(cidr.ip_at(offset))),
            None => Err(Failure::Internal(
                "failed to allocate a serviceIP: range is full".into(),
            )),
        },
    }
}

/// What one node port (of a ServicePort, or the health check one) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortWant {
    /// Nothing.
    Skip,
    /// This number.
    Requested(i64),
    /// Any free port.
    Any,
    /// The port given to the ServicePort at this (earlier) index: same port number, other
    /// protocol.
    Share(usize),
}

/// What a Service asks of the node port range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortsWant {
    /// Per ServicePort.
    pub ports: Vec<PortWant>,
    /// The health check port.
    pub health_check: PortWant,
    /// What the Service held before the update.
    pub held: Vec<i64>,
}

/// What `new` asks of the node port range, given what `old` held.
pub(crate) fn ports_want(old: Option<&Value>, new: &Value) -> PortsWant {
    let numbers: Vec<i64> = service::ports(new)
        .iter()
        .map(|p| p.get("port").and_then(Value::as_i64).unwrap_or(0))
        .collect();
    let given = service::node_ports(new);
    let fill = service::allocates_node_ports(new);
    let mut ports = Vec::with_capacity(given.len());
    for (i, &node_port) in given.iter().enumerate() {
        let want = if node_port != 0 {
            PortWant::Requested(node_port)
        } else if !fill {
            PortWant::Skip
        } else if let Some(j) =
            (0..given.len()).find(|&j| numbers[j] == numbers[i] && given[j] != 0)
        {
            PortWant::Requested(given[j])
        } else if let Some(j) = (0..i).find(|&j| numbers[j] == numbers[i]) {
            PortWant::Share(j)
        } else {
            PortWant::Any
        };
        ports.push(want);
    }
    let hc = service::health_check_port(new);
    let health_check = if hc != 0 {
        PortWant::Requested(hc)
    } else if service::needs_health_check(new) {
        PortWant::Any
    } else {
        PortWant::Skip
    };
    PortsWant {
        ports,
        health_check,
        held: old.map(service::held_ports).unwrap_or_default(),
    }
}

/// The node ports decided: per ServicePort, and the health check one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortsTaken {
    /// Per ServicePort (None: no node port).
    pub ports: Vec<Option<i64>>,
    /// The health check port.
    pub health_check: Option<i64>,
}

/// Takes what `want` asks from `set`.
pub(crate) fn take_ports(
    set: &mut Allocated,
    range: &PortRange,
    want: &PortsWant,
) -> Result<PortsTaken, Failure> {
    let mut mine = BTreeSet::new();
    let mut claim = |set: &mut Allocated, port: i64| -> Result<(), String> {
        let offset = range.offset_of(port);
        if mine.contains(&port) {
            return Ok(());
        }
        if want.held.contains(&port) {
            if let Some(offset) = offset {
                set.allocate(offset);
            }
        } else {
            let Some(offset) = offset else {
                return Err(format!(
                    "provided port is not in the valid range. The range of valid ports is {range}"
                ));
            };
            if !set.allocate(offset) {
                return Err("provided port is already allocated".to_owned());
            }
        }
        mine.insert(port);
        Ok(())
    };
    let mut ports: Vec<Option<i64>> = Vec::with_capacity(want.ports.len());
    for (i, w) in want.ports.iter().enumerate() {
        let taken = match *w {
            PortWant::Skip => None,
            PortWant::Requested(p) => {
                claim(set, p).map_err(|why| {
                    invalid(format!("spec.ports[{i}].nodePort"), &p.to_string(), &why)
                })?;
                Some(p)
            }
            PortWant::Any => Some(next(set, range).ok_or_else(|| {
                Failure::Internal("failed to allocate a nodePort: range is full".into())
            })?),
            PortWant::Share(j) => ports.get(j).copied().flatten(),
        };
        ports.push(taken);
    }
    let health_check = match want.health_check {
        PortWant::Requested(p) => {
            claim(set, p).map_err(|why| {
                Failure::Internal(format!(
                    "failed to allocate requested HealthCheck NodePort {p}: {why}"
                ))
            })?;
            Some(p)
        }
        PortWant::Any | PortWant::Share(_) => Some(next(set, range).ok_or_else(|| {
            Failure::Internal("failed to allocate a HealthCheck NodePort 0: range is full".into())
        })?),
        PortWant::Skip => None,
    };
    Ok(PortsTaken {
        ports,
        health_check,
    })
}

fn next(set: &mut Allocated, range: &PortRange) -> Option<i64> {
    set.allocate_next(set::random())
        .map(|o| i64::from(range.port_at(o)))
}

/// The family checks upstream makes before allocating on a single-stack cluster, after
/// correcting the defaulted family when the cluster is IPv6.
pub(crate) fn check_families(svc: &mut Value, cidr: &ServiceCidr) -> Vec<Cause> {
    if !service::needs_cluster_ip(svc) {
        return Vec::new();
    }
    let first = service::first_cluster_ip(svc).to_owned();
    let cluster = cidr.family();
    if cluster == IpFamily::V6
        && first.parse::<std::net::Ipv4Addr>().is_err()
        && svc.at("/spec/ipFamilies") == Some(&serde_json::json!(["IPv4"]))
    {
        svc["spec"]["ipFamilies"] = serde_json::json!(["IPv6"]);
    }
    let selectorless = svc
        .at("/spec/selector")
        .and_then(Value::as_object)
        .is_none_or(|m| m.is_empty());
    if first == "None" && selectorless {
        return Vec::new();
    }
    let mut causes = Vec::new();
    if let Some(policy @ "RequireDualStack") =
        svc.at("/spec/ipFamilyPolicy").and_then(Value::as_str)
    {
        causes.push(cause(
            "spec.ipFamilyPolicy".into(),
            &format!("{policy:?}"),
            "this cluster is not configured for dual-stack services",
        ));
    }
    let families = svc
        .at("/spec/ipFamilies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, family) in families.iter().enumerate() {
        let name = family.as_str().unwrap_or("");
        if name != cluster.as_str() {
            causes.push(cause(
                format!("spec.ipFamilies[{i}]"),
                &format!("{name:?}"),
                "not configured on this cluster",
            ));
        }
    }
    causes
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(spec: Value) -> Value {
        json!({"metadata": {"name": "s"}, "spec": spec})
    }

    fn ports_set() -> (PortRange, Allocated) {
        let range: PortRange = "30000-30099".parse().unwrap();
        let set = Allocated::new(range.size(), range.static_band());
        (range, set)
    }

    #[test]
    fn ip_requests() {
        let cidr: ServiceCidr = "10.96.0.0/24".parse().unwrap();
        let mut set = Allocated::new(cidr.size(), cidr.static_band());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let shown = r#"[]string{"10.96.0.10"}"#;
        assert_eq!(
            take_ip(&mut set, &cidr, IpWant::Requested(ip("10.96.0.10")), shown),
            Ok(Some(ip("10.96.0.10")))
        );
        let Err(Failure::Invalid(c)) =
            take_ip(&mut set, &cidr, IpWant::Requested(ip("10.96.0.10")), shown)
        else {
            panic!("taken twice")
        };
        assert_eq!(c[0].field, "spec.clusterIPs");
        assert_eq!(
            c[0].message,
            r#"Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated"#
        );
        let Err(Failure::Invalid(c)) =
            take_ip(&mut set, &cidr, IpWant::Requested(ip("10.0.0.1")), "X")
        else {
            panic!("out of range")
        };
        assert_eq!(
            c[0].message,
            "Invalid value: X: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/24"
        );
        assert_eq!(
            take_ip(&mut set, &cidr, IpWant::Keep(ip("10.96.0.10")), shown),
            Ok(Some(ip("10.96.0.10")))
        );
        assert_eq!(take_ip(&mut set, &cidr, IpWant::Nothing, shown), Ok(None));
        let any = take_ip(&mut set, &cidr, IpWant::Any, shown)
            .unwrap()
            .unwrap();
        assert!(cidr.contains(any) && any != ip("10.96.0.10"));
    }

    #[test]
    fn ip_wants() {
        let old = svc(json!({"clusterIP": "10.96.0.3", "clusterIPs": ["10.96.0.3"]}));
        let cases = [
            (json!({}), None, IpWant::Any),
            (json!({"clusterIP": "None"}), None, IpWant::Nothing),
            (json!({"type": "ExternalName"}), None, IpWant::Nothing),
            (
                json!({"clusterIPs": ["10.96.0.3"]}),
                Some(&old),
                IpWant::Keep("10.96.0.3".parse().unwrap()),
            ),
            (
                json!({"clusterIP": "10.96.0.3"}),
                None,
                IpWant::Requested("10.96.0.3".parse().unwrap()),
            ),
            (json!({"clusterIP": "bogus"}), None, IpWant::Nothing),
        ];
        for (spec, old, want) in cases {
            assert_eq!(ip_want(old, &svc(spec.clone())), want, "{spec}");
        }
    }

    #[test]
    fn port_wants_share_by_port_number() {
        let cases = [
            (
                json!({"type": "NodePort", "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}, {"port": 80}]}),
                vec![PortWant::Any, PortWant::Share(0), PortWant::Any],
            ),
            (
                json!({"type": "NodePort", "ports": [{"port": 53}, {"port": 53, "nodePort": 30053}]}),
                vec![PortWant::Requested(30053), PortWant::Requested(30053)],
            ),
            (
                json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "ports": [{"port": 1}, {"port": 2, "nodePort": 30002}]}),
                vec![PortWant::Skip, PortWant::Requested(30002)],
            ),
            (json!({"ports": [{"port": 1}]}), vec![PortWant::Skip]),
        ];
        for (spec, want) in cases {
            assert_eq!(ports_want(None, &svc(spec.clone())).ports, want, "{spec}");
        }
        let lb =
            svc(json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local", "ports": []}));
        assert_eq!(ports_want(None, &lb).health_check, PortWant::Any);
    }

    #[test]
    fn taking_ports() {
        let (range, mut set) = ports_set();
        let want = ports_want(
            None,
            &svc(
                json!({"type": "NodePort", "ports": [{"port": 53, "nodePort": 30053}, {"port": 53}, {"port": 80}]}),
            ),
        );
        let taken = take_ports(&mut set, &range, &want).unwrap();
        assert_eq!(taken.ports[..2], [Some(30053), Some(30053)]);
        assert!(taken.ports[2].is_some_and(|p| (30000..30100).contains(&p) && p != 30053));
        assert_eq!(set.len(), 2);
        let again = take_ports(&mut set, &range, &want);
        assert_eq!(
            again,
            Err(Failure::Invalid(vec![Cause {
                reason: "FieldValueInvalid",
                message: "Invalid value: 30053: provided port is already allocated".into(),
                field: "spec.ports[0].nodePort".into(),
            }]))
        );
        // Held before the update: kept, not refused.
        let mut keep = want.clone();
        keep.held = vec![30053];
        keep.ports = vec![PortWant::Requested(30053)];
        assert!(take_ports(&mut set, &range, &keep).is_ok());
        let far = PortsWant {
            ports: vec![PortWant::Requested(80)],
            health_check: PortWant::Skip,
            held: vec![],
        };
        let Err(Failure::Invalid(c)) = take_ports(&mut set, &range, &far) else {
            panic!("out of range")
        };
        assert_eq!(
            c[0].message,
            "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-30099"
        );
        let hc = PortsWant {
            ports: vec![],
            health_check: PortWant::Requested(30053),
            held: vec![],
        };
        assert_eq!(
            take_ports(&mut set, &range, &hc),
            Err(Failure::Internal(
                "failed to allocate requested HealthCheck NodePort 30053: provided port is already allocated".into()
            ))
        );
    }

    #[test]
    fn a_full_range_is_an_internal_error() {
        let range: PortRange = "30000-30001".parse().unwrap();
        let mut set = Allocated::new(2, 0);
        set.allocate(0);
        set.allocate(1);
        let want = PortsWant {
            ports: vec![PortWant::Any],
            health_check: PortWant::Skip,
            held: vec![],
        };
        assert_eq!(
            take_ports(&mut set, &range, &want),
            Err(Failure::Internal(
                "failed to allocate a nodePort: range is full".into()
            ))
        );
    }

    #[test]
    fn family_checks() {
        let v4 = ServiceCidr::default();
        let v6: ServiceCidr = "fd00::/108".parse().unwrap();
        let mut s = svc(json!({"ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"}));
        assert!(check_families(&mut s, &v4).is_empty());
        assert!(check_families(&mut s, &v6).is_empty());
        assert_eq!(s["spec"]["ipFamilies"], json!(["IPv6"]));
        let mut s = svc(
            json!({"ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "RequireDualStack", "selector": {"a": "b"}}),
        );
        let causes = check_families(&mut s, &v4);
        let shown: Vec<_> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(
            shown,
            [
                r#"spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services"#,
                r#"spec.ipFamilies[1]: Invalid value: "IPv6": not configured on this cluster"#,
            ]
        );
        let mut headless = svc(
            json!({"clusterIP": "None", "ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "RequireDualStack"}),
        );
        assert!(check_families(&mut headless, &v4).is_empty());
    }
}

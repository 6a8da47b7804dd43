//! Host ports in use on a node and the NodePorts filter (upstream `HostPortInfo`).
//!
//! A port is keyed by host IP, protocol and number. An empty IP means `0.0.0.0` and an empty
//! protocol `TCP`. A wanted `0.0.0.0` port conflicts with the same protocol/port on any IP; a
//! wanted specific IP conflicts with that IP or `0.0.0.0`. Ports ≤ 0 are not host ports.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ContainerPort, Pod};

/// The wildcard host IP.
pub const BIND_ALL_HOST_IP: &str = "0.0.0.0";
/// The NodePorts filter's reason when a wanted port is taken.
pub const NODE_PORTS_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// One host port a container asks for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPort {
    /// The host IP, `0.0.0.0` when unset.
    pub ip: String,
    /// The protocol, `TCP` when unset.
    pub protocol: String,
    /// The host port number.
    pub port: i32,
}

impl HostPort {
    /// A host port with upstream's defaults for an empty IP or protocol.
    #[must_use]
    pub fn new(ip: &str, protocol: &str, port: i32) -> Self {
        Self {
            ip: if ip.is_empty() { BIND_ALL_HOST_IP } else { ip }.to_owned(),
            protocol: if protocol.is_empty() { "TCP" } else { protocol }.to_owned(),
            port,
        }
    }

    fn from_container_port(port: &ContainerPort) -> Option<Self> {
        let number = port.host_port.unwrap_or(0);
        (number > 0).then(|| {
            Self::new(
                port.host_ip.as_deref().unwrap_or(""),
                port.protocol.as_deref().unwrap_or(""),
                number,
            )
        })
    }
}

/// The host ports a pod's app containers ask for (init containers are not counted, as
/// upstream's NodePorts plugin does).
#[must_use]
pub fn pod_host_ports(pod: &Pod) -> Vec<HostPort> {
    pod.spec
        .iter()
        .flat_map(|spec| &spec.containers)
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(HostPort::from_container_port)
        .collect()
}

/// Host ports in use on one node: IP → (protocol, port).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPortInfo {
    by_ip: BTreeMap<String, BTreeSet<(String, i32)>>,
}

impl HostPortInfo {
    /// Marks a port as used.
    pub fn add(&mut self, port: &HostPort) {
        if port.port <= 0 {
            return;
        }
        self.by_ip
            .entry(port.ip.clone())
            .or_default()
            .insert((port.protocol.clone(), port.port));
    }

    /// Frees a port.
    pub fn remove(&mut self, port: &HostPort) {
        if let Some(set) = self.by_ip.get_mut(&port.ip) {
            set.remove(&(port.protocol.clone(), port.port));
            if set.is_empty() {
                self.by_ip.remove(&port.ip);
            }
        }
    }

    /// Number of (ip, protocol, port) entries in use.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_ip.values().map(BTreeSet::len).sum()
    }

    /// True when no port is used.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty()
    }

    /// Whether `port` clashes with a used port.
    #[must_use]
    pub fn conflicts(&self, port: &HostPort) -> bool {
        if port.port <= 0 {
            return false;
        }
        let key = (port.protocol.clone(), port.port);
        if port.ip == BIND_ALL_HOST_IP {
            return self.by_ip.values().any(|set| set.contains(&key));
        }
        [BIND_ALL_HOST_IP, port.ip.as_str()]
            .iter()
            .any(|ip| self.by_ip.get(*ip).is_some_and(|set| set.contains(&key)))
    }
}

/// The NodePorts filter: true when none of the wanted ports is taken.
#[must_use]
pub fn fits_ports(wanted: &[HostPort], used: &HostPortInfo) -> bool {
    !wanted.iter().any(|port| used.conflicts(port))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    /// (ip, protocol, port) triples.
    type Ports<'a> = &'a [(&'a str, &'a str, i32)];

    fn used(ports: Ports) -> HostPortInfo {
        let mut info = HostPortInfo::default();
        for (ip, protocol, port) in ports {
            info.add(&HostPort::new(ip, protocol, *port));
        }
        info
    }

    #[test]
    fn detects_conflicts_with_wildcard_rules() {
        // (case, used, wanted, fits)
        let cases: &[(&str, Ports, Ports, bool)] = &[
            ("nothing used", &[], &[("", "", 8080)], true),
            ("same port", &[("", "TCP", 8080)], &[("", "", 8080)], false),
            (
                "other protocol",
                &[("", "UDP", 8080)],
                &[("", "TCP", 8080)],
                true,
            ),
            (
                "other port",
                &[("", "TCP", 8080)],
                &[("", "TCP", 8081)],
                true,
            ),
            (
                "wildcard wanted vs specific used",
                &[("10.0.0.1", "TCP", 80)],
                &[("0.0.0.0", "TCP", 80)],
                false,
            ),
            (
                "specific wanted vs wildcard used",
                &[("0.0.0.0", "TCP", 80)],
                &[("10.0.0.1", "TCP", 80)],
                false,
            ),
            (
                "two specific IPs",
                &[("10.0.0.1", "TCP", 80)],
                &[("10.0.0.2", "TCP", 80)],
                true,
            ),
            (
                "same specific IP",
                &[("10.0.0.1", "UDP", 53)],
                &[("10.0.0.1", "UDP", 53)],
                false,
            ),
            (
                "port zero is never a host port",
                &[("", "", 0)],
                &[("", "", 0)],
                true,
            ),
            (
                "second wanted port clashes",
                &[("", "TCP", 443)],
                &[("", "TCP", 80), ("", "TCP", 443)],
                false,
            ),
        ];
        for (case, in_use, wanted, fits) in cases {
            let wanted: Vec<_> = wanted
                .iter()
                .map(|(ip, protocol, port)| HostPort::new(ip, protocol, *port))
                .collect();
            assert_eq!(fits_ports(&wanted, &used(in_use)), *fits, "{case}");
        }
    }

    #[test]
    fn add_and_remove_round_trip() {
        let mut info = used(&[("", "", 80), ("10.0.0.1", "UDP", 53)]);
        assert_eq!(info.len(), 2);
        info.remove(&HostPort::new("", "", 80));
        info.remove(&HostPort::new("10.0.0.1", "UDP", 53));
        assert!(info.is_empty());
    }

    #[test]
    fn reads_app_container_host_ports_only() {
        let port = |host: Option<i32>| ContainerPort {
            container_port: 80,
            host_port: host,
            ..Default::default()
        };
        let with_ports = |ports| Container {
            name: "c".to_owned(),
            ports: Some(ports),
            ..Default::default()
        };
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![with_ports(vec![
                    port(Some(8080)),
                    port(None),
                    port(Some(0)),
                ])],
                init_containers: Some(vec![with_ports(vec![port(Some(9090))])]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(pod_host_ports(&pod), vec![HostPort::new("", "", 8080)]);
    }
}

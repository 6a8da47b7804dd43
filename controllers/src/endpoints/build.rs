//! The Endpoints a Service should have: one address per backing pod and service port,
//! repacked into subsets as upstream's `RepackSubsets`, truncated to 1000 addresses.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::podutil;
use crate::service_pods::{self as sp, HEADLESS, LAST_CHANGE_TRIGGER_TIME};

/// Most addresses one Endpoints object holds.
pub const MAX_CAPACITY: usize = 1000;
/// Annotation set when addresses were left out.
pub const OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";

/// The address of `pod` for `svc`: its IP of the Service's (first) family.
fn address(svc: &Service, pod: &Pod) -> Option<EndpointAddress> {
    let spec = svc.spec.as_ref();
    let ips = sp::pod_ips(pod);
    let v6 = match spec
        .and_then(|s| s.ip_families.as_ref())
        .and_then(|f| f.first())
    {
        Some(family) => family == "IPv6",
        None => match spec.and_then(|s| s.cluster_ip.as_deref()) {
            Some(ip) if sp::is_ip_set(svc) => sp::is_ipv6(ip),
            _ => ips.first().is_some_and(|ip| sp::is_ipv6(ip)),
        },
    };
    let ip = ips.into_iter().find(|ip| sp::is_ipv6(ip) == v6)?;
    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    Some(EndpointAddress {
        ip: ip.to_owned(),
        node_name: node.filter(|n| !n.is_empty()),
        hostname: sp::should_set_hostname(pod, svc)
            .then(|| pod.spec.as_ref().and_then(|s| s.hostname.clone()))
            .flatten(),
        target_ref: Some(sp::target_ref(pod)),
    })
}

/// The subsets for `svc` backed by `pods` (those its selector matches), repacked.
pub fn subsets(svc: &Service, pods: &[Arc<Pod>]) -> Vec<EndpointSubset> {
    let spec = svc.spec.clone().unwrap_or_default();
    let publish = spec.publish_not_ready_addresses.unwrap_or(false);
    let ports = spec.ports.unwrap_or_default();
    let mut out = Vec::new();
    for pod in pods {
        if !sp::should_pod_be_in_endpoints(pod, publish) {
            continue;
        }
        let Some(addr) = address(svc, pod) else {
            tracing::debug!(pod = ?pod.metadata.name, "no IP of the service's family");
            continue;
        };
        let ready = publish || podutil::is_ready(pod);
        let mut add = |port: Option<EndpointPort>| {
            let addrs = Some(vec![addr.clone()]);
            out.push(EndpointSubset {
                addresses: if ready { addrs.clone() } else { None },
                not_ready_addresses: if ready { None } else { addrs },
                ports: port.map(|p| vec![p]),
            });
        };
        if ports.is_empty() {
            if sp::is_headless(svc) {
                add(None);
            }
            continue;
        }
        for port in &ports {
            let Some(number) = sp::find_port(pod, port) else {
                tracing::debug!(pod = ?pod.metadata.name, port = ?port.name, "pod lacks the target port");
                continue;
            };
            add(Some(EndpointPort {
                name: port.name.clone().filter(|n| !n.is_empty()),
                port: number,
                protocol: Some(port.protocol.clone().unwrap_or_else(|| "TCP".to_owned())),
                app_protocol: port.app_protocol.clone(),
            }));
        }
    }
    repack(&out)
}

type AddrKey = (String, String);
type PortKey = (String, i32, String, Option<String>);

fn addr_key(a: &EndpointAddress) -> AddrKey {
    let uid = a.target_ref.as_ref().and_then(|r| r.uid.clone());
    (a.ip.clone(), uid.unwrap_or_default())
}

fn port_key(p: &EndpointPort) -> PortKey {
    let protocol = p.protocol.clone().unwrap_or_else(|| "TCP".to_owned());
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        protocol,
        p.app_protocol.clone(),
    )
}

/// Upstream's `RepackSubsets`: one subset per distinct set of (address, ready) offering the
/// same ports; an address ready on a port in any input subset is ready there. Sorted.
pub fn repack(subsets: &[EndpointSubset]) -> Vec<EndpointSubset> {
    let mut all: BTreeMap<AddrKey, EndpointAddress> = BTreeMap::new();
    // Port (None: the no-ports sentinel) → address → ready.
    let mut by_port: BTreeMap<Option<PortKey>, BTreeMap<AddrKey, bool>> = BTreeMap::new();
    for subset in subsets {
        let ports: Vec<Option<PortKey>> = match subset.ports.as_deref() {
            None | Some([]) => vec![None],
            Some(ports) => ports.iter().map(|p| Some(port_key(p))).collect(),
        };
        let addrs = subset.addresses.iter().flatten().map(|a| (a, true));
        let not_ready = subset
            .not_ready_addresses
            .iter()
            .flatten()
            .map(|a| (a, false));
        for (addr, ready) in addrs.chain(not_ready) {
            let key = addr_key(addr);
            all.entry(key.clone()).or_insert_with(|| addr.clone());
            for port in &ports {
                let seen = by_port.entry(port.clone()).or_default();
                let was = seen.entry(key.clone()).or_insert(ready);
                *was |= ready;
            }
        }
    }
    let mut groups: BTreeMap<Vec<(AddrKey, bool)>, Vec<PortKey>> = BTreeMap::new();
    for (port, addrs) in by_port {
        let ports = groups.entry(addrs.into_iter().collect()).or_default();
        ports.extend(port);
    }
    groups
        .into_iter()
        .map(|(addrs, ports)| {
            let pick = |want: bool| {
                let v: Vec<EndpointAddress> = addrs
                    .iter()
                    .filter(|(_, ready)| *ready == want)
                    .filter_map(|(k, _)| all.get(k).cloned())
                    .collect();
                (!v.is_empty()).then_some(v)
            };
            let ports: Vec<EndpointPort> = ports
                .into_iter()
                .map(|(name, port, protocol, app_protocol)| EndpointPort {
                    name: (!name.is_empty()).then_some(name),
                    port,
                    protocol: Some(protocol),
                    app_protocol,
                })
                .collect();
            EndpointSubset {
                addresses: pick(true),
                not_ready_addresses: pick(false),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect()
}

/// Upstream's `truncateEndpoints`: keeps at most [`MAX_CAPACITY`] addresses, ready ones
/// first, each subset keeping its share (rounded up); whether any were dropped.
pub fn truncate(subsets: &mut [EndpointSubset]) -> bool {
    let count = |v: &Option<Vec<EndpointAddress>>| v.as_ref().map_or(0, Vec::len);
    let ready: usize = subsets.iter().map(|s| count(&s.addresses)).sum();
    let not_ready: usize = subsets.iter().map(|s| count(&s.not_ready_addresses)).sum();
    if ready + not_ready <= MAX_CAPACITY {
        return false;
    }
    let truncate_ready = ready > MAX_CAPACITY;
    let (max, total) = if truncate_ready {
        (MAX_CAPACITY, ready)
    } else {
        (MAX_CAPACITY - ready, not_ready)
    };
    let mut left = max;
    for subset in subsets.iter_mut() {
        let list = if truncate_ready {
            subset.not_ready_addresses = None;
            &mut subset.addresses
        } else {
            &mut subset.not_ready_addresses
        };
        let n = count(list);
        let share = (n * max).div_ceil(total).min(left);
        if let Some(v) = list.as_mut() {
            v.truncate(share);
        }
        if list.as_ref().is_some_and(Vec::is_empty) {
            *list = None;
        }
        left -= count(list);
    }
    true
}

/// Subsets as compared: empty lists absent, target references without resourceVersion.
fn normalized(subsets: Option<&Vec<EndpointSubset>>) -> Vec<EndpointSubset> {
    let fix = |v: &Option<Vec<EndpointAddress>>| {
        let v: Vec<EndpointAddress> = v
            .iter()
            .flatten()
            .cloned()
            .map(|mut a| {
                if let Some(r) = a.target_ref.as_mut() {
                    r.resource_version = None;
                }
                a
            })
            .collect();
        (!v.is_empty()).then_some(v)
    };
    subsets
        .into_iter()
        .flatten()
        .map(|s| EndpointSubset {
            addresses: fix(&s.addresses),
            not_ready_addresses: fix(&s.not_ready_addresses),
            ports: s.ports.clone().filter(|p| !p.is_empty()),
        })
        .collect()
}

/// The Endpoints to write for `svc` given the `current` one, or `None` when it is
/// already right (addresses, labels and the over-capacity annotation).
pub fn desired(
    svc: &Service,
    current: Option<&Endpoints>,
    mut subsets: Vec<EndpointSubset>,
    trigger: Option<Timestamp>,
) -> Option<Endpoints> {
    let truncated = truncate(&mut subsets);
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.remove(HEADLESS);
    if !sp::is_ip_set(svc) {
        labels.insert(HEADLESS.to_owned(), String::new());
    }
    if let Some(cur) = current {
        let annotated = cur
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(OVER_CAPACITY))
            .is_some();
        if normalized(cur.subsets.as_ref()) == subsets
            && cur.metadata.labels.clone().unwrap_or_default() == labels
            && annotated == truncated
        {
            return None;
        }
    }
    let mut ep = current.cloned().unwrap_or_else(|| Endpoints {
        metadata: ObjectMeta {
            name: svc.metadata.name.clone(),
            namespace: svc.metadata.namespace.clone(),
            ..ObjectMeta::default()
        },
        subsets: None,
    });
    let annotations = ep.metadata.annotations.get_or_insert_default();
    match trigger {
        Some(t) => annotations.insert(LAST_CHANGE_TRIGGER_TIME.to_owned(), t.to_string()),
        None => annotations.remove(LAST_CHANGE_TRIGGER_TIME),
    };
    if truncated {
        annotations.insert(OVER_CAPACITY.to_owned(), "truncated".to_owned());
    } else {
        annotations.remove(OVER_CAPACITY);
    }
    ep.metadata.labels = Some(labels);
    ep.subsets = (!subsets.is_empty()).then_some(subsets);
    Some(ep)
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;

//! Upstream's EndpointSlice reconciler as a pure plan: from a Service, its pods, their
//! nodes and the slices it has, which slices to create, update and delete. Existing slices
//! are kept and filled before new ones are made; a Service with no endpoints of an address
//! type keeps one empty placeholder slice of it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};

use super::desired::{self as d, EndpointKey, PortMapKey};
use crate::service_pods as sp;

/// Most endpoints per slice (`--max-endpoints-per-slice`).
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// The writes that bring a Service's slices to the desired state.
#[derive(Debug, Default)]
pub struct Plan {
    /// New slices (generateName set).
    pub create: Vec<EndpointSlice>,
    /// Changed slices (named).
    pub update: Vec<EndpointSlice>,
    /// Slices to delete.
    pub delete: Vec<EndpointSlice>,
    /// Pods left out because their node is unknown (the sync is retried).
    pub skipped: Vec<String>,
}

type Desired = BTreeMap<EndpointKey, Endpoint>;

/// The plan for `svc` backed by `pods` (those its selector matches), with `node` looking
/// nodes up and `existing` the slices this controller manages for it.
pub fn plan(
    svc: &Service,
    pods: &[Arc<Pod>],
    node: impl Fn(&str) -> Option<Arc<Node>>,
    existing: &[Arc<EndpointSlice>],
    trigger: Option<Timestamp>,
    max: usize,
) -> Plan {
    let mut plan = Plan::default();
    let types = d::address_types(svc);
    let mut by_type: BTreeMap<&str, Vec<&EndpointSlice>> = BTreeMap::new();
    for slice in existing {
        match types.get(slice.address_type.as_str()) {
            Some(t) => by_type.entry(t).or_default().push(slice),
            None => plan.delete.push(slice.as_ref().clone()),
        }
    }
    for t in types {
        let slices = by_type.remove(t).unwrap_or_default();
        by_address_type(svc, pods, &node, &slices, t, max, &mut plan);
    }
    for slice in plan.create.iter_mut().chain(plan.update.iter_mut()) {
        d::set_trigger_time(slice, trigger);
    }
    plan
}

fn by_address_type(
    svc: &Service,
    pods: &[Arc<Pod>],
    node: &impl Fn(&str) -> Option<Arc<Node>>,
    existing: &[&EndpointSlice],
    address_type: &str,
    max: usize,
    plan: &mut Plan,
) {
    let publish = svc
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        == Some(true);
    let (mut create, mut update, mut delete) = (Vec::new(), Vec::new(), Vec::new());
    let mut existing_by_ports: BTreeMap<PortMapKey, Vec<&EndpointSlice>> = BTreeMap::new();
    for &slice in existing {
        if d::owned_by(slice, svc) {
            let key = d::port_map_key(slice.ports.as_deref().unwrap_or_default());
            existing_by_ports.entry(key).or_default().push(slice);
        } else {
            delete.push(slice.clone());
        }
    }
    let mut desired: BTreeMap<PortMapKey, (Vec<EndpointPort>, Desired)> = BTreeMap::new();
    for pod in pods {
        if !sp::should_pod_be_in_endpoints(pod, true) {
            continue;
        }
        let ports = d::endpoint_ports(svc, pod);
        let (_, set) = desired
            .entry(d::port_map_key(&ports))
            .or_insert_with(|| (ports, Desired::new()));
        let node_name = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        let found = node(&node_name);
        if found.is_none() && !publish {
            let (ns, name) = (
                svc.metadata.namespace.as_deref(),
                svc.metadata.name.as_deref(),
            );
            plan.skipped.push(format!(
                "skipping Pod {} for Service {}/{}: Node {node_name} Not Found",
                pod.metadata.name.as_deref().unwrap_or_default(),
                ns.unwrap_or_default(),
                name.unwrap_or_default(),
            ));
            continue;
        }
        let ep = d::pod_endpoint(pod, found.as_deref(), svc, address_type);
        if !ep.addresses.is_empty() {
            set.insert(d::endpoint_key(&ep), ep);
        }
    }
    for (key, (ports, set)) in desired.iter_mut() {
        let slices = existing_by_ports
            .get(key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (c, u, del) =
            by_port_mapping(svc, slices, std::mem::take(set), ports, address_type, max);
        create.extend(c);
        update.extend(u);
        delete.extend(del);
    }
    for (key, slices) in &existing_by_ports {
        if !desired.contains_key(key) {
            delete.extend(slices.iter().map(|s| (*s).clone()));
        }
    }
    if existing.len() == delete.len() && create.is_empty() {
        let placeholder = d::new_slice(svc, &[], address_type);
        if delete.len() == 1 && same_placeholder(&delete[0], &placeholder) {
            delete.clear();
        } else {
            create.push(placeholder);
        }
    }
    // Reuse the names of slices about to be deleted rather than create new ones.
    let mut kept = Vec::new();
    for old in delete {
        match create.pop() {
            Some(mut slice) if old.address_type == slice.address_type && d::owned_by(&old, svc) => {
                slice.metadata.name = old.metadata.name.clone();
                update.push(slice);
            }
            Some(slice) => {
                create.push(slice);
                kept.push(old);
            }
            None => kept.push(old),
        }
    }
    plan.create.extend(create);
    plan.update.extend(update);
    plan.delete.extend(kept);
}

/// Whether an existing slice is the placeholder `want` (labels, type, no ports, no
/// endpoints).
fn same_placeholder(have: &EndpointSlice, want: &EndpointSlice) -> bool {
    have.metadata.namespace == want.metadata.namespace
        && have.metadata.labels.clone().unwrap_or_default()
            == want.metadata.labels.clone().unwrap_or_default()
        && have.address_type == want.address_type
        && have.endpoints.is_empty()
        && have.ports.as_ref().is_none_or(Vec::is_empty)
}

/// Slices of one port mapping: keep what is still desired where it is, update changed
/// endpoints and labels, fill updated slices first, then fit the rest into the fullest
/// unchanged slice with room, then new slices.
fn by_port_mapping(
    svc: &Service,
    existing: &[&EndpointSlice],
    mut desired: Desired,
    ports: &[EndpointPort],
    address_type: &str,
    max: usize,
) -> (Vec<EndpointSlice>, Vec<EndpointSlice>, Vec<EndpointSlice>) {
    let labels = d::slice_labels(svc);
    let mut by_name: BTreeMap<String, EndpointSlice> = BTreeMap::new();
    let (mut unchanged, mut to_update, mut to_delete) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for &slice in existing {
        let name = slice.metadata.name.clone().unwrap_or_default();
        let mut kept = Vec::new();
        let mut changed = false;
        for ep in &slice.endpoints {
            if let Some(want) = desired.remove(&d::endpoint_key(ep)) {
                changed |= !d::equal_beyond_key(&want, ep);
                kept.push(want);
            }
        }
        let labels_changed = slice.metadata.labels.as_ref() != Some(&labels);
        let mut next = slice.clone();
        if changed || kept.len() != slice.endpoints.len() {
            if kept.is_empty() {
                to_delete.insert(name.clone());
            } else {
                next.endpoints = kept;
                next.metadata.labels = Some(labels.clone());
                to_update.insert(name.clone());
            }
        } else if labels_changed {
            next.metadata.labels = Some(labels.clone());
            to_update.insert(name.clone());
        } else {
            unchanged.insert(name.clone());
        }
        by_name.insert(name, next);
    }
    // Fill the slices being updated anyway, fullest first.
    if !desired.is_empty() {
        let mut names: Vec<&String> = to_update.iter().collect();
        names.sort_by_key(|n| std::cmp::Reverse(by_name.get(*n).map_or(0, |s| s.endpoints.len())));
        for name in names {
            if let Some(slice) = by_name.get_mut(name) {
                fill(slice, &mut desired, max);
            }
        }
    }
    let mut create = Vec::new();
    while !desired.is_empty() {
        let target = (desired.len() < max)
            .then(|| slice_to_fill(&unchanged, &by_name, desired.len(), max))
            .flatten();
        match target.and_then(|name| by_name.get_mut(&name)) {
            Some(slice) => {
                fill(slice, &mut desired, max);
                let name = slice.metadata.name.clone().unwrap_or_default();
                unchanged.remove(&name);
                to_update.insert(name);
            }
            None => {
                let mut slice = d::new_slice(svc, ports, address_type);
                fill(&mut slice, &mut desired, max);
                create.push(slice);
            }
        }
    }
    let pick = |names: &BTreeSet<String>| {
        names
            .iter()
            .filter_map(|n| by_name.get(n).cloned())
            .collect()
    };
    (create, pick(&to_update), pick(&to_delete))
}

fn fill(slice: &mut EndpointSlice, desired: &mut Desired, max: usize) {
    while slice.endpoints.len() < max {
        let Some((_, ep)) = desired.pop_first() else {
            break;
        };
        slice.endpoints.push(ep);
    }
}

/// The unchanged slice that `n` more endpoints fill closest to full (upstream's
/// `getSliceToFill`).
fn slice_to_fill(
    unchanged: &BTreeSet<String>,
    by_name: &BTreeMap<String, EndpointSlice>,
    n: usize,
    max: usize,
) -> Option<String> {
    unchanged
        .iter()
        .filter_map(|name| {
            let len = by_name.get(name)?.endpoints.len();
            (len + n <= max).then(|| (max - len - n, name.clone()))
        })
        .min()
        .map(|(_, name)| name)
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;

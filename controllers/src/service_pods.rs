//! What the Endpoints and EndpointSlice controllers share: which Services a Service
//! controller handles, which pods back one, a service port's target port on a pod, which
//! Services a pod change concerns, and the last-change trigger time (upstream's
//! `endpointslice/util`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::core::{Selector, SelectorExt as _};
use parking_lot::Mutex;

use crate::informers::index::{BY_NAMESPACE, namespace_keys};
use crate::informers::{Change, Informer, key_of};
use crate::podutil;
use crate::workqueue::WorkQueue;

/// Annotation: when the change that led to this write happened.
pub const LAST_CHANGE_TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// Label on the endpoints of a Service without a cluster IP.
pub const HEADLESS: &str = "service.kubernetes.io/headless";

/// The selector of a Service these controllers handle: not ExternalName, with a selector
/// (an absent or empty one means the endpoints are managed by someone else).
pub fn selector(svc: &Service) -> Option<Selector> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    let map = spec.selector.as_ref().filter(|m| !m.is_empty())?;
    Some(Selector::from_iter(map.clone()))
}

/// Whether the Service has a cluster IP (upstream's `IsServiceIPSet`).
pub fn is_ip_set(svc: &Service) -> bool {
    let ip = svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref());
    !matches!(ip, None | Some("" | "None"))
}

/// Whether the Service is headless (`clusterIP: None`).
pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// Upstream's `ShouldPodBeInEndpoints`: not terminal, has an IP, and not terminating
/// unless `include_terminating`.
pub fn should_pod_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    let status = pod.status.as_ref();
    if matches!(
        status.and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    ) {
        return false;
    }
    if pod_ips(pod).is_empty() {
        return false;
    }
    include_terminating || pod.metadata.deletion_timestamp.is_none()
}

/// The pod's IPs: `status.podIPs`, else `status.podIP`.
pub fn pod_ips(pod: &Pod) -> Vec<&str> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    let ips: Vec<&str> = status
        .pod_ips
        .iter()
        .flatten()
        .map(|p| p.ip.as_str())
        .filter(|ip| !ip.is_empty())
        .collect();
    if !ips.is_empty() {
        return ips;
    }
    status
        .pod_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
        .into_iter()
        .collect()
}

/// Whether `ip` is an IPv6 address.
pub fn is_ipv6(ip: &str) -> bool {
    ip.parse::<std::net::Ipv6Addr>().is_ok()
}

/// Upstream's `ShouldSetHostname`: the pod names a hostname and its subdomain is the
/// Service, in the Service's namespace.
pub fn should_set_hostname(pod: &Pod, svc: &Service) -> bool {
    let spec = pod.spec.as_ref();
    let hostname = spec.and_then(|s| s.hostname.as_deref()).unwrap_or_default();
    let subdomain = spec
        .and_then(|s| s.subdomain.as_deref())
        .unwrap_or_default();
    !hostname.is_empty()
        && Some(subdomain) == svc.metadata.name.as_deref()
        && pod.metadata.namespace == svc.metadata.namespace
}

/// The port a service port reaches on `pod` (upstream's `FindPort`): a number as is (the
/// service port when unset), a name looked up in the containers' ports (then the
/// restartable init containers') with the same protocol; `None` when the pod lacks it.
pub fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) if *n == 0 => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            if let Ok(n) = name.parse::<i32>() {
                return Some(n);
            }
            let protocol = port.protocol.as_deref().unwrap_or("TCP");
            let spec = pod.spec.as_ref()?;
            let sidecars = spec
                .init_containers
                .iter()
                .flatten()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol
                })
                .map(|p| p.container_port)
        }
    }
}

/// Whether a create failed because the namespace is being deleted (creates there keep
/// failing; upstream drops the key).
pub fn namespace_terminating(status: &kube::core::Status) -> bool {
    let cause = status
        .details
        .iter()
        .flat_map(|d| d.causes.iter())
        .any(|c| c.reason == "NamespaceTerminating");
    status.is_forbidden() && (cause || status.message.contains("because it is being terminated"))
}

/// A reference to the pod, as endpoints carry it.
pub fn target_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".to_owned()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// Keys of the handled Services in `namespace` whose selector matches `labels`.
fn services_for(
    services: &[Arc<Service>],
    namespace: Option<&str>,
    labels: &std::collections::BTreeMap<String, String>,
) -> BTreeSet<String> {
    services
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == namespace)
        .filter(|s| selector(s).is_some_and(|sel| sel.matches(labels)))
        .map(|s| crate::informers::key_of(s.as_ref()))
        .collect()
}

/// The Services whose endpoints a pod change may affect (upstream's
/// `GetPodUpdateProjectionKey` + `GetServicesToUpdate`): on add or delete, the pod's;
/// on update, none unless readiness, IPs, deletion, labels or hostname/subdomain changed.
pub fn services_to_update(
    services: &[Arc<Service>],
    old: Option<&Pod>,
    new: &Pod,
) -> BTreeSet<String> {
    let ns = new.metadata.namespace.as_deref();
    let labels = new.metadata.labels.clone().unwrap_or_default();
    let Some(old) = old else {
        return services_for(services, ns, &labels);
    };
    if old.metadata.resource_version == new.metadata.resource_version {
        return BTreeSet::new();
    }
    let host = |p: &Pod| {
        let spec = p.spec.as_ref();
        (
            spec.and_then(|s| s.hostname.clone()),
            spec.and_then(|s| s.subdomain.clone()),
        )
    };
    let labels_changed =
        old.metadata.labels.clone().unwrap_or_default() != labels || host(old) != host(new);
    let ips = |p: &Pod| -> Vec<String> {
        p.status
            .iter()
            .flat_map(|s| s.pod_ips.iter().flatten())
            .map(|i| i.ip.clone())
            .collect()
    };
    let pod_changed = old.metadata.deletion_timestamp != new.metadata.deletion_timestamp
        || podutil::is_ready(old) != podutil::is_ready(new)
        || ips(old) != ips(new)
        || old.status.as_ref().and_then(|s| s.pod_ip.clone())
            != new.status.as_ref().and_then(|s| s.pod_ip.clone());
    match (pod_changed, labels_changed) {
        (false, false) => BTreeSet::new(),
        (true, false) => services_for(services, ns, &labels),
        (changed, true) => {
            let now = services_for(services, ns, &labels);
            let before = services_for(
                services,
                ns,
                &old.metadata.labels.clone().unwrap_or_default(),
            );
            if changed {
                now.union(&before).cloned().collect()
            } else {
                now.symmetric_difference(&before).cloned().collect()
            }
        }
    }
}

/// What a sync saw: the Service's and its pods' trigger times.
#[derive(Debug, Default, Clone)]
pub struct TriggerState {
    service: Option<Timestamp>,
    pods: HashMap<String, Timestamp>,
}

/// Upstream's `TriggerTimeTracker`: per Service, the trigger times seen at its last sync;
/// a sync's trigger time is the earliest among those that changed since (the Service's
/// creation for a Service seen for the first time). Unlike upstream, what a sync saw is
/// recorded only once its writes succeeded ([`TriggerTimes::commit`]), so a retried write
/// keeps the trigger time.
#[derive(Debug, Default)]
pub struct TriggerTimes {
    services: Mutex<HashMap<String, TriggerState>>,
}

impl TriggerTimes {
    /// The trigger time for a sync of `svc` over `pods` (`None`: no annotation), and what
    /// to [`commit`](Self::commit) once the sync succeeded.
    pub fn compute(
        &self,
        key: &str,
        svc: &Service,
        pods: &[Arc<Pod>],
    ) -> (Option<Timestamp>, TriggerState) {
        let services = self.services.lock();
        let last = services.get(key);
        let mut min: Option<Timestamp> = None;
        let mut now = TriggerState::default();
        for pod in pods {
            let Some(t) =
                podutil::condition(pod, "Ready").and_then(|c| c.last_transition_time.as_ref())
            else {
                continue;
            };
            let name = pod.metadata.name.clone().unwrap_or_default();
            let before = last.and_then(|l| l.pods.get(&name));
            if before.is_none_or(|b| t.0 > *b) {
                min = Some(min.map_or(t.0, |m| m.min(t.0)));
            }
            now.pods.insert(name, t.0);
        }
        now.service = svc.metadata.creation_timestamp.as_ref().map(|t| t.0);
        if let Some(c) = now.service
            && last.and_then(|l| l.service).is_none_or(|b| c > b)
        {
            min = Some(min.map_or(c, |m| m.min(c)));
        }
        let time = if last.is_some() { min } else { now.service };
        (time, now)
    }

    /// Records what a successful sync of `key` saw.
    pub fn commit(&self, key: &str, state: TriggerState) {
        self.services.lock().insert(key.to_owned(), state);
    }

    /// Forgets a deleted Service.
    pub fn forget(&self, key: &str) {
        self.services.lock().remove(key);
    }
}

#[cfg(test)]
#[path = "service_pods_tests.rs"]
mod tests;

/// Queues every Service (a resync).
pub fn enqueue_all(services: &Informer<Service>, queue: &WorkQueue<String>) {
    for svc in services.store().state() {
        queue.add(key_of(svc.as_ref()));
    }
}

/// Queues the Services a pod change may affect.
pub fn enqueue_for_pod(
    services: &Informer<Service>,
    queue: &WorkQueue<String>,
    change: &Change<Pod>,
) {
    let services = services.store().state();
    let keys = match change {
        Change::Applied { old, new } => services_to_update(&services, old.as_deref(), new),
        Change::Deleted(pod) => services_to_update(&services, None, pod),
    };
    for key in keys {
        queue.add(key);
    }
}

/// The pods in `namespace` that `selector` selects: through the [`BY_NAMESPACE`] index
/// (see [`index_pods`]), else the whole store.
pub fn selected_pods(
    pods: &Informer<Pod>,
    namespace: Option<&str>,
    selector: &Selector,
) -> Vec<Arc<Pod>> {
    let empty = Default::default();
    let candidates = match namespace {
        Some(ns) => pods.by_index(BY_NAMESPACE, ns).ok(),
        None => None,
    };
    candidates
        .unwrap_or_else(|| pods.store().state())
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == namespace)
        .filter(|p| selector.matches(p.metadata.labels.as_ref().unwrap_or(&empty)))
        .collect()
}

/// Adds the pod index [`selected_pods`] reads.
pub fn index_pods(pods: &Informer<Pod>) {
    pods.add_index(BY_NAMESPACE, namespace_keys::<Pod>);
}

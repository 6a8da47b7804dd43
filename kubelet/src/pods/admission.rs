//! Pod admission: whether this node may run a pod bound to it, as upstream kubelet
//! v1.33's predicate admit handler (`lifecycle.predicateAdmitHandler`) decides.
//!
//! The checks, in upstream's order; the first failure is the rejection:
//! 1. a `kubernetes.io/os` pod label other than the node's OS →
//!    `PodOSSelectorNodeLabelDoesNotMatch`;
//! 2. `spec.os.name` other than the node's OS → `PodOSNotSupported`;
//! 3. the scheduler's admission check (the same arithmetic as its filters): pod count,
//!    cpu, memory, ephemeral storage and scalar resources against allocatable minus what
//!    the admitted pods request → `OutOfpods`, `OutOfcpu`, `OutOfmemory`,
//!    `OutOfephemeral-storage`, `OutOf<name>`; then the node selector and required node
//!    affinity → `NodeAffinity`; `spec.nodeName` → `NodeName`; host ports → `NodePorts`;
//! 4. an untolerated `NoExecute` taint → `TaintToleration` (not for static pods).
//!
//! Extended resources the node does not advertise at all are left out of the request, as
//! upstream does (cluster-level resources the node knows nothing about). Not done here:
//! critical-pod preemption on admission failure, device plugins, the sysctl, AppArmor and
//! SupplementalGroupsPolicy admit handlers.

use k8s_openapi::api::core::v1::{Node, Pod};
use keelson_scheduler::plugins::{node_affinity, node_name, taint_toleration};
use keelson_scheduler::resources::{
    IgnoredResources, InsufficientResource, NODE_PORTS_REASON, NodeInfo, PodResources, fits_ports,
    fits_request, is_extended_resource_name, pod_host_ports,
};

/// The node OS (upstream's `runtime.GOOS`): Keelson kubelets register Linux nodes.
pub const NODE_OS: &str = "linux";

/// The pod label checked against the node's OS.
const OS_LABEL: &str = "kubernetes.io/os";

/// The annotation naming where a pod came from; pods not from the API are static.
const CONFIG_SOURCE_ANNOTATION: &str = "kubernetes.io/config.source";

/// Why the kubelet refused a pod: the pod's status gets `phase: Failed`, this `reason`,
/// and the message `Pod was rejected: <message>` ([`Rejection::status_message`]); the
/// Warning event carries `reason` and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Upstream's reason (`OutOfcpu`, `NodeAffinity`, `TaintToleration`, …).
    pub reason: String,
    /// Upstream's message (`Node didn't have enough resource: cpu, requested: …`).
    pub message: String,
}

impl Rejection {
    fn new(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            message: message.into(),
        }
    }

    fn predicate(name: &str, description: &str) -> Self {
        Self::new(name, format!("Predicate {name} failed: {description}"))
    }

    fn insufficient(lacking: &InsufficientResource) -> Self {
        Self::new(
            format!("OutOf{}", lacking.resource_name),
            format!(
                "Node didn't have enough resource: {}, requested: {}, used: {}, capacity: {}",
                lacking.resource_name, lacking.requested, lacking.used, lacking.capacity
            ),
        )
    }

    /// The pod status message upstream's kubelet posts for this rejection.
    pub fn status_message(&self) -> String {
        format!("Pod was rejected: {}", self.message)
    }
}

/// Admits `pod` to `node` or says why not; `admitted` are the node's other non-terminal
/// pods (a pod with the same UID as `pod` among them is ignored).
pub fn admit(pod: &Pod, node: &Node, admitted: &[&Pod]) -> Result<(), Rejection> {
    if os_label_mismatch(pod, node) {
        return Err(Rejection::new(
            "PodOSSelectorNodeLabelDoesNotMatch",
            "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
        ));
    }
    let os_field = pod.spec.as_ref().and_then(|s| s.os.as_ref());
    if os_field.is_some_and(|os| os.name != NODE_OS) {
        return Err(Rejection::new(
            "PodOSNotSupported",
            "Failed to admit pod as the OS field doesn't match node OS",
        ));
    }

    let mut info = NodeInfo::new(node);
    let uid = pod.metadata.uid.as_deref().filter(|u| !u.is_empty());
    for other in admitted {
        if uid.is_none() || other.metadata.uid.as_deref() != uid {
            info.add_pod(other);
        }
    }
    let mut request = PodResources::of(pod).requests;
    request.scalar.retain(|name, _| {
        !is_extended_resource_name(name) || info.allocatable.scalar.contains_key(name)
    });
    if let Some(lacking) = fits_request(&request, &info, &IgnoredResources::default()).first() {
        return Err(Rejection::insufficient(lacking));
    }
    if !node_affinity::required_matches(pod, node) {
        return Err(Rejection::predicate("NodeAffinity", node_affinity::REASON));
    }
    if !node_name::filter(pod, node).is_success() {
        return Err(Rejection::predicate("NodeName", node_name::REASON));
    }
    if !fits_ports(&pod_host_ports(pod), &info.used_ports) {
        return Err(Rejection::predicate("NodePorts", NODE_PORTS_REASON));
    }
    if !is_static(pod) && taint_toleration::untolerated(pod, node, &["NoExecute"]).is_some() {
        return Err(Rejection::predicate(
            "TaintToleration",
            "node(s) had taints that the pod didn't tolerate",
        ));
    }
    Ok(())
}

/// Upstream compares the pod's `kubernetes.io/os` *label* (not its node selector) with the
/// node's OS; a node without the label (or with another) counts as the kubelet's OS.
fn os_label_mismatch(pod: &Pod, node: &Node) -> bool {
    let node_os = node
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(OS_LABEL))
        .filter(|os| *os == NODE_OS)
        .map_or(NODE_OS, String::as_str);
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(OS_LABEL))
        .is_some_and(|os| os != node_os)
}

/// A static pod (from a file or URL, not the API) is not checked against taints.
fn is_static(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CONFIG_SOURCE_ANNOTATION))
        .is_some_and(|source| source != "api")
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;

//! Per-node resource accounting (the resource part of upstream `NodeInfo`).
//!
//! Invariant: `requested`, `non_zero_requested` and `used_ports` are always the sums over the
//! pods recorded in `pods`; each pod's contribution is stored so removal undoes exactly what
//! adding did, even if the pod object changed since.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};

use super::pod::PodResources;
use super::ports::{HostPort, HostPortInfo, pod_host_ports};
use super::resource::Resource;

/// The key a pod is recorded under: its UID, or `namespace/name` when it has none.
#[must_use]
pub fn pod_key(pod: &Pod) -> String {
    match pod.metadata.uid.as_deref() {
        Some(uid) if !uid.is_empty() => uid.to_owned(),
        _ => format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or(""),
            pod.metadata.name.as_deref().unwrap_or("")
        ),
    }
}

/// What one recorded pod contributes to its node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PodContribution {
    resources: PodResources,
    ports: Vec<HostPort>,
}

/// A node's allocatable resources and what the pods placed on it request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's name.
    pub name: String,
    /// `status.allocatable` of the node.
    pub allocatable: Resource,
    /// Sum of the recorded pods' requests.
    pub requested: Resource,
    /// Sum of the recorded pods' non-zero requests (only cpu and memory are tracked).
    pub non_zero_requested: Resource,
    /// Host ports taken by the recorded pods.
    pub used_ports: HostPortInfo,
    pods: BTreeMap<String, PodContribution>,
}

impl NodeInfo {
    /// Accounting for an empty node.
    #[must_use]
    pub fn new(node: &Node) -> Self {
        let mut info = Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            ..Self::default()
        };
        info.set_node(node);
        info
    }

    /// Takes a changed node's allocatable, keeping the recorded pods.
    pub fn set_node(&mut self, node: &Node) {
        self.allocatable = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .map(Resource::from_list)
            .unwrap_or_default();
    }

    /// Number of pods recorded on the node.
    #[must_use]
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Whether a pod with this key is recorded.
    #[must_use]
    pub fn has_pod(&self, key: &str) -> bool {
        self.pods.contains_key(key)
    }

    /// Records a pod (an existing or assumed one). Recording the same key again replaces
    /// the earlier contribution.
    pub fn add_pod(&mut self, pod: &Pod) {
        self.add_pod_with(pod, PodResources::of(pod));
    }

    /// [`Self::add_pod`] with the pod's resources already read.
    pub fn add_pod_with(&mut self, pod: &Pod, resources: PodResources) {
        let key = pod_key(pod);
        self.remove_pod_by_key(&key);
        let contribution = PodContribution {
            resources,
            ports: pod_host_ports(pod),
        };
        self.apply(&contribution, 1);
        self.pods.insert(key, contribution);
    }

    /// Forgets a pod; returns false when it was not recorded.
    pub fn remove_pod(&mut self, pod: &Pod) -> bool {
        self.remove_pod_by_key(&pod_key(pod))
    }

    /// Forgets the pod recorded under `key`; returns false when there is none.
    pub fn remove_pod_by_key(&mut self, key: &str) -> bool {
        match self.pods.remove(key) {
            Some(contribution) => {
                self.apply(&contribution, -1);
                true
            }
            None => false,
        }
    }

    fn apply(&mut self, contribution: &PodContribution, sign: i64) {
        let resources = &contribution.resources;
        self.requested.apply(&resources.requests, sign);
        self.non_zero_requested.milli_cpu += sign * resources.non_zero_milli_cpu;
        self.non_zero_requested.memory += sign * resources.non_zero_memory;
        for port in &contribution.ports {
            if sign > 0 {
                self.used_ports.add(port);
            } else {
                self.used_ports.remove(port);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::resources::pod::tests::{container, pod};
    use k8s_openapi::api::core::v1::{ContainerPort, NodeStatus};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    /// A node named `name` with the given allocatable list.
    pub(crate) fn node(name: &str, allocatable: &[(&str, &str)]) -> Node {
        let mut n = Node::default();
        n.metadata.name = Some(name.to_owned());
        n.status = Some(NodeStatus {
            allocatable: Some(
                allocatable
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned())))
                    .collect(),
            ),
            ..Default::default()
        });
        n
    }

    /// A pod named `name` with one container requesting cpu/memory.
    pub(crate) fn named_pod(name: &str, cpu: &str, memory: &str) -> Pod {
        let mut p = pod(vec![container(cpu, memory)], vec![]);
        p.metadata.namespace = Some("default".to_owned());
        p.metadata.name = Some(name.to_owned());
        p
    }

    #[test]
    fn adds_and_removes_pods() {
        let mut info = NodeInfo::new(&node(
            "n1",
            &[("cpu", "4"), ("memory", "8Gi"), ("pods", "110")],
        ));
        assert_eq!(info.name, "n1");
        assert_eq!(info.allocatable.milli_cpu, 4000);
        assert_eq!(info.allocatable.allowed_pod_number, 110);

        let a = named_pod("a", "1", "1Gi");
        let mut b = named_pod("b", "", "");
        b.spec.as_mut().unwrap().containers[0].ports = Some(vec![ContainerPort {
            container_port: 80,
            host_port: Some(8080),
            ..Default::default()
        }]);
        info.add_pod(&a);
        info.add_pod(&b);
        info.add_pod(&b); // re-adding replaces, never double counts
        assert_eq!(info.pod_count(), 2);
        assert_eq!(info.requested.milli_cpu, 1000);
        assert_eq!(info.requested.memory, 1 << 30);
        assert_eq!(info.non_zero_requested.milli_cpu, 1100);
        assert_eq!(
            info.non_zero_requested.memory,
            (1 << 30) + 200 * 1024 * 1024
        );
        assert_eq!(info.used_ports.len(), 1);

        assert!(info.remove_pod(&b));
        assert!(!info.remove_pod(&b));
        assert!(info.used_ports.is_empty());
        assert!(info.remove_pod(&a));
        assert_eq!(info.requested, Resource::default());
        assert_eq!(info.non_zero_requested, Resource::default());
        assert_eq!(info.pod_count(), 0);
    }

    #[test]
    fn keys_pods_by_uid_then_name() {
        let mut p = named_pod("a", "", "");
        assert_eq!(pod_key(&p), "default/a");
        p.metadata.uid = Some("1234".to_owned());
        assert_eq!(pod_key(&p), "1234");
    }
}

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

/// What the filters and the default scores read of every node they visit, packed into one
/// cache line. A cycle visits hundreds of nodes; reading these from the `Resource`s and the
/// pod map took a cache miss per field, spread over four lines of each node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct FitLine {
    /// `allocatable.milli_cpu`.
    pub allocatable_milli_cpu: i64,
    /// `allocatable.memory`.
    pub allocatable_memory: i64,
    /// `allocatable.allowed_pod_number`.
    pub allowed_pods: i64,
    /// `requested.milli_cpu`.
    pub requested_milli_cpu: i64,
    /// `requested.memory`.
    pub requested_memory: i64,
    /// `non_zero_requested.milli_cpu`.
    pub non_zero_milli_cpu: i64,
    /// `non_zero_requested.memory`.
    pub non_zero_memory: i64,
    /// How many pods are recorded.
    pub pods: u32,
    /// Whether the node is cordoned (`spec.unschedulable`).
    pub cordoned: bool,
    /// Whether the node has any taint.
    pub tainted: bool,
}

/// A node's allocatable resources and what the pods placed on it request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// The hot figures, copied from the fields below whenever they change.
    line: FitLine,
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

    /// Takes a changed node's allocatable (and cordon and taints), keeping the recorded
    /// pods.
    pub fn set_node(&mut self, node: &Node) {
        self.allocatable = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .map(Resource::from_list)
            .unwrap_or_default();
        let spec = node.spec.as_ref();
        self.line.cordoned = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        self.line.tainted = spec
            .and_then(|s| s.taints.as_ref())
            .is_some_and(|t| !t.is_empty());
        self.sync_line();
    }

    /// The hot figures (see [`FitLine`]).
    #[must_use]
    pub fn line(&self) -> &FitLine {
        &self.line
    }

    fn sync_line(&mut self) {
        self.line.allocatable_milli_cpu = self.allocatable.milli_cpu;
        self.line.allocatable_memory = self.allocatable.memory;
        self.line.allowed_pods = self.allocatable.allowed_pod_number;
        self.line.requested_milli_cpu = self.requested.milli_cpu;
        self.line.requested_memory = self.requested.memory;
        self.line.non_zero_milli_cpu = self.non_zero_requested.milli_cpu;
        self.line.non_zero_memory = self.non_zero_requested.memory;
        self.line.pods = u32::try_from(self.pods.len()).unwrap_or(u32::MAX);
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
        self.sync_line();
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
                self.sync_line();
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

        assert_eq!(info.line(), &line_of(&info));
        assert_eq!(info.line().pods, 2);

        assert!(info.remove_pod(&b));
        assert!(!info.remove_pod(&b));
        assert_eq!(info.line(), &line_of(&info));
        assert!(info.used_ports.is_empty());
        assert!(info.remove_pod(&a));
        assert_eq!(info.requested, Resource::default());
        assert_eq!(info.non_zero_requested, Resource::default());
        assert_eq!(info.pod_count(), 0);
    }

    /// The line as the full figures give it.
    fn line_of(info: &NodeInfo) -> FitLine {
        FitLine {
            allocatable_milli_cpu: info.allocatable.milli_cpu,
            allocatable_memory: info.allocatable.memory,
            allowed_pods: info.allocatable.allowed_pod_number,
            requested_milli_cpu: info.requested.milli_cpu,
            requested_memory: info.requested.memory,
            non_zero_milli_cpu: info.non_zero_requested.milli_cpu,
            non_zero_memory: info.non_zero_requested.memory,
            pods: u32::try_from(info.pod_count()).unwrap(),
            ..*info.line()
        }
    }

    #[test]
    fn the_fit_line_follows_the_node_and_its_pods() {
        assert_eq!(std::mem::size_of::<FitLine>(), 64);
        let mut n = node("n1", &[("cpu", "2"), ("memory", "1Gi"), ("pods", "3")]);
        let mut info = NodeInfo::new(&n);
        assert_eq!(info.line(), &line_of(&info));
        assert!(!info.line().cordoned && !info.line().tainted);
        info.add_pod(&named_pod("a", "500m", "100Mi"));
        assert_eq!(info.line().requested_milli_cpu, 500);
        n.spec = Some(k8s_openapi::api::core::v1::NodeSpec {
            unschedulable: Some(true),
            taints: Some(vec![k8s_openapi::api::core::v1::Taint {
                key: "k".to_owned(),
                effect: "NoSchedule".to_owned(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        n.status = node("n1", &[("cpu", "4"), ("pods", "5")]).status;
        info.set_node(&n);
        assert_eq!(info.line(), &line_of(&info));
        assert_eq!(info.line().allocatable_milli_cpu, 4000);
        assert_eq!(info.line().allowed_pods, 5);
        assert!(info.line().cordoned && info.line().tainted);
        assert_eq!(info.line().pods, 1);
    }

    #[test]
    fn keys_pods_by_uid_then_name() {
        let mut p = named_pod("a", "", "");
        assert_eq!(pod_key(&p), "default/a");
        p.metadata.uid = Some("1234".to_owned());
        assert_eq!(pod_key(&p), "1234");
    }
}

//! What the scheduler knows of the cluster at the start of a cycle: per node, the node
//! and the pods on it, each parsed once into what the plugins ask of it
//! ([`PodInfo`]: namespace, labels, affinity terms), and the node's resource accounting
//! ([`crate::resources::NodeInfo`]), kept in step with the pod list.

mod pod_info;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

pub use pod_info::{AffinityTerm, PodInfo, WeightedTerm};

use crate::selector::Labels;

/// One node and the pods assigned to it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// The node object.
    pub node: Arc<Node>,
    /// Its name.
    pub name: String,
    /// Its labels (topology values are read from here).
    pub labels: Labels,
    /// Every pod on it.
    pub pods: Vec<Arc<PodInfo>>,
    /// Allocatable, requested and host ports: always the sums over `pods`.
    pub resources: crate::resources::NodeInfo,
}

impl NodeInfo {
    /// A node with no pods yet.
    pub fn new(node: Arc<Node>) -> Self {
        Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            resources: crate::resources::NodeInfo::new(&node),
            node,
            pods: Vec::new(),
        }
    }

    /// Takes a changed node object (labels, taints, allocatable), keeping its pods.
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.name = node.metadata.name.clone().unwrap_or_default();
        self.labels = node.metadata.labels.clone().unwrap_or_default();
        self.resources.set_node(&node);
        self.resources.name.clone_from(&self.name);
        self.node = node;
    }

    /// Adds a pod assigned to this node (a pod with the same key is replaced).
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.remove_pod(&pod.key);
        self.resources.add_pod(&pod.pod);
        self.pods.push(pod);
    }

    /// Removes the pod with `key` (`namespace/name`); whether it was there.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.key == key) else {
            return false;
        };
        let removed = self.pods.remove(i);
        self.resources.remove_pod(&removed.pod);
        true
    }

    /// The node's value for a topology key, if it has that label.
    pub fn topology_value(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

//! What the scheduler knows of the cluster at the start of a cycle: per node, the node
//! and the pods on it, each parsed once into what the plugins ask of it
//! ([`PodInfo`]: namespace, labels, affinity terms). Resource sums join `NodeInfo` with
//! the resources module.

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
}

impl NodeInfo {
    /// A node with no pods yet.
    pub fn new(node: Arc<Node>) -> Self {
        Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            node,
            pods: Vec::new(),
        }
    }

    /// Adds a pod assigned to this node.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.pods.push(pod);
    }

    /// Removes the pod with `key` (`namespace/name`); whether it was there.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let before = self.pods.len();
        self.pods.retain(|p| p.key != key);
        self.pods.len() != before
    }

    /// The node's value for a topology key, if it has that label.
    pub fn topology_value(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

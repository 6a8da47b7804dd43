//! What the scheduler knows of the cluster at the start of a cycle: per node, the node
//! and the pods on it, each parsed once into what the plugins ask of it
//! ([`PodInfo`]: namespace, labels, affinity terms), and the node's resource accounting
//! ([`crate::resources::NodeInfo`]), kept in step with the pod list.

mod match_counts;
mod pod_info;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

pub use match_counts::{CountKey, MatchCounts};
pub use pod_info::{AffinityTerm, PodInfo, WeightedTerm};

use crate::selector::Labels;

/// Topology keys whose values a node keeps at hand: hostname, zone, region.
pub const WELL_KNOWN_KEYS: [&str; 3] = [
    "kubernetes.io/hostname",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
];

fn well_known(labels: &Labels) -> [Option<Box<str>>; 3] {
    WELL_KNOWN_KEYS.map(|key| labels.get(key).map(|v| v.as_str().into()))
}

/// One node and the pods assigned to it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// The node object.
    pub node: Arc<Node>,
    /// Its name.
    pub name: String,
    /// Its labels (topology values are read from here; changed only with the node, in
    /// [`Self::set_node`], so `well_known` stays in step).
    labels: Labels,
    /// Its values for the well-known topology keys ([`WELL_KNOWN_KEYS`]), kept beside the
    /// node: spreading reads one for every node in every cycle, and a search of the
    /// labels touched a handful of scattered strings each time.
    well_known: [Option<Box<str>>; 3],
    /// Every pod on it.
    pub pods: Vec<Arc<PodInfo>>,
    /// The pods on it with any pod (anti-)affinity term (upstream `PodsWithAffinity`).
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// The pods on it with required anti-affinity terms.
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    /// The distinct topology keys of those pods' required anti-affinity terms.
    anti_keys: Vec<String>,
    /// Whether one of those terms selects namespaces by label (its answer then depends
    /// on more than the node's pods, and must not be remembered).
    anti_by_namespace_labels: bool,
    /// Allocatable, requested and host ports: always the sums over `pods`.
    pub resources: crate::resources::NodeInfo,
    /// Bumped whenever `pods` changes: what [`Self::count_matching`] remembers is valid
    /// for one generation.
    generation: u64,
    /// Remembered counts of pods matching a selector.
    match_counts: MatchCounts,
}

impl NodeInfo {
    /// A node with no pods yet.
    pub fn new(node: Arc<Node>) -> Self {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            well_known: well_known(&labels),
            labels,
            resources: crate::resources::NodeInfo::new(&node),
            node,
            pods: Vec::new(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
            anti_keys: Vec::new(),
            anti_by_namespace_labels: false,
            generation: 0,
            match_counts: MatchCounts::default(),
        }
    }

    /// Takes a changed node object (labels, taints, allocatable), keeping its pods.
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.name = node.metadata.name.clone().unwrap_or_default();
        self.labels = node.metadata.labels.clone().unwrap_or_default();
        self.well_known = well_known(&self.labels);
        self.resources.set_node(&node);
        self.resources.name.clone_from(&self.name);
        self.node = node;
    }

    /// Whether the node is cordoned (`spec.unschedulable`).
    pub fn cordoned(&self) -> bool {
        self.resources.line().cordoned
    }

    /// Whether the node has any taint.
    pub fn tainted(&self) -> bool {
        self.resources.line().tainted
    }

    /// Adds a pod assigned to this node (a pod with the same key is replaced).
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.remove_pod(&pod.key);
        self.generation += 1;
        self.resources.add_pod_with(&pod.pod, pod.resources.clone());
        if pod.has_affinity() {
            self.pods_with_affinity.push(Arc::clone(&pod));
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity.push(Arc::clone(&pod));
            self.index_anti_terms();
        }
        self.pods.push(pod);
    }

    /// Removes the pod with `key` (`namespace/name`); whether it was there.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.key == key) else {
            return false;
        };
        let removed = self.pods.remove(i);
        self.generation += 1;
        self.resources.remove_pod(&removed.pod);
        if removed.has_affinity() {
            self.pods_with_affinity.retain(|p| p.key != key);
        }
        if !removed.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity
                .retain(|p| p.key != key);
            self.index_anti_terms();
        }
        true
    }

    fn index_anti_terms(&mut self) {
        self.anti_keys.clear();
        self.anti_by_namespace_labels = false;
        let terms = self
            .pods_with_required_anti_affinity
            .iter()
            .flat_map(|p| &p.required_anti_affinity);
        for term in terms {
            self.anti_by_namespace_labels |= term.namespace_selector.is_some();
            if !self.anti_keys.contains(&term.topology_key) {
                self.anti_keys.push(term.topology_key.clone());
            }
        }
    }

    /// The distinct topology keys of the required anti-affinity terms of the node's pods,
    /// when their answers may be remembered with [`Self::count_matching`] (`None` when a
    /// term selects namespaces by label).
    pub fn anti_affinity_keys(&self) -> Option<&[String]> {
        (!self.anti_by_namespace_labels).then_some(self.anti_keys.as_slice())
    }

    /// The sum of `weigh` over the node's pods (1 for a pod a selector matches, say),
    /// remembered under `key` until the pod list changes. `key` must name `weigh`
    /// exactly (see [`CountKey`]).
    pub fn count_matching(&self, key: &CountKey, weigh: impl Fn(&PodInfo) -> i64) -> i64 {
        self.match_counts.get_or_count(key, self.generation, || {
            self.pods.iter().map(|p| weigh(p)).sum()
        })
    }

    /// The node's value for a topology key, if it has that label.
    pub fn topology_value(&self, key: &str) -> Option<&str> {
        match WELL_KNOWN_KEYS.iter().position(|k| *k == key) {
            Some(i) => self.well_known[i].as_deref(),
            None => self.labels.get(key).map(String::as_str),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    use super::*;

    fn node(cpu: &str, zone: &str) -> Arc<Node> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": "n", "labels": {"zone": zone}},
                "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}}}))
            .unwrap(),
        )
    }

    /// A pod with a cpu request and one host port.
    fn pod(name: &str, cpu: &str, host_port: i32) -> Arc<PodInfo> {
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": name, "namespace": "d"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}},
                "ports": [{"containerPort": 80, "hostPort": host_port}]}]}}))
        .unwrap();
        Arc::new(PodInfo::new(Arc::new(p)))
    }

    #[test]
    fn topology_values_follow_the_node_labels() {
        let labelled = |labels: serde_json::Value| -> Arc<Node> {
            Arc::new(
                serde_json::from_value(json!({"metadata": {"name": "n", "labels": labels}}))
                    .unwrap(),
            )
        };
        let mut info = NodeInfo::new(labelled(
            json!({"topology.kubernetes.io/zone": "z1", "kubernetes.io/hostname": "n", "rack": "r1"}),
        ));
        let values = |info: &NodeInfo| {
            [
                "topology.kubernetes.io/zone",
                "kubernetes.io/hostname",
                "topology.kubernetes.io/region",
                "rack",
            ]
            .map(|k| info.topology_value(k).map(str::to_owned))
        };
        assert_eq!(
            values(&info),
            [Some("z1".into()), Some("n".into()), None, Some("r1".into())]
        );
        info.set_node(labelled(
            json!({"topology.kubernetes.io/region": "r", "rack": "r2"}),
        ));
        assert_eq!(
            values(&info),
            [None, None, Some("r".into()), Some("r2".into())]
        );
    }

    #[test]
    fn cordon_and_taints_follow_the_node() {
        let with_spec = |spec: serde_json::Value| -> Arc<Node> {
            Arc::new(
                serde_json::from_value(json!({"metadata": {"name": "n"}, "spec": spec})).unwrap(),
            )
        };
        let mut info = NodeInfo::new(with_spec(json!({})));
        assert!(!info.cordoned() && !info.tainted());
        info.set_node(with_spec(json!({"unschedulable": true,
            "taints": [{"key": "k", "effect": "PreferNoSchedule"}]})));
        assert!(info.cordoned() && info.tainted());
        info.set_node(with_spec(json!({"unschedulable": false, "taints": []})));
        assert!(!info.cordoned() && !info.tainted());
    }

    #[test]
    fn resources_follow_the_pod_list() {
        let mut info = NodeInfo::new(node("4", "a"));
        // (pods, requested milli-cpu) after each step.
        info.add_pod(pod("a", "1", 80));
        info.add_pod(pod("b", "500m", 81));
        let after_adds = (info.pods.len(), info.resources.requested.milli_cpu);
        info.add_pod(pod("a", "2", 80));
        let after_replace = (info.pods.len(), info.resources.requested.milli_cpu);
        let removed = info.remove_pod("d/b");
        let missing = info.remove_pod("d/b");
        let after_remove = (info.pods.len(), info.resources.requested.milli_cpu);
        assert_eq!(after_adds, (2, 1500));
        assert_eq!(after_replace, (2, 2500));
        assert!(removed && !missing);
        assert_eq!(after_remove, (1, 2000));
        assert_eq!(info.resources.pod_count(), 1);
        assert_eq!(info.resources.used_ports.len(), 1);
        assert!(info.remove_pod("d/a"));
        assert!(info.resources.used_ports.is_empty());
        assert_eq!(info.resources.requested.milli_cpu, 0);
    }

    #[test]
    fn remembered_counts_follow_pod_changes() {
        let mut info = NodeInfo::new(node("4", "a"));
        let key = CountKey::new("big pods".to_owned());
        // Pods requesting a whole cpu or more (the helper's requests are "1", "2", "100m").
        let big = |p: &PodInfo| {
            let spec = p.pod.spec.as_ref().unwrap();
            let requests = spec.containers[0]
                .resources
                .as_ref()
                .unwrap()
                .requests
                .as_ref();
            i64::from(!requests.unwrap()["cpu"].0.ends_with('m'))
        };
        let mut seen = vec![info.count_matching(&key, big)];
        info.add_pod(pod("a", "1", 80));
        seen.push(info.count_matching(&key, big));
        info.add_pod(pod("b", "2", 81));
        seen.push(info.count_matching(&key, big));
        // Replacing a pod by a smaller one, then removing the other.
        info.add_pod(pod("a", "100m", 80));
        seen.push(info.count_matching(&key, big));
        info.remove_pod("d/b");
        seen.push(info.count_matching(&key, big));
        assert_eq!(seen, [0, 1, 2, 1, 0]);
    }

    #[test]
    fn set_node_keeps_pods_and_takes_the_new_node() {
        let mut info = NodeInfo::new(node("4", "a"));
        info.add_pod(pod("a", "1", 80));
        info.set_node(node("8", "b"));
        assert_eq!(info.topology_value("zone"), Some("b"));
        assert_eq!(info.resources.allocatable.milli_cpu, 8000);
        assert_eq!(info.resources.requested.milli_cpu, 1000);
        assert_eq!(info.pods.len(), 1);
    }
}

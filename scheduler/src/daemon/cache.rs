//! The scheduler's view of the cluster, fed by the watchers and owned by the scheduling
//! task: the [`Snapshot`] the cycles read, kept up to date incrementally (no rebuild per
//! cycle, no locks), plus which pods are only *assumed* on a node (scheduled, binding not
//! yet seen by the watcher). Each change reports the [`ClusterEvent`]s it stands for.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::framework::Snapshot;
use crate::plugins::pod_topology_spread_score::WorkloadSelectors;
use crate::queue::{ClusterEvent, NodeAspect};
use crate::selector::Labels;
use crate::snapshot::{NodeInfo, PodInfo};

/// What the scheduler does with a pod it is told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodRoute {
    /// Bound (or nominated by `spec.nodeName`) to this node: counts on it.
    Assigned(String),
    /// Waiting for this scheduler: goes to the queue.
    Pending,
    /// Not ours, terminating or finished: forgotten.
    Ignore,
}

/// Decides where a pod belongs. Finished pods free their node; pods being deleted or
/// asking for a scheduler name no profile serves are not scheduled.
pub fn route(pod: &Pod, is_ours: impl Fn(&str) -> bool) -> PodRoute {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return PodRoute::Ignore;
    }
    let spec = pod.spec.as_ref();
    if let Some(node) = spec
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
    {
        return PodRoute::Assigned(node.to_owned());
    }
    let name = spec
        .and_then(|s| s.scheduler_name.as_deref())
        .unwrap_or(crate::config::DEFAULT_SCHEDULER_NAME);
    if pod.metadata.deletion_timestamp.is_some() || !is_ours(name) {
        return PodRoute::Ignore;
    }
    PodRoute::Pending
}

/// The node aspects that differ between two versions of a node.
pub fn node_changes(old: &Node, new: &Node) -> Vec<NodeAspect> {
    let mut out = Vec::new();
    let status = |n: &Node| n.status.clone().unwrap_or_default();
    let spec = |n: &Node| n.spec.clone().unwrap_or_default();
    let (os, ns) = (status(old), status(new));
    let (op, np) = (spec(old), spec(new));
    if os.allocatable != ns.allocatable {
        out.push(NodeAspect::Allocatable);
    }
    if old.metadata.labels != new.metadata.labels {
        out.push(NodeAspect::Labels);
    }
    if op.taints != np.taints {
        out.push(NodeAspect::Taints);
    }
    if op.unschedulable != np.unschedulable {
        out.push(NodeAspect::Schedulable);
    }
    let conditions = |s: &k8s_openapi::api::core::v1::NodeStatus| {
        s.conditions
            .iter()
            .flatten()
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect::<Vec<_>>()
    };
    if conditions(&os) != conditions(&ns) {
        out.push(NodeAspect::Conditions);
    }
    if old.metadata.annotations != new.metadata.annotations {
        out.push(NodeAspect::Annotations);
    }
    out
}

/// Cluster state owned by the scheduling task.
#[derive(Debug, Default)]
pub struct ClusterCache {
    snapshot: Snapshot,
    /// Every assigned pod by key, with its node name (also for nodes not seen yet).
    pods: HashMap<String, (String, Arc<PodInfo>)>,
    /// Keys of pods placed by this scheduler whose binding the watcher has not shown yet.
    assumed: HashSet<String>,
    /// Node name → position in `snapshot.nodes`.
    positions: HashMap<String, usize>,
}

impl ClusterCache {
    /// An empty cache.
    pub fn new() -> Self {
        let mut cache = Self::default();
        cache.snapshot.affinity_pods = Some(0);
        cache
    }

    /// Keeps the snapshot's count of placed pods with affinity terms (over every known
    /// assigned pod, so a pod on a node not seen yet counts too: never an undercount).
    fn count_affinity(&mut self, pod: &PodInfo, added: bool) {
        if let Some(n) = self.snapshot.affinity_pods.as_mut()
            && pod.has_affinity()
        {
            *n = if added { *n + 1 } else { n.saturating_sub(1) };
        }
    }

    /// What the scheduling cycles read.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Whether the pod is assumed (scheduled by us, binding not yet observed).
    pub fn is_assumed(&self, key: &str) -> bool {
        self.assumed.contains(key)
    }

    fn node_mut(&mut self, name: &str) -> Option<&mut NodeInfo> {
        let i = *self.positions.get(name)?;
        self.snapshot.nodes.get_mut(i)
    }

    /// Adds or updates a node; the events it stands for.
    pub fn apply_node(&mut self, node: Arc<Node>) -> Vec<ClusterEvent> {
        let name = node.metadata.name.clone().unwrap_or_default();
        if let Some(info) = self.node_mut(&name) {
            let changes = node_changes(&info.node, &node);
            info.set_node(node);
            return changes.into_iter().map(ClusterEvent::NodeUpdate).collect();
        }
        let mut info = NodeInfo::new(node);
        for (on, pod) in self.pods.values() {
            if *on == name {
                info.add_pod(Arc::clone(pod));
            }
        }
        self.positions.insert(name, self.snapshot.nodes.len());
        self.snapshot.nodes.push(info);
        vec![ClusterEvent::NodeAdd]
    }

    /// Removes a node (its pods stay known, for when it comes back).
    pub fn delete_node(&mut self, name: &str) -> Option<ClusterEvent> {
        let i = self.positions.remove(name)?;
        self.snapshot.nodes.remove(i);
        for node in &self.snapshot.nodes[i..] {
            if let Some(p) = self.positions.get_mut(&node.name) {
                *p -= 1;
            }
        }
        Some(ClusterEvent::NodeDelete)
    }

    /// Replaces the nodes after a relist: deletes the ones missing, applies the others.
    pub fn relist_nodes(&mut self, nodes: Vec<Arc<Node>>) -> Vec<ClusterEvent> {
        let names: HashSet<String> = nodes
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        let gone: Vec<String> = self
            .snapshot
            .nodes
            .iter()
            .filter(|n| !names.contains(&n.name))
            .map(|n| n.name.clone())
            .collect();
        let mut events: Vec<ClusterEvent> =
            gone.iter().filter_map(|n| self.delete_node(n)).collect();
        for node in nodes {
            events.extend(self.apply_node(node));
        }
        events
    }

    /// Records a pod assigned to `node` (observed by the watcher, or assumed when
    /// `assumed`); replaces an earlier version, so nothing is counted twice.
    pub fn add_assigned(&mut self, pod: Arc<PodInfo>, node: &str, assumed: bool) -> ClusterEvent {
        let key = pod.key.clone();
        let existed = self.remove_pod(&key).is_some();
        if assumed {
            self.assumed.insert(key.clone());
        }
        if let Some(info) = self.node_mut(node) {
            info.add_pod(Arc::clone(&pod));
        }
        self.count_affinity(&pod, true);
        self.pods.insert(key, (node.to_owned(), pod));
        if existed && !assumed {
            ClusterEvent::AssignedPodUpdate
        } else {
            ClusterEvent::AssignedPodAdd
        }
    }

    /// Forgets an assumed pod whose binding failed; a pod the watcher already showed
    /// bound is kept. Whether it was removed.
    pub fn forget(&mut self, key: &str) -> bool {
        self.assumed.contains(key) && self.remove_pod(key).is_some()
    }

    /// Removes a pod wherever it is; its former node, if it had one.
    pub fn remove_pod(&mut self, key: &str) -> Option<String> {
        self.assumed.remove(key);
        let (node, pod) = self.pods.remove(key)?;
        self.count_affinity(&pod, false);
        if let Some(info) = self.node_mut(&node) {
            info.remove_pod(key);
        }
        Some(node)
    }

    /// Keys of every assigned (or assumed) pod.
    pub fn pod_keys(&self) -> impl Iterator<Item = &String> {
        self.pods.keys()
    }

    /// Sets a namespace's labels (for namespace selectors).
    pub fn apply_namespace(&mut self, name: String, labels: Labels) {
        self.snapshot.namespace_labels.insert(name, labels);
    }

    /// Forgets every namespace (before a relist re-applies them).
    pub fn clear_namespaces(&mut self) {
        self.snapshot.namespace_labels.clear();
    }

    /// Forgets a namespace.
    pub fn delete_namespace(&mut self, name: &str) {
        self.snapshot.namespace_labels.remove(name);
    }

    /// Claims, volumes and storage classes (VolumeBinding).
    pub fn volumes_mut(&mut self) -> &mut crate::plugins::volume_binding::VolumeState {
        &mut self.snapshot.volumes
    }

    /// Replaces the pods nominated to each node (kept in step with the queue's
    /// nominator by the scheduling task).
    pub fn set_nominated(&mut self, nominated: HashMap<String, Vec<Arc<PodInfo>>>) {
        self.snapshot.nominated = nominated;
    }

    /// Services' and controllers' selectors (PodTopologySpread's default selector).
    pub fn workload_selectors_mut(&mut self) -> &mut WorkloadSelectors {
        &mut self.snapshot.workload_selectors
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, PodSpec, PodStatus, Taint};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn node(name: &str) -> Arc<Node> {
        Arc::new(Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    fn pod(name: &str, node: Option<&str>, scheduler: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: node.map(Into::into),
                scheduler_name: scheduler.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn routes_pods() {
        let ours = |n: &str| n == "default-scheduler";
        let mut deleting = pod("d", None, None);
        deleting.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        let mut done = pod("f", Some("n1"), None);
        done.status = Some(PodStatus {
            phase: Some("Succeeded".into()),
            ..Default::default()
        });
        let cases = [
            (pod("a", None, None), PodRoute::Pending),
            (pod("b", None, Some("other")), PodRoute::Ignore),
            (
                pod("c", Some("n1"), Some("other")),
                PodRoute::Assigned("n1".into()),
            ),
            (deleting, PodRoute::Ignore),
            (done, PodRoute::Ignore),
        ];
        for (p, want) in cases {
            assert_eq!(route(&p, ours), want, "{:?}", p.metadata.name);
        }
    }

    #[test]
    fn node_update_reports_changed_aspects() {
        let old = node("n");
        let mut new = (*old).clone();
        new.spec = Some(NodeSpec {
            taints: Some(vec![Taint {
                key: "k".into(),
                effect: "NoSchedule".into(),
                ..Default::default()
            }]),
            unschedulable: Some(true),
            ..Default::default()
        });
        assert_eq!(
            node_changes(&old, &new),
            [NodeAspect::Taints, NodeAspect::Schedulable]
        );
        let mut cache = ClusterCache::new();
        assert_eq!(cache.apply_node(Arc::clone(&old)), [ClusterEvent::NodeAdd]);
        assert_eq!(cache.apply_node(old), Vec::<ClusterEvent>::new());
        assert_eq!(cache.apply_node(Arc::new(new)).len(), 2);
    }

    #[test]
    fn assumed_pod_is_replaced_not_doubled_and_forgotten_on_failure() {
        let mut cache = ClusterCache::new();
        cache.apply_node(node("n1"));
        let p = Arc::new(PodInfo::new(Arc::new(pod("a", None, None))));
        assert_eq!(
            cache.add_assigned(Arc::clone(&p), "n1", true),
            ClusterEvent::AssignedPodAdd
        );
        assert!(cache.is_assumed("default/a"));
        // The watcher shows the binding: the assumed copy is replaced.
        let bound = Arc::new(PodInfo::new(Arc::new(pod("a", Some("n1"), None))));
        assert_eq!(
            cache.add_assigned(bound, "n1", false),
            ClusterEvent::AssignedPodUpdate
        );
        assert_eq!(cache.snapshot().nodes[0].pods.len(), 1);
        assert!(
            !cache.forget("default/a"),
            "a confirmed pod is not forgotten"
        );
        // A second pod whose binding fails is forgotten.
        let q = Arc::new(PodInfo::new(Arc::new(pod("b", None, None))));
        cache.add_assigned(q, "n1", true);
        assert_eq!(cache.snapshot().nodes[0].pods.len(), 2);
        assert!(cache.forget("default/b"));
        assert_eq!(cache.snapshot().nodes[0].pods.len(), 1);
    }

    #[test]
    fn pods_seen_before_their_node_and_relists() {
        let mut cache = ClusterCache::new();
        let p = Arc::new(PodInfo::new(Arc::new(pod("a", Some("n2"), None))));
        cache.add_assigned(p, "n2", false);
        cache.apply_node(node("n1"));
        let events = cache.relist_nodes(vec![node("n2")]);
        assert_eq!(events, [ClusterEvent::NodeDelete, ClusterEvent::NodeAdd]);
        let names: Vec<&str> = cache
            .snapshot()
            .nodes
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(names, ["n2"]);
        assert_eq!(cache.snapshot().nodes[0].pods.len(), 1);
        assert_eq!(cache.remove_pod("default/a").as_deref(), Some("n2"));
        assert!(cache.snapshot().nodes[0].pods.is_empty());
    }

    #[test]
    fn deleting_a_node_keeps_the_others_addressable() {
        let mut cache = ClusterCache::new();
        for n in ["n1", "n2", "n3"] {
            cache.apply_node(node(n));
        }
        assert_eq!(cache.delete_node("n2"), Some(ClusterEvent::NodeDelete));
        assert_eq!(cache.delete_node("n2"), None);
        let p = Arc::new(PodInfo::new(Arc::new(pod("a", Some("n3"), None))));
        cache.add_assigned(p, "n3", false);
        let counts: Vec<(&str, usize)> = cache
            .snapshot()
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.pods.len()))
            .collect();
        assert_eq!(counts, [("n1", 0), ("n3", 1)]);
        cache.apply_node(node("n2"));
        assert_eq!(cache.remove_pod("default/a").as_deref(), Some("n3"));
        assert!(cache.snapshot().nodes.iter().all(|n| n.pods.is_empty()));
    }

    #[test]
    fn counts_placed_pods_with_affinity_terms() {
        let mut cache = ClusterCache::new();
        cache.apply_node(node("n1"));
        let mut p = pod("a", Some("n1"), None);
        p.spec.as_mut().unwrap().affinity = serde_json::from_value(serde_json::json!({
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"x": "y"}}, "topologyKey": "zone"}]}
        }))
        .unwrap();
        let with_terms = Arc::new(PodInfo::new(Arc::new(p)));
        let plain = Arc::new(PodInfo::new(Arc::new(pod("b", Some("n1"), None))));
        assert_eq!(cache.snapshot().affinity_pods, Some(0));
        cache.add_assigned(Arc::clone(&with_terms), "n1", true);
        cache.add_assigned(plain, "n1", false);
        // Replaced by the watcher's copy: still one.
        cache.add_assigned(with_terms, "n1", false);
        assert_eq!(cache.snapshot().affinity_pods, Some(1));
        cache.remove_pod("default/a");
        cache.remove_pod("default/b");
        assert_eq!(cache.snapshot().affinity_pods, Some(0));
    }
}

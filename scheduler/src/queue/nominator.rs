//! Pods nominated to nodes by preemption (`status.nominatedNodeName`), indexed by node so
//! filters can count them as if they were already running there.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::{QueueError, SchedulingQueue, nominated_node, pod_key};

/// Nominated node name → the pods nominated to it, in nomination order.
#[derive(Debug, Default)]
pub struct Nominator {
    by_node: HashMap<String, Vec<(String, Arc<Pod>)>>,
    node_of: HashMap<String, String>,
    /// Bumped by every change, so readers rebuild what they derive only when needed.
    version: u64,
}

impl Nominator {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Nominates the pod `key` to `node`, replacing any earlier nomination of that pod.
    pub fn add(&mut self, key: &str, pod: Arc<Pod>, node: &str) {
        self.remove(key);
        self.version += 1;
        self.by_node
            .entry(node.to_owned())
            .or_default()
            .push((key.to_owned(), pod));
        self.node_of.insert(key.to_owned(), node.to_owned());
    }

    /// Drops the nomination of `key`; returns the node it was nominated to.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let node = self.node_of.remove(key)?;
        self.version += 1;
        if let Some(list) = self.by_node.get_mut(&node) {
            list.retain(|(k, _)| k != key);
            if list.is_empty() {
                self.by_node.remove(&node);
            }
        }
        Some(node)
    }

    /// Refreshes the stored object of a nominated pod without changing its node.
    pub fn refresh(&mut self, key: &str, pod: Arc<Pod>) {
        let Some(node) = self.node_of.get(key) else {
            return;
        };
        if let Some(entry) = self
            .by_node
            .get_mut(node)
            .and_then(|l| l.iter_mut().find(|(k, _)| k == key))
        {
            entry.1 = pod;
            self.version += 1;
        }
    }

    /// Every nomination: (node, pods nominated to it in nomination order).
    pub fn all(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = &Arc<Pod>>)> {
        self.by_node
            .iter()
            .map(|(node, list)| (node.as_str(), list.iter().map(|(_, p)| p)))
    }

    /// A number that changes whenever the nominations change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The pods nominated to `node`, in nomination order.
    pub fn pods_on(&self, node: &str) -> Vec<Arc<Pod>> {
        self.by_node
            .get(node)
            .map(|l| l.iter().map(|(_, p)| Arc::clone(p)).collect())
            .unwrap_or_default()
    }

    /// The node `key` is nominated to.
    pub fn node_of(&self, key: &str) -> Option<&str> {
        self.node_of.get(key).map(String::as_str)
    }

    /// How many pods are nominated anywhere.
    pub fn len(&self) -> usize {
        self.node_of.len()
    }

    /// Whether no pod is nominated.
    pub fn is_empty(&self) -> bool {
        self.node_of.is_empty()
    }
}

impl SchedulingQueue {
    /// The nominated pods, for preemption and for filters.
    pub fn nominator(&self) -> &Nominator {
        &self.nominator
    }

    /// Records that preemption nominated `pod` to `node` (before the API says so).
    pub fn add_nominated(&mut self, pod: Arc<Pod>, node: &str) -> Result<(), QueueError> {
        let key = pod_key(&pod)?;
        self.nominator.add(&key, pod, node);
        Ok(())
    }

    /// Clears the nomination of `key`.
    pub fn remove_nominated(&mut self, key: &str) -> Option<String> {
        self.nominator.remove(key)
    }

    /// The pods nominated to `node`.
    pub fn nominated_pods_on(&self, node: &str) -> Vec<Arc<Pod>> {
        self.nominator.pods_on(node)
    }

    /// Follows `status.nominatedNodeName`: a new or changed node nominates the pod there;
    /// a node removed by the update drops the nomination; with no node before or after,
    /// an in-memory nomination made by preemption is kept (the API may lag behind it).
    pub(super) fn sync_nomination(&mut self, key: &str, old: Option<&Pod>, new: &Arc<Pod>) {
        match nominated_node(new) {
            Some(node) if self.nominator.node_of(key) != Some(node) => {
                self.nominator.add(key, Arc::clone(new), node);
            }
            None if old.and_then(nominated_node).is_some() => {
                self.nominator.remove(key);
            }
            _ => self.nominator.refresh(key, Arc::clone(new)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        Arc::new(p)
    }

    fn names(n: &Nominator, node: &str) -> Vec<String> {
        n.pods_on(node)
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect()
    }

    #[test]
    fn add_move_remove() {
        enum Op {
            Add(&'static str, &'static str),
            Remove(&'static str),
        }
        let steps: &[(Op, &[&str], &[&str])] = &[
            (Op::Add("a", "n1"), &["a"], &[]),
            (Op::Add("b", "n1"), &["a", "b"], &[]),
            (Op::Add("a", "n2"), &["b"], &["a"]),
            (Op::Remove("b"), &[], &["a"]),
            (Op::Remove("zzz"), &[], &["a"]),
            (Op::Remove("a"), &[], &[]),
        ];
        let mut n = Nominator::new();
        for (i, (op, n1, n2)) in steps.iter().enumerate() {
            match op {
                Op::Add(k, node) => n.add(k, pod(k), node),
                Op::Remove(k) => {
                    n.remove(k);
                }
            }
            assert_eq!(names(&n, "n1"), *n1, "step {i} n1");
            assert_eq!(names(&n, "n2"), *n2, "step {i} n2");
        }
        assert!(n.is_empty());
        assert!(n.by_node.is_empty());
    }

    #[test]
    fn node_of_and_refresh() {
        let mut n = Nominator::new();
        n.add("a", pod("a"), "n1");
        assert_eq!(n.node_of("a"), Some("n1"));
        assert_eq!(n.remove("a").as_deref(), Some("n1"));
        assert_eq!(n.node_of("a"), None);
        n.add("a", pod("a"), "n1");
        n.refresh("a", pod("renamed"));
        assert_eq!(names(&n, "n1"), ["renamed"]);
        n.refresh("missing", pod("x"));
        assert_eq!(n.len(), 1);
    }
}

//! Watcher updates applied between cycles: nodes, pods, namespaces, workload selectors,
//! volumes and priority classes go to the cache and the queue, and become the cluster
//! events that may requeue unschedulable pods.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;

use super::super::cache::{PodRoute, route};
use super::super::{Update, volumes};
use super::Scheduling;
use crate::queue::{ClusterEvent, pod_key};
use crate::snapshot::PodInfo;

impl Scheduling {
    pub(super) fn apply(&mut self, update: Update, now: Instant) {
        if let Some(watcher) = first_list_of(&update) {
            self.listed.insert(watcher);
        }
        let events = match update {
            Update::Node(node) => self.cache.apply_node(node),
            Update::NodeDeleted(name) => self.cache.delete_node(&name).into_iter().collect(),
            Update::NodesListed(nodes) => self.cache.relist_nodes(nodes),
            Update::Pod(pod) => self.apply_pod(pod, now).into_iter().collect(),
            Update::PodDeleted(pod) => self.delete_pod(&pod).into_iter().collect(),
            Update::PodsListed(pods) => self.relist_pods(pods, now),
            Update::Namespace(ns) => {
                let name = ns.metadata.name.clone().unwrap_or_default();
                self.cache
                    .apply_namespace(name, ns.metadata.labels.clone().unwrap_or_default());
                Vec::new()
            }
            Update::NamespaceDeleted(name) => {
                self.cache.delete_namespace(&name);
                Vec::new()
            }
            Update::NamespacesListed(all) => {
                self.cache.clear_namespaces();
                for ns in all {
                    let name = ns.metadata.name.clone().unwrap_or_default();
                    self.cache
                        .apply_namespace(name, ns.metadata.labels.clone().unwrap_or_default());
                }
                Vec::new()
            }
            Update::Selector(source, namespace, name, selector) => {
                self.cache
                    .workload_selectors_mut()
                    .set(source, namespace, name, selector);
                Vec::new()
            }
            Update::SelectorsListed(source, all) => {
                self.cache.workload_selectors_mut().replace_all(source, all);
                Vec::new()
            }
            Update::Claims(c) => volumes::apply_claims(self.cache.volumes_mut(), c),
            Update::Volumes(v) => volumes::apply_volumes(self.cache.volumes_mut(), v),
            Update::StorageClasses(c) => volumes::apply_classes(self.cache.volumes_mut(), c),
            Update::PriorityClasses(c) => {
                self.priorities.apply(c);
                Vec::new()
            }
        };
        for event in events {
            self.moved(event, now);
        }
    }

    fn apply_pod(&mut self, pod: Arc<Pod>, now: Instant) -> Option<ClusterEvent> {
        let Ok(key) = pod_key(&pod) else {
            return None;
        };
        match route(&pod, |name| self.algorithms.contains_key(name)) {
            PodRoute::Assigned(node) => {
                self.queue.delete(&key);
                Some(
                    self.cache
                        .add_assigned(Arc::new(PodInfo::new(pod)), &node, false),
                )
            }
            // Our own earlier, pre-binding version of a pod we already placed.
            PodRoute::Pending if self.cache.is_assumed(&key) => None,
            PodRoute::Pending => {
                let freed = self
                    .cache
                    .remove_pod(&key)
                    .map(|_| ClusterEvent::AssignedPodDelete);
                let pod = self.priorities.resolve(pod);
                if let Err(error) = self.queue.add(pod, now) {
                    tracing::warn!(%error, "pod not queued");
                }
                freed
            }
            PodRoute::Ignore => self.delete_pod(&pod),
        }
    }

    fn delete_pod(&mut self, pod: &Pod) -> Option<ClusterEvent> {
        let key = pod_key(pod).ok()?;
        self.queue.delete(&key);
        self.cache
            .remove_pod(&key)
            .map(|_| ClusterEvent::AssignedPodDelete)
    }

    fn relist_pods(&mut self, pods: Vec<Arc<Pod>>, now: Instant) -> Vec<ClusterEvent> {
        let keys: BTreeSet<String> = pods.iter().filter_map(|p| pod_key(p).ok()).collect();
        let gone: Vec<String> = self
            .cache
            .pod_keys()
            .filter(|k| !keys.contains(*k))
            .cloned()
            .collect();
        let mut events = Vec::new();
        for key in gone {
            self.queue.delete(&key);
            if self.cache.remove_pod(&key).is_some() {
                events.push(ClusterEvent::AssignedPodDelete);
            }
        }
        // Pending pods deleted during the watch gap: no delete event will ever come.
        let dropped = self.queue.delete_unlisted(&keys);
        if !dropped.is_empty() {
            tracing::debug!(?dropped, "pending pods gone from the relist");
        }
        events.extend(pods.into_iter().filter_map(|p| self.apply_pod(p, now)));
        events
    }
}

/// The watcher a full list came from, if `update` is one.
fn first_list_of(update: &Update) -> Option<String> {
    use super::super::Listing::All;
    Some(match update {
        Update::NodesListed(_) => "nodes".to_owned(),
        Update::PodsListed(_) => "pods".to_owned(),
        Update::NamespacesListed(_) => "namespaces".to_owned(),
        Update::SelectorsListed(source, _) => format!("{source:?}"),
        Update::Claims(All(_)) => "claims".to_owned(),
        Update::Volumes(All(_)) => "volumes".to_owned(),
        Update::StorageClasses(All(_)) => "storageclasses".to_owned(),
        Update::PriorityClasses(All(_)) => "priorityclasses".to_owned(),
        _ => return None,
    })
}

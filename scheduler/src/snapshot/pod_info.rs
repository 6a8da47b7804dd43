//! A pod parsed once for the plugins: its key, namespace, labels and pod (anti-)affinity
//! terms with their namespaces resolved as upstream's `AffinityTerm` does (no
//! `namespaces` and no `namespaceSelector` means the pod's own namespace; an empty
//! `namespaceSelector` means every namespace).

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm, WeightedPodAffinityTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::resources::PodResources;
use crate::selector::{Labels, label_selector_matches};

/// One pod affinity or anti-affinity term.
#[derive(Debug, Clone)]
pub struct AffinityTerm {
    /// Namespaces named by the term (or the pod's own).
    pub namespaces: BTreeSet<String>,
    /// Namespaces chosen by their labels, when given.
    pub namespace_selector: Option<LabelSelector>,
    /// The pods the term is about.
    pub selector: Option<LabelSelector>,
    /// The node label that defines "the same place".
    pub topology_key: String,
}

/// A preferred term and its weight.
#[derive(Debug, Clone)]
pub struct WeightedTerm {
    /// The term.
    pub term: AffinityTerm,
    /// 1..=100.
    pub weight: i32,
}

impl AffinityTerm {
    fn new(term: &PodAffinityTerm, own_namespace: &str) -> Self {
        let mut namespaces: BTreeSet<String> = term.namespaces.iter().flatten().cloned().collect();
        if namespaces.is_empty() && term.namespace_selector.is_none() {
            namespaces.insert(own_namespace.to_owned());
        }
        Self {
            namespaces,
            namespace_selector: term.namespace_selector.clone(),
            selector: term.label_selector.clone(),
            topology_key: term.topology_key.clone(),
        }
    }

    /// Whether the term selects `pod`; `namespace_labels` gives a namespace's labels for
    /// the namespace selector.
    pub fn matches(
        &self,
        pod: &PodInfo,
        namespace_labels: &dyn Fn(&str) -> Option<Labels>,
    ) -> bool {
        let in_namespace = self.namespaces.contains(&pod.namespace)
            || self.namespace_selector.as_ref().is_some_and(|sel| {
                namespace_labels(&pod.namespace)
                    .is_some_and(|labels| label_selector_matches(Some(sel), &labels))
            });
        in_namespace && label_selector_matches(self.selector.as_ref(), &pod.labels)
    }
}

/// A pod as the plugins read it.
#[derive(Debug, Clone)]
pub struct PodInfo {
    /// The pod object.
    pub pod: Arc<Pod>,
    /// `namespace/name`.
    pub key: String,
    /// Its namespace.
    pub namespace: String,
    /// Its labels.
    pub labels: Labels,
    /// Required pod affinity terms.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required pod anti-affinity terms.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred pod affinity terms.
    pub preferred_affinity: Vec<WeightedTerm>,
    /// Preferred pod anti-affinity terms.
    pub preferred_anti_affinity: Vec<WeightedTerm>,
    /// What it requests (read once: quantities are parsed from text).
    pub resources: PodResources,
}

impl PodInfo {
    /// Parses `pod` once.
    pub fn new(pod: Arc<Pod>) -> Self {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let affinity = pod.spec.as_ref().and_then(|s| s.affinity.as_ref());
        let pod_affinity = affinity.and_then(|a| a.pod_affinity.as_ref());
        let anti = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let required = |terms: Option<&Vec<PodAffinityTerm>>| -> Vec<AffinityTerm> {
            terms
                .into_iter()
                .flatten()
                .map(|t| AffinityTerm::new(t, &namespace))
                .collect()
        };
        let preferred = |terms: Option<&Vec<WeightedPodAffinityTerm>>| -> Vec<WeightedTerm> {
            terms
                .into_iter()
                .flatten()
                .map(|t| WeightedTerm {
                    term: AffinityTerm::new(&t.pod_affinity_term, &namespace),
                    weight: t.weight,
                })
                .collect()
        };
        Self {
            key: format!("{namespace}/{name}"),
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            required_affinity: required(pod_affinity.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            required_anti_affinity: required(anti.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_affinity: preferred(pod_affinity.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_anti_affinity: preferred(anti.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            resources: PodResources::of(&pod),
            namespace,
            pod,
        }
    }

    /// The same pod placed on `node` (`spec.nodeName` set), as the scheduler assumes it
    /// while the binding is in flight; what was parsed is reused.
    #[must_use]
    pub fn assumed_on(&self, node: &str) -> Self {
        let mut pod = (*self.pod).clone();
        if let Some(spec) = pod.spec.as_mut() {
            spec.node_name = Some(node.to_owned());
        }
        Self {
            pod: Arc::new(pod),
            ..self.clone()
        }
    }
}

impl PodInfo {
    /// Whether the pod has any pod affinity or anti-affinity term, required or
    /// preferred.
    pub fn has_affinity(&self) -> bool {
        !(self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assumed_pod_is_the_same_pod_on_the_node() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "250m"}}}],
                     "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                         {"topologyKey": "kubernetes.io/hostname",
                          "labelSelector": {"matchLabels": {"app": "a"}}}]}}},
        }))
        .expect("pod");
        let info = PodInfo::new(Arc::new(pod));
        let assumed = info.assumed_on("n1");
        let node = assumed
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref());
        assert_eq!(node, Some("n1"));
        assert_eq!(
            info.pod.spec.as_ref().and_then(|s| s.node_name.as_deref()),
            None
        );
        assert_eq!(assumed.key, "ns/p");
        assert_eq!(assumed.resources.requests.milli_cpu, 250);
        assert_eq!(assumed.resources, PodResources::of(&assumed.pod));
        assert_eq!(assumed.required_anti_affinity.len(), 1);
    }
}

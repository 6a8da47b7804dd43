//! The selectors PodTopologySpread's default constraints count with: Services' and
//! controllers' selectors kept by the daemon's watchers, and the pod's default selector
//! derived from them (upstream's `helper.DefaultSelector`: the Services in the pod's
//! namespace that select it, plus its controlling ReplicationController, ReplicaSet or
//! StatefulSet).

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::selector::Labels;
use crate::snapshot::PodInfo;

/// A controller kind whose selector feeds the default selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    /// `v1` ReplicationController (its selector is a label map).
    ReplicationController,
    /// `apps/v1` ReplicaSet.
    ReplicaSet,
    /// `apps/v1` StatefulSet.
    StatefulSet,
}

impl WorkloadKind {
    /// The kind an owner reference (`apiVersion`, `kind`) names, if it is one of these.
    pub fn of_owner(api_version: &str, kind: &str) -> Option<Self> {
        match (api_version, kind) {
            ("v1", "ReplicationController") => Some(Self::ReplicationController),
            ("apps/v1", "ReplicaSet") => Some(Self::ReplicaSet),
            ("apps/v1", "StatefulSet") => Some(Self::StatefulSet),
            _ => None,
        }
    }
}

/// What the default selector is built from: Services' and controllers' selectors,
/// filled by the daemon's watchers (an empty set makes default constraints not apply).
#[derive(Debug, Clone, Default)]
pub struct WorkloadSelectors {
    /// (namespace, name) → a Service's `spec.selector` (Services without one are left
    /// out: they select nothing).
    pub services: HashMap<(String, String), Labels>,
    /// (kind, namespace, name) → a controller's selector (a ReplicationController's map as
    /// `matchLabels`).
    pub controllers: HashMap<(WorkloadKind, String, String), LabelSelector>,
}

/// Which kind of object a selector of [`WorkloadSelectors`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectorSource {
    /// A Service (`spec.selector`, a label map).
    Service,
    /// A controller of this kind (`spec.selector`).
    Controller(WorkloadKind),
}

impl WorkloadSelectors {
    /// Sets the selector of one object; `None` (deleted, or a Service without a
    /// selector) removes it.
    pub fn set(
        &mut self,
        source: SelectorSource,
        namespace: String,
        name: String,
        selector: Option<LabelSelector>,
    ) {
        match (source, selector) {
            (SelectorSource::Service, Some(s)) => {
                let labels = s.match_labels.unwrap_or_default();
                self.services.insert((namespace, name), labels);
            }
            (SelectorSource::Service, None) => {
                self.services.remove(&(namespace, name));
            }
            (SelectorSource::Controller(kind), Some(s)) => {
                self.controllers.insert((kind, namespace, name), s);
            }
            (SelectorSource::Controller(kind), None) => {
                self.controllers.remove(&(kind, namespace, name));
            }
        }
    }

    /// Replaces every selector of `source` with `all` (namespace, name, selector), as
    /// after a relist.
    pub fn replace_all(
        &mut self,
        source: SelectorSource,
        all: Vec<(String, String, LabelSelector)>,
    ) {
        match source {
            SelectorSource::Service => self.services.clear(),
            SelectorSource::Controller(kind) => self.controllers.retain(|(k, _, _), _| *k != kind),
        }
        for (namespace, name, selector) in all {
            self.set(source, namespace, name, Some(selector));
        }
    }

    /// The pod's default selector, or `None` when it has no requirement (upstream's
    /// `DefaultSelector(...).Empty()`).
    pub fn default_selector(&self, pod: &PodInfo) -> Option<LabelSelector> {
        let mut labels = Labels::new();
        for ((ns, _), selector) in &self.services {
            if *ns == pod.namespace && selector.iter().all(|(k, v)| pod.labels.get(k) == Some(v)) {
                labels.extend(selector.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut expressions = Vec::new();
        if let Some((kind, name)) = controller_of(pod) {
            let key = (kind, pod.namespace.clone(), name.to_owned());
            if let Some(sel) = self.controllers.get(&key).filter(|s| valid(s)) {
                if kind == WorkloadKind::ReplicationController {
                    labels.extend(sel.match_labels.clone().unwrap_or_default());
                } else {
                    expressions.extend(requirements(sel));
                }
            }
        }
        if labels.is_empty() && expressions.is_empty() {
            return None;
        }
        Some(LabelSelector {
            match_labels: Some(labels),
            match_expressions: Some(expressions),
        })
    }
}

/// The pod's controlling owner of a known kind, with its name.
fn controller_of(pod: &PodInfo) -> Option<(WorkloadKind, &str)> {
    let owners = pod
        .pod
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default();
    let owner = owners.iter().find(|o| o.controller == Some(true))?;
    WorkloadKind::of_owner(&owner.api_version, &owner.kind).map(|k| (k, owner.name.as_str()))
}

/// Whether every expression of `s` has a known operator (others fail to parse upstream).
fn valid(s: &LabelSelector) -> bool {
    s.match_expressions.iter().flatten().all(|r| {
        matches!(
            r.operator.as_str(),
            "In" | "NotIn" | "Exists" | "DoesNotExist"
        )
    })
}

/// A selector's requirements, its `matchLabels` as `In` requirements.
fn requirements(s: &LabelSelector) -> Vec<LabelSelectorRequirement> {
    let by_label = s
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| LabelSelectorRequirement {
            key: k.clone(),
            operator: "In".to_owned(),
            values: Some(vec![v.clone()]),
        });
    by_label
        .chain(s.match_expressions.iter().flatten().cloned())
        .collect()
}

#[cfg(test)]
#[path = "workloads_tests.rs"]
mod tests;

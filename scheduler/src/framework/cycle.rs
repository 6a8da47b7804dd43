//! One scheduling cycle (upstream v1.33 `schedulePod`), pure and synchronous:
//! PreFilter once per pod, Filter over the nodes from a rotating start index until
//! enough feasible nodes are found (`nodes_to_score`), then PreScore, Score and
//! NormalizeScore of every enabled score plugin with its weight, and the highest total
//! wins; ties are broken by a rotating choice (upstream picks at random). When no node
//! fits, the [`FitError`] counts every rejected node's reasons.
//!
//! Invariant: only plugins enabled in the profile run, in the profile's order; a node is
//! rejected by the first filter that fails.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::fit_error::FitError;
use super::plugin_set::{FilterPlugin, ScorePlugin};
use crate::config::{
    DefaultConstraint, DefaultingType, ExtensionPoint, Profile, SchedulerConfig, nodes_to_score,
};
use crate::plugins::inter_pod_affinity::{self, NamespaceLabels};
use crate::plugins::node_resources::{BalancedAllocation, Fit};
use crate::plugins::pod_topology_spread_score::{self, WorkloadSelectors};
use crate::plugins::{
    Status, node_affinity, node_name, node_ports, node_unschedulable, pod_topology_spread,
    taint_toleration, volume_binding,
};
use crate::queue::pod_priority;
use crate::resources::{HostPort, Resource};
use crate::selector::Labels;
use crate::snapshot::{NodeInfo, PodInfo};

/// The cluster as one cycle sees it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every node with its pods, in a stable order (the rotation walks this order).
    pub nodes: Vec<NodeInfo>,
    /// Namespace name → labels, for namespace selectors of pod affinity terms.
    pub namespace_labels: HashMap<String, Labels>,
    /// Services' and controllers' selectors, from which PodTopologySpread derives the
    /// selector of its cluster default constraints (empty: the defaults do not apply).
    pub workload_selectors: WorkloadSelectors,
    /// Claims, volumes and storage classes (VolumeBinding).
    pub volumes: volume_binding::VolumeState,
    /// Pods nominated to each node by preemption and not bound yet: the filters count
    /// those of equal or higher priority as if they already ran there.
    pub nominated: HashMap<String, Vec<Arc<PodInfo>>>,
    /// How many placed pods have pod (anti-)affinity terms, when the snapshot's owner
    /// keeps count; `None` (unknown) makes InterPodAffinity visit every node.
    pub affinity_pods: Option<usize>,
}

impl Snapshot {
    /// Whether InterPodAffinity has nothing to do for `pod`: it has no terms and no
    /// placed pod has any.
    fn affinity_idle(&self, pod: &PodInfo) -> bool {
        self.affinity_pods == Some(0) && !pod.has_affinity()
    }
}

/// Where a cycle placed the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// The chosen node's name.
    pub node: String,
    /// Nodes run through the filters.
    pub evaluated: usize,
    /// Nodes that passed every filter.
    pub feasible: usize,
}

/// A profile's scheduling algorithm: its plugins, weights and arguments, and the state
/// carried between cycles (the next start index and the tie-break counter).
#[derive(Debug, Clone)]
pub struct Algorithm {
    filters: Vec<FilterPlugin>,
    scores: Vec<(ScorePlugin, i64)>,
    fit: Fit,
    balanced: BalancedAllocation,
    hard_pod_affinity_weight: i64,
    ignore_existing_preferred: bool,
    spread_defaults: Vec<DefaultConstraint>,
    spread_system_defaulted: bool,
    percentage: u8,
    next_start: usize,
    tie_break: usize,
}

/// `score` of each feasible node (a generic, so each plugin's loop is compiled with its
/// score inlined).
fn scores_of<F: Fn(&NodeInfo) -> i64 + ?Sized>(
    nodes: &[NodeInfo],
    feasible: &[usize],
    score: &F,
) -> Vec<i64> {
    feasible.iter().map(|&i| score(&nodes[i])).collect()
}

/// What PreFilter computed for one pod, per filter that needs it.
#[derive(Default)]
pub(super) struct CycleState {
    request: Resource,
    ports: Vec<HostPort>,
    affinity: Option<inter_pod_affinity::PreFilterState>,
    spread: Option<pod_topology_spread::PreFilterState>,
    volumes: Option<Result<volume_binding::PreFilterState, Status>>,
    /// The profile's filters that can reject this pod on some node, in order: those that
    /// pass every node for it (no node name, no ports, no node selector…) are left out.
    filters: Vec<FilterPlugin>,
}

impl Algorithm {
    /// The algorithm for `profile`, with the global settings of `config`. A percentage of
    /// nodes to score of 100 (profile or global) makes every cycle filter and score all
    /// nodes.
    #[must_use]
    pub fn new(profile: &Profile, config: &SchedulerConfig) -> Self {
        let plugins = &profile.plugins;
        let filters = plugins
            .at(ExtensionPoint::Filter)
            .iter()
            .filter_map(|name| FilterPlugin::named(name))
            .collect();
        let scores = plugins
            .score()
            .into_iter()
            .filter_map(|p| ScorePlugin::named(&p.name).map(|s| (s, p.weight)))
            .collect();
        let args = &profile.args;
        Self {
            filters,
            scores,
            fit: Fit::new(&args.node_resources_fit),
            balanced: BalancedAllocation::new(&args.balanced_allocation),
            hard_pod_affinity_weight: i64::from(args.inter_pod_affinity.hard_pod_affinity_weight),
            ignore_existing_preferred: args
                .inter_pod_affinity
                .ignore_preferred_terms_of_existing_pods,
            spread_defaults: args.pod_topology_spread.effective_constraints(),
            spread_system_defaulted: args.pod_topology_spread.defaulting_type
                == DefaultingType::System,
            percentage: profile.percentage(config.percentage_of_nodes_to_score),
            next_start: 0,
            tie_break: 0,
        }
    }

    /// One scheduling cycle for `pod` over `snapshot`: PreFilter, Filter over nodes (from a
    /// rotating start index, stopping once `nodes_to_score` feasible nodes are found),
    /// PreScore/Score/NormalizeScore with weights, select the highest total (ties broken by
    /// rotating choice), or a FitError listing every node's reasons.
    pub fn schedule(&mut self, pod: &PodInfo, snapshot: &Snapshot) -> Result<Scheduled, FitError> {
        let nodes = &snapshot.nodes;
        let all = nodes.len();
        if all == 0 {
            return Err(FitError::new(0));
        }
        let ns_of = |name: &str| snapshot.namespace_labels.get(name).cloned();
        let ns: NamespaceLabels<'_> = &ns_of;
        let state = self.pre_filter(pod, nodes, ns, snapshot);
        if let Some(Err(status)) = &state.volumes {
            let mut error = FitError::new(all);
            error.pre_filter_msg = status.reasons.join(", ");
            return Err(error);
        }

        let wanted = nodes_to_score(all, self.percentage);
        let mut rejected: Vec<Status> = Vec::new();
        let mut feasible: Vec<usize> = Vec::with_capacity(wanted);
        // The nodes from `next_start` on, then those before it: each once.
        let order = (self.next_start % all..all).chain(0..self.next_start % all);
        for i in order {
            if feasible.len() >= wanted {
                break;
            }
            match self.filter_with_nominated(&state, pod, &nodes[i], ns, snapshot) {
                None => feasible.push(i),
                Some(status) => rejected.push(status),
            }
        }
        let evaluated = feasible.len() + rejected.len();
        self.next_start = (self.next_start + evaluated) % all;

        if feasible.is_empty() {
            let mut error = FitError::new(all);
            for status in &rejected {
                error.add_node(status.reasons.iter().map(String::as_str));
            }
            return Err(error);
        }
        let chosen = if let [only] = feasible.as_slice() {
            *only
        } else {
            let totals = self.score(pod, snapshot, &feasible, ns);
            self.select(&feasible, &totals)
        };
        Ok(Scheduled {
            node: nodes[chosen].name.clone(),
            evaluated,
            feasible: feasible.len(),
        })
    }

    pub(super) fn pre_filter<'n>(
        &self,
        pod: &PodInfo,
        nodes: impl IntoIterator<Item = &'n NodeInfo> + Clone,
        ns: NamespaceLabels<'_>,
        snapshot: &Snapshot,
    ) -> CycleState {
        let workloads = &snapshot.workload_selectors;
        let mut state = CycleState::default();
        for plugin in &self.filters {
            match plugin {
                FilterPlugin::NodeResourcesFit => {
                    state.request = self.fit.pre_filter(&pod.resources)
                }
                FilterPlugin::NodePorts => state.ports = node_ports::pre_filter(&pod.pod),
                FilterPlugin::InterPodAffinity if !snapshot.affinity_idle(pod) => {
                    state.affinity = Some(inter_pod_affinity::pre_filter(pod, nodes.clone(), ns));
                }
                FilterPlugin::PodTopologySpread => {
                    let defaults = self.spread_defaults(workloads);
                    state.spread = Some(pod_topology_spread::pre_filter(
                        pod,
                        nodes.clone(),
                        &defaults,
                    ));
                }
                FilterPlugin::VolumeBinding => {
                    state.volumes = volume_binding::pre_filter(&pod.pod, &snapshot.volumes);
                }
                _ => {}
            }
        }
        state.filters = self
            .filters
            .iter()
            .copied()
            .filter(|f| match f {
                FilterPlugin::NodeName => !node_name::asks_nothing(&pod.pod),
                FilterPlugin::NodeAffinity => !node_affinity::asks_nothing(&pod.pod),
                FilterPlugin::NodePorts => !state.ports.is_empty(),
                FilterPlugin::PodTopologySpread => {
                    state.spread.as_ref().is_some_and(|s| !s.is_empty())
                }
                FilterPlugin::InterPodAffinity => state.affinity.is_some(),
                FilterPlugin::VolumeBinding => state.volumes.is_some(),
                FilterPlugin::NodeUnschedulable
                | FilterPlugin::TaintToleration
                | FilterPlugin::NodeResourcesFit => true,
            })
            .collect();
        state
    }

    /// [`Algorithm::filter`] as upstream's `RunFilterPluginsWithNominatedPods`: when pods
    /// of equal or higher priority are nominated to the node, the pod must fit with them
    /// added, and without them. (PreFilter state is not adjusted for the added pods.)
    pub(super) fn filter_with_nominated(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        ns: NamespaceLabels<'_>,
        snapshot: &Snapshot,
    ) -> Option<Status> {
        if snapshot.nominated.is_empty() {
            return self.filter(state, pod, node, ns);
        }
        let priority = pod_priority(&pod.pod);
        let ahead: Vec<&Arc<PodInfo>> = snapshot
            .nominated
            .get(&node.name)
            .into_iter()
            .flatten()
            .filter(|p| p.key != pod.key && pod_priority(&p.pod) >= priority)
            .collect();
        if !ahead.is_empty() {
            let mut with = node.clone();
            for p in ahead {
                with.add_pod(Arc::clone(p));
            }
            if let Some(status) = self.filter(state, pod, &with, ns) {
                return Some(status);
            }
        }
        self.filter(state, pod, node, ns)
    }

    /// The first failing filter's status, or `None` when the node passes them all.
    pub(super) fn filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        ns: NamespaceLabels<'_>,
    ) -> Option<Status> {
        let p: &Pod = &pod.pod;
        for plugin in &state.filters {
            let status = match plugin {
                FilterPlugin::NodeUnschedulable if !node.cordoned() => Status::success(),
                FilterPlugin::NodeUnschedulable => node_unschedulable::filter(p, &node.node),
                FilterPlugin::NodeName => node_name::filter(p, &node.node),
                FilterPlugin::TaintToleration if !node.tainted() => Status::success(),
                FilterPlugin::TaintToleration => taint_toleration::filter(p, &node.node),
                FilterPlugin::NodeAffinity => node_affinity::filter(p, &node.node),
                FilterPlugin::NodePorts => node_ports::filter(&state.ports, &node.resources),
                FilterPlugin::NodeResourcesFit => self.fit.filter(&state.request, &node.resources),
                FilterPlugin::PodTopologySpread => match &state.spread {
                    Some(s) => pod_topology_spread::filter(s, node),
                    None => Status::success(),
                },
                FilterPlugin::InterPodAffinity => match &state.affinity {
                    Some(s) => inter_pod_affinity::filter(s, pod, node, ns),
                    None => Status::success(),
                },
                FilterPlugin::VolumeBinding => match &state.volumes {
                    Some(Ok(s)) => volume_binding::filter(s, &node.node),
                    Some(Err(rejected)) => rejected.clone(),
                    None => Status::success(),
                },
            };
            if !status.is_success() {
                return Some(status);
            }
        }
        None
    }

    /// Weighted, normalised totals of the feasible nodes (same order as `feasible`).
    fn score(
        &self,
        pod: &PodInfo,
        snapshot: &Snapshot,
        feasible: &[usize],
        ns: NamespaceLabels<'_>,
    ) -> Vec<i64> {
        let nodes = &snapshot.nodes;
        if self.scores.is_empty() {
            return vec![1; feasible.len()];
        }
        let mut totals = vec![0_i64; feasible.len()];
        for &(plugin, weight) in &self.scores {
            let scores = match plugin {
                ScorePlugin::TaintToleration => {
                    let mut s = scores_of(nodes, feasible, &|n: &NodeInfo| {
                        if n.tainted() {
                            taint_toleration::score(&pod.pod, &n.node)
                        } else {
                            0
                        }
                    });
                    taint_toleration::normalize(&mut s);
                    s
                }
                ScorePlugin::NodeAffinity => {
                    let mut s = scores_of(nodes, feasible, &|n: &NodeInfo| {
                        node_affinity::score(&pod.pod, &n.node)
                    });
                    node_affinity::normalize(&mut s);
                    s
                }
                ScorePlugin::NodeResourcesFit => {
                    let requests = self.fit.pre_score(&pod.pod);
                    scores_of(nodes, feasible, &|n: &NodeInfo| {
                        self.fit.score(&requests, &n.resources)
                    })
                }
                ScorePlugin::NodeResourcesBalancedAllocation => {
                    let Some(requests) = self.balanced.pre_score(&pod.pod) else {
                        continue;
                    };
                    scores_of(nodes, feasible, &|n: &NodeInfo| {
                        self.balanced.score(&requests, &n.resources)
                    })
                }
                ScorePlugin::InterPodAffinity if snapshot.affinity_idle(pod) => continue,
                ScorePlugin::InterPodAffinity => {
                    let all = inter_pod_affinity::scores(
                        pod,
                        nodes,
                        ns,
                        self.hard_pod_affinity_weight,
                        self.ignore_existing_preferred,
                    );
                    let mut s: Vec<i64> = feasible
                        .iter()
                        .map(|&i| all.get(i).copied().unwrap_or(0))
                        .collect();
                    inter_pod_affinity::normalize(&mut s);
                    s
                }
                ScorePlugin::PodTopologySpread => {
                    let defaults = self.spread_defaults(&snapshot.workload_selectors);
                    match pod_topology_spread_score::scores(pod, nodes, feasible, &defaults) {
                        Some(s) => s,
                        None => continue,
                    }
                }
            };
            for (total, s) in totals.iter_mut().zip(scores) {
                *total += s * weight;
            }
        }
        totals
    }

    /// PodTopologySpread's cluster default constraints, with the selectors to derive
    /// their selector from.
    fn spread_defaults<'a>(
        &'a self,
        workloads: &'a WorkloadSelectors,
    ) -> pod_topology_spread_score::Defaults<'a> {
        pod_topology_spread_score::Defaults {
            constraints: &self.spread_defaults,
            system: self.spread_system_defaulted,
            workloads,
        }
    }

    /// The feasible node with the highest total; among equals, a rotating choice.
    fn select(&mut self, feasible: &[usize], totals: &[i64]) -> usize {
        let best = totals.iter().copied().max().unwrap_or(0);
        let ties: Vec<usize> = feasible
            .iter()
            .zip(totals)
            .filter(|(_, t)| **t == best)
            .map(|(i, _)| *i)
            .collect();
        let pick = self.tie_break % ties.len().max(1);
        self.tie_break = self.tie_break.wrapping_add(1);
        ties.get(pick).copied().unwrap_or(feasible[0])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "cycle_tests.rs"]
mod tests;

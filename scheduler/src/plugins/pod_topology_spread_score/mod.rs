//! PodTopologySpread scoring (upstream v1.33 `scoring.go`): nodes in domains with fewer
//! matching pods score higher, for the pod's `ScheduleAnyway` constraints or, when the
//! pod declares no constraint at all, the cluster default constraints.
//!
//! Default constraints count with the pod's *default selector* (upstream's
//! `helper.DefaultSelector`): the selectors of the Services in the pod's namespace that
//! select it, plus the selector of its controlling ReplicationController, ReplicaSet or
//! StatefulSet. When that selector is empty, the defaults do not apply.
//!
//! PreScore: feasible nodes lacking a topology key are *ignored* (score 0) unless the
//! constraints are the System defaults (then a node without a zone label still spreads by
//! hostname). Each constraint gets the weight `ln(domains + 2)`, where domains are the
//! distinct values among the scored feasible nodes (for `kubernetes.io/hostname`: their
//! number). Matching pods are counted over every node of the cluster that carries all
//! the keys and passes the constraint's node inclusion policies, per domain of a feasible
//! node. Score: `Σ count × weight + (maxSkew − 1)`, rounded; NormalizeScore:
//! `100 × (max + min − score) / max` (100 for all when `max` is 0), ignored nodes 0.

use std::collections::HashSet;

use super::MAX_NODE_SCORE;
use super::pod_topology_spread::{
    Constraint, DomainCounts, constraints_of, count_on, default_constraints, eligible,
    has_own_constraints,
};
use crate::config::DefaultConstraint;
use crate::snapshot::{NodeInfo, PodInfo};

mod workloads;

pub use workloads::{SelectorSource, WorkloadKind, WorkloadSelectors};

/// The well-known hostname label; its domains are single nodes, counted at Score.
pub const HOSTNAME_KEY: &str = crate::snapshot::WELL_KNOWN_KEYS[0];

/// The profile's cluster default constraints and where the default selector comes from.
#[derive(Debug, Clone, Copy)]
pub struct Defaults<'a> {
    /// `PodTopologySpreadArgs::effective_constraints()`.
    pub constraints: &'a [DefaultConstraint],
    /// Whether they are the System defaults (`defaultingType: System`).
    pub system: bool,
    /// Services' and controllers' selectors.
    pub workloads: &'a WorkloadSelectors,
}

/// What PreScore computed for one pod.
#[derive(Debug)]
pub struct PreScoreState {
    constraints: Vec<Constraint>,
    /// Snapshot indices of feasible nodes that lack a required topology key.
    ignored: HashSet<usize>,
    /// Per constraint: domain value → matching pods (not used for hostname).
    counts: Vec<DomainCounts>,
    /// Per constraint: `ln(domains + 2)`.
    weights: Vec<f64>,
}

fn has_all_keys(node: &NodeInfo, constraints: &[Constraint]) -> bool {
    constraints
        .iter()
        .all(|c| node.topology_value(&c.topology_key).is_some())
}

/// Upstream's `topologyNormalizingWeight`.
fn normalizing_weight(size: usize) -> f64 {
    // Node counts stay far below 2^52, so the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let size = size as f64;
    (size + 2.0).ln()
}

/// PreScore over the snapshot's `nodes`, `feasible` being the indices that passed the
/// filters; `None` when the plugin has nothing to score for this pod (upstream's Skip).
pub fn pre_score(
    pod: &PodInfo,
    nodes: &[NodeInfo],
    feasible: &[usize],
    defaults: &Defaults<'_>,
) -> Option<PreScoreState> {
    if nodes.is_empty() {
        return None;
    }
    let own = has_own_constraints(pod);
    let constraints = if own {
        constraints_of(pod, "ScheduleAnyway")
    } else {
        default_constraints(pod, defaults, "ScheduleAnyway")
    };
    if constraints.is_empty() {
        return None;
    }
    let require_all = own || !defaults.system;
    let mut ignored = HashSet::new();
    let mut counts: Vec<DomainCounts> = vec![DomainCounts::default(); constraints.len()];
    for &i in feasible {
        let Some(node) = nodes.get(i) else { continue };
        if require_all && !has_all_keys(node, &constraints) {
            ignored.insert(i);
            continue;
        }
        for (c, domains) in constraints.iter().zip(counts.iter_mut()) {
            if c.topology_key != HOSTNAME_KEY {
                // A node without the key sits in the "" domain, as upstream.
                let value = node.topology_value(&c.topology_key).unwrap_or("");
                domains.entry(value.to_owned()).or_insert(0);
            }
        }
    }
    let scored = feasible.len().saturating_sub(ignored.len());
    let weights = constraints
        .iter()
        .zip(&counts)
        .map(|(c, domains)| {
            let size = if c.topology_key == HOSTNAME_KEY {
                scored
            } else {
                domains.len()
            };
            normalizing_weight(size)
        })
        .collect();
    sum_domains(pod, nodes, &constraints, require_all, &mut counts);
    Some(PreScoreState {
        constraints,
        ignored,
        counts,
        weights,
    })
}

/// Adds to each non-hostname constraint's domains the matching pods of every node in them
/// (hostname constraints are counted node by node in Score). Every node counts, not only
/// the feasible ones: a domain may reach past them.
fn sum_domains(
    pod: &PodInfo,
    nodes: &[NodeInfo],
    constraints: &[Constraint],
    require_all: bool,
    counts: &mut [DomainCounts],
) {
    let summed: Vec<usize> = (0..constraints.len())
        .filter(|&i| constraints[i].topology_key != HOSTNAME_KEY)
        .collect();
    if summed.is_empty() {
        return;
    }
    // Runs of nodes in one domain (every node of a cluster without zones is in "") are
    // summed before their domain is looked up.
    let mut runs: Vec<Option<(&str, i64)>> = vec![None; constraints.len()];
    for node in nodes {
        if require_all && !has_all_keys(node, constraints) {
            continue;
        }
        for &i in &summed {
            let c = &constraints[i];
            if !eligible(pod, node, c) {
                continue;
            }
            let value = node.topology_value(&c.topology_key).unwrap_or("");
            let n = count_on(node, &pod.namespace, c);
            match &mut runs[i] {
                Some((run, sum)) if *run == value => *sum += n,
                run => {
                    if let Some((domain, sum)) = run.replace((value, n)) {
                        add_to_domain(&mut counts[i], domain, sum);
                    }
                }
            }
        }
    }
    for (domains, run) in counts.iter_mut().zip(runs) {
        if let Some((domain, sum)) = run {
            add_to_domain(domains, domain, sum);
        }
    }
}

/// Adds `n` to `domain`'s count when it is one of the domains being scored.
fn add_to_domain(domains: &mut DomainCounts, domain: &str, n: i64) {
    if let Some(count) = domains.get_mut(domain) {
        *count += n;
    }
}

/// The raw score of the feasible node at snapshot index `index` (lower is better).
pub fn score(state: &PreScoreState, pod: &PodInfo, index: usize, node: &NodeInfo) -> i64 {
    if state.ignored.contains(&index) {
        return 0;
    }
    let mut total = 0.0_f64;
    for (i, c) in state.constraints.iter().enumerate() {
        let Some(value) = node.topology_value(&c.topology_key) else {
            continue;
        };
        let count = if c.topology_key == HOSTNAME_KEY {
            count_on(node, &pod.namespace, c)
        } else {
            state.counts[i].get(value).copied().unwrap_or(0)
        };
        #[allow(clippy::cast_precision_loss)]
        let count = count as f64;
        total += count * state.weights[i] + (c.max_skew - 1) as f64;
    }
    // Scores are small positive numbers; the rounding is upstream's `math.Round`.
    #[allow(clippy::cast_possible_truncation)]
    let rounded = total.round() as i64;
    rounded
}

/// NormalizeScore: `scores[k]` belongs to the node at snapshot index `feasible[k]`.
pub fn normalize(state: &PreScoreState, feasible: &[usize], scores: &mut [i64]) {
    let mut min = i64::MAX;
    let mut max = 0_i64;
    for (i, s) in feasible.iter().zip(scores.iter()) {
        if !state.ignored.contains(i) {
            min = min.min(*s);
            max = max.max(*s);
        }
    }
    for (i, s) in feasible.iter().zip(scores.iter_mut()) {
        *s = if state.ignored.contains(i) {
            0
        } else if max == 0 {
            MAX_NODE_SCORE
        } else {
            MAX_NODE_SCORE * (max + min - *s) / max
        };
    }
}

/// PreScore, Score and NormalizeScore for the feasible nodes (same order as
/// `feasible`); `None` when the plugin is skipped for this pod.
pub fn scores(
    pod: &PodInfo,
    nodes: &[NodeInfo],
    feasible: &[usize],
    defaults: &Defaults<'_>,
) -> Option<Vec<i64>> {
    let state = pre_score(pod, nodes, feasible, defaults)?;
    let mut s: Vec<i64> = feasible
        .iter()
        .map(|&i| nodes.get(i).map_or(0, |n| score(&state, pod, i, n)))
        .collect();
    normalize(&state, feasible, &mut s);
    Some(s)
}

#[cfg(test)]
mod tests;

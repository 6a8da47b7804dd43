//! InterPodAffinity (upstream v1.33): required pod affinity and anti-affinity of the
//! incoming pod, the required anti-affinity of pods already placed (symmetry), and
//! scoring by preferred terms of both sides (plus existing pods' required affinity,
//! weighted by `hardPodAffinityWeight`).
//!
//! `pre_filter` counts, per topology pair (key, value), the placed pods that matter; the
//! per-node filter then only looks the node's values up.

use std::collections::HashMap;

use super::{MAX_NODE_SCORE, Status};
use crate::selector::Labels;
use crate::snapshot::{AffinityTerm, NodeInfo, PodInfo, WeightedTerm};

/// Upstream's `ErrReasonAffinityRulesNotMatch`.
pub const AFFINITY: &str = "node(s) didn't match pod affinity rules";
/// Upstream's `ErrReasonAntiAffinityRulesNotMatch`.
pub const ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// Upstream's `ErrReasonExistingAntiAffinityRulesNotMatch`.
pub const EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";

/// A namespace's labels, for terms with a namespace selector.
pub type NamespaceLabels<'a> = &'a dyn Fn(&str) -> Option<Labels>;

/// Counts per topology key, then per value: looked up with borrowed strings, so the
/// per-node checks allocate nothing.
type Counts = HashMap<String, HashMap<String, i64>>;

/// What `pre_filter` found, per topology pair.
#[derive(Debug, Default)]
pub struct PreFilterState {
    existing_anti: Counts,
    affinity: Counts,
    anti: Counts,
}

fn bump(map: &mut Counts, node: &NodeInfo, key: &str, by: i64) {
    let Some(v) = node.topology_value(key) else {
        return;
    };
    // Look up with borrowed strings; allocate only for a pair seen the first time.
    let values = match map.get_mut(key) {
        Some(values) => values,
        None => map.entry(key.to_owned()).or_default(),
    };
    match values.get_mut(v) {
        Some(n) => *n += by,
        None => {
            values.insert(v.to_owned(), by);
        }
    }
}

fn matches_all(terms: &[AffinityTerm], pod: &PodInfo, ns: NamespaceLabels<'_>) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, ns))
}

/// Counts what the filter needs for `pod`: the placed pods' required anti-affinity
/// (only pods that have such terms are visited) and, when the pod has required terms of
/// its own, the placed pods those terms select.
pub fn pre_filter<'n>(
    pod: &PodInfo,
    nodes: impl IntoIterator<Item = &'n NodeInfo>,
    ns: NamespaceLabels<'_>,
) -> PreFilterState {
    let mut state = PreFilterState::default();
    let own_terms = !(pod.required_affinity.is_empty() && pod.required_anti_affinity.is_empty());
    for node in nodes {
        for existing in &node.pods_with_required_anti_affinity {
            for term in &existing.required_anti_affinity {
                if term.matches(pod, ns) {
                    bump(&mut state.existing_anti, node, &term.topology_key, 1);
                }
            }
        }
        if !own_terms {
            continue;
        }
        for existing in &node.pods {
            if matches_all(&pod.required_affinity, existing, ns) {
                for term in &pod.required_affinity {
                    bump(&mut state.affinity, node, &term.topology_key, 1);
                }
            }
            for term in &pod.required_anti_affinity {
                if term.matches(existing, ns) {
                    bump(&mut state.anti, node, &term.topology_key, 1);
                }
            }
        }
    }
    state
}

fn count(map: &Counts, key: &str, value: &str) -> i64 {
    map.get(key)
        .and_then(|values| values.get(value))
        .copied()
        .unwrap_or(0)
}

/// Filter: the node satisfies the pod's affinity, its anti-affinity, and the placed
/// pods' anti-affinity, in that order.
pub fn filter(
    state: &PreFilterState,
    pod: &PodInfo,
    node: &NodeInfo,
    ns: NamespaceLabels<'_>,
) -> Status {
    if !satisfies_affinity(state, pod, node, ns) {
        return Status::unresolvable(AFFINITY);
    }
    let anti_hit = !state.anti.is_empty()
        && pod.required_anti_affinity.iter().any(|t| {
            node.topology_value(&t.topology_key)
                .is_some_and(|v| count(&state.anti, &t.topology_key, v) > 0)
        });
    if anti_hit {
        return Status::unschedulable(ANTI_AFFINITY);
    }
    let existing_hit = !state.existing_anti.is_empty()
        && node
            .labels
            .iter()
            .any(|(k, v)| count(&state.existing_anti, k, v) > 0);
    if existing_hit {
        return Status::unschedulable(EXISTING_ANTI_AFFINITY);
    }
    Status::success()
}

fn satisfies_affinity(
    state: &PreFilterState,
    pod: &PodInfo,
    node: &NodeInfo,
    ns: NamespaceLabels<'_>,
) -> bool {
    let mut all_found = true;
    for term in &pod.required_affinity {
        let Some(v) = node.topology_value(&term.topology_key) else {
            // Every topology key must be on the node.
            return false;
        };
        if count(&state.affinity, &term.topology_key, v) <= 0 {
            all_found = false;
        }
    }
    // The first pod of a group with affinity to itself may go anywhere with the keys.
    all_found || (state.affinity.is_empty() && matches_all(&pod.required_affinity, pod, ns))
}

/// PreScore + Score: the raw score of every node (same order as `nodes`), from the
/// preferred terms of the pod and of placed pods, and placed pods' required affinity
/// weighted by `hard_weight`. Empty when nothing applies (every node scores 0): a pod
/// without preferred terms only visits the placed pods that have affinity terms.
pub fn scores(
    pod: &PodInfo,
    nodes: &[NodeInfo],
    ns: NamespaceLabels<'_>,
    hard_weight: i64,
    ignore_existing_preferred: bool,
) -> Vec<i64> {
    let own_terms = !(pod.preferred_affinity.is_empty() && pod.preferred_anti_affinity.is_empty());
    let mut topology = Counts::new();
    for node in nodes {
        let placed = if own_terms {
            &node.pods
        } else {
            &node.pods_with_affinity
        };
        for existing in placed {
            // The pod's preferences about placed pods, and the placed pods' about it.
            add_weighted(
                &mut topology,
                node,
                &pod.preferred_affinity,
                existing,
                1,
                ns,
            );
            add_weighted(
                &mut topology,
                node,
                &pod.preferred_anti_affinity,
                existing,
                -1,
                ns,
            );
            if hard_weight > 0 {
                for t in &existing.required_affinity {
                    if t.matches(pod, ns) {
                        bump(&mut topology, node, &t.topology_key, hard_weight);
                    }
                }
            }
            if !ignore_existing_preferred {
                add_weighted(
                    &mut topology,
                    node,
                    &existing.preferred_affinity,
                    pod,
                    1,
                    ns,
                );
                add_weighted(
                    &mut topology,
                    node,
                    &existing.preferred_anti_affinity,
                    pod,
                    -1,
                    ns,
                );
            }
        }
    }
    if topology.is_empty() {
        return Vec::new();
    }
    nodes
        .iter()
        .map(|n| n.labels.iter().map(|(k, v)| count(&topology, k, v)).sum())
        .collect()
}

/// Adds `sign × weight` at `node`'s domain for each of `terms` that selects `target`.
fn add_weighted(
    topology: &mut Counts,
    node: &NodeInfo,
    terms: &[WeightedTerm],
    target: &PodInfo,
    sign: i64,
    ns: NamespaceLabels<'_>,
) {
    for w in terms {
        if w.term.matches(target, ns) {
            bump(
                topology,
                node,
                &w.term.topology_key,
                sign * i64::from(w.weight),
            );
        }
    }
}

/// NormalizeScore: min-max scaled to 0..=100 (all 0 when every node scored the same).
pub fn normalize(scores: &mut [i64]) {
    let (Some(&min), Some(&max)) = (scores.iter().min(), scores.iter().max()) else {
        return;
    };
    let diff = max - min;
    for s in scores.iter_mut() {
        *s = if diff > 0 {
            MAX_NODE_SCORE * (*s - min) / diff
        } else {
            0
        };
    }
}

#[cfg(test)]
#[path = "inter_pod_affinity_tests.rs"]
mod tests;

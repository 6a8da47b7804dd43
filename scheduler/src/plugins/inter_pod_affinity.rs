//! InterPodAffinity (upstream v1.33): required pod affinity and anti-affinity of the
//! incoming pod, the required anti-affinity of pods already placed (symmetry), and
//! scoring by preferred terms of both sides (plus existing pods' required affinity,
//! weighted by `hardPodAffinityWeight`).
//!
//! `pre_filter` counts, per topology pair (key, value), the placed pods that matter; the
//! per-node filter then only looks the node's values up.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::{MAX_NODE_SCORE, Status};
use crate::selector::Labels;
use crate::snapshot::{AffinityTerm, CountKey, NodeInfo, PodInfo, WeightedTerm};

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
type Counts = HashMap<String, HashMap<String, i64, RandomState>, RandomState>;

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
    // The pod's own terms count through the nodes' memos when they can.
    let affinity_key = CountKey::terms(&pod.required_affinity);
    let anti_keys: Vec<Option<CountKey>> = pod
        .required_anti_affinity
        .iter()
        .map(|t| CountKey::terms(std::slice::from_ref(t)))
        .collect();
    let mut existing_keys = ExistingAntiKeys::new(pod);
    for node in nodes {
        count_existing_anti(&mut state.existing_anti, &mut existing_keys, pod, node, ns);
        if !own_terms {
            continue;
        }
        if !pod.required_affinity.is_empty() {
            let n = count_on(node, affinity_key.as_ref(), |e| {
                matches_all(&pod.required_affinity, e, ns)
            });
            if n > 0 {
                for term in &pod.required_affinity {
                    bump(&mut state.affinity, node, &term.topology_key, n);
                }
            }
        }
        for (term, key) in pod.required_anti_affinity.iter().zip(&anti_keys) {
            let n = count_on(node, key.as_ref(), |e| term.matches(e, ns));
            if n > 0 {
                bump(&mut state.anti, node, &term.topology_key, n);
            }
        }
    }
    state
}

/// The pods on `node` that `matches` accepts, through the node's memo when `key` names
/// the predicate.
fn count_on(node: &NodeInfo, key: Option<&CountKey>, matches: impl Fn(&PodInfo) -> bool) -> i64 {
    match key {
        Some(key) => node.count_matching(key, |p| i64::from(matches(p))),
        None => i64::try_from(node.pods.iter().filter(|p| matches(p)).count()).unwrap_or(i64::MAX),
    }
}

/// Memo keys for "terms of placed pods' required anti-affinity with topology key K that
/// select the incoming pod": one per K, made when first needed. The incoming pod enters a
/// key through its namespace and labels, all a term without a namespace selector reads.
struct ExistingAntiKeys {
    pod: String,
    keys: Vec<(String, CountKey)>,
}

impl ExistingAntiKeys {
    fn new(pod: &PodInfo) -> Self {
        let labels = serde_json::to_string(&pod.labels).unwrap_or_default();
        Self {
            pod: format!("{}\0{labels}", pod.namespace),
            keys: Vec::new(),
        }
    }

    fn key(&mut self, topology_key: &str) -> &CountKey {
        let i = match self.keys.iter().position(|(k, _)| k == topology_key) {
            Some(i) => i,
            None => {
                let text = format!("existing-anti\0{topology_key}\0{}", self.pod);
                self.keys
                    .push((topology_key.to_owned(), CountKey::new(text)));
                self.keys.len() - 1
            }
        };
        &self.keys[i].1
    }
}

/// Adds, at `node`'s domains, the terms of its pods' required anti-affinity that select
/// `pod` (upstream's existingAntiAffinityCounts), remembered per topology key when the
/// terms allow it.
fn count_existing_anti(
    counts: &mut Counts,
    keys: &mut ExistingAntiKeys,
    pod: &PodInfo,
    node: &NodeInfo,
    ns: NamespaceLabels<'_>,
) {
    if node.pods_with_required_anti_affinity.is_empty() {
        return;
    }
    let Some(topology_keys) = node.anti_affinity_keys() else {
        for existing in &node.pods_with_required_anti_affinity {
            for term in &existing.required_anti_affinity {
                if term.matches(pod, ns) {
                    bump(counts, node, &term.topology_key, 1);
                }
            }
        }
        return;
    };
    for topology_key in topology_keys {
        let n = node.count_matching(keys.key(topology_key), |existing| {
            let hits = existing
                .required_anti_affinity
                .iter()
                .filter(|t| t.topology_key == *topology_key && t.matches(pod, ns))
                .count();
            i64::try_from(hits).unwrap_or(i64::MAX)
        });
        if n > 0 {
            bump(counts, node, topology_key, n);
        }
    }
}

/// The sum of `map`'s counts at `node`'s values of the map's topology keys.
fn count_at(map: &Counts, node: &NodeInfo) -> i64 {
    map.iter()
        .filter_map(|(key, values)| values.get(node.topology_value(key)?))
        .sum()
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
    let existing_hit = state.existing_anti.iter().any(|(key, values)| {
        node.topology_value(key)
            .and_then(|v| values.get(v))
            .is_some_and(|n| *n > 0)
    });
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
    let mut topology = Counts::default();
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
    nodes.iter().map(|n| count_at(&topology, n)).collect()
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

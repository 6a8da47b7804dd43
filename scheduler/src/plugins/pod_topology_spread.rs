//! PodTopologySpread filtering (upstream v1.33): for each `DoNotSchedule` constraint, the
//! number of matching pods in the node's domain, plus the pod itself when it matches,
//! may exceed the least-loaded eligible domain by at most `maxSkew` (the minimum counts
//! as 0 while fewer than `minDomains` domains exist).
//!
//! Eligible nodes carry every constraint's topology key and pass the node inclusion
//! policies: `nodeAffinityPolicy` (default Honor: the pod's node selector and required
//! affinity) and `nodeTaintsPolicy` (default Ignore; Honor: its taints tolerated).
//! `matchLabelKeys` add `key in (the pod's value)` to the selector.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::pod_topology_spread_score::Defaults;
use super::{Status, node_affinity, taint_toleration};
use crate::selector::label_selector_matches;
use crate::snapshot::{CountKey, NodeInfo, PodInfo};

/// Upstream's `ErrReasonConstraintsNotMatch`.
pub const NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
/// Upstream's `ErrReasonNodeLabelNotMatch`.
pub const MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// Matching pods per domain value of one constraint.
pub(super) type DomainCounts = HashMap<String, i64, foldhash::fast::RandomState>;

/// One spread constraint, ready to count with.
#[derive(Debug, Clone)]
pub(super) struct Constraint {
    pub(super) max_skew: i64,
    pub(super) topology_key: String,
    pub(super) selector: LabelSelector,
    /// Names "pods of the pod's namespace this selector counts" in the nodes' memos.
    pub(super) count_key: CountKey,
    pub(super) min_domains: usize,
    pub(super) honor_affinity: bool,
    pub(super) honor_taints: bool,
}

/// What `pre_filter` counted for one pod.
#[derive(Debug, Default)]
pub struct PreFilterState {
    constraints: Vec<Constraint>,
    self_match: Vec<bool>,
    /// Per constraint: domain value → matching pods.
    counts: Vec<DomainCounts>,
    /// Per constraint: the smallest domain count (0 while fewer domains than
    /// `minDomains` exist).
    minimums: Vec<i64>,
}

impl PreFilterState {
    /// Whether no constraint applies (the filter then passes every node).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.constraints.is_empty()
    }
}

/// The pod's own constraints whose `whenUnsatisfiable` is `when`, with `matchLabelKeys`
/// folded into their selectors.
pub(super) fn constraints_of(pod: &PodInfo, when: &str) -> Vec<Constraint> {
    let spec = pod.pod.spec.as_ref();
    let list: &[TopologySpreadConstraint] = spec
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or_default();
    build(list, pod, when)
}

/// Whether the pod declares any spread constraint at all (of either kind).
pub(super) fn has_own_constraints(pod: &PodInfo) -> bool {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_ref())
        .is_some_and(|l| !l.is_empty())
}

/// The cluster default constraints whose `whenUnsatisfiable` is `when`, all counting with
/// the pod's default selector (upstream's `buildDefaultConstraints`); none when that
/// selector is empty.
pub(super) fn default_constraints(
    pod: &PodInfo,
    defaults: &Defaults<'_>,
    when: &str,
) -> Vec<Constraint> {
    let list: Vec<TopologySpreadConstraint> = defaults
        .constraints
        .iter()
        .map(|d| TopologySpreadConstraint {
            max_skew: d.max_skew,
            topology_key: d.topology_key.clone(),
            when_unsatisfiable: d.when_unsatisfiable.clone(),
            ..TopologySpreadConstraint::default()
        })
        .collect();
    let mut built = build(&list, pod, when);
    if built.is_empty() {
        return built;
    }
    let Some(selector) = defaults.workloads.default_selector(pod) else {
        return Vec::new();
    };
    let count_key = CountKey::spread(&pod.namespace, &selector);
    for c in &mut built {
        c.selector = selector.clone();
        c.count_key = count_key.clone();
    }
    built
}

fn build(list: &[TopologySpreadConstraint], pod: &PodInfo, when: &str) -> Vec<Constraint> {
    list.iter()
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| {
            let mut selector = c.label_selector.clone().unwrap_or_default();
            for key in c.match_label_keys.iter().flatten() {
                if let Some(v) = pod.labels.get(key) {
                    selector
                        .match_expressions
                        .get_or_insert_with(Vec::new)
                        .push(LabelSelectorRequirement {
                            key: key.clone(),
                            operator: "In".to_owned(),
                            values: Some(vec![v.clone()]),
                        });
                }
            }
            // A constraint without a selector matches no pod.
            let selector = if c.label_selector.is_some() {
                selector
            } else {
                LabelSelector {
                    match_expressions: Some(vec![LabelSelectorRequirement {
                        key: String::new(),
                        operator: "Never".to_owned(),
                        values: None,
                    }]),
                    ..LabelSelector::default()
                }
            };
            Constraint {
                max_skew: i64::from(c.max_skew),
                topology_key: c.topology_key.clone(),
                count_key: CountKey::spread(&pod.namespace, &selector),
                selector,
                min_domains: c
                    .min_domains
                    .and_then(|m| usize::try_from(m).ok())
                    .unwrap_or(1),
                honor_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
            }
        })
        .collect()
}

/// Whether `node` counts for `c` under its node inclusion policies.
pub(super) fn eligible(pod: &PodInfo, node: &NodeInfo, c: &Constraint) -> bool {
    (!c.honor_affinity || node_affinity::required_matches(&pod.pod, &node.node))
        && (!c.honor_taints
            || taint_toleration::untolerated(&pod.pod, &node.node, &["NoSchedule", "NoExecute"])
                .is_none())
}

/// Whether `pod` counts toward a constraint with `selector`: same namespace, not
/// terminating, labels matching (upstream's `countPodsMatchSelector`).
fn counts_toward(p: &PodInfo, namespace: &str, selector: &LabelSelector) -> bool {
    p.namespace == namespace
        && p.pod.metadata.deletion_timestamp.is_none()
        && label_selector_matches(Some(selector), &p.labels)
}

/// The pods on `node` that count toward `c` for a pod of `namespace` (remembered by the
/// node until its pods change).
pub(super) fn count_on(node: &NodeInfo, namespace: &str, c: &Constraint) -> i64 {
    node.count_matching(&c.count_key, |p| {
        i64::from(counts_toward(p, namespace, &c.selector))
    })
}

/// Counts the matching pods per domain over every eligible node, for the pod's
/// `DoNotSchedule` constraints or, when it declares none at all, the `DoNotSchedule`
/// cluster defaults (a `List` defaulting may have some).
pub fn pre_filter<'n>(
    pod: &PodInfo,
    nodes: impl IntoIterator<Item = &'n NodeInfo>,
    defaults: &Defaults<'_>,
) -> PreFilterState {
    let constraints = if has_own_constraints(pod) {
        constraints_of(pod, "DoNotSchedule")
    } else {
        default_constraints(pod, defaults, "DoNotSchedule")
    };
    if constraints.is_empty() {
        // Nothing to count, and every node passes.
        return PreFilterState::default();
    }
    let mut counts: Vec<DomainCounts> = vec![DomainCounts::default(); constraints.len()];
    for node in nodes {
        if constraints
            .iter()
            .any(|c| node.topology_value(&c.topology_key).is_none())
        {
            continue;
        }
        for (i, c) in constraints.iter().enumerate() {
            if !eligible(pod, node, c) {
                continue;
            }
            let Some(value) = node.topology_value(&c.topology_key) else {
                continue;
            };
            let matching = count_on(node, &pod.namespace, c);
            match counts[i].get_mut(value) {
                Some(n) => *n += matching,
                None => {
                    counts[i].insert(value.to_owned(), matching);
                }
            }
        }
    }
    let self_match = constraints
        .iter()
        .map(|c| label_selector_matches(Some(&c.selector), &pod.labels))
        .collect();
    let minimums = constraints
        .iter()
        .zip(&counts)
        .map(|(c, domains)| {
            if domains.len() < c.min_domains {
                0
            } else {
                domains.values().copied().min().unwrap_or(0)
            }
        })
        .collect();
    PreFilterState {
        constraints,
        self_match,
        counts,
        minimums,
    }
}

/// Filter: every hard constraint's skew stays within `maxSkew` on this node.
pub fn filter(state: &PreFilterState, node: &NodeInfo) -> Status {
    for (i, c) in state.constraints.iter().enumerate() {
        let Some(value) = node.topology_value(&c.topology_key) else {
            return Status::unresolvable(MISSING_LABEL);
        };
        let min = state.minimums[i];
        let here = state.counts[i].get(value).copied().unwrap_or(0);
        let skew = here + i64::from(state.self_match[i]) - min;
        if skew > c.max_skew {
            return Status::unschedulable(NOT_MATCH);
        }
    }
    Status::success()
}

#[cfg(test)]
#[path = "pod_topology_spread_tests.rs"]
mod tests;

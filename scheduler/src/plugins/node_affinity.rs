//! NodeAffinity: a pod lands only on nodes matching its `nodeSelector` and its required
//! node affinity; nodes matching more of its preferred terms (by weight) score higher.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeAffinity, NodeSelector, Pod};

use super::{MAX_NODE_SCORE, Status, default_normalize, node_labels, node_name};
use crate::selector::{node_selector_matches, node_selector_term_matches};

/// Upstream's `ErrReasonPod`.
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

fn affinity(pod: &Pod) -> Option<&NodeAffinity> {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
}

/// Whether `node` satisfies the pod's `nodeSelector` and required node affinity
/// (upstream's `GetRequiredNodeAffinity(pod).Match(node)`).
pub fn required_matches(pod: &Pod, node: &Node) -> bool {
    let (selector, required) = requirements(pod);
    // A pod asking nothing of nodes never reads the node (a cache miss per node).
    if selector.is_none() && required.is_none() {
        return true;
    }
    let labels = node_labels(node);
    selector
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
        && required.is_none_or(|sel| node_selector_matches(sel, labels, node_name(node)))
}

/// The pod's non-empty `nodeSelector` and its required node affinity.
fn requirements(pod: &Pod) -> (Option<&BTreeMap<String, String>>, Option<&NodeSelector>) {
    let selector = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_selector.as_ref())
        .filter(|s| !s.is_empty());
    let required = affinity(pod).and_then(|a| {
        a.required_during_scheduling_ignored_during_execution
            .as_ref()
    });
    (selector, required)
}

/// Whether the pod has neither a node selector nor required node affinity: then the
/// filter passes every node.
#[must_use]
pub fn asks_nothing(pod: &Pod) -> bool {
    requirements(pod) == (None, None)
}

/// Filter: the node matches the pod's node selector and required affinity.
pub fn filter(pod: &Pod, node: &Node) -> Status {
    if required_matches(pod, node) {
        Status::success()
    } else {
        Status::unresolvable(REASON)
    }
}

/// Raw score: the summed weights of the preferred terms the node matches.
pub fn score(pod: &Pod, node: &Node) -> i64 {
    let Some(preferred) = affinity(pod).and_then(|a| {
        a.preferred_during_scheduling_ignored_during_execution
            .as_ref()
    }) else {
        return 0;
    };
    let labels = node_labels(node);
    preferred
        .iter()
        .filter(|p| {
            p.weight != 0 && node_selector_term_matches(&p.preference, labels, node_name(node))
        })
        .map(|p| i64::from(p.weight))
        .sum()
}

/// NormalizeScore: scaled so the best node gets the maximum.
pub fn normalize(scores: &mut [i64]) {
    default_normalize(scores, MAX_NODE_SCORE, false);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn node(name: &str, labels: Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
    }

    fn pod(spec: Value) -> Pod {
        let mut spec = spec;
        spec["containers"] = json!([]);
        serde_json::from_value(json!({"spec": spec})).unwrap()
    }

    #[test]
    fn selector_and_required_terms() {
        let n = node("n1", json!({"zone": "a", "disk": "ssd"}));
        let term = |op: &str, values: Value| {
            json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": op, "values": values}]}]}})
        };
        let cases = [
            (json!({}), true),
            (json!({"nodeSelector": {"disk": "ssd"}}), true),
            (json!({"nodeSelector": {"disk": "hdd"}}), false),
            (
                json!({"affinity": {"nodeAffinity": term("In", json!(["a", "b"]))}}),
                true,
            ),
            (
                json!({"affinity": {"nodeAffinity": term("NotIn", json!(["a"]))}}),
                false,
            ),
            (
                json!({"nodeSelector": {"disk": "hdd"}, "affinity": {"nodeAffinity": term("In", json!(["a"]))}}),
                false,
            ),
            (
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}}),
                false,
            ),
        ];
        for (spec, ok) in cases {
            let p = pod(spec.clone());
            assert_eq!(filter(&p, &n).is_success(), ok, "{spec}");
        }
        assert_eq!(
            filter(&pod(json!({"nodeSelector": {"x": "y"}})), &n),
            Status::unresolvable(REASON)
        );
    }

    #[test]
    fn preferred_terms_score_by_weight() {
        let p = pod(
            json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 2, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
                {"weight": 6, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}
            ]}}}),
        );
        let nodes = [
            node("n1", json!({"zone": "a"})),
            node("n2", json!({"zone": "a", "disk": "ssd"})),
            node("n3", json!({})),
        ];
        let mut scores: Vec<i64> = nodes.iter().map(|n| score(&p, n)).collect();
        assert_eq!(scores, [2, 8, 0]);
        normalize(&mut scores);
        assert_eq!(scores, [25, 100, 0]);
    }
}

//! TaintToleration: a pod does not land on a node with a `NoSchedule` or `NoExecute`
//! taint it does not tolerate; among the rest, nodes with fewer untolerated
//! `PreferNoSchedule` taints score higher.

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};

use super::{MAX_NODE_SCORE, Status, default_normalize};

/// Whether toleration `t` tolerates `taint` (upstream's `ToleratesTaint`): same effect
/// (or none given), same key (or none given), and an `Equal` value or `Exists`.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

fn taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
}

fn tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default()
}

/// The first taint of `node` with one of `effects` that no toleration of `pod` tolerates.
pub fn untolerated<'a>(pod: &Pod, node: &'a Node, effects: &[&str]) -> Option<&'a Taint> {
    let tolerations = tolerations(pod);
    taints(node).iter().find(|taint| {
        effects.contains(&taint.effect.as_str()) && !tolerations.iter().any(|t| tolerates(t, taint))
    })
}

/// Filter: no untolerated `NoSchedule`/`NoExecute` taint.
pub fn filter(pod: &Pod, node: &Node) -> Status {
    match untolerated(pod, node, &["NoSchedule", "NoExecute"]) {
        None => Status::success(),
        Some(taint) => Status::unresolvable(format!(
            "node(s) had untolerated taint {{{}: {}}}",
            taint.key,
            taint.value.as_deref().unwrap_or("")
        )),
    }
}

/// Raw score: how many `PreferNoSchedule` taints the pod does not tolerate (only its
/// tolerations with that effect, or with none, count).
pub fn score(pod: &Pod, node: &Node) -> i64 {
    let prefer: Vec<&Toleration> = tolerations(pod)
        .iter()
        .filter(|t| matches!(t.effect.as_deref().unwrap_or(""), "" | "PreferNoSchedule"))
        .collect();
    let count = taints(node)
        .iter()
        .filter(|taint| taint.effect == "PreferNoSchedule")
        .filter(|taint| !prefer.iter().any(|t| tolerates(t, taint)))
        .count();
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// NormalizeScore: fewer untolerated taints is better.
pub fn normalize(scores: &mut [i64]) {
    default_normalize(scores, MAX_NODE_SCORE, true);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn node(taints: Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": "n"}, "spec": {"taints": taints}}))
            .unwrap()
    }

    fn pod(tolerations: Value) -> Pod {
        serde_json::from_value(json!({"spec": {"containers": [], "tolerations": tolerations}}))
            .unwrap()
    }

    #[test]
    fn toleration_matching() {
        let taint: Taint = serde_json::from_value(
            json!({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}),
        )
        .unwrap();
        let cases = [
            (
                json!({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}),
                true,
            ),
            (
                json!({"key": "dedicated", "operator": "Equal", "value": "gpu"}),
                true,
            ),
            (json!({"key": "dedicated", "value": "cpu"}), false),
            (json!({"key": "dedicated", "operator": "Exists"}), true),
            (json!({"operator": "Exists"}), true),
            (json!({"operator": "Exists", "effect": "NoExecute"}), false),
            (json!({"key": "other", "operator": "Exists"}), false),
            (
                json!({"key": "dedicated", "operator": "Gt", "value": "gpu"}),
                false,
            ),
        ];
        for (t, want) in cases {
            let tol: Toleration = serde_json::from_value(t.clone()).unwrap();
            assert_eq!(tolerates(&tol, &taint), want, "{t}");
        }
    }

    #[test]
    fn filter_names_the_first_untolerated_taint() {
        let n = node(json!([
            {"key": "soft", "effect": "PreferNoSchedule"},
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
            {"key": "evict", "effect": "NoExecute"}
        ]));
        assert_eq!(
            filter(&pod(json!([])), &n),
            Status::unresolvable("node(s) had untolerated taint {dedicated: gpu}")
        );
        assert_eq!(
            filter(
                &pod(json!([{"key": "dedicated", "operator": "Exists"}])),
                &n
            ),
            Status::unresolvable("node(s) had untolerated taint {evict: }")
        );
        assert!(filter(&pod(json!([{"operator": "Exists"}])), &n).is_success());
    }

    #[test]
    fn prefer_no_schedule_scoring() {
        let nodes = [
            node(json!([])),
            node(json!([{"key": "a", "effect": "PreferNoSchedule"}])),
            node(
                json!([{"key": "a", "effect": "PreferNoSchedule"}, {"key": "b", "effect": "PreferNoSchedule"}]),
            ),
        ];
        let p = pod(json!([{"key": "b", "operator": "Exists", "effect": "NoSchedule"}]));
        let mut scores: Vec<i64> = nodes.iter().map(|n| score(&p, n)).collect();
        assert_eq!(scores, [0, 1, 2]);
        normalize(&mut scores);
        assert_eq!(scores, [100, 50, 0]);
        let tolerant = pod(json!([{"key": "b", "operator": "Exists"}]));
        assert_eq!(score(&tolerant, &nodes[2]), 1);
    }
}

//! NodeUnschedulable: a cordoned node (`spec.unschedulable`) takes only pods that
//! tolerate the `node.kubernetes.io/unschedulable:NoSchedule` taint.

use k8s_openapi::api::core::v1::{Node, Pod, Taint};

use super::Status;
use super::taint_toleration::tolerates;

/// Upstream's `ErrReasonUnschedulable`.
pub const REASON: &str = "node(s) were unschedulable";

/// The taint a cordoned node stands for.
const TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

/// Filter: passes unless the node is cordoned and the pod does not tolerate it.
pub fn filter(pod: &Pod, node: &Node) -> Status {
    let cordoned = node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    if !cordoned {
        return Status::success();
    }
    let taint = Taint {
        key: TAINT_KEY.to_owned(),
        effect: "NoSchedule".to_owned(),
        ..Taint::default()
    };
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    if tolerations.iter().any(|t| tolerates(t, &taint)) {
        Status::success()
    } else {
        Status::unresolvable(REASON)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cordoned_nodes_take_only_tolerating_pods() {
        let cordoned: Node = serde_json::from_value(
            json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}}),
        )
        .unwrap();
        let open: Node = serde_json::from_value(json!({"metadata": {"name": "n"}})).unwrap();
        let plain: Pod = serde_json::from_value(json!({"spec": {"containers": []}})).unwrap();
        let tolerant: Pod = serde_json::from_value(json!({"spec": {"containers": [],
            "tolerations": [{"key": TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]}}))
        .unwrap();
        assert!(filter(&plain, &open).is_success());
        assert_eq!(filter(&plain, &cordoned), Status::unresolvable(REASON));
        assert!(filter(&tolerant, &cordoned).is_success());
    }
}

//! NodeName: a pod that names its node (`spec.nodeName`) fits only there.

use k8s_openapi::api::core::v1::{Node, Pod};

use super::{Status, node_name};

/// Upstream's `ErrReason`.
pub const REASON: &str = "node(s) didn't match the requested node name";

/// Filter: passes when the pod names no node or names this one.
/// The node the pod names (`""`: none).
fn wanted(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// Whether the pod names no node: then the filter passes every node.
#[must_use]
pub fn asks_nothing(pod: &Pod) -> bool {
    wanted(pod).is_empty()
}

pub fn filter(pod: &Pod, node: &Node) -> Status {
    let wanted = wanted(pod);
    if wanted.is_empty() || wanted == node_name(node) {
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
    fn only_the_named_node() {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap();
        for (spec, ok) in [
            (json!({"containers": []}), true),
            (json!({"containers": [], "nodeName": "n1"}), true),
            (json!({"containers": [], "nodeName": "n2"}), false),
        ] {
            let pod: Pod = serde_json::from_value(json!({"spec": spec})).unwrap();
            assert_eq!(filter(&pod, &node).is_success(), ok, "{spec}");
        }
        let pod: Pod =
            serde_json::from_value(json!({"spec": {"containers": [], "nodeName": "x"}})).unwrap();
        assert_eq!(filter(&pod, &node), Status::unresolvable(REASON));
    }
}

//! NodePorts (upstream v1.33): a node is rejected when one of the pod's host ports is
//! already taken there (same protocol and port, on the same IP or on `0.0.0.0`).

use k8s_openapi::api::core::v1::Pod;

use super::Status;
use crate::resources::{self, HostPort, NODE_PORTS_REASON};

/// PreFilter: the host ports the pod asks for.
#[must_use]
pub fn pre_filter(pod: &Pod) -> Vec<HostPort> {
    resources::pod_host_ports(pod)
}

/// Filter: `Unschedulable` with upstream's reason when a wanted port is in use.
#[must_use]
pub fn filter(wanted: &[HostPort], node: &resources::NodeInfo) -> Status {
    if resources::fits_ports(wanted, &node.used_ports) {
        Status::success()
    } else {
        Status::unschedulable(NODE_PORTS_REASON)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use k8s_openapi::api::core::v1::Node;
    use serde_json::{Value, json};

    use super::*;

    fn pod(name: &str, ports: Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "d"},
            "spec": {"containers": [{"name": "c", "ports": ports}]}}))
        .unwrap()
    }

    #[test]
    fn host_port_conflicts() {
        let n: Node = serde_json::from_value(json!({"metadata": {"name": "n"}})).unwrap();
        let mut node = resources::NodeInfo::new(&n);
        node.add_pod(&pod(
            "a",
            json!([{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}]),
        ));
        let cases = [
            (json!([{"containerPort": 80, "hostPort": 8080}]), false),
            (
                json!([{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}]),
                true,
            ),
            (json!([{"containerPort": 80, "hostPort": 8081}]), true),
            (json!([{"containerPort": 80}]), true),
            (
                json!([{"containerPort": 80, "hostPort": 8080, "hostIP": "10.0.0.1"}]),
                false,
            ),
        ];
        for (ports, fits) in cases {
            let status = filter(&pre_filter(&pod("p", ports.clone())), &node);
            assert_eq!(status.is_success(), fits, "{ports}");
            if !fits {
                assert_eq!(status.reasons, [NODE_PORTS_REASON]);
            }
        }
    }
}

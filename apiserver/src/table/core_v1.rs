//! The rest of the core group: Namespaces, Nodes, ConfigMaps, Secrets, ServiceAccounts.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::age::age;
use super::format::{bool_at, items_at, len_at, name, str_at};
use super::{AGE, Column, NAME, TableDef};
use crate::pointer::At;

/// Namespaces.
pub static NAMESPACE: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text("Status", "The status of the namespace"),
        AGE,
    ],
    cells: namespace_cells,
};

fn namespace_cells(ns: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(ns),
        Value::from(str_at(ns, "/status/phase")),
        age(ns, now),
    ]
}

const ADDRESSES_DOC: &str =
    "List of addresses reachable to the node. Queried from cloud provider, if available.";

/// Nodes.
pub static NODE: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text("Status", "The status of the node"),
        Column::text("Roles", "The roles of the node"),
        AGE,
        Column::text("Version", "Kubelet Version reported by the node."),
        Column::wide("Internal-IP", ADDRESSES_DOC),
        Column::wide("External-IP", ADDRESSES_DOC),
        Column::wide(
            "OS-Image",
            "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        ),
        Column::wide(
            "Kernel-Version",
            "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        ),
        Column::wide(
            "Container-Runtime",
            "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
        ),
    ],
    cells: node_cells,
};

/// `Ready` / `NotReady` / `Unknown`, plus `SchedulingDisabled` when cordoned.
fn node_status(node: &Value) -> String {
    // Like a map keyed by type: the last Ready condition wins.
    let ready = items_at(node, "/status/conditions")
        .iter()
        .rev()
        .find(|c| str_at(c, "/type") == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, "/status") == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(node, "/spec/unschedulable") {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// Roles from `node-role.kubernetes.io/<role>` labels and the `kubernetes.io/role` label.
fn node_roles(node: &Value) -> String {
    let mut roles = BTreeSet::new();
    if let Some(Value::Object(labels)) = node.at("/metadata/labels") {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_owned());
                }
            } else if k == "kubernetes.io/role" {
                match v.as_str() {
                    Some(role) if !role.is_empty() => {
                        roles.insert(role.to_owned());
                    }
                    _ => {}
                }
            }
        }
    }
    if roles.is_empty() {
        "<none>".to_owned()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    }
}

/// The first address of a type, or `<none>`.
fn node_address(node: &Value, kind: &str) -> String {
    items_at(node, "/status/addresses")
        .iter()
        .find(|a| str_at(a, "/type") == kind)
        .map(|a| str_at(a, "/address").to_owned())
        .unwrap_or_else(|| "<none>".to_owned())
}

fn or_unknown(s: &str) -> Value {
    Value::from(if s.is_empty() { "<unknown>" } else { s })
}

fn node_cells(node: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(node),
        Value::String(node_status(node)),
        Value::String(node_roles(node)),
        age(node, now),
        Value::from(str_at(node, "/status/nodeInfo/kubeletVersion")),
        Value::String(node_address(node, "InternalIP")),
        Value::String(node_address(node, "ExternalIP")),
        or_unknown(str_at(node, "/status/nodeInfo/osImage")),
        or_unknown(str_at(node, "/status/nodeInfo/kernelVersion")),
        or_unknown(str_at(node, "/status/nodeInfo/containerRuntimeVersion")),
    ]
}

/// ConfigMaps.
pub static CONFIG_MAP: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Data",
            "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'.",
        ),
        AGE,
    ],
    cells: config_map_cells,
};

fn config_map_cells(cm: &Value, now: Timestamp) -> Vec<Value> {
    let keys = len_at(cm, "/data") + len_at(cm, "/binaryData");
    vec![name(cm), Value::from(keys), age(cm, now)]
}

/// Secrets.
pub static SECRET: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Type",
            "Used to facilitate programmatic handling of secret data.",
        ),
        Column::text(
            "Data",
            "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'.",
        ),
        AGE,
    ],
    cells: secret_cells,
};

fn secret_cells(secret: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(secret),
        Value::from(str_at(secret, "/type")),
        Value::from(len_at(secret, "/data")),
        age(secret, now),
    ]
}

/// ServiceAccounts.
pub static SERVICE_ACCOUNT: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Secrets",
            "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
        ),
        AGE,
    ],
    cells: service_account_cells,
};

fn service_account_cells(sa: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(sa), Value::from(len_at(sa, "/secrets")), age(sa, now)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2024-05-01T12:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn node_row() {
        let node = json!({
            "metadata": {"name": "n1", "creationTimestamp": "2024-04-29T09:00:00Z", "labels": {
                "node-role.kubernetes.io/control-plane": "",
                "node-role.kubernetes.io/": "",
                "kubernetes.io/role": "worker",
            }},
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.5"}],
                "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian", "containerRuntimeVersion": "containerd://2.0"},
            }
        });
        assert_eq!(
            node_cells(&node, now()),
            vec![
                json!("n1"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane,worker"),
                json!("2d3h"),
                json!("v1.33.0"),
                json!("10.0.0.5"),
                json!("<none>"),
                json!("Debian"),
                json!("<unknown>"),
                json!("containerd://2.0"),
            ]
        );
        let bare = json!({"metadata": {"name": "n2"}});
        assert_eq!(node_status(&bare), "Unknown");
        assert_eq!(node_roles(&bare), "<none>");
        let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(node_status(&not_ready), "NotReady");
    }

    #[test]
    fn data_counts() {
        let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
        assert_eq!(config_map_cells(&cm, now())[1], json!(3));
        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}});
        assert_eq!(
            secret_cells(&secret, now())[..3],
            [json!("s"), json!("Opaque"), json!(1)]
        );
        let sa = json!({"metadata": {"name": "default"}});
        assert_eq!(service_account_cells(&sa, now())[1], json!(0));
        let ns = json!({"metadata": {"name": "x"}, "status": {"phase": "Terminating"}});
        assert_eq!(namespace_cells(&ns, now())[1], json!("Terminating"));
    }
}

//! Deployments and ReplicaSets.

use jiff::Timestamp;
use serde_json::Value;

use super::age::age;
use super::format::{containers, format_label_selector, int_at, label_selector, name};
use super::{AGE, Column, NAME, TableDef};
use crate::pointer::At;

const CONTAINERS: Column = Column::wide("Containers", "Names of each container in the template.");
const IMAGES: Column = Column::wide(
    "Images",
    "Images referenced by each container in the template.",
);

/// `spec.replicas`, defaulted to 1 like the API does.
fn desired(obj: &Value) -> i64 {
    obj.at("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// Deployments.
pub static DEPLOYMENT: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text("Ready", "Number of the pod with ready state"),
        Column::text(
            "Up-to-date",
            "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        ),
        Column::text(
            "Available",
            "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::wide(
            "Selector",
            "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
        ),
    ],
    cells: deployment_cells,
};

fn deployment_cells(d: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = containers(d.at("/spec/template/spec"));
    let selector = label_selector(d.at("/spec/selector")).unwrap_or_else(|| "<invalid>".to_owned());
    vec![
        name(d),
        Value::String(format!(
            "{}/{}",
            int_at(d, "/status/readyReplicas"),
            desired(d)
        )),
        Value::from(int_at(d, "/status/updatedReplicas")),
        Value::from(int_at(d, "/status/availableReplicas")),
        age(d, now),
        Value::String(names),
        Value::String(images),
        Value::String(selector),
    ]
}

/// ReplicaSets.
pub static REPLICA_SET: TableDef = TableDef {
    columns: &[
        NAME,
        Column::integer(
            "Desired",
            "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1.",
        ),
        Column::integer(
            "Current",
            "Replicas is the most recently observed number of replicas.",
        ),
        Column::integer(
            "Ready",
            "The number of ready replicas for this replica set.",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::wide(
            "Selector",
            "Selector is a label query over pods that should match the replica count.",
        ),
    ],
    cells: replica_set_cells,
};

fn replica_set_cells(rs: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = containers(rs.at("/spec/template/spec"));
    vec![
        name(rs),
        Value::from(desired(rs)),
        Value::from(int_at(rs, "/status/replicas")),
        Value::from(int_at(rs, "/status/readyReplicas")),
        age(rs, now),
        Value::String(names),
        Value::String(images),
        Value::String(format_label_selector(rs.at("/spec/selector"))),
    ]
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

    fn template() -> Value {
        json!({"spec": {"containers": [
            {"name": "app", "image": "nginx:1.27"},
            {"name": "sidecar", "image": "busybox"},
        ]}})
    }

    #[test]
    fn deployment_row() {
        let d = json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-04-21T12:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template()},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
        });
        assert_eq!(
            deployment_cells(&d, now()),
            vec![
                json!("web"),
                json!("2/3"),
                json!(3),
                json!(2),
                json!("10d"),
                json!("app,sidecar"),
                json!("nginx:1.27,busybox"),
                json!("app=web"),
            ]
        );
        // No status yet, replicas defaulted; an empty selector prints as "".
        let fresh = json!({"metadata": {"name": "x"}, "spec": {"selector": {}}});
        let cells = deployment_cells(&fresh, now());
        assert_eq!(cells[1], json!("0/1"));
        assert_eq!(cells[7], json!(""));
    }

    #[test]
    fn replica_set_row() {
        let rs = json!({
            "metadata": {"name": "web-5d4f"},
            "spec": {"replicas": 0, "selector": {}, "template": template()},
            "status": {"replicas": 1},
        });
        let cells = replica_set_cells(&rs, now());
        assert_eq!(cells[1..4], [json!(0), json!(1), json!(0)]);
        assert_eq!(cells[7], json!("<none>"));
    }
}

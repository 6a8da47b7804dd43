//! Control-plane bookkeeping kinds: Leases and PriorityClasses.

use jiff::Timestamp;
use serde_json::Value;

use super::age::age;
use super::format::{bool_at, int_at, name, str_at};
use super::{AGE, Column, NAME, TableDef};

/// Leases.
pub static LEASE: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Holder",
            "holderIdentity contains the identity of the holder of a current lease.",
        ),
        AGE,
    ],
    cells: lease_cells,
};

fn lease_cells(lease: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(lease),
        Value::from(str_at(lease, "/spec/holderIdentity")),
        age(lease, now),
    ]
}

/// PriorityClasses.
pub static PRIORITY_CLASS: TableDef = TableDef {
    columns: &[
        NAME,
        Column::integer(
            "Value",
            "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.",
        ),
        Column::boolean(
            "Global-Default",
            "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.",
        ),
        AGE,
        Column::text(
            "PreemptionPolicy",
            "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
        ),
    ],
    cells: priority_class_cells,
};

fn priority_class_cells(pc: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(pc),
        Value::from(int_at(pc, "/value")),
        Value::Bool(bool_at(pc, "/globalDefault")),
        age(pc, now),
        Value::from(str_at(pc, "/preemptionPolicy")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows() {
        let now: Timestamp = "2024-05-01T12:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let lease =
            json!({"metadata": {"name": "kube-scheduler"}, "spec": {"holderIdentity": "cp-1_abc"}});
        assert_eq!(
            lease_cells(&lease, now),
            vec![
                json!("kube-scheduler"),
                json!("cp-1_abc"),
                json!("<unknown>")
            ]
        );
        let pc = json!({
            "metadata": {"name": "system-node-critical", "creationTimestamp": "2024-05-01T11:59:58Z"},
            "value": 2000001000, "preemptionPolicy": "PreemptLowerPriority",
        });
        assert_eq!(
            priority_class_cells(&pc, now),
            vec![
                json!("system-node-critical"),
                json!(2000001000),
                json!(false),
                json!("2s"),
                json!("PreemptLowerPriority"),
            ]
        );
    }
}

//! Server-side printing: `meta.k8s.io/v1` Tables with upstream's columns for every kind.
//!
//! Each kind has one [`TableDef`]: its column definitions (priority 0 are shown by
//! `kubectl get`, priority 1 only with `-o wide`) and a function that fills one row's cells
//! from the served JSON object.

use serde_json::Value;

/// One column definition, as `meta.k8s.io/v1` TableColumnDefinition.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header (`Name`, `Ready`, …).
    pub name: &'static str,
    /// OpenAPI type: `string`, `integer`, `number`, `boolean`.
    pub kind: &'static str,
    /// OpenAPI format hint: `name` for the NAME column, else "".
    pub format: &'static str,
    /// What the column shows.
    pub description: &'static str,
    /// 0: always shown; 1: only with `-o wide`.
    pub priority: i32,
}

/// The table form of one kind.
#[derive(Debug)]
pub struct TableDef {
    /// The columns, in order.
    pub columns: &'static [Column],
    /// The cells of one row, one per column, for an object served at time `now`.
    pub cells: fn(&Value, jiff::Timestamp) -> Vec<Value>,
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
};

const AGE: Column = Column {
    name: "Age",
    kind: "string",
    format: "",
    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
    priority: 0,
};

fn name_age(obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let name = obj.pointer("/metadata/name").cloned().unwrap_or(Value::Null);
    let age = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| format!("{}s", now.duration_since(t).as_secs().max(0)))
        .unwrap_or_else(|| "<unknown>".to_owned());
    vec![name, Value::String(age)]
}

const DEFAULT: TableDef = TableDef {
    columns: &[NAME, AGE],
    cells: name_age,
};

/// Namespaces.
pub static NAMESPACE: TableDef = DEFAULT;
/// Nodes.
pub static NODE: TableDef = DEFAULT;
/// Pods.
pub static POD: TableDef = DEFAULT;
/// Services.
pub static SERVICE: TableDef = DEFAULT;
/// Endpoints.
pub static ENDPOINTS: TableDef = DEFAULT;
/// ConfigMaps.
pub static CONFIG_MAP: TableDef = DEFAULT;
/// Secrets.
pub static SECRET: TableDef = DEFAULT;
/// PersistentVolumes.
pub static PERSISTENT_VOLUME: TableDef = DEFAULT;
/// PersistentVolumeClaims.
pub static PERSISTENT_VOLUME_CLAIM: TableDef = DEFAULT;
/// Events (core/v1 and events.k8s.io/v1 share the stored form).
pub static EVENT: TableDef = DEFAULT;
/// ServiceAccounts.
pub static SERVICE_ACCOUNT: TableDef = DEFAULT;
/// Deployments.
pub static DEPLOYMENT: TableDef = DEFAULT;
/// ReplicaSets.
pub static REPLICA_SET: TableDef = DEFAULT;
/// EndpointSlices.
pub static ENDPOINT_SLICE: TableDef = DEFAULT;
/// Leases.
pub static LEASE: TableDef = DEFAULT;
/// StorageClasses.
pub static STORAGE_CLASS: TableDef = DEFAULT;
/// PriorityClasses.
pub static PRIORITY_CLASS: TableDef = DEFAULT;

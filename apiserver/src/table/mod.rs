//! Server-side printing: `meta.k8s.io/v1` Tables with upstream's columns for every kind.
//!
//! Each kind has one [`TableDef`]: its column definitions (priority 0 are shown by
//! `kubectl get`, priority 1 only with `-o wide`) and a function that fills one row's cells
//! from the served JSON object. Like kube-apiserver, the server always fills every column
//! (the wide ones too); kubectl picks which to show. [`render`] builds the whole Table.
//!
//! The columns and cell formats follow upstream's printers for v1.33, so kubectl prints
//! exactly what it prints against kube-apiserver.

mod age;
mod apps;
mod control;
mod core_v1;
mod event;
mod format;
mod network;
mod pod;
mod storage;

use serde_json::{Map, Value, json};

pub use age::human_duration;
pub use apps::{DEPLOYMENT, REPLICA_SET};
pub use control::{LEASE, PRIORITY_CLASS};
pub use core_v1::{CONFIG_MAP, NAMESPACE, NODE, SECRET, SERVICE_ACCOUNT};
pub use event::EVENT;
pub use network::{ENDPOINT_SLICE, ENDPOINTS, SERVICE};
pub use pod::POD;
pub use storage::{PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM, STORAGE_CLASS};

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

impl Column {
    /// A `string` column kubectl always shows.
    pub const fn text(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            kind: "string",
            format: "",
            description,
            priority: 0,
        }
    }

    /// An `integer` column kubectl always shows.
    pub const fn integer(name: &'static str, description: &'static str) -> Self {
        Self {
            kind: "integer",
            ..Self::text(name, description)
        }
    }

    /// A `boolean` column kubectl always shows.
    pub const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self {
            kind: "boolean",
            ..Self::text(name, description)
        }
    }

    /// A `string` column kubectl shows only with `-o wide`.
    pub const fn wide(name: &'static str, description: &'static str) -> Self {
        Self {
            priority: 1,
            ..Self::text(name, description)
        }
    }

    /// The TableColumnDefinition JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The table form of one kind.
#[derive(Debug)]
pub struct TableDef {
    /// The columns, in order.
    pub columns: &'static [Column],
    /// The cells of one row, one per column, for an object served at time `now`.
    pub cells: fn(&Value, jiff::Timestamp) -> Vec<Value>,
}

/// The NAME column every kind starts with.
const NAME: Column = Column {
    format: "name",
    ..Column::text(
        "Name",
        "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    )
};

/// The AGE column: time since creation.
const AGE: Column = Column::text(
    "Age",
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
);

/// What each row carries in `object` (the `includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// No object: `"object": null`.
    None,
    /// The object's metadata as a `meta.k8s.io/v1` PartialObjectMetadata (the default).
    #[default]
    Metadata,
    /// The whole object as served.
    Object,
}

impl IncludeObject {
    /// Parses the query parameter value: `None`, `Metadata` or `Object`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "None" => Some(Self::None),
            "Metadata" => Some(Self::Metadata),
            "Object" => Some(Self::Object),
            _ => None,
        }
    }
}

/// A full `meta.k8s.io/v1` Table of `objects` (served JSON, one row each).
///
/// `list_meta` becomes the Table's `metadata` (`resourceVersion`, `continue`,
/// `remainingItemCount`). With `include_columns` false, `columnDefinitions` is null, as
/// upstream sends for every watch event after the first.
pub fn render(
    def: &TableDef,
    objects: &[Value],
    include: IncludeObject,
    include_columns: bool,
    list_meta: Value,
    now: jiff::Timestamp,
) -> Value {
    let columns = if include_columns {
        Value::Array(def.columns.iter().map(Column::to_json).collect())
    } else {
        Value::Null
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| row(def, obj, include, now))
        .collect();
    // ListMeta's fields are all `omitempty`: drop the unset ones.
    let metadata = match list_meta {
        Value::Object(m) => m.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        _ => Map::new(),
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// One TableRow: cells, row conditions (finished pods) and the object in the asked form.
fn row(def: &TableDef, obj: &Value, include: IncludeObject, now: jiff::Timestamp) -> Value {
    let cells = (def.cells)(obj, now);
    debug_assert_eq!(cells.len(), def.columns.len(), "one cell per column");
    let mut row = Map::new();
    row.insert("cells".to_owned(), Value::Array(cells));
    if std::ptr::eq(def, &POD)
        && let Some(conditions) = pod::row_conditions(obj)
    {
        row.insert("conditions".to_owned(), conditions);
    }
    let object = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
        IncludeObject::Object => obj.clone(),
    };
    row.insert("object".to_owned(), object);
    Value::Object(row)
}

#[cfg(test)]
mod tests;

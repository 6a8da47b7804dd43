//! PersistentVolumes, PersistentVolumeClaims and StorageClasses.
//!
//! Quantities print as stored: the served JSON already holds their string form.

use jiff::Timestamp;
use serde_json::Value;

use super::age::age;
use super::format::{access_modes, annotation, bool_at, items_at, name, str_at};
use super::{AGE, Column, NAME, TableDef};
use crate::pointer::At;

/// The annotation that still overrides `spec.storageClassName`.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// The storage class of a PV or PVC: the beta annotation first, then the spec field.
fn storage_class(obj: &Value) -> Value {
    Value::from(
        annotation(obj, BETA_STORAGE_CLASS).unwrap_or(str_at(obj, "/spec/storageClassName")),
    )
}

/// A field that prints `<unset>` when absent.
fn or_unset(obj: &Value, ptr: &str) -> Value {
    match obj.at(ptr).and_then(Value::as_str) {
        Some(s) => Value::from(s),
        None => Value::from("<unset>"),
    }
}

/// The phase, or `Terminating` once deletion started.
fn phase(obj: &Value) -> Value {
    let deleting = obj
        .at("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null());
    Value::from(if deleting {
        "Terminating"
    } else {
        str_at(obj, "/status/phase")
    })
}

/// A storage quantity's string form; a missing one is zero.
fn quantity(obj: &Value, ptr: &str) -> String {
    match obj.at(ptr) {
        Some(Value::String(q)) => q.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_owned(),
    }
}

/// PersistentVolumes.
pub static PERSISTENT_VOLUME: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Capacity",
            "capacity is the description of the persistent volume's resources and capacity.",
        ),
        Column::text(
            "Access Modes",
            "accessModes contains all ways the volume can be mounted.",
        ),
        Column::text(
            "Reclaim Policy",
            "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
        ),
        Column::text(
            "Status",
            "phase indicates if a volume is available, bound to a claim, or released by a claim.",
        ),
        Column::text(
            "Claim",
            "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
        ),
        Column::text("StorageClass", "StorageClass of the pv"),
        Column::text("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        Column::text(
            "Reason",
            "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
        ),
        AGE,
        Column::wide(
            "VolumeMode",
            "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
        ),
    ],
    cells: pv_cells,
};

fn pv_cells(pv: &Value, now: Timestamp) -> Vec<Value> {
    let claim = match pv.at("/spec/claimRef") {
        Some(r) if r.is_object() => {
            format!("{}/{}", str_at(r, "/namespace"), str_at(r, "/name"))
        }
        _ => String::new(),
    };
    vec![
        name(pv),
        Value::String(quantity(pv, "/spec/capacity/storage")),
        Value::String(access_modes(items_at(pv, "/spec/accessModes"))),
        Value::from(str_at(pv, "/spec/persistentVolumeReclaimPolicy")),
        phase(pv),
        Value::String(claim),
        storage_class(pv),
        or_unset(pv, "/spec/volumeAttributesClassName"),
        Value::from(str_at(pv, "/status/reason")),
        age(pv, now),
        or_unset(pv, "/spec/volumeMode"),
    ]
}

/// PersistentVolumeClaims.
pub static PERSISTENT_VOLUME_CLAIM: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Status",
            "phase represents the current phase of PersistentVolumeClaim.",
        ),
        Column::text(
            "Volume",
            "volumeName is the binding reference to the PersistentVolume backing this claim.",
        ),
        Column::text(
            "Capacity",
            "capacity represents the actual resources of the underlying volume.",
        ),
        Column::text(
            "Access Modes",
            "accessModes contains the actual access modes the volume backing the PVC has.",
        ),
        Column::text("StorageClass", "StorageClass of the pvc"),
        Column::text("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        AGE,
        Column::wide(
            "VolumeMode",
            "volumeMode defines what type of volume is required by the claim.",
        ),
    ],
    cells: pvc_cells,
};

fn pvc_cells(pvc: &Value, now: Timestamp) -> Vec<Value> {
    let volume = str_at(pvc, "/spec/volumeName");
    // Capacity and access modes are the bound volume's; an unbound claim shows neither.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(pvc, "/status/capacity/storage"),
            access_modes(items_at(pvc, "/status/accessModes")),
        )
    };
    vec![
        name(pvc),
        phase(pvc),
        Value::from(volume),
        Value::String(capacity),
        Value::String(modes),
        storage_class(pvc),
        or_unset(pvc, "/spec/volumeAttributesClassName"),
        age(pvc, now),
        or_unset(pvc, "/spec/volumeMode"),
    ]
}

/// StorageClasses.
pub static STORAGE_CLASS: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Provisioner",
            "provisioner indicates the type of the provisioner.",
        ),
        Column::text(
            "ReclaimPolicy",
            "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.",
        ),
        Column::text(
            "VolumeBindingMode",
            "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound. When unset, VolumeBindingImmediate is used.",
        ),
        Column::text(
            "AllowVolumeExpansion",
            "allowVolumeExpansion shows whether the storage class allow volume expand.",
        ),
        AGE,
    ],
    cells: storage_class_cells,
};

/// Whether the class is marked as the cluster default (GA or beta annotation).
fn is_default_class(sc: &Value) -> bool {
    annotation(sc, "storageclass.kubernetes.io/is-default-class") == Some("true")
        || annotation(sc, "storageclass.beta.kubernetes.io/is-default-class") == Some("true")
}

fn storage_class_cells(sc: &Value, now: Timestamp) -> Vec<Value> {
    let mut display = str_at(sc, "/metadata/name").to_owned();
    if is_default_class(sc) {
        display.push_str(" (default)");
    }
    let or = |ptr: &str, default: &'static str| match str_at(sc, ptr) {
        "" => default.to_owned(),
        s => s.to_owned(),
    };
    vec![
        Value::String(display),
        Value::from(str_at(sc, "/provisioner")),
        Value::String(or("/reclaimPolicy", "Delete")),
        Value::String(or("/volumeBindingMode", "Immediate")),
        Value::Bool(bool_at(sc, "/allowVolumeExpansion")),
        age(sc, now),
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

    #[test]
    fn pv_row() {
        let pv = json!({
            "metadata": {"name": "pv1", "creationTimestamp": "2024-05-01T11:00:00Z"},
            "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast",
                "claimRef": {"namespace": "default", "name": "data"}, "volumeMode": "Filesystem"},
            "status": {"phase": "Bound"},
        });
        assert_eq!(
            pv_cells(&pv, now()),
            vec![
                json!("pv1"),
                json!("5Gi"),
                json!("RWO,RWX"),
                json!("Retain"),
                json!("Bound"),
                json!("default/data"),
                json!("fast"),
                json!("<unset>"),
                json!(""),
                json!("60m"),
                json!("Filesystem"),
            ]
        );
    }

    #[test]
    fn pvc_rows() {
        let pending = json!({
            "metadata": {"name": "data", "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
            "spec": {"storageClassName": "new", "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Pending"},
        });
        let cells = pvc_cells(&pending, now());
        assert_eq!(
            cells[1..6],
            [
                json!("Pending"),
                json!(""),
                json!(""),
                json!(""),
                json!("old")
            ]
        );
        let bound = json!({
            "metadata": {"name": "data", "deletionTimestamp": "2024-05-01T11:59:00Z"},
            "spec": {"volumeName": "pv1", "volumeAttributesClassName": "gold", "volumeMode": "Block"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOncePod"]},
        });
        let cells = pvc_cells(&bound, now());
        assert_eq!(
            cells[1..7],
            [
                json!("Terminating"),
                json!("pv1"),
                json!("1Gi"),
                json!("RWOP"),
                json!(""),
                json!("gold")
            ]
        );
        assert_eq!(cells[8], json!("Block"));
    }

    #[test]
    fn storage_class_row() {
        let sc = json!({
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "WaitForFirstConsumer",
        });
        let cells = storage_class_cells(&sc, now());
        assert_eq!(
            cells[..5],
            [
                json!("standard (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("WaitForFirstConsumer"),
                json!(false)
            ]
        );
    }
}

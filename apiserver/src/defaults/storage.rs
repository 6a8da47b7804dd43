//! PersistentVolumes, PersistentVolumeClaims and StorageClasses.

use serde_json::Value;

use super::{default_ptr, default_str, root_field, volume};

/// A PersistentVolume: Pending, `Retain` (dynamic provisioners set `Delete` themselves),
/// a filesystem volume, and the defaults of its inline source.
pub(super) fn persistent_volume(obj: &mut Value) {
    if let Some(spec) = root_field(obj, "spec") {
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_ptr(spec, "volumeMode", "Filesystem");
        volume::shared_sources(spec);
    }
    if let Some(status) = root_field(obj, "status") {
        default_str(status, "phase", "Pending");
    }
}

/// A PersistentVolumeClaim: Pending, a filesystem volume.
pub(super) fn persistent_volume_claim(obj: &mut Value) {
    if let Some(spec) = root_field(obj, "spec") {
        volume::claim_spec(spec);
    }
    if let Some(status) = root_field(obj, "status") {
        default_str(status, "phase", "Pending");
    }
}

/// A StorageClass: volumes it provisions are deleted with their claim and bound at once.
pub(super) fn storage_class(obj: &mut Value) {
    if let Some(sc) = obj.as_object_mut() {
        default_ptr(sc, "reclaimPolicy", "Delete");
        default_ptr(sc, "volumeBindingMode", "Immediate");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn persistent_volume_defaults() {
        let mut pv = json!({"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/data"}}});
        persistent_volume(&mut pv);
        let want = json!({
            "spec": {
                "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/data", "type": ""},
                "persistentVolumeReclaimPolicy": "Retain",
                "volumeMode": "Filesystem",
            },
            "status": {"phase": "Pending"},
        });
        assert_eq!(pv, want);
        persistent_volume(&mut pv);
        assert_eq!(pv, want, "idempotent");

        let mut pv = json!({"spec": {"persistentVolumeReclaimPolicy": "Delete", "volumeMode": "Block"},
            "status": {"phase": "Bound"}});
        persistent_volume(&mut pv);
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
        assert_eq!(pv["spec"]["volumeMode"], "Block");
        assert_eq!(pv["status"]["phase"], "Bound");
    }

    #[test]
    fn claim_defaults() {
        let mut pvc = json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}});
        persistent_volume_claim(&mut pvc);
        assert_eq!(
            pvc,
            json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
                "status": {"phase": "Pending"}})
        );
        let mut pvc = json!({"spec": {"volumeMode": "Block"}});
        persistent_volume_claim(&mut pvc);
        assert_eq!(pvc["spec"]["volumeMode"], "Block");
    }

    #[test]
    fn storage_class_defaults() {
        let mut sc = json!({"provisioner": "p"});
        storage_class(&mut sc);
        assert_eq!(
            sc,
            json!({"provisioner": "p", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
        );
        let mut sc = json!({"provisioner": "p", "reclaimPolicy": "Retain",
            "volumeBindingMode": "WaitForFirstConsumer"});
        let before = sc.clone();
        storage_class(&mut sc);
        assert_eq!(sc, before);
    }
}

//! Volume sources, in pods and pod templates, and the ones a PersistentVolume shares.

use serde_json::json;

use super::{Obj, default_ptr, default_str, field, items, struct_field};

/// Mode bits of projected files when `defaultMode` is not given (0644).
const DEFAULT_MODE: i64 = 0o644;

/// One entry of `spec.volumes`: a volume with no source is an `emptyDir`.
pub(super) fn volume(v: &mut Obj) {
    let has_source = v.iter().any(|(k, val)| k != "name" && !val.is_null());
    if !has_source {
        v.insert("emptyDir".into(), json!({}));
    }
    for key in ["secret", "configMap"] {
        if let Some(s) = field(v, key) {
            default_ptr(s, "defaultMode", DEFAULT_MODE);
        }
    }
    if let Some(d) = field(v, "downwardAPI") {
        downward_api(d);
        default_ptr(d, "defaultMode", DEFAULT_MODE);
    }
    if let Some(p) = field(v, "projected") {
        default_ptr(p, "defaultMode", DEFAULT_MODE);
        for source in items(p, "sources") {
            if let Some(d) = field(source, "downwardAPI") {
                downward_api(d);
            }
            if let Some(t) = field(source, "serviceAccountToken") {
                default_ptr(t, "expirationSeconds", 3600);
            }
        }
    }
    if let Some(claim) = field(v, "ephemeral")
        .and_then(|e| field(e, "volumeClaimTemplate"))
        .and_then(|t| field(t, "spec"))
    {
        claim_spec(claim);
    }
    shared_sources(v);
}

/// The sources a PersistentVolume spec shares with pod volumes (inline in its spec).
pub(super) fn shared_sources(v: &mut Obj) {
    if let Some(h) = field(v, "hostPath") {
        default_ptr(h, "type", "");
    }
    if let Some(r) = field(v, "rbd") {
        default_str(r, "pool", "rbd");
        default_str(r, "user", "admin");
        default_str(r, "keyring", "/etc/ceph/keyring");
    }
    if let Some(i) = field(v, "iscsi") {
        default_str(i, "iscsiInterface", "default");
    }
    if let Some(a) = field(v, "azureDisk") {
        default_ptr(a, "cachingMode", "ReadWrite");
        default_ptr(a, "fsType", "ext4");
        default_ptr(a, "readOnly", false);
        default_ptr(a, "kind", "Shared");
    }
    if let Some(s) = field(v, "scaleIO") {
        default_str(s, "storageMode", "ThinProvisioned");
        default_str(s, "fsType", "xfs");
    }
}

/// A PersistentVolumeClaim spec (also inline in an ephemeral volume's claim template);
/// its `resources` is a Go struct, so it always shows.
pub(super) fn claim_spec(spec: &mut Obj) {
    default_ptr(spec, "volumeMode", "Filesystem");
    struct_field(spec, "resources");
}

/// `items[].fieldRef.apiVersion` and `items[].resourceFieldRef.divisor` of a downward API
/// source.
fn downward_api(d: &mut Obj) {
    for item in items(d, "items") {
        if let Some(f) = field(item, "fieldRef") {
            default_str(f, "apiVersion", "v1");
        }
        if let Some(r) = field(item, "resourceFieldRef") {
            resource_field_ref(r);
        }
    }
}

/// A resource field selector: its `divisor` is a Go `Quantity` struct, whose zero value
/// always shows as `"0"`.
pub(super) fn resource_field_ref(r: &mut Obj) {
    default_ptr(r, "divisor", "0");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn defaulted(v: Value) -> Value {
        let mut v = v;
        volume(v.as_object_mut().unwrap());
        v
    }

    #[test]
    fn volume_sources() {
        let cases = [
            (json!({"name": "a"}), json!({"name": "a", "emptyDir": {}})),
            (
                json!({"name": "a", "emptyDir": {"medium": "Memory"}}),
                json!({"name": "a", "emptyDir": {"medium": "Memory"}}),
            ),
            (
                json!({"name": "a", "secret": {"secretName": "s"}}),
                json!({"name": "a", "secret": {"secretName": "s", "defaultMode": 420}}),
            ),
            (
                json!({"name": "a", "configMap": {"name": "c", "defaultMode": 256}}),
                json!({"name": "a", "configMap": {"name": "c", "defaultMode": 256}}),
            ),
            (
                json!({"name": "a", "hostPath": {"path": "/x"}}),
                json!({"name": "a", "hostPath": {"path": "/x", "type": ""}}),
            ),
            (
                json!({"name": "a", "hostPath": {"path": "/x", "type": "Directory"}}),
                json!({"name": "a", "hostPath": {"path": "/x", "type": "Directory"}}),
            ),
            (
                json!({"name": "a", "downwardAPI": {"items": [
                    {"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}},
                    {"path": "m", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory"}},
                ]}}),
                json!({"name": "a", "downwardAPI": {"defaultMode": 420, "items": [
                    {"path": "l", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}},
                    {"path": "m", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "0"}},
                ]}}),
            ),
            (
                json!({"name": "a", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "token"}},
                    {"downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                    {"configMap": {"name": "c"}},
                ]}}),
                json!({"name": "a", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                    {"downwardAPI": {"items": [{"path": "n", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}]}},
                    {"configMap": {"name": "c"}},
                ]}}),
            ),
            (
                json!({"name": "a", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}}),
                json!({"name": "a", "ephemeral": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem", "resources": {}
                }}}}),
            ),
            (
                json!({"name": "a", "rbd": {"monitors": ["m"], "image": "i", "user": "me"}}),
                json!({"name": "a", "rbd": {"monitors": ["m"], "image": "i", "user": "me",
                    "pool": "rbd", "keyring": "/etc/ceph/keyring"}}),
            ),
            (
                json!({"name": "a", "iscsi": {"targetPortal": "t", "iqn": "q", "lun": 0}}),
                json!({"name": "a", "iscsi": {"targetPortal": "t", "iqn": "q", "lun": 0,
                    "iscsiInterface": "default"}}),
            ),
            (
                json!({"name": "a", "azureDisk": {"diskName": "d", "diskURI": "u", "fsType": ""}}),
                json!({"name": "a", "azureDisk": {"diskName": "d", "diskURI": "u", "fsType": "",
                    "cachingMode": "ReadWrite", "kind": "Shared", "readOnly": false}}),
            ),
            (
                json!({"name": "a", "scaleIO": {"gateway": "g", "system": "s", "secretRef": {}}}),
                json!({"name": "a", "scaleIO": {"gateway": "g", "system": "s", "secretRef": {},
                    "storageMode": "ThinProvisioned", "fsType": "xfs"}}),
            ),
        ];
        for (given, want) in cases {
            let got = defaulted(given.clone());
            assert_eq!(got, want, "{given}");
            assert_eq!(defaulted(got.clone()), got, "idempotent: {given}");
        }
    }
}

//! Pod volumes (upstream's `ValidateVolumes` and `validateVolumeSource`): names unique
//! DNS labels, exactly one source, and the common sources checked in depth.

use std::collections::HashSet;

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::env::{field_selector, resource_selector};
use super::{arr, dns_label, int, quantity, text};

/// Every volume source, in upstream's order (the first one set wins).
const SOURCES: [&str; 30] = [
    "emptyDir",
    "hostPath",
    "gitRepo",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "flocker",
    "persistentVolumeClaim",
    "rbd",
    "cinder",
    "cephfs",
    "quobyte",
    "downwardAPI",
    "fc",
    "flexVolume",
    "configMap",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "storageos",
    "projected",
    "scaleIO",
    "csi",
    "ephemeral",
    "image",
];

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const HOST_PATH_TYPES: [&str; 8] = [
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
];
/// Field paths a downward API volume file may name.
const VOLUME_FIELD_PATHS: [&str; 5] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];

/// Checks `spec.volumes`; returns the names of the volumes that are valid (mounts may
/// only name those).
pub(super) fn volumes(list: &[Value], path: &Path, errors: &mut Errors) -> HashSet<String> {
    let mut names = HashSet::new();
    for (i, v) in list.iter().enumerate() {
        let p = path.index(i);
        let mut own = Errors::default();
        source(v, &p, &mut own);
        let name = text(v, "name");
        if name.is_empty() {
            own.required(&p.child("name"), "");
        } else {
            dns_label(name, &p.child("name"), &mut own);
        }
        if names.contains(name) {
            own.duplicate(&p.child("name"), &Value::String(name.to_owned()));
        }
        if own.is_empty() {
            names.insert(name.to_owned());
        } else {
            errors.extend(own);
        }
    }
    names
}

fn source(v: &Value, path: &Path, errors: &mut Errors) {
    let mut count = 0;
    for kind in SOURCES {
        let Some(s) = v.get(kind).filter(|s| !s.is_null()) else {
            continue;
        };
        let p = path.child(kind);
        if count > 0 {
            errors.forbidden(&p, "may not specify more than 1 volume type");
            continue;
        }
        count += 1;
        match kind {
            "emptyDir" => {
                if let Some(limit) = s.get("sizeLimit").filter(|l| !l.is_null()) {
                    let lp = p.child("sizeLimit");
                    if quantity(limit, &lp, errors).is_some_and(|q| q.is_negative()) {
                        errors.forbidden(&lp, "SizeLimit field must be a valid resource quantity");
                    }
                }
            }
            "hostPath" => host_path(s, &p, errors),
            "secret" => {
                if text(s, "secretName").is_empty() {
                    errors.required(&p.child("secretName"), "");
                }
                mode(s, "defaultMode", &p, errors);
                items(s, &p, errors);
            }
            "configMap" => {
                if text(s, "name").is_empty() {
                    errors.required(&p.child("name"), "");
                }
                mode(s, "defaultMode", &p, errors);
                items(s, &p, errors);
            }
            "persistentVolumeClaim" if text(s, "claimName").is_empty() => {
                errors.required(&p.child("claimName"), "");
            }
            "downwardAPI" => {
                mode(s, "defaultMode", &p, errors);
                for (i, f) in arr(s, "items").iter().enumerate() {
                    downward_file(f, &p.child("items").index(i), errors);
                }
            }
            "projected" => projected(s, &p, errors),
            _ => {}
        }
    }
    if count == 0 {
        errors.required(path, "must specify a volume type");
    }
}

fn host_path(s: &Value, path: &Path, errors: &mut Errors) {
    let host = text(s, "path");
    if host.is_empty() {
        errors.required(&path.child("path"), "");
        return;
    }
    no_backsteps(host, &path.child("path"), errors);
    if let Some(t) = s.get("type").and_then(Value::as_str)
        && !HOST_PATH_TYPES.contains(&t)
    {
        errors.not_supported(
            &path.child("type"),
            &Value::String(t.to_owned()),
            &HOST_PATH_TYPES,
        );
    }
}

/// A file mode field (`defaultMode`, `mode`) within 0–0777.
fn mode(obj: &Value, field: &str, path: &Path, errors: &mut Errors) {
    if let Some(m) = int(obj, field)
        && !(0..=0o777).contains(&m)
    {
        errors.invalid(&path.child(field), &Value::from(m), FILE_MODE_MSG);
    }
}

/// `items` of a Secret or ConfigMap source; returns their paths.
fn items<'a>(s: &'a Value, path: &Path, errors: &mut Errors) -> Vec<&'a str> {
    let mut paths = Vec::new();
    for (i, kp) in arr(s, "items").iter().enumerate() {
        let p = path.child("items").index(i);
        if text(kp, "key").is_empty() {
            errors.required(&p.child("key"), "");
        }
        let file = text(kp, "path");
        if file.is_empty() {
            errors.required(&p.child("path"), "");
        }
        local_non_reserved_path(file, &p.child("path"), errors);
        mode(kp, "mode", &p, errors);
        if !file.is_empty() {
            paths.push(file);
        }
    }
    paths
}

fn downward_file(f: &Value, path: &Path, errors: &mut Errors) {
    let file = text(f, "path");
    if file.is_empty() {
        errors.required(&path.child("path"), "");
    }
    local_non_reserved_path(file, &path.child("path"), errors);
    let field_ref = f.get("fieldRef").filter(|v| !v.is_null());
    let resource_ref = f.get("resourceFieldRef").filter(|v| !v.is_null());
    match (field_ref, resource_ref) {
        (Some(fr), rr) => {
            field_selector(fr, &VOLUME_FIELD_PATHS, &path.child("fieldRef"), errors);
            if rr.is_some() {
                errors.invalid(
                    path,
                    &Value::String("resource".to_owned()),
                    "fieldRef and resourceFieldRef can not be specified simultaneously",
                );
            }
        }
        (None, Some(rr)) => resource_selector(rr, true, &path.child("resourceFieldRef"), errors),
        (None, None) => errors.required(path, "one of fieldRef and resourceFieldRef is required"),
    }
    mode(f, "mode", path, errors);
}

fn projected(s: &Value, path: &Path, errors: &mut Errors) {
    mode(s, "defaultMode", path, errors);
    let mut all_paths = HashSet::new();
    for (i, src) in arr(s, "sources").iter().enumerate() {
        let sp = path.child("sources").index(i);
        let mut count = 0;
        for kind in ["secret", "configMap"] {
            let Some(o) = src.get(kind).filter(|v| !v.is_null()) else {
                continue;
            };
            count += 1;
            let p = sp.child(kind);
            if text(o, "name").is_empty() {
                errors.required(&p.child("name"), "");
            }
            for file in items(o, &p, errors) {
                if !all_paths.insert(file.to_owned()) {
                    errors.invalid(path, &o["name"], "conflicting duplicate paths");
                }
            }
        }
        if let Some(d) = src.get("downwardAPI").filter(|v| !v.is_null()) {
            count += 1;
            for (j, f) in arr(d, "items").iter().enumerate() {
                downward_file(f, &sp.child("downwardAPI").child("items").index(j), errors);
                let file = text(f, "path");
                if !file.is_empty() && !all_paths.insert(file.to_owned()) {
                    errors.invalid(
                        path,
                        &Value::String(String::new()),
                        "conflicting duplicate paths",
                    );
                }
            }
        }
        if let Some(t) = src.get("serviceAccountToken").filter(|v| !v.is_null()) {
            count += 1;
            let p = sp.child("serviceAccountToken");
            let seconds = int(t, "expirationSeconds").unwrap_or(0);
            if seconds < 600 {
                errors.invalid(
                    &p.child("expirationSeconds"),
                    &Value::from(seconds),
                    "may not specify a duration less than 10 minutes",
                );
            } else if seconds > 1 << 32 {
                errors.invalid(
                    &p.child("expirationSeconds"),
                    &Value::from(seconds),
                    "may not specify a duration larger than 2^32 seconds",
                );
            }
            let file = text(t, "path");
            if file.is_empty() {
                errors.required(&path.child("path"), "");
            } else {
                local_non_reserved_path(file, &path.child("path"), errors);
            }
        }
        if src.get("clusterTrustBundle").is_some_and(|v| !v.is_null()) {
            count += 1;
        }
        if count > 1 {
            errors.forbidden(&sp, "may not specify more than 1 volume type per source");
        }
    }
}

fn no_backsteps(p: &str, path: &Path, errors: &mut Errors) {
    if p.split('/').any(|part| part == "..") {
        errors.invalid(path, &Value::String(p.to_owned()), "must not contain '..'");
    }
}

/// A relative path that stays below its base.
pub(super) fn local_descending_path(p: &str, path: &Path, errors: &mut Errors) {
    if p.starts_with('/') {
        errors.invalid(
            path,
            &Value::String(p.to_owned()),
            "must be a relative path",
        );
    }
    no_backsteps(p, path, errors);
}

fn local_non_reserved_path(p: &str, path: &Path, errors: &mut Errors) {
    local_descending_path(p, path, errors);
    if p.starts_with("..") {
        errors.invalid(
            path,
            &Value::String(p.to_owned()),
            "must not start with '..'",
        );
    }
}

//! PersistentVolumes: `ValidatePersistentVolumeSpec` (capacity, access modes, exactly one
//! volume source, reclaim policy, node affinity) and the update rules (the source and
//! the volume mode are immutable, node affinity once set).

use serde_json::{Map, Value};

use super::qty::Qty;
use super::{access_modes, diff, immutable, semantic, volume_mode};
use crate::pointer::At;
use crate::validation::errors::{Errors, Path};
use crate::validation::go_value;
use crate::validation::meta::{dns1123_label, dns1123_subdomain, label_value, qualified_name};

/// The volume sources of a PersistentVolume in upstream's order, with the path its
/// checks report under when it differs from the field (upstream's own spelling).
const SOURCES: &[(&str, &str)] = &[
    ("hostPath", "hostPath"),
    ("gcePersistentDisk", "persistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("nfs", "nfs"),
    ("rbd", "rbd"),
    ("quobyte", "quobyte"),
    ("cephfs", "cephfs"),
    ("iscsi", "iscsi"),
    ("cinder", "cinder"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("scaleIO", "scaleIO"),
    ("local", "local"),
    ("storageos", "storageos"),
    ("csi", "csi"),
];
const RECLAIM_POLICIES: &[&str] = &["Delete", "Recycle", "Retain"];
const HOST_PATH_TYPES: &[&str] = &[
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
];
const SELECTOR_OPERATORS: &[&str] = &["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"];

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// A volume on create or main-resource update.
pub(super) fn validate(obj: &Value, old: Option<&Value>, errors: &mut Errors) {
    let empty = Value::Object(Map::new());
    let spec = obj.get("spec").unwrap_or(&empty);
    let path = Path::root("spec");
    access_modes(spec, &path.child("accessModes"), "", errors);
    capacity(spec.get("capacity"), &path.child("capacity"), errors);
    let policy = text(spec, "persistentVolumeReclaimPolicy");
    if !policy.is_empty() && !RECLAIM_POLICIES.contains(&policy) {
        errors.not_supported(
            &path.child("persistentVolumeReclaimPolicy"),
            &string(policy),
            RECLAIM_POLICIES,
        );
    }
    let affinity = spec.get("nodeAffinity").filter(|a| !a.is_null());
    if let Some(affinity) = affinity {
        let required = path.child("nodeAffinity").child("required");
        match affinity.get("required").filter(|r| !r.is_null()) {
            Some(selector) => node_selector(selector, &required, errors),
            None => errors.required(&required, "must specify required node constraints"),
        }
    }
    let mut count = 0;
    for (field, check_path) in SOURCES {
        let Some(source) = spec.get(*field).filter(|s| !s.is_null()) else {
            continue;
        };
        // Upstream never counts a flexVolume as a second source.
        if count > 0 && *field != "flexVolume" {
            let shown = if *field == "cephfs" { "cephFS" } else { field };
            errors.forbidden(
                &path.child(shown),
                "may not specify more than 1 volume type",
            );
            continue;
        }
        count += 1;
        source_checks(field, source, &path.child(check_path), errors);
        if *field == "local" && affinity.is_none() {
            errors.required(
                &path.child("nodeAffinity"),
                "Local volume requires node affinity",
            );
        }
    }
    if count == 0 {
        errors.required(&path, "must specify a volume type");
    }
    let host = spec.at("/hostPath/path").and_then(Value::as_str);
    if host.is_some_and(|p| clean(p) == "/") && policy == "Recycle" {
        errors.forbidden(
            &path.child("persistentVolumeReclaimPolicy"),
            "may not be 'recycle' for a hostPath mount of '/'",
        );
    }
    let class = text(spec, "storageClassName");
    for m in dns1123_subdomain(class)
        .into_iter()
        .filter(|_| !class.is_empty())
    {
        errors.invalid(&path.child("storageClassName"), &string(class), &m);
    }
    volume_mode(spec, &path.child("volumeMode"), errors);
    if let Some(old) = old {
        update(obj, old, errors);
    }
}

fn capacity(capacity: Option<&Value>, path: &Path, errors: &mut Errors) {
    let map = capacity.and_then(Value::as_object);
    if map.is_none_or(Map::is_empty) {
        errors.required(path, "");
    }
    if map.is_none_or(|m| !m.contains_key("storage") || m.len() > 1) {
        go_value::not_supported(errors, path, &resource_list_go(map), &["storage"]);
    }
    for (name, v) in map.into_iter().flatten() {
        let Some(q) = Qty::from_json(v) else { continue };
        let key = path.key(name);
        if q.value() < 0 {
            let value = i64::try_from(q.value()).unwrap_or(i64::MIN);
            errors.invalid(
                &key,
                &Value::from(value),
                "must be a valid resource quantity",
            );
        }
        if !q.is_positive() {
            errors.invalid(&key, &string(&q.shown()), "must be greater than zero");
        }
    }
}

/// A capacity as Go prints a `core.ResourceList` with `%#v`: exact for a missing or empty
/// list (the cases users meet); quantities inside a non-empty one are shown as their text
/// rather than Go's internal `resource.Quantity{…}` layout.
fn resource_list_go(map: Option<&Map<String, Value>>) -> String {
    match map {
        None => "core.ResourceList(nil)".to_owned(),
        Some(m) => {
            let body: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    let shown = Qty::from_json(v).map_or_else(|| v.to_string(), |q| q.shown());
                    format!("{}:{}", go_value::quote(k), go_value::quote(&shown))
                })
                .collect();
            format!("core.ResourceList{{{}}}", body.join(", "))
        }
    }
}

/// Go's `path.Clean`, enough to tell whether a path is the root.
fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// `validatePathNoBacksteps`.
fn no_backsteps(p: &str, path: &Path, errors: &mut Errors) {
    if p.split(['/', '\\']).any(|part| part == "..") {
        errors.invalid(path, &string(p), "must not contain '..'");
    }
}

/// The checks of the sources Keelson's users write; other sources are accepted as given.
fn source_checks(field: &str, source: &Value, path: &Path, errors: &mut Errors) {
    match field {
        "hostPath" | "local" => {
            let p = text(source, "path");
            if p.is_empty() {
                errors.required(&path.child("path"), "");
                return;
            }
            no_backsteps(p, &path.child("path"), errors);
            if field == "hostPath"
                && let Some(ty) = source.get("type").filter(|t| !t.is_null())
                && !ty.as_str().is_some_and(|t| HOST_PATH_TYPES.contains(&t))
            {
                errors.not_supported(&path.child("type"), ty, HOST_PATH_TYPES);
            }
        }
        "nfs" => {
            if text(source, "server").is_empty() {
                errors.required(&path.child("server"), "");
            }
            let p = text(source, "path");
            if p.is_empty() {
                errors.required(&path.child("path"), "");
            }
            if !p.starts_with('/') {
                errors.invalid(&path.child("path"), &string(p), "must be an absolute path");
            }
        }
        "csi" => csi(source, path, errors),
        _ => {}
    }
}

fn csi(source: &Value, path: &Path, errors: &mut Errors) {
    let driver = text(source, "driver");
    let dpath = path.child("driver");
    if driver.is_empty() {
        errors.required(&dpath, "");
    }
    if driver.len() > 63 {
        errors.too_long(&dpath, 63);
    }
    for m in dns1123_subdomain(&driver.to_lowercase()) {
        errors.invalid(&dpath, &string(driver), &m);
    }
    if text(source, "volumeHandle").is_empty() {
        errors.required(&path.child("volumeHandle"), "");
    }
    for field in [
        "controllerPublishSecretRef",
        "controllerExpandSecretRef",
        "nodePublishSecretRef",
        "nodeExpandSecretRef",
    ] {
        let Some(secret) = source.get(field).filter(|s| !s.is_null()) else {
            continue;
        };
        let spath = path.child(field);
        let name = text(secret, "name");
        if name.is_empty() {
            errors.required(&spath.child("name"), "");
        } else {
            for m in dns1123_subdomain(name) {
                errors.invalid(&spath.child("name"), &string(name), &m);
            }
        }
        let namespace = text(secret, "namespace");
        if namespace.is_empty() {
            errors.required(&spath.child("namespace"), "");
        } else {
            for m in dns1123_label(namespace) {
                errors.invalid(&spath.child("namespace"), &string(namespace), &m);
            }
        }
    }
}

/// `ValidateNodeSelector` with its terms' match expressions.
fn node_selector(selector: &Value, path: &Path, errors: &mut Errors) {
    let tpath = path.child("nodeSelectorTerms");
    let terms = selector
        .get("nodeSelectorTerms")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if terms.is_empty() {
        errors.required(&tpath, "must have at least one node selector term");
    }
    for (i, term) in terms.iter().enumerate() {
        let epath = tpath.index(i).child("matchExpressions");
        let exprs = term.get("matchExpressions").and_then(Value::as_array);
        for (j, req) in exprs.into_iter().flatten().enumerate() {
            requirement(req, &epath.index(j), errors);
        }
    }
}

/// `ValidateNodeSelectorRequirement`.
fn requirement(req: &Value, path: &Path, errors: &mut Errors) {
    let values = req.get("values").and_then(Value::as_array);
    let count = values.map_or(0, Vec::len);
    let vpath = path.child("values");
    let op = text(req, "operator");
    match op {
        "In" | "NotIn" if count == 0 => errors.required(
            &vpath,
            "must be specified when `operator` is 'In' or 'NotIn'",
        ),
        "Exists" | "DoesNotExist" if count > 0 => errors.forbidden(
            &vpath,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ),
        "Gt" | "Lt" if count != 1 => errors.required(
            &vpath,
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
        ),
        o if !SELECTOR_OPERATORS.contains(&o) => errors.invalid(
            &path.child("operator"),
            &string(op),
            "not a valid selector operator",
        ),
        _ => {}
    }
    let key = text(req, "key");
    for m in qualified_name(key) {
        errors.invalid(&path.child("key"), &string(key), &m);
    }
    for (i, v) in values.into_iter().flatten().enumerate() {
        let value = v.as_str().unwrap_or("");
        for m in label_value(value) {
            errors.invalid(&vpath.index(i), &string(value), &m);
        }
    }
}

/// `ValidatePersistentVolumeUpdate`'s rules against the stored volume.
fn update(obj: &Value, old: &Value, errors: &mut Errors) {
    let sources = |o: &Value| -> Map<String, Value> {
        let mut map: Map<String, Value> = SOURCES
            .iter()
            .filter_map(|(f, _)| Some(((*f).to_owned(), o.at(&format!("/spec/{f}"))?.clone())))
            .collect();
        map.retain(|_, v| !v.is_null());
        map
    };
    let (mut new_sources, old_sources) = (sources(obj), sources(old));
    // A CSI volume may gain a controllerExpandSecretRef.
    let old_expand = old_sources
        .get("csi")
        .and_then(|c| c.get("controllerExpandSecretRef"))
        .filter(|s| !s.is_null());
    if old_sources.contains_key("csi")
        && old_expand.is_none()
        && let Some(csi) = new_sources.get_mut("csi").and_then(Value::as_object_mut)
    {
        csi.remove("controllerExpandSecretRef");
    }
    if semantic(&Value::Object(new_sources.clone()))
        != semantic(&Value::Object(old_sources.clone()))
    {
        let message = format!(
            "spec.persistentvolumesource is immutable after creation\n{}",
            diff("core.PersistentVolumeSource", &old_sources, &new_sources)
        );
        errors.forbidden(
            &Path::root("spec").child("persistentvolumesource"),
            &message,
        );
    }
    let field = |o: &Value, f: &str| o.at(&format!("/spec/{f}")).cloned();
    if field(obj, "volumeMode") != field(old, "volumeMode") {
        immutable(
            errors,
            &Path::root("volumeMode"),
            field(obj, "volumeMode").as_ref(),
        );
    }
    let old_affinity = field(old, "nodeAffinity").filter(|a| !a.is_null());
    if let Some(old_affinity) = old_affinity {
        let new_affinity = field(obj, "nodeAffinity").unwrap_or(Value::Null);
        if semantic(&new_affinity) != semantic(&old_affinity) {
            immutable(errors, &Path::root("nodeAffinity"), Some(&new_affinity));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tests::{causes, pairs};
    use super::*;
    use crate::admission::Operation;
    use crate::api::Part;
    use serde_json::json;

    fn pv(spec: Value) -> Value {
        json!({"metadata": {"name": "pv"}, "spec": spec})
    }

    #[test]
    fn cleans_paths() {
        for (p, want) in [
            ("/", "/"),
            ("/a/..", "/"),
            ("//", "/"),
            ("/a/b/../c", "/a/c"),
            ("a/../..", ".."),
        ] {
            assert_eq!(clean(p), want, "{p}");
        }
    }

    #[test]
    fn specs() {
        let affinity = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]}]}});
        let cases: Vec<(Value, Vec<(String, String)>)> = vec![
            (
                pv(
                    json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                    "hostPath": {"path": "/data", "type": ""}, "persistentVolumeReclaimPolicy": "Retain",
                    "volumeMode": "Filesystem"}),
                ),
                vec![],
            ),
            (
                pv(
                    json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                    "local": {"path": "/mnt/disk"}, "nodeAffinity": affinity}),
                ),
                vec![],
            ),
            (
                pv(json!({})),
                pairs(&[
                    ("spec.accessModes", "Required value"),
                    ("spec.capacity", "Required value"),
                    (
                        "spec.capacity",
                        "Unsupported value: core.ResourceList(nil): supported values: \"storage\"",
                    ),
                    ("spec", "Required value: must specify a volume type"),
                ]),
            ),
            (
                pv(
                    json!({"capacity": {"storage": "-1Gi", "cpu": "1"}, "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Recycle",
                    "hostPath": {"path": "/a/..", "type": "Pipe"}, "nfs": {"server": "s", "path": "/x"}}),
                ),
                pairs(&[
                    (
                        "spec.capacity",
                        "Unsupported value: core.ResourceList{\"cpu\":\"1\", \"storage\":\"-1Gi\"}: supported values: \"storage\"",
                    ),
                    (
                        "spec.capacity[storage]",
                        "Invalid value: -1073741824: must be a valid resource quantity",
                    ),
                    (
                        "spec.capacity[storage]",
                        "Invalid value: \"-1Gi\": must be greater than zero",
                    ),
                    (
                        "spec.hostPath.path",
                        "Invalid value: \"/a/..\": must not contain '..'",
                    ),
                    (
                        "spec.hostPath.type",
                        "Unsupported value: \"Pipe\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\"",
                    ),
                    (
                        "spec.nfs",
                        "Forbidden: may not specify more than 1 volume type",
                    ),
                    (
                        "spec.persistentVolumeReclaimPolicy",
                        "Forbidden: may not be 'recycle' for a hostPath mount of '/'",
                    ),
                ]),
            ),
            (
                pv(
                    json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                    "local": {"path": ""}, "nodeAffinity": {"required": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "k", "operator": "Exists", "values": ["x"]}]}]}}}),
                ),
                pairs(&[
                    (
                        "spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values",
                        "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ),
                    ("spec.local.path", "Required value"),
                ]),
            ),
            (
                pv(
                    json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "local": {"path": "/d"}}),
                ),
                pairs(&[(
                    "spec.nodeAffinity",
                    "Required value: Local volume requires node affinity",
                )]),
            ),
            (
                pv(
                    json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                    "nfs": {"server": "", "path": "rel"}, "csi": {"driver": "d", "volumeHandle": "h"}}),
                ),
                pairs(&[
                    ("spec.nfs.server", "Required value"),
                    (
                        "spec.nfs.path",
                        "Invalid value: \"rel\": must be an absolute path",
                    ),
                    (
                        "spec.csi",
                        "Forbidden: may not specify more than 1 volume type",
                    ),
                ]),
            ),
            (
                pv(
                    json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "csi": {"driver": ""}}),
                ),
                vec![
                    ("spec.csi.driver".to_owned(), "Required value".to_owned()),
                    (
                        "spec.csi.driver".to_owned(),
                        format!("Invalid value: \"\": {}", dns1123_subdomain("")[0]),
                    ),
                    (
                        "spec.csi.volumeHandle".to_owned(),
                        "Required value".to_owned(),
                    ),
                ],
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(
                causes("PersistentVolume", &obj, Operation::Create),
                want,
                "{obj}"
            );
        }
    }

    #[test]
    fn updates() {
        let base = pv(
            json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/data"}, "volumeMode": "Filesystem"}),
        );
        let mut grown = base.clone();
        grown["spec"]["capacity"]["storage"] = json!("2Gi");
        grown["spec"]["persistentVolumeReclaimPolicy"] = json!("Delete");
        grown["spec"]["claimRef"] = json!({"namespace": "default", "name": "c"});
        let mut moved = base.clone();
        moved["spec"]["hostPath"]["path"] = json!("/other");
        moved["spec"]["volumeMode"] = json!("Block");
        let cases: Vec<(Value, Vec<(String, String)>)> = vec![
            (grown, vec![]),
            (
                moved,
                pairs(&[
                    (
                        "spec.persistentvolumesource",
                        "Forbidden: spec.persistentvolumesource is immutable after creation\n  core.PersistentVolumeSource{\n- \tHostPath: {\"path\":\"/data\"},\n+ \tHostPath: {\"path\":\"/other\"},\n  }\n",
                    ),
                    ("volumeMode", "Invalid value: \"Block\": field is immutable"),
                ]),
            ),
        ];
        for (new, want) in cases {
            let op = Operation::Update {
                old: &base,
                part: Part::Main,
            };
            assert_eq!(causes("PersistentVolume", &new, op), want, "{new}");
        }
    }
}

//! Containers and init containers: names, images, ports, mounts, pull policy, security
//! contexts (upstream's `validateContainers`, `validateInitContainers` and
//! `validateContainerCommon`). Environment, resources and probes have their own files.

use std::collections::HashSet;

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::{arr, dns_label, int, is_unset, one_of, text};
use super::{env, probe, resources};

const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";
const ID_RANGE_MSG: &str = "must be between 0 and 2147483647, inclusive";
const INIT_ONLY_ALWAYS: &str = "may not be set for init containers without restartPolicy=Always";

/// `spec.containers`: required, each container's common rules, names unique, probes and
/// lifecycle, no container-level `restartPolicy`, host ports unique across them.
pub(super) fn containers(
    spec: &Value,
    volumes: &HashSet<String>,
    path: &Path,
    errors: &mut Errors,
) {
    let path = path.child("containers");
    let list = arr(spec, "containers");
    if list.is_empty() {
        errors.required(&path, "");
        return;
    }
    let mut names = HashSet::new();
    for (i, c) in list.iter().enumerate() {
        let p = path.index(i);
        common(c, volumes, &p, errors);
        let name = text(c, "name");
        if !names.insert(name) {
            errors.duplicate(&p.child("name"), &Value::String(name.to_owned()));
        }
        probe::container_probes(c, &p, errors);
        if !is_unset(c.get("restartPolicy")) {
            errors.forbidden(
                &p.child("restartPolicy"),
                "may not be set for non-init containers",
            );
        }
    }
    host_port_conflicts(list, &path, errors);
}

/// `spec.initContainers`: the common rules, names unique with the app containers, host
/// ports unique per container, probes and lifecycle only for sidecars (`restartPolicy:
/// Always`).
pub(super) fn init_containers(
    spec: &Value,
    volumes: &HashSet<String>,
    path: &Path,
    errors: &mut Errors,
) {
    let path = path.child("initContainers");
    let mut names: HashSet<&str> = arr(spec, "containers")
        .iter()
        .map(|c| text(c, "name"))
        .collect();
    for (i, c) in arr(spec, "initContainers").iter().enumerate() {
        let p = path.index(i);
        common(c, volumes, &p, errors);
        let mut sidecar = false;
        if let Some(policy) = c.get("restartPolicy").filter(|v| !v.is_null()) {
            let policy = policy.as_str().unwrap_or("");
            sidecar = policy == "Always";
            if !sidecar {
                errors.not_supported(
                    &p.child("restartPolicy"),
                    &Value::String(policy.to_owned()),
                    &["Always"],
                );
            }
        }
        let name = text(c, "name");
        if names.contains(name) {
            errors.duplicate(&p.child("name"), &Value::String(name.to_owned()));
        } else if !name.is_empty() {
            names.insert(name);
        }
        // Init containers run one at a time: only ports within one of them can clash
        // (upstream reports them at index 0 of the list).
        host_port_conflicts(std::slice::from_ref(c), &path, errors);
        if sidecar {
            probe::container_probes(c, &p, errors);
        } else {
            for field in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if !is_unset(c.get(field)) {
                    errors.forbidden(&p.child(field), INIT_ONLY_ALWAYS);
                }
            }
        }
    }
}

/// `validateContainerCommon`: what every kind of container must satisfy.
fn common(c: &Value, volumes: &HashSet<String>, path: &Path, errors: &mut Errors) {
    let name = text(c, "name");
    if name.is_empty() {
        errors.required(&path.child("name"), "");
    } else {
        dns_label(name, &path.child("name"), errors);
    }
    if text(c, "image").is_empty() {
        errors.required(&path.child("image"), "");
    }
    one_of(
        c,
        "terminationMessagePolicy",
        &["File", "FallbackToLogsOnError"],
        path,
        errors,
    );
    ports(arr(c, "ports"), &path.child("ports"), errors);
    env::env(arr(c, "env"), &path.child("env"), errors);
    env::env_from(arr(c, "envFrom"), &path.child("envFrom"), errors);
    volume_mounts(
        arr(c, "volumeMounts"),
        volumes,
        &path.child("volumeMounts"),
        errors,
    );
    one_of(
        c,
        "imagePullPolicy",
        &["Always", "IfNotPresent", "Never"],
        path,
        errors,
    );
    resources::requirements(c.get("resources"), &path.child("resources"), errors);
    if let Some(sc) = c.get("securityContext").filter(|v| !v.is_null()) {
        ids(sc, &path.child("securityContext"), errors);
    }
}

/// Messages for a port name that is not an IANA service name.
pub(super) fn port_name(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if name.len() > 15 {
        out.push("must be no more than 15 characters".to_owned());
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        out.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned(),
        );
    }
    if !name.chars().any(|c| c.is_ascii_lowercase()) {
        out.push("must contain at least one letter (a-z)".to_owned());
    }
    if name.contains("--") {
        out.push("must not contain consecutive hyphens".to_owned());
    }
    if name.starts_with('-') || name.ends_with('-') {
        out.push("must not begin or end with a hyphen".to_owned());
    }
    out
}

/// Whether `n` is a usable port number.
pub(super) fn valid_port(n: i64) -> bool {
    (1..=65535).contains(&n)
}

fn ports(list: &[Value], path: &Path, errors: &mut Errors) {
    let mut names = HashSet::new();
    for (i, port) in list.iter().enumerate() {
        let p = path.index(i);
        let name = text(port, "name");
        if !name.is_empty() {
            let msgs = port_name(name);
            for m in &msgs {
                errors.invalid(&p.child("name"), &Value::String(name.to_owned()), m);
            }
            if msgs.is_empty() && !names.insert(name) {
                errors.duplicate(&p.child("name"), &Value::String(name.to_owned()));
            }
        }
        match int(port, "containerPort").unwrap_or(0) {
            0 => errors.required(&p.child("containerPort"), ""),
            n if !valid_port(n) => {
                errors.invalid(&p.child("containerPort"), &Value::from(n), PORT_RANGE_MSG)
            }
            _ => {}
        }
        let host = int(port, "hostPort").unwrap_or(0);
        if host != 0 && !valid_port(host) {
            errors.invalid(&p.child("hostPort"), &Value::from(host), PORT_RANGE_MSG);
        }
        let protocol = text(port, "protocol");
        if protocol.is_empty() {
            errors.required(&p.child("protocol"), "");
        } else if !["SCTP", "TCP", "UDP"].contains(&protocol) {
            errors.not_supported(
                &p.child("protocol"),
                &Value::String(protocol.to_owned()),
                &["SCTP", "TCP", "UDP"],
            );
        }
    }
}

/// Host ports (protocol, host IP, port) used twice among `list` (at `path`).
fn host_port_conflicts(list: &[Value], path: &Path, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for (ci, c) in list.iter().enumerate() {
        for (pi, port) in arr(c, "ports").iter().enumerate() {
            let host = int(port, "hostPort").unwrap_or(0);
            if host == 0 {
                continue;
            }
            let key = format!("{}/{}/{host}", text(port, "protocol"), text(port, "hostIP"));
            if seen.contains(&key) {
                let p = path.index(ci).child("ports").index(pi).child("hostPort");
                errors.duplicate(&p, &Value::String(key));
            } else {
                seen.insert(key);
            }
        }
    }
}

/// With `hostNetwork`, every host port must equal its container port.
pub(super) fn host_network_ports(spec: &Value, path: &Path, errors: &mut Errors) {
    if spec.get("hostNetwork").and_then(Value::as_bool) != Some(true) {
        return;
    }
    for list in ["containers", "initContainers"] {
        for (ci, c) in arr(spec, list).iter().enumerate() {
            for (pi, port) in arr(c, "ports").iter().enumerate() {
                let host = int(port, "hostPort").unwrap_or(0);
                if host != int(port, "containerPort").unwrap_or(0) {
                    errors.invalid(
                        &path
                            .child(list)
                            .index(ci)
                            .child("ports")
                            .index(pi)
                            .child("hostPort"),
                        &Value::from(host),
                        "must match `containerPort` when `hostNetwork` is true",
                    );
                }
            }
        }
    }
}

fn volume_mounts(list: &[Value], volumes: &HashSet<String>, path: &Path, errors: &mut Errors) {
    let mut mount_points = HashSet::new();
    for (i, m) in list.iter().enumerate() {
        let p = path.index(i);
        let name = text(m, "name");
        if name.is_empty() {
            errors.required(&p.child("name"), "");
        }
        if !volumes.contains(name) {
            errors.push_raw(
                "FieldValueNotFound",
                &p.child("name"),
                format!(
                    "Not found: {}",
                    super::super::errors::show(&Value::String(name.to_owned()))
                ),
            );
        }
        let mount_path = text(m, "mountPath");
        if mount_path.is_empty() {
            errors.required(&p.child("mountPath"), "");
        }
        if !mount_points.insert(mount_path) {
            errors.invalid(
                &p.child("mountPath"),
                &Value::String(mount_path.to_owned()),
                "must be unique",
            );
        }
        let sub_path = text(m, "subPath");
        if !sub_path.is_empty() {
            super::volume::local_descending_path(sub_path, &path.child("subPath"), errors);
        }
        let expr = text(m, "subPathExpr");
        if !expr.is_empty() {
            if !sub_path.is_empty() {
                errors.invalid(
                    &p.child("subPathExpr"),
                    &Value::String(expr.to_owned()),
                    "subPathExpr and subPath are mutually exclusive",
                );
            }
            super::volume::local_descending_path(expr, &path.child("subPathExpr"), errors);
        }
    }
}

/// User and group IDs of a (pod or container) security context.
fn ids(sc: &Value, path: &Path, errors: &mut Errors) {
    for field in ["runAsUser", "runAsGroup"] {
        if let Some(id) = int(sc, field)
            && !(0..=i64::from(i32::MAX)).contains(&id)
        {
            errors.invalid(&path.child(field), &Value::from(id), ID_RANGE_MSG);
        }
    }
}

/// `validatePodSpecSecurityContext`: IDs, supplemental groups, process namespace
/// sharing, fsGroupChangePolicy.
pub(super) fn pod_security_context(spec: &Value, path: &Path, errors: &mut Errors) {
    let Some(sc) = spec.get("securityContext").filter(|v| !v.is_null()) else {
        return;
    };
    let path = path.child("securityContext");
    if let Some(id) = int(sc, "fsGroup")
        && !(0..=i64::from(i32::MAX)).contains(&id)
    {
        errors.invalid(&path.child("fsGroup"), &Value::from(id), ID_RANGE_MSG);
    }
    ids(sc, &path, errors);
    for (i, g) in arr(sc, "supplementalGroups").iter().enumerate() {
        let id = g.as_i64().unwrap_or(0);
        if !(0..=i64::from(i32::MAX)).contains(&id) {
            errors.invalid(&path.child("supplementalGroups").index(i), g, ID_RANGE_MSG);
        }
    }
    if sc.get("shareProcessNamespace").and_then(Value::as_bool) == Some(true)
        && spec.get("hostPID").and_then(Value::as_bool) == Some(true)
    {
        errors.invalid(
            &path.child("shareProcessNamespace"),
            &Value::Bool(true),
            "ShareProcessNamespace and HostPID cannot both be enabled",
        );
    }
    if let Some(policy) = sc.get("fsGroupChangePolicy").and_then(Value::as_str)
        && !["Always", "OnRootMismatch"].contains(&policy)
    {
        errors.not_supported(
            &path.child("fsGroupChangePolicy"),
            &Value::String(policy.to_owned()),
            &["Always", "OnRootMismatch"],
        );
    }
}

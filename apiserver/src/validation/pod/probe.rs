//! Probes and lifecycle hooks: exactly one handler, valid ports, non-negative timings,
//! thresholds upstream fixes at 1.

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::container::{port_name, valid_port};
use super::{arr, int, is_unset, text};

const MORE_THAN_ONE: &str = "may not specify more than 1 handler type";

/// The probes and lifecycle of a container that may have them.
pub(super) fn container_probes(c: &Value, path: &Path, errors: &mut Errors) {
    if let Some(l) = c.get("lifecycle").filter(|v| !v.is_null()) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = l.get(hook).filter(|v| !v.is_null()) {
                handler(h, true, &path.child("lifecycle").child(hook), errors);
            }
        }
    }
    for field in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(p) = c.get(field).filter(|v| !v.is_null()) else {
            continue;
        };
        let pp = path.child(field);
        probe(p, &pp, errors);
        if field == "readinessProbe" {
            if let Some(g) = p
                .get("terminationGracePeriodSeconds")
                .filter(|v| !v.is_null())
            {
                errors.invalid(
                    &pp.child("terminationGracePeriodSeconds"),
                    g,
                    "must not be set for readinessProbes",
                );
            }
        } else if let Some(t) = int(p, "successThreshold")
            && t != 1
        {
            errors.invalid(&pp.child("successThreshold"), &Value::from(t), "must be 1");
        }
    }
}

/// `validateProbe`.
fn probe(p: &Value, path: &Path, errors: &mut Errors) {
    handler(p, false, path, errors);
    for field in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        if let Some(n) = int(p, field)
            && n < 0
        {
            errors.invalid(
                &path.child(field),
                &Value::from(n),
                "must be greater than or equal to 0",
            );
        }
    }
    if let Some(g) = int(p, "terminationGracePeriodSeconds")
        && g <= 0
    {
        errors.invalid(
            &path.child("terminationGracePeriodSeconds"),
            &Value::from(g),
            "must be greater than 0",
        );
    }
}

/// `validateHandler`: exactly one of exec, httpGet, tcpSocket, grpc (probes) or sleep
/// (lifecycle hooks), each checked.
fn handler(h: &Value, lifecycle: bool, path: &Path, errors: &mut Errors) {
    let kinds: &[&str] = if lifecycle {
        &["exec", "httpGet", "tcpSocket", "sleep"]
    } else {
        &["exec", "httpGet", "tcpSocket", "grpc"]
    };
    let mut count = 0;
    for kind in kinds {
        let Some(v) = h.get(*kind).filter(|v| !v.is_null()) else {
            continue;
        };
        let p = path.child(kind);
        if count > 0 {
            errors.forbidden(&p, MORE_THAN_ONE);
            continue;
        }
        count += 1;
        match *kind {
            "exec" if arr(v, "command").is_empty() => {
                errors.required(&p.child("command"), "");
            }
            "httpGet" => {
                if text(v, "path").is_empty() {
                    errors.required(&p.child("path"), "");
                }
                port_num_or_name(v.get("port"), &p.child("port"), errors);
                let scheme = text(v, "scheme");
                if !["HTTP", "HTTPS"].contains(&scheme) {
                    errors.not_supported(
                        &p.child("scheme"),
                        &Value::String(scheme.to_owned()),
                        &["HTTP", "HTTPS"],
                    );
                }
            }
            "tcpSocket" => port_num_or_name(v.get("port"), &p.child("port"), errors),
            "grpc" => {
                let port = int(v, "port").unwrap_or(0);
                if !valid_port(port) {
                    errors.invalid(
                        &p.child("port"),
                        &Value::from(port),
                        "must be between 1 and 65535, inclusive",
                    );
                }
            }
            _ => {}
        }
    }
    if count == 0 && !is_unset(Some(h)) {
        errors.required(path, "must specify a handler type");
    }
}

/// `ValidatePortNumOrName` of an int-or-string port.
fn port_num_or_name(port: Option<&Value>, path: &Path, errors: &mut Errors) {
    match port {
        Some(Value::String(name)) => {
            for m in port_name(name) {
                errors.invalid(path, &Value::String(name.clone()), &m);
            }
        }
        other => {
            let n = other.and_then(Value::as_i64).unwrap_or(0);
            if !valid_port(n) {
                errors.invalid(
                    path,
                    &Value::from(n),
                    "must be between 1 and 65535, inclusive",
                );
            }
        }
    }
}

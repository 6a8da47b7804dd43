//! `spec.ports` of a Service: each port (`validateServicePort`), node ports only where
//! allowed, and uniqueness by (protocol, port) and (protocol, nodePort).

use std::collections::HashSet;

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::go_value;
use super::super::meta;
use super::{int, net, text};

/// Each port, with names required (and unique) when there is more than one.
/// Any target port is tolerated on headless Services, as upstream does.
pub(super) fn each(ports: &[Value], path: &Path, errors: &mut Errors) {
    let require_name = ports.len() > 1;
    let mut names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        port(p, require_name, &mut names, &path.index(i), errors);
    }
}

/// `validateServicePort`: name, port number, protocol, target port, app protocol.
fn port<'a>(
    p: &'a Value,
    require_name: bool,
    names: &mut HashSet<&'a str>,
    path: &Path,
    errors: &mut Errors,
) {
    let name = text(p, "name");
    let npath = path.child("name");
    if name.is_empty() {
        if require_name {
            errors.required(&npath, "");
        }
    } else {
        let shown = Value::String(name.to_owned());
        for m in meta::dns1123_label(name) {
            errors.invalid(&npath, &shown, &m);
        }
        if !names.insert(name) {
            errors.duplicate(&npath, &shown);
        }
    }
    let number = int(p, "port");
    for m in net::port_num(number) {
        errors.invalid(&path.child("port"), &Value::from(number), &m);
    }
    let protocol = text(p, "protocol");
    let ppath = path.child("protocol");
    if protocol.is_empty() {
        errors.required(&ppath, "");
    } else if !net::PROTOCOLS.contains(&protocol) {
        errors.not_supported(&ppath, &Value::String(protocol.to_owned()), net::PROTOCOLS);
    }
    let zero = Value::from(0);
    let target = p
        .get("targetPort")
        .filter(|t| !t.is_null())
        .unwrap_or(&zero);
    net::port_num_or_name(target, &path.child("targetPort"), errors);
    if let Some(app) = p.get("appProtocol").filter(|a| !a.is_null()) {
        for m in meta::qualified_name(app.as_str().unwrap_or("")) {
            errors.invalid(&path.child("appProtocol"), app, &m);
        }
    }
}

/// ClusterIP Services have no node ports.
pub(super) fn no_node_ports(ports: &[Value], path: &Path, errors: &mut Errors) {
    for (i, p) in ports.iter().enumerate() {
        if int(p, "nodePort") != 0 {
            errors.forbidden(
                &path.index(i).child("nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            );
        }
    }
}

/// No two ports share a (protocol, nodePort) or a (protocol, port).
pub(super) fn duplicates(ports: &[Value], path: &Path, errors: &mut Errors) {
    let mut node_ports = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let node_port = int(p, "nodePort");
        if node_port != 0 && !node_ports.insert((text(p, "protocol"), node_port)) {
            errors.duplicate(&path.index(i).child("nodePort"), &Value::from(node_port));
        }
    }
    let mut seen = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let key = (text(p, "protocol"), int(p, "port"));
        if !seen.insert(key) {
            go_value::duplicate(errors, &path.index(i), &port_key(key.0, key.1), "");
        }
    }
}

/// The `core.ServicePort` upstream prints for a duplicate: only protocol and port set.
fn port_key(protocol: &str, port: i64) -> String {
    format!(
        "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:{}, NodePort:0}}",
        go_value::quote(protocol),
        go_value::int_or_string(None)
    )
}

//! EndpointSlices, as upstream v1.33's `ValidateEndpointSlice` and
//! `ValidateEndpointSliceUpdate`: the address type (required, supported, immutable),
//! addresses of that type, at most 1000 endpoints of at most 100 addresses, unique port
//! names.

use std::collections::HashSet;

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::meta;
use super::super::service::net;
use super::endpoints::protocol;
use super::{arr, dns_label, dns_subdomain, qualified, text};
use crate::admission::Operation;

const ADDRESS_TYPES: [&str; 3] = ["FQDN", "IPv4", "IPv6"];
const MAX_ENDPOINTS: usize = 1000;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 20000;
const MAX_TOPOLOGY_LABELS: usize = 16;

pub(super) fn validate(obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let address_type = text(obj, "addressType");
    let type_path = Path::root("addressType");
    if address_type.is_empty() {
        errors.required(&type_path, "");
    } else if !ADDRESS_TYPES.contains(&address_type) {
        errors.not_supported(
            &type_path,
            &Value::String(address_type.to_owned()),
            &ADDRESS_TYPES,
        );
    }
    endpoints(address_type, arr(obj, "endpoints"), errors);
    ports(arr(obj, "ports"), errors);
    if let Some(old) = op.old()
        && text(old, "addressType") != address_type
    {
        errors.invalid(
            &type_path,
            &Value::String(address_type.to_owned()),
            "field is immutable",
        );
    }
}

fn endpoints(address_type: &str, list: &[Value], errors: &mut Errors) {
    let path = Path::root("endpoints");
    if list.len() > MAX_ENDPOINTS {
        errors.too_many(&path, list.len(), MAX_ENDPOINTS);
        return;
    }
    for (i, e) in list.iter().enumerate() {
        let p = path.index(i);
        let addresses = arr(e, "addresses");
        let addr_path = p.child("addresses");
        if addresses.is_empty() {
            errors.required(&addr_path, "must contain at least 1 address");
        } else if addresses.len() > MAX_ADDRESSES {
            errors.too_many(&addr_path, addresses.len(), MAX_ADDRESSES);
        }
        for (j, a) in addresses.iter().enumerate() {
            address(
                address_type,
                a.as_str().unwrap_or(""),
                &addr_path.index(j),
                errors,
            );
        }
        if let Some(node) = e.get("nodeName").and_then(Value::as_str) {
            dns_subdomain(node, &p.child("nodeName"), errors);
        }
        let topology = e.get("deprecatedTopology");
        let topo_path = p.child("deprecatedTopology");
        let count = topology.and_then(Value::as_object).map_or(0, |m| m.len());
        if count > MAX_TOPOLOGY_LABELS {
            errors.too_many(&topo_path, count, MAX_TOPOLOGY_LABELS);
        }
        meta::labels(topology, &topo_path, errors);
        if let Some(hostname) = e.get("hostname").and_then(Value::as_str) {
            dns_label(hostname, &p.child("hostname"), errors);
        }
    }
}

/// One address of the slice's type; addresses of an unknown type are not checked.
fn address(address_type: &str, value: &str, path: &Path, errors: &mut Errors) {
    let shown = Value::String(value.to_owned());
    match address_type {
        "IPv4" | "IPv6" => {
            let v4 = address_type == "IPv4";
            let family_ok = net::parse_ip_sloppy(value)
                .is_some_and(|ip| net::as_v4(ip).is_some() == v4 && (v4 || !value.contains('.')));
            if family_ok {
                net::non_special_ip(value, path, errors);
            } else {
                let detail = if v4 {
                    "must be a valid IPv4 address"
                } else {
                    "must be a valid IPv6 address"
                };
                errors.invalid(path, &shown, detail);
            }
        }
        "FQDN" => fqdn(value, path, errors),
        _ => {}
    }
}

/// `IsFullyQualifiedDomainName`.
fn fqdn(value: &str, path: &Path, errors: &mut Errors) {
    if value.is_empty() {
        errors.required(path, "");
        return;
    }
    let name = value.strip_suffix('.').unwrap_or(value);
    let msgs = meta::dns1123_subdomain(name);
    if !msgs.is_empty() {
        errors.invalid(path, &Value::String(name.to_owned()), &msgs.join(","));
        return;
    }
    if name.split('.').count() < 2 {
        errors.invalid(
            path,
            &Value::String(name.to_owned()),
            "should be a domain with at least two segments separated by dots",
        );
        return;
    }
    for label in name.split('.') {
        let msgs = meta::dns1123_label(label);
        if !msgs.is_empty() {
            errors.invalid(path, &Value::String(label.to_owned()), &msgs.join(","));
            return;
        }
    }
}

fn ports(list: &[Value], errors: &mut Errors) {
    let path = Path::root("ports");
    if list.len() > MAX_PORTS {
        errors.too_many(&path, list.len(), MAX_PORTS);
        return;
    }
    let mut names = HashSet::new();
    for (i, port) in list.iter().enumerate() {
        let p = path.index(i);
        let name = text(port, "name");
        if !name.is_empty() {
            dns_label(name, &p.child("name"), errors);
        }
        if !names.insert(name) {
            errors.duplicate(&p.child("name"), &Value::String(name.to_owned()));
        }
        protocol(port.get("protocol"), &p.child("protocol"), errors);
        if let Some(app) = port.get("appProtocol").and_then(Value::as_str) {
            qualified(app, &p.child("appProtocol"), errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Part;
    use serde_json::json;

    fn causes(obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
        let mut e = Errors::default();
        validate(obj, op, &mut e);
        e.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    fn pair(f: &str, m: &str) -> (String, String) {
        (f.to_owned(), m.to_owned())
    }

    #[test]
    fn slices_as_upstream() {
        let ok = json!({"addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.1.7"], "nodeName": "node-1",
                "conditions": {"ready": true}}],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]});
        assert!(causes(&ok, Operation::Create).is_empty());
        let bad = json!({"addressType": "IPv4",
            "endpoints": [{"addresses": []}, {"addresses": ["fd00::1", "0.0.0.0"]}],
            "ports": [{"name": "http", "protocol": "TCP"}, {"name": "http", "protocol": "HTTP"}]});
        assert_eq!(
            causes(&bad, Operation::Create),
            vec![
                pair(
                    "endpoints[0].addresses",
                    "Required value: must contain at least 1 address"
                ),
                pair(
                    "endpoints[1].addresses[0]",
                    "Invalid value: \"fd00::1\": must be a valid IPv4 address"
                ),
                pair(
                    "endpoints[1].addresses[1]",
                    "Invalid value: \"0.0.0.0\": may not be unspecified (0.0.0.0)"
                ),
                pair("ports[1].name", "Duplicate value: \"http\""),
                pair(
                    "ports[1].protocol",
                    "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""
                ),
            ]
        );
        let fqdn =
            json!({"addressType": "FQDN", "endpoints": [{"addresses": ["example.com", "single"]}]});
        assert_eq!(
            causes(&fqdn, Operation::Create),
            vec![pair(
                "endpoints[0].addresses[1]",
                "Invalid value: \"single\": should be a domain with at least two segments separated by dots"
            )]
        );
        assert_eq!(
            causes(&json!({"addressType": "IP"}), Operation::Create),
            vec![pair(
                "addressType",
                "Unsupported value: \"IP\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""
            )]
        );
    }

    #[test]
    fn address_type_is_immutable() {
        let old = json!({"addressType": "IPv4"});
        let op = Operation::Update {
            old: &old,
            part: Part::Main,
        };
        assert_eq!(
            causes(&json!({"addressType": "IPv6"}), op),
            vec![pair(
                "addressType",
                "Invalid value: \"IPv6\": field is immutable"
            )]
        );
    }
}

//! Endpoints, as upstream v1.33's `ValidateEndpoints`: every subset has addresses, each
//! address a usable IP (not unspecified, loopback or link-local), hostnames and node
//! names well-formed, and ports named when there are several.

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::service::net;
use super::{arr, dns_label, dns_subdomain, qualified, text};

pub(super) fn validate(obj: &Value, errors: &mut Errors) {
    let path = Path::root("subsets");
    for (i, subset) in arr(obj, "subsets").iter().enumerate() {
        let p = path.index(i);
        let (ready, not_ready) = (arr(subset, "addresses"), arr(subset, "notReadyAddresses"));
        if ready.is_empty() && not_ready.is_empty() {
            errors.required(&p, "must specify `addresses` or `notReadyAddresses`");
        }
        for (field, list) in [("addresses", ready), ("notReadyAddresses", not_ready)] {
            for (j, a) in list.iter().enumerate() {
                address(a, &p.child(field).index(j), errors);
            }
        }
        let ports = arr(subset, "ports");
        for (j, port) in ports.iter().enumerate() {
            endpoint_port(port, ports.len() > 1, &p.child("ports").index(j), errors);
        }
    }
}

/// `validateEndpointAddress`.
fn address(a: &Value, path: &Path, errors: &mut Errors) {
    let ip = text(a, "ip");
    net::valid_ip(ip, &path.child("ip"), errors);
    let hostname = text(a, "hostname");
    if !hostname.is_empty() {
        dns_label(hostname, &path.child("hostname"), errors);
    }
    if let Some(node) = a.get("nodeName").and_then(Value::as_str) {
        dns_subdomain(node, &path.child("nodeName"), errors);
    }
    net::non_special_ip(ip, &path.child("ip"), errors);
}

/// `validateEndpointPort`.
fn endpoint_port(port: &Value, name_required: bool, path: &Path, errors: &mut Errors) {
    let name = text(port, "name");
    if name.is_empty() {
        if name_required {
            errors.required(&path.child("name"), "");
        }
    } else {
        dns_label(name, &path.child("name"), errors);
    }
    let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
    for m in net::port_num(number) {
        errors.invalid(&path.child("port"), &Value::from(number), &m);
    }
    protocol(port.get("protocol"), &path.child("protocol"), errors);
    if let Some(app) = port.get("appProtocol").and_then(Value::as_str) {
        qualified(app, &path.child("appProtocol"), errors);
    }
}

/// A port protocol: required, and one of the supported ones.
pub(super) fn protocol(value: Option<&Value>, path: &Path, errors: &mut Errors) {
    match value.and_then(Value::as_str) {
        None | Some("") => errors.required(path, ""),
        Some(p) if !net::PROTOCOLS.contains(&p) => {
            errors.not_supported(path, &Value::String(p.to_owned()), net::PROTOCOLS);
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(obj: &Value) -> Vec<(String, String)> {
        let mut e = Errors::default();
        validate(obj, &mut e);
        e.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    fn pair(f: &str, m: &str) -> (String, String) {
        (f.to_owned(), m.to_owned())
    }

    #[test]
    fn valid_endpoints_pass() {
        let ep = json!({"subsets": [{
            "addresses": [{"ip": "10.244.0.5", "hostname": "web-0", "nodeName": "node-1"}],
            "notReadyAddresses": [{"ip": "fd00::5"}],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"},
                {"name": "dns", "port": 53, "protocol": "UDP", "appProtocol": "dns"}]
        }]});
        assert!(causes(&ep).is_empty(), "{:?}", causes(&ep));
    }

    #[test]
    fn every_problem_is_reported() {
        let ep = json!({"subsets": [
            {"ports": [{"port": 80, "protocol": "TCP"}]},
            {"addresses": [{"ip": "127.0.0.1"}, {"ip": "nope"}],
             "ports": [{"port": 0, "protocol": "HTTP"}, {"name": "Web", "port": 8080, "protocol": "TCP"}]}
        ]});
        assert_eq!(
            causes(&ep),
            vec![
                pair(
                    "subsets[0]",
                    "Required value: must specify `addresses` or `notReadyAddresses`"
                ),
                pair(
                    "subsets[1].addresses[0].ip",
                    "Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)"
                ),
                pair(
                    "subsets[1].addresses[1].ip",
                    "Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                ),
                pair(
                    "subsets[1].addresses[1].ip",
                    "Invalid value: \"nope\": must be a valid IP address"
                ),
                pair("subsets[1].ports[0].name", "Required value"),
                pair(
                    "subsets[1].ports[0].port",
                    "Invalid value: 0: must be between 1 and 65535, inclusive"
                ),
                pair(
                    "subsets[1].ports[0].protocol",
                    "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""
                ),
                pair(
                    "subsets[1].ports[1].name",
                    "Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                ),
            ]
        );
    }
}

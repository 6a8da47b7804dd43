//! `/status` of a Service: the load balancer ingress points
//! (`ValidateLoadBalancerStatus`).

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::meta;
use super::{list, net, set, text};

/// `ValidateServiceStatusUpdate`: ingress only on LoadBalancers, valid IPs and host
/// names, and an IP mode only next to an IP.
pub(super) fn validate(obj: &Value, spec: &Value, errors: &mut Errors) {
    let Some(lb) = obj.get("status").and_then(|s| s.get("loadBalancer")) else {
        return;
    };
    let path = Path::root("status").child("loadBalancer").child("ingress");
    let ingress = list(lb, "ingress");
    if !ingress.is_empty() && text(spec, "type") != "LoadBalancer" {
        errors.forbidden(&path, "may only be used when `spec.type` is 'LoadBalancer'");
        return;
    }
    for (i, point) in ingress.iter().enumerate() {
        let p = path.index(i);
        let ip = text(point, "ip");
        if !ip.is_empty() {
            net::valid_ip(ip, &p.child("ip"), errors);
        }
        // Defaulting gives every ingress IP a mode, so only a stray or unknown one is
        // refused here.
        if let Some(mode) = set(point, "ipMode") {
            if ip.is_empty() {
                errors.forbidden(
                    &p.child("ipMode"),
                    "may not be specified when `ip` is not set",
                );
            } else if !matches!(mode.as_str(), Some("VIP" | "Proxy")) {
                errors.not_supported(&p.child("ipMode"), mode, &["Proxy", "VIP"]);
            }
        }
        let host = text(point, "hostname");
        if !host.is_empty() {
            let shown = Value::String(host.to_owned());
            for m in meta::dns1123_subdomain(host) {
                errors.invalid(&p.child("hostname"), &shown, &m);
            }
            if net::parse_ip_sloppy(host).is_some() {
                errors.invalid(
                    &p.child("hostname"),
                    &shown,
                    "must be a DNS name, not an IP address",
                );
            }
        }
    }
}

//! Services as upstream v1.33 validates them (`ValidateService`, `ValidateServiceUpdate`,
//! `ValidateServiceStatusUpdate`), in upstream's order and wording.
//!
//! Allocation runs first and leaves the object as it will be stored: cluster IPs synced
//! with `clusterIP`, families and policy filled, node ports assigned, fields of a former
//! type dropped. What is checked here is that object.

mod ips;
/// Address and port checks, shared with Endpoints, EndpointSlices and Nodes.
pub(in crate::validation) mod net;
mod ports;
mod status;

use serde_json::{Map, Value};

use super::errors::{Errors, Path};
use super::meta;
use crate::admission::Operation;
use crate::api::Part;

/// The annotation older clients used instead of `spec.loadBalancerSourceRanges`.
const SOURCE_RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";
/// The topology annotation and its deprecated form, which must agree when both are set.
const TOPOLOGY_MODE: &str = "service.kubernetes.io/topology-mode";
const TOPOLOGY_HINTS: &str = "service.kubernetes.io/topology-aware-hints";
/// Upstream's detail for LoadBalancer-only fields.
const LB_ONLY: &str = "may only be used when `type` is 'LoadBalancer'";

/// The field errors of a Service for `op`: the whole spec on create; on main-resource
/// updates also what may not change; on `/status` the load balancer status.
pub(super) fn validate(obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let empty = Value::Object(Map::new());
    let spec = obj.get("spec").unwrap_or(&empty);
    match op {
        Operation::Create => service(obj, spec, errors),
        Operation::Update {
            old,
            part: Part::Main,
        } => {
            let old_spec = old.get("spec").unwrap_or(&empty);
            ips::upgrade_downgrade_cluster_ips(old_spec, spec, errors);
            ips::upgrade_downgrade_families(old_spec, spec, errors);
            load_balancer_class(Some(old_spec), spec, errors);
            if needs_health_check(old_spec)
                && needs_health_check(spec)
                && int(spec, "healthCheckNodePort") != int(old_spec, "healthCheckNodePort")
            {
                errors.forbidden(
                    &Path::root("spec").child("healthCheckNodePort"),
                    "field is immutable",
                );
            }
            service(obj, spec, errors);
        }
        Operation::Update {
            part: Part::Status, ..
        } => status::validate(obj, spec, errors),
        Operation::Update {
            part: Part::Finalize,
            ..
        } => {}
    }
}

/// A string field ("" when absent).
fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// An integer field (0 when absent).
fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// A list field (empty when absent).
fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A field that is set (present and not null).
fn set<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// Upstream's `isHeadlessService`: exactly `clusterIPs: ["None"]`.
fn is_headless(spec: &Value) -> bool {
    let ips = list(spec, "clusterIPs");
    ips.len() == 1 && ips[0].as_str() == Some("None")
}

/// `ExternallyAccessible`: NodePort, LoadBalancer, or ClusterIP with external IPs.
fn externally_accessible(spec: &Value) -> bool {
    match text(spec, "type") {
        "LoadBalancer" | "NodePort" => true,
        "ClusterIP" => !list(spec, "externalIPs").is_empty(),
        _ => false,
    }
}

/// `NeedsHealthCheck`: a LoadBalancer with the Local external traffic policy.
fn needs_health_check(spec: &Value) -> bool {
    text(spec, "type") == "LoadBalancer" && text(spec, "externalTrafficPolicy") == "Local"
}

/// `ValidateService`.
fn service(obj: &Value, spec: &Value, errors: &mut Errors) {
    let annotations = obj.get("metadata").and_then(|m| m.get("annotations"));
    let annotation = |k: &str| annotations.and_then(|a| a.get(k)).and_then(Value::as_str);
    if let (Some(mode), Some(hints)) = (annotation(TOPOLOGY_MODE), annotation(TOPOLOGY_HINTS))
        && mode != hints
    {
        errors.invalid(
            &Path::root("metadata")
                .child("annotations")
                .key(TOPOLOGY_MODE),
            &Value::String(mode.to_owned()),
            &format!("must match annotations[{TOPOLOGY_HINTS}] when both are specified"),
        );
    }

    let path = Path::root("spec");
    let kind = text(spec, "type");
    let ports = list(spec, "ports");
    if ports.is_empty() && !is_headless(spec) && kind != "ExternalName" {
        errors.required(&path.child("ports"), "");
    }
    type_specific(spec, &path, errors);
    ports::each(ports, &path.child("ports"), errors);
    if let Some(selector) = set(spec, "selector") {
        meta::labels(Some(selector), &path.child("selector"), errors);
    }
    session_affinity(spec, &path, errors);
    ips::cluster_ips_related(spec, errors);
    for (i, ip) in list(spec, "externalIPs").iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        let p = path.child("externalIPs").index(i);
        if net::valid_ip(ip, &p, errors) {
            net::non_special_ip(ip, &p, errors);
        }
    }
    match kind {
        "" => errors.required(&path.child("type"), ""),
        "ClusterIP" | "ExternalName" | "LoadBalancer" | "NodePort" => {}
        other => errors.not_supported(
            &path.child("type"),
            &Value::String(other.to_owned()),
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        ),
    }
    if kind == "ClusterIP" {
        ports::no_node_ports(ports, &path.child("ports"), errors);
    }
    ports::duplicates(ports, &path.child("ports"), errors);
    source_ranges(spec, annotation(SOURCE_RANGES_ANNOTATION), errors);
    let allocate = set(spec, "allocateLoadBalancerNodePorts");
    if allocate.is_some() && kind != "LoadBalancer" {
        errors.forbidden(&path.child("allocateLoadBalancerNodePorts"), LB_ONLY);
    }
    if kind == "LoadBalancer" && allocate.is_none() {
        // Upstream names this field without its `spec.` prefix.
        errors.required(&Path::root("allocateLoadBalancerNodePorts"), "");
    }
    load_balancer_class(None, spec, errors);
    traffic_policies(spec, &path, errors);
}

/// The rules of one type: no `None` IP for NodePort and LoadBalancer, nothing IP-related
/// and a DNS name for ExternalName.
fn type_specific(spec: &Value, path: &Path, errors: &mut Errors) {
    let kind = text(spec, "type");
    match kind {
        "LoadBalancer" | "NodePort" if is_headless(spec) => {
            errors.invalid(
                &path.child("clusterIPs").index(0),
                &Value::String("None".to_owned()),
                &format!("may not be set to 'None' for {kind} services"),
            );
        }
        "ExternalName" => {
            if !list(spec, "clusterIPs").is_empty() || !text(spec, "clusterIP").is_empty() {
                errors.forbidden(
                    &path.child("clusterIPs"),
                    "may not be set for ExternalName services",
                );
            }
            if !list(spec, "ipFamilies").is_empty() {
                errors.forbidden(
                    &path.child("ipFamilies"),
                    "may not be set for ExternalName services",
                );
            }
            if set(spec, "ipFamilyPolicy").is_some() {
                errors.forbidden(
                    &path.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                );
            }
            // A trailing dot marks the name fully qualified.
            let name = text(spec, "externalName");
            let cname = name.strip_suffix('.').unwrap_or(name);
            if cname.is_empty() {
                errors.required(&path.child("externalName"), "");
            } else {
                for m in meta::dns1123_subdomain(cname) {
                    errors.invalid(
                        &path.child("externalName"),
                        &Value::String(cname.to_owned()),
                        &m,
                    );
                }
            }
        }
        _ => {}
    }
}

/// `sessionAffinity` and its ClientIP config.
fn session_affinity(spec: &Value, path: &Path, errors: &mut Errors) {
    let affinity = text(spec, "sessionAffinity");
    match affinity {
        "" => errors.required(&path.child("sessionAffinity"), ""),
        "ClientIP" | "None" => {}
        other => errors.not_supported(
            &path.child("sessionAffinity"),
            &Value::String(other.to_owned()),
            &["ClientIP", "None"],
        ),
    }
    let cpath = path.child("sessionAffinityConfig");
    let config = set(spec, "sessionAffinityConfig");
    if affinity == "None" {
        if config.is_some() {
            errors.forbidden(&cpath, "must not be set when session affinity is None");
        }
        return;
    }
    if affinity != "ClientIP" {
        return;
    }
    let detail = "when session affinity type is ClientIP";
    let Some(config) = config else {
        return errors.required(&cpath, detail);
    };
    let Some(client) = set(config, "clientIP") else {
        return errors.required(&cpath.child("clientIP"), detail);
    };
    let tpath = cpath.child("clientIP").child("timeoutSeconds");
    let Some(timeout) = set(client, "timeoutSeconds") else {
        return errors.required(&tpath, detail);
    };
    let seconds = timeout.as_i64().unwrap_or(0);
    if seconds <= 0 || seconds > 86_400 {
        errors.invalid(
            &tpath,
            &Value::from(seconds),
            "must be greater than 0 and less than 86400",
        );
    }
}

/// `spec.loadBalancerSourceRanges` (or the older annotation): LoadBalancer only, CIDRs.
fn source_ranges(spec: &Value, annotation: Option<&str>, errors: &mut Errors) {
    let ranges = list(spec, "loadBalancerSourceRanges");
    let lb = text(spec, "type") == "LoadBalancer";
    if !ranges.is_empty() {
        // Upstream's path keeps the capital letter.
        let path = Path::root("spec").child("LoadBalancerSourceRanges");
        if !lb {
            errors.forbidden(&path, LB_ONLY);
        }
        for (i, r) in ranges.iter().enumerate() {
            net::valid_cidr(r.as_str().unwrap_or("").trim(), &path.index(i), errors);
        }
    } else if let Some(value) = annotation {
        let path = Path::root("metadata")
            .child("annotations")
            .key(SOURCE_RANGES_ANNOTATION);
        if !lb {
            errors.forbidden(&path, LB_ONLY);
        }
        let value = value.trim();
        if !value.is_empty() {
            for cidr in value.split(',') {
                net::valid_cidr(cidr.trim(), &path, errors);
            }
        }
    }
}

/// `validateLoadBalancerClassField`: fixed once a LoadBalancer has it, a qualified name,
/// and only on LoadBalancers.
fn load_balancer_class(old: Option<&Value>, spec: &Value, errors: &mut Errors) {
    let path = Path::root("spec").child("loadBalancerClass");
    let lb = |s: &Value| text(s, "type") == "LoadBalancer";
    let class = set(spec, "loadBalancerClass");
    if let Some(old) = old
        && lb(old)
        && lb(spec)
        && set(old, "loadBalancerClass") != class
    {
        errors.invalid(
            &path,
            class.unwrap_or(&Value::Null),
            "may not change once set",
        );
    }
    let Some(class) = class else {
        return;
    };
    if lb(spec) {
        let name = class.as_str().unwrap_or("");
        for m in meta::qualified_name(name) {
            errors.invalid(&path, class, &m);
        }
    } else {
        errors.forbidden(&path, LB_ONLY);
    }
}

/// External and internal traffic policies, the health check node port, and
/// `trafficDistribution`.
fn traffic_policies(spec: &Value, path: &Path, errors: &mut Errors) {
    let etp_path = path.child("externalTrafficPolicy");
    let etp = text(spec, "externalTrafficPolicy");
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errors.invalid(
                &etp_path,
                &Value::String(etp.to_owned()),
                "may only be set for externally-accessible services",
            );
        }
    } else if etp.is_empty() {
        errors.required(&etp_path, "");
    } else if !matches!(etp, "Cluster" | "Local") {
        errors.not_supported(
            &etp_path,
            &Value::String(etp.to_owned()),
            &["Cluster", "Local"],
        );
    }
    let hc_path = path.child("healthCheckNodePort");
    let hc = int(spec, "healthCheckNodePort");
    if !needs_health_check(spec) {
        if hc != 0 {
            errors.invalid(
                &hc_path,
                &Value::from(hc),
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            );
        }
    } else if hc == 0 {
        errors.required(&hc_path, "");
    } else {
        for m in net::port_num(hc) {
            errors.invalid(&hc_path, &Value::from(hc), &m);
        }
    }
    let itp_path = path.child("internalTrafficPolicy");
    match set(spec, "internalTrafficPolicy") {
        None => {
            if matches!(
                text(spec, "type"),
                "NodePort" | "LoadBalancer" | "ClusterIP"
            ) {
                errors.required(&itp_path, "");
            }
        }
        Some(itp) => {
            let itp = itp.as_str().unwrap_or("");
            if !matches!(itp, "Cluster" | "Local") {
                errors.not_supported(
                    &itp_path,
                    &Value::String(itp.to_owned()),
                    &["Cluster", "Local"],
                );
            }
        }
    }
    if let Some(td) = set(spec, "trafficDistribution") {
        let td = td.as_str().unwrap_or("");
        if td != "PreferClose" {
            errors.not_supported(
                &path.child("trafficDistribution"),
                &Value::String(td.to_owned()),
                &["PreferClose"],
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

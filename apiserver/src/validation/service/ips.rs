//! Cluster IPs, IP families and the family policy of a Service: consistent with each
//! other on every write (`ValidateServiceClusterIPsRelatedFields`), and on update fixed
//! once set, except that a secondary IP or family may be added or released
//! (`validateUpgradeDowngradeClusterIPs`, `…IPFamilies`). ExternalName Services, and
//! changes to or from that type, are exempt.

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::go_value;
use super::{is_headless, list, net, set, text};

const CHANGED: &str = "may not change once set";

/// A list of strings as Go holds it (non-strings are "").
fn strings(values: &[Value]) -> Vec<&str> {
    values.iter().map(|v| v.as_str().unwrap_or("")).collect()
}

/// `spec.clusterIPs` printed as Go's `%#v`.
fn ip_list(spec: &Value) -> String {
    go_value::string_slice(spec.get("clusterIPs"))
}

/// `spec.ipFamilies` printed as Go's `%#v`.
fn family_list(spec: &Value) -> String {
    go_value::typed_slice(spec.get("ipFamilies"), "[]core.IPFamily", |v| {
        go_value::quote(v.as_str().unwrap_or(""))
    })
}

/// `ipFamilyPolicy` as upstream prints the pointer: `null` or the quoted value.
fn policy_shown(spec: &Value) -> String {
    match set(spec, "ipFamilyPolicy") {
        Some(p) => go_value::quote(p.as_str().unwrap_or("")),
        None => "null".to_owned(),
    }
}

/// `ValidateServiceClusterIPsRelatedFields`.
pub(super) fn cluster_ips_related(spec: &Value, errors: &mut Errors) {
    if text(spec, "type") == "ExternalName" {
        return;
    }
    let path = Path::root("spec");
    let ips_path = path.child("clusterIPs");
    let cluster_ip = text(spec, "clusterIP");
    let ips = strings(list(spec, "clusterIPs"));
    if !cluster_ip.is_empty() {
        if ips.is_empty() {
            errors.required(&ips_path, "");
        } else if ips[0] != cluster_ip {
            go_value::invalid(
                errors,
                &ips_path,
                &ip_list(spec),
                "first value must match `clusterIP`",
            );
        }
    } else if !ips.is_empty() {
        go_value::invalid(
            errors,
            &ips_path,
            &ip_list(spec),
            "must be empty when `clusterIP` is not specified",
        );
    }

    let families = strings(list(spec, "ipFamilies"));
    for (i, family) in families.iter().enumerate() {
        let fpath = path.child("ipFamilies").index(i);
        let shown = Value::String((*family).to_owned());
        if !matches!(*family, "IPv4" | "IPv6") {
            errors.not_supported(&fpath, &shown, &["IPv4", "IPv6"]);
        }
        if families[..i].contains(family) {
            errors.duplicate(&fpath, &shown);
        }
    }
    if let Some(policy) = set(spec, "ipFamilyPolicy") {
        let policy = policy.as_str().unwrap_or("");
        if !matches!(
            policy,
            "SingleStack" | "PreferDualStack" | "RequireDualStack"
        ) {
            errors.not_supported(
                &path.child("ipFamilyPolicy"),
                &Value::String(policy.to_owned()),
                &["PreferDualStack", "RequireDualStack", "SingleStack"],
            );
        }
    }

    let mut invalid_ips = false;
    let mut parsed = Vec::new();
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && *ip == "None" {
            if ips.len() > 1 {
                invalid_ips = true;
                go_value::invalid(
                    errors,
                    &ips_path,
                    &ip_list(spec),
                    "'None' must be the first and only value",
                );
            }
            continue;
        }
        if net::valid_ip(ip, &ips_path.index(i), errors) {
            parsed.extend(net::parse_ip_sloppy(ip));
        } else {
            invalid_ips = true;
        }
    }
    if ips.len() > 2 {
        go_value::invalid(
            errors,
            &ips_path,
            &ip_list(spec),
            "may only hold up to 2 values",
        );
    }
    if invalid_ips {
        return;
    }
    if ips.len() > 1 && !net::is_dual_stack(&parsed) {
        go_value::invalid(
            errors,
            &ips_path,
            &ip_list(spec),
            "may specify no more than one IP for each IP family",
        );
    }
    if !is_headless(spec) {
        for (i, (ip, family)) in ips.iter().zip(&families).enumerate() {
            let v6 = net::is_ipv6_string(ip);
            let expected = match *family {
                "IPv4" if v6 => "IPv4",
                "IPv6" if !v6 => "IPv6",
                _ => continue,
            };
            errors.invalid(
                &ips_path.index(i),
                &Value::String((*ip).to_owned()),
                &format!("expected an {expected} value as indicated by `ipFamilies[{i}]`"),
            );
        }
    }
}

/// `validateUpgradeDowngradeClusterIPs`.
pub(super) fn upgrade_downgrade_cluster_ips(old: &Value, new: &Value, errors: &mut Errors) {
    if text(old, "type") == "ExternalName" || text(new, "type") == "ExternalName" {
        return;
    }
    if is_headless(old) && is_headless(new) {
        return;
    }
    let first = Path::root("spec").child("clusterIPs").index(0);
    let (before, after) = (
        strings(list(old, "clusterIPs")),
        strings(list(new, "clusterIPs")),
    );
    if before.len() == after.len() {
        for (i, ip) in before.iter().enumerate() {
            if *ip != after[i] {
                let p = Path::root("spec").child("clusterIPs").index(i);
                go_value::invalid(errors, &p, &ip_list(new), CHANGED);
            }
        }
    } else if before.len() > after.len() {
        if after.is_empty() {
            go_value::invalid(
                errors,
                &first,
                &ip_list(new),
                "primary clusterIP can not be unset",
            );
        }
        if !before.is_empty() && !after.is_empty() && after[0] != before[0] {
            go_value::invalid(errors, &first, &ip_list(new), CHANGED);
        }
        if after.len() == 1 && text(new, "ipFamilyPolicy") != "SingleStack" {
            go_value::invalid(
                errors,
                &Path::root("spec").child("ipFamilyPolicy"),
                &policy_shown(new),
                "must be set to 'SingleStack' when releasing the secondary clusterIP",
            );
        }
    } else if !before.is_empty() && after[0] != before[0] {
        go_value::invalid(errors, &first, &ip_list(new), CHANGED);
    }
}

/// `validateUpgradeDowngradeIPFamilies` (its quirks kept: the primary-family checks look
/// at, and print, the cluster IPs).
pub(super) fn upgrade_downgrade_families(old: &Value, new: &Value, errors: &mut Errors) {
    if text(old, "type") == "ExternalName" || text(new, "type") == "ExternalName" {
        return;
    }
    if is_headless(old) || is_headless(new) {
        return;
    }
    let first = Path::root("spec").child("ipFamilies").index(0);
    let (before, after) = (
        strings(list(old, "ipFamilies")),
        strings(list(new, "ipFamilies")),
    );
    if before.len() == after.len() {
        for (i, family) in before.iter().enumerate() {
            if *family != after[i] {
                go_value::invalid(errors, &first, &family_list(new), CHANGED);
            }
        }
    } else if before.len() > after.len() {
        if list(new, "clusterIPs").is_empty() {
            go_value::invalid(
                errors,
                &first,
                &family_list(new),
                "primary ipFamily can not be unset",
            );
        }
        if !after.is_empty() && after[0] != before[0] {
            go_value::invalid(errors, &first, &ip_list(new), CHANGED);
        }
        if after.len() == 1 && text(new, "ipFamilyPolicy") != "SingleStack" {
            go_value::invalid(
                errors,
                &Path::root("spec").child("ipFamilyPolicy"),
                &policy_shown(new),
                "must be set to 'SingleStack' when releasing the secondary ipFamily",
            );
        }
    } else if !before.is_empty() && !after.is_empty() && after[0] != before[0] {
        go_value::invalid(errors, &first, &ip_list(new), CHANGED);
    }
}

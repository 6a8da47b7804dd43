//! Container resources (upstream's `ValidateResourceRequirements`): resource names,
//! quantities valid and non-negative, whole numbers for extended resources, requests no
//! more than limits (equal for resources that cannot be overcommitted).

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::super::meta;
use super::quantity;

const STANDARD: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// Names without a domain, or in `kubernetes.io`.
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// `IsExtendedResourceName`: a domain-qualified name outside `kubernetes.io`.
fn is_extended(name: &str) -> bool {
    if is_native(name) || name.starts_with("requests.") {
        return false;
    }
    meta::qualified_name(&format!("requests.{name}")).is_empty()
}

/// Whether requests may differ from limits.
fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepages(name)
}

/// `validateContainerResourceName`.
fn resource_name(name: &str, path: &Path, errors: &mut Errors) {
    let shown = Value::String(name.to_owned());
    for m in meta::qualified_name(name) {
        errors.invalid(path, &shown, &m);
    }
    if !name.contains('/') {
        if !STANDARD.contains(&name) && !is_hugepages(name) {
            errors.invalid(path, &shown, "must be a standard resource for containers");
        }
    } else if !is_native(name) && !is_extended(name) {
        errors.invalid(
            path,
            &shown,
            "doesn't follow extended resource name standard",
        );
    }
}

/// `ValidateResourceQuantityValue` after parsing: non-negative, and whole for resources
/// counted in units. Returns the quantity when it could be read.
pub(super) fn quantity_value(
    name: &str,
    v: &Value,
    path: &Path,
    errors: &mut Errors,
) -> Option<super::Quantity> {
    let q = quantity(v, path, errors)?;
    if q.is_negative() {
        errors.invalid(
            path,
            &Value::String(q.to_string()),
            "must be greater than or equal to 0",
        );
    }
    if is_extended(name) && !q.is_integer() {
        errors.invalid(path, &Value::String(q.to_string()), "must be an integer");
    }
    Some(q)
}

/// `resources` of a container.
pub(super) fn requirements(resources: Option<&Value>, path: &Path, errors: &mut Errors) {
    let Some(resources) = resources.filter(|r| !r.is_null()) else {
        return;
    };
    let empty = serde_json::Map::new();
    let limits = resources
        .get("limits")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let requests = resources
        .get("requests")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let (mut cpu_or_memory, mut hugepages) = (false, false);
    for (name, v) in limits {
        let p = lim_path.key(name);
        resource_name(name, &p, errors);
        quantity_value(name, v, &p, errors);
        hugepages |= is_hugepages(name);
        cpu_or_memory |= name == "cpu" || name == "memory";
    }
    for (name, v) in requests {
        let p = req_path.key(name);
        resource_name(name, &p, errors);
        let request = quantity_value(name, v, &p, errors);
        match limits.get(name) {
            Some(limit) => {
                let limit = super::super::quantity::Quantity::from_json(limit).ok();
                if let (Some(request), Some(limit)) = (request, limit) {
                    let shown = Value::String(request.to_string());
                    if request != limit && !overcommit_allowed(name) {
                        errors.invalid(
                            &req_path,
                            &shown,
                            &format!("must be equal to {name} limit of {limit}"),
                        );
                    } else if request > limit {
                        errors.invalid(
                            &req_path,
                            &shown,
                            &format!("must be less than or equal to {name} limit of {limit}"),
                        );
                    }
                }
            }
            None if !overcommit_allowed(name) => errors.required(
                &lim_path,
                "Limit must be set for non overcommitable resources",
            ),
            None => {}
        }
        hugepages |= is_hugepages(name);
        cpu_or_memory |= name == "cpu" || name == "memory";
    }
    if hugepages && !cpu_or_memory {
        errors.forbidden(path, "HugePages require cpu or memory");
    }
}

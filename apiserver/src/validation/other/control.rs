//! Leases (`coordination.k8s.io`) and PriorityClasses (`scheduling.k8s.io`), as upstream
//! v1.33's `ValidateLease` and `ValidatePriorityClass(Update)`.

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::{qualified, text};
use crate::admission::Operation;
use crate::admission::priority::SYSTEM_CLASSES;
use crate::pointer::At;

/// `HighestUserDefinablePriority`.
const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;
const SYSTEM_PREFIX: &str = "system-";
const LEASE_STRATEGIES: [&str; 1] = ["OldestEmulationVersion"];
const PREEMPTION_POLICIES: [&str; 2] = ["PreemptLowerPriority", "Never"];

/// `ValidateLeaseSpec`.
pub(super) fn lease(obj: &Value, errors: &mut Errors) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let path = Path::root("spec");
    if let Some(d) = spec.get("leaseDurationSeconds").and_then(Value::as_i64)
        && d <= 0
    {
        errors.invalid(
            &path.child("leaseDurationSeconds"),
            &Value::from(d),
            "must be greater than 0",
        );
    }
    if let Some(t) = spec.get("leaseTransitions").and_then(Value::as_i64)
        && t < 0
    {
        errors.invalid(
            &path.child("leaseTransitions"),
            &Value::from(t),
            "must be greater than or equal to 0",
        );
    }
    let strategy = spec.get("strategy").and_then(Value::as_str);
    if let Some(s) = strategy {
        let p = path.child("strategy");
        if !s.contains('/') {
            if !LEASE_STRATEGIES.contains(&s) {
                errors.not_supported(&p, &Value::String(s.to_owned()), &LEASE_STRATEGIES);
            }
        } else {
            qualified(s, &p, errors);
        }
    }
    if !text(spec, "preferredHolder").is_empty() && strategy.is_none_or(str::is_empty) {
        errors.forbidden(
            &path.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        );
    }
}

/// `ValidatePriorityClass`, and on update `value` and `preemptionPolicy` unchanged.
pub(super) fn priority_class(obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let name = obj
        .at("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
    let global_default = obj
        .get("globalDefault")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if name.starts_with(SYSTEM_PREFIX) {
        if let Err(why) = known_system_class(name, value, global_default) {
            errors.forbidden(
                &Path::root("metadata").child("name"),
                &format!(
                    "priority class names with '{SYSTEM_PREFIX}' prefix are reserved for system use only. error: {why}"
                ),
            );
        }
    } else if value > HIGHEST_USER_PRIORITY {
        errors.forbidden(
            &Path::root("value"),
            &format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        );
    }
    let policy_path = Path::root("preemptionPolicy");
    match obj.get("preemptionPolicy").and_then(Value::as_str) {
        Some("") => errors.required(&policy_path, ""),
        Some(p) if !PREEMPTION_POLICIES.contains(&p) => {
            errors.not_supported(
                &policy_path,
                &Value::String(p.to_owned()),
                &PREEMPTION_POLICIES,
            );
        }
        _ => {}
    }
    if let Some(old) = op.old() {
        if old.get("value").and_then(Value::as_i64).unwrap_or(0) != value {
            errors.forbidden(&Path::root("value"), "may not be changed in an update.");
        }
        let policy = obj.get("preemptionPolicy");
        if policy != old.get("preemptionPolicy") {
            errors.invalid(
                &policy_path,
                policy.unwrap_or(&Value::Null),
                "field is immutable",
            );
        }
    }
}

/// `IsKnownSystemPriorityClass`.
fn known_system_class(name: &str, value: i64, global_default: bool) -> Result<(), String> {
    let Some((_, want)) = SYSTEM_CLASSES.iter().find(|(n, _)| *n == name) else {
        return Err(format!("{name} is not a known system priority class"));
    };
    if *want != value {
        return Err(format!("value of {name} PriorityClass must be {want}"));
    }
    if global_default {
        return Err(format!(
            "globalDefault of {name} PriorityClass must be false"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Part;
    use serde_json::json;

    fn pair(f: &str, m: &str) -> (String, String) {
        (f.to_owned(), m.to_owned())
    }

    fn lease_causes(obj: &Value) -> Vec<(String, String)> {
        let mut e = Errors::default();
        lease(obj, &mut e);
        e.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    fn class_causes(obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
        let mut e = Errors::default();
        priority_class(obj, op, &mut e);
        e.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    #[test]
    fn leases() {
        let ok = json!({"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, "leaseTransitions": 0}});
        assert!(lease_causes(&ok).is_empty());
        let bad = json!({"spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1,
            "strategy": "Newest", "preferredHolder": "b"}});
        assert_eq!(
            lease_causes(&bad),
            vec![
                pair(
                    "spec.leaseDurationSeconds",
                    "Invalid value: 0: must be greater than 0"
                ),
                pair(
                    "spec.leaseTransitions",
                    "Invalid value: -1: must be greater than or equal to 0"
                ),
                pair(
                    "spec.strategy",
                    "Unsupported value: \"Newest\": supported values: \"OldestEmulationVersion\""
                ),
            ]
        );
        assert_eq!(
            lease_causes(&json!({"spec": {"preferredHolder": "b"}})),
            vec![pair(
                "spec.preferredHolder",
                "Forbidden: may only be specified if `strategy` is defined"
            )]
        );
    }

    #[test]
    fn priority_classes() {
        let user = json!({"metadata": {"name": "high"}, "value": 1_000_000_000});
        assert!(class_causes(&user, Operation::Create).is_empty());
        let too_high = json!({"metadata": {"name": "higher"}, "value": 1_000_000_001,
            "preemptionPolicy": "Sometimes"});
        assert_eq!(
            class_causes(&too_high, Operation::Create),
            vec![
                pair(
                    "value",
                    "Forbidden: maximum allowed value of a user defined priority is 1000000000"
                ),
                pair(
                    "preemptionPolicy",
                    "Unsupported value: \"Sometimes\": supported values: \"PreemptLowerPriority\", \"Never\""
                ),
            ]
        );
        let fake = json!({"metadata": {"name": "system-mine"}, "value": 5});
        assert_eq!(
            class_causes(&fake, Operation::Create),
            vec![pair(
                "metadata.name",
                "Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"
            )]
        );
        let system = json!({"metadata": {"name": "system-node-critical"}, "value": 2_000_001_000});
        assert!(class_causes(&system, Operation::Create).is_empty());
        let op = Operation::Update {
            old: &user,
            part: Part::Main,
        };
        let changed =
            json!({"metadata": {"name": "high"}, "value": 7, "preemptionPolicy": "Never"});
        assert_eq!(
            class_causes(&changed, op),
            vec![
                pair("value", "Forbidden: may not be changed in an update."),
                pair(
                    "preemptionPolicy",
                    "Invalid value: \"Never\": field is immutable"
                ),
            ]
        );
    }
}

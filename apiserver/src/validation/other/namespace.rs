//! Namespaces, as upstream v1.33's `ValidateNamespace`, `ValidateNamespaceStatusUpdate`
//! and `ValidateNamespaceFinalizeUpdate`: finalizer names in `spec.finalizers`, and a
//! phase that agrees with the deletion timestamp.

use serde_json::Value;

use super::super::errors::{Errors, Path};
use super::{arr, qualified};
use crate::admission::Operation;
use crate::api::Part;
use crate::pointer::At;

/// Finalizer names that need no domain prefix (`IsStandardFinalizerName`).
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

pub(super) fn validate(obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    if let Operation::Update {
        part: Part::Status, ..
    } = op
    {
        phase(obj, errors);
        return;
    }
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let path = Path::root("spec").child("finalizers");
    for (i, f) in arr(spec, "finalizers").iter().enumerate() {
        finalizer(f.as_str().unwrap_or(""), &path.index(i), errors);
    }
}

/// `validateKubeFinalizerName`: a qualified name, and one without a domain must be one
/// of the standard names.
fn finalizer(name: &str, path: &Path, errors: &mut Errors) {
    let before = errors.0.len();
    qualified(name, path, errors);
    if errors.0.len() == before && !name.contains('/') && !STANDARD_FINALIZERS.contains(&name) {
        errors.invalid(
            path,
            &Value::String(name.to_owned()),
            "name is neither a standard finalizer name nor is it fully qualified",
        );
    }
}

/// A namespace is Active until it is being deleted, then Terminating.
fn phase(obj: &Value, errors: &mut Errors) {
    let deleting = obj
        .at("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null());
    let phase = obj
        .at("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (want, detail) = if deleting {
        (
            "Terminating",
            "may only be 'Terminating' if `deletionTimestamp` is not empty",
        )
    } else {
        (
            "Active",
            "may only be 'Active' if `deletionTimestamp` is empty",
        )
    };
    if phase != want {
        errors.invalid(
            &Path::root("status").child("Phase"),
            &Value::String(phase.to_owned()),
            detail,
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
        let mut e = Errors::default();
        validate(obj, op, &mut e);
        e.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    #[test]
    fn finalizers_are_standard_or_qualified() {
        let ns =
            json!({"spec": {"finalizers": ["kubernetes", "example.com/cleanup", "mine", "a b"]}});
        let got = causes(&ns, Operation::Create);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0],
            (
                "spec.finalizers[2]".to_owned(),
                "Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified".to_owned()
            )
        );
        assert_eq!(got[1].0, "spec.finalizers[3]");
        assert!(
            got[1]
                .1
                .starts_with("Invalid value: \"a b\": name part must consist of"),
            "{got:?}"
        );
    }

    #[test]
    fn phase_follows_the_deletion_timestamp() {
        let old = json!({});
        let status = Operation::Update {
            old: &old,
            part: Part::Status,
        };
        assert!(causes(&json!({"status": {"phase": "Active"}}), status).is_empty());
        assert_eq!(
            causes(&json!({"status": {"phase": "Terminating"}}), status),
            vec![(
                "status.Phase".to_owned(),
                "Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty".to_owned()
            )]
        );
        let deleting = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"phase": "Active"}});
        assert_eq!(
            causes(&deleting, status)[0].1,
            "Invalid value: \"Active\": may only be 'Terminating' if `deletionTimestamp` is not empty"
        );
    }
}

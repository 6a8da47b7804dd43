//! Validation of pods (being written).

use serde_json::Value;

use super::errors::{Errors, Path};
use crate::admission::Operation;

pub(super) fn validate(obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let _ = (obj, op.old(), errors);
}

/// A pod template (`spec.template` of a Deployment or ReplicaSet) at `path`: its metadata
/// (labels, annotations) and its pod spec, as upstream's `ValidatePodTemplateSpec`.
pub(super) fn template(template: &Value, path: &Path, errors: &mut Errors) {
    let _ = (template, path, errors);
}

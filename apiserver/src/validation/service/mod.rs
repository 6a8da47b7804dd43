//! Validation of service kinds (being written).

use serde_json::Value;

use super::errors::Errors;
use crate::admission::Operation;

pub(super) fn validate(obj: &Value, op: Operation<'_>, errors: &mut Errors) {
    let _ = (obj, op.old(), errors);
}

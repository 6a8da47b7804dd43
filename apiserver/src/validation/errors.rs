//! Field errors in upstream's wording (`k8s.io/apimachinery/pkg/util/validation/field`):
//! each becomes one `Cause` of a 422 Invalid Status, and kubectl prints them as
//! `spec.containers[0].image: Required value`.

use serde_json::Value;

use crate::api::Cause;

/// A field path under construction: `spec.containers[0].image`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path(String);

impl Path {
    /// A root (`metadata`, `spec`).
    pub(crate) fn root(name: &str) -> Self {
        Self(name.to_owned())
    }

    /// `self.name`.
    pub(crate) fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            return Self::root(name);
        }
        Self(format!("{}.{name}", self.0))
    }

    /// `self[i]`.
    pub(crate) fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }

    /// `self[key]`.
    pub(crate) fn key(&self, key: &str) -> Self {
        Self(format!("{}[{key}]", self.0))
    }

    /// The path as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The errors found so far.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<Cause>);

// Some constructors wait for the per-kind validators being written.
#[allow(dead_code)]
impl Errors {
    /// An error with its reason and whole message given.
    pub(crate) fn push_raw(&mut self, reason: &'static str, path: &Path, message: String) {
        self.push(reason, path, message);
    }

    fn push(&mut self, reason: &'static str, path: &Path, message: String) {
        self.0.push(Cause {
            reason,
            message,
            field: path.as_str().to_owned(),
        });
    }

    /// `Required value` (with `: detail` when given).
    pub(crate) fn required(&mut self, path: &Path, detail: &str) {
        let message = if detail.is_empty() {
            "Required value".to_owned()
        } else {
            format!("Required value: {detail}")
        };
        self.push("FieldValueRequired", path, message);
    }

    /// `Invalid value: "x": detail`.
    pub(crate) fn invalid(&mut self, path: &Path, value: &Value, detail: &str) {
        let shown = show(value);
        let message = if detail.is_empty() {
            format!("Invalid value: {shown}")
        } else {
            format!("Invalid value: {shown}: {detail}")
        };
        self.push("FieldValueInvalid", path, message);
    }

    /// `Unsupported value: "x": supported values: "a", "b"`.
    pub(crate) fn not_supported(&mut self, path: &Path, value: &Value, supported: &[&str]) {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let message = if list.is_empty() {
            format!("Unsupported value: {}", show(value))
        } else {
            format!(
                "Unsupported value: {}: supported values: {}",
                show(value),
                list.join(", ")
            )
        };
        self.push("FieldValueNotSupported", path, message);
    }

    /// `Forbidden: detail`.
    pub(crate) fn forbidden(&mut self, path: &Path, detail: &str) {
        self.push("FieldValueForbidden", path, format!("Forbidden: {detail}"));
    }

    /// `Duplicate value: "x"`.
    pub(crate) fn duplicate(&mut self, path: &Path, value: &Value) {
        self.push(
            "FieldValueDuplicate",
            path,
            format!("Duplicate value: {}", show(value)),
        );
    }

    /// `Too long: may not be more than N bytes`.
    pub(crate) fn too_long(&mut self, path: &Path, max: usize) {
        self.push(
            "FieldValueTooLong",
            path,
            format!("Too long: may not be more than {max} bytes"),
        );
    }

    /// `Too many: N: must have at most M items`.
    pub(crate) fn too_many(&mut self, path: &Path, actual: usize, max: usize) {
        self.push(
            "FieldValueTooMany",
            path,
            format!("Too many: {actual}: must have at most {max} items"),
        );
    }

    /// Appends another list.
    pub(crate) fn extend(&mut self, other: Errors) {
        self.0.extend(other.0);
    }

    /// Whether nothing was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A value as upstream prints it in messages: strings quoted, numbers and booleans bare,
/// anything else as compact JSON.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_messages_read_as_upstream() {
        let p = Path::root("spec")
            .child("containers")
            .index(0)
            .child("image");
        assert_eq!(p.as_str(), "spec.containers[0].image");
        let mut e = Errors::default();
        e.required(&p, "");
        e.invalid(&Path::root("metadata").child("name"), &json!("A_b"), "bad");
        e.not_supported(
            &Path::root("spec").child("restartPolicy"),
            &json!("Sometimes"),
            &["Always", "OnFailure", "Never"],
        );
        assert_eq!(e.0[0].message, "Required value");
        assert_eq!(e.0[1].message, "Invalid value: \"A_b\": bad");
        assert_eq!(
            e.0[2].message,
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
        );
        assert_eq!(Path::root("data").key("a.b").as_str(), "data[a.b]");
    }
}

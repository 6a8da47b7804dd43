//! Errors of the configuration loader: decoding failures and field errors rendered
//! as upstream's `field.Error` (`profiles[1].schedulerName: Duplicate value: "x"`).

use std::fmt;

/// A value shown in a field error, quoted the way upstream quotes it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A string, shown quoted.
    Str(String),
    /// An integer, shown bare.
    Int(i64),
    /// Any other value, shown as given.
    Raw(String),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Str(s) => write!(f, "{s:?}"),
            FieldValue::Int(i) => write!(f, "{i}"),
            FieldValue::Raw(r) => f.write_str(r),
        }
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Str(s.to_owned())
    }
}

impl From<String> for FieldValue {
    fn from(s: String) -> Self {
        FieldValue::Str(s)
    }
}

impl From<i64> for FieldValue {
    fn from(i: i64) -> Self {
        FieldValue::Int(i)
    }
}

impl From<i32> for FieldValue {
    fn from(i: i32) -> Self {
        FieldValue::Int(i64::from(i))
    }
}

/// The kind of a field error, as upstream's `field.ErrorType`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldErrorKind {
    /// `Invalid value: <value>: <detail>`.
    Invalid {
        /// The offending value.
        value: FieldValue,
        /// Why it is invalid.
        detail: String,
    },
    /// `Required value[: <detail>]`.
    Required {
        /// Optional explanation; empty for none.
        detail: String,
    },
    /// `Duplicate value: <value>`.
    Duplicate {
        /// The repeated value.
        value: FieldValue,
    },
    /// `Unsupported value: <value>: supported values: "a", "b"`.
    NotSupported {
        /// The offending value.
        value: FieldValue,
        /// The accepted values.
        supported: Vec<String>,
    },
    /// `Forbidden: <detail>`.
    Forbidden {
        /// Why the field may not be set.
        detail: String,
    },
}

/// One validation error at a field path.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field path, e.g. `profiles[0].pluginConfig[1].args.hardPodAffinityWeight`.
    pub path: String,
    /// What is wrong there.
    pub kind: FieldErrorKind,
}

impl FieldError {
    /// An `Invalid value` error.
    pub fn invalid(path: impl Into<String>, value: impl Into<FieldValue>, detail: &str) -> Self {
        let kind = FieldErrorKind::Invalid {
            value: value.into(),
            detail: detail.to_owned(),
        };
        FieldError {
            path: path.into(),
            kind,
        }
    }

    /// A `Required value` error.
    pub fn required(path: impl Into<String>, detail: &str) -> Self {
        let kind = FieldErrorKind::Required {
            detail: detail.to_owned(),
        };
        FieldError {
            path: path.into(),
            kind,
        }
    }

    /// A `Duplicate value` error.
    pub fn duplicate(path: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        let kind = FieldErrorKind::Duplicate {
            value: value.into(),
        };
        FieldError {
            path: path.into(),
            kind,
        }
    }

    /// An `Unsupported value` error.
    pub fn not_supported(
        path: impl Into<String>,
        value: impl Into<FieldValue>,
        supported: &[&str],
    ) -> Self {
        let supported = supported.iter().map(|s| (*s).to_owned()).collect();
        let kind = FieldErrorKind::NotSupported {
            value: value.into(),
            supported,
        };
        FieldError {
            path: path.into(),
            kind,
        }
    }

    /// A `Forbidden` error.
    pub fn forbidden(path: impl Into<String>, detail: &str) -> Self {
        let kind = FieldErrorKind::Forbidden {
            detail: detail.to_owned(),
        };
        FieldError {
            path: path.into(),
            kind,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path)?;
        match &self.kind {
            FieldErrorKind::Invalid { value, detail } => {
                write!(f, "Invalid value: {value}")?;
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            FieldErrorKind::Required { detail } if detail.is_empty() => {
                f.write_str("Required value")
            }
            FieldErrorKind::Required { detail } => write!(f, "Required value: {detail}"),
            FieldErrorKind::Duplicate { value } => write!(f, "Duplicate value: {value}"),
            FieldErrorKind::NotSupported { value, supported } => {
                let quoted: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
                write!(
                    f,
                    "Unsupported value: {value}: supported values: {}",
                    quoted.join(", ")
                )
            }
            FieldErrorKind::Forbidden { detail } => write!(f, "Forbidden: {detail}"),
        }
    }
}

/// Several field errors, shown as upstream's aggregate: one error alone, or
/// `[first, second]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                let parts: Vec<String> = many.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

/// Why a scheduler configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The YAML text is not well-formed or does not match the schema (the message
    /// carries the line and column).
    #[error("decoding scheduler configuration: {0}")]
    Yaml(#[source] serde_saphyr::Error),
    /// The JSON text is not well-formed or does not match the schema.
    #[error("decoding scheduler configuration: {0}")]
    Json(#[source] serde_json::Error),
    /// `apiVersion`/`kind` do not name a KubeSchedulerConfiguration this loader reads.
    #[error("no kind {kind:?} is registered for version {api_version:?}")]
    UnknownKind {
        /// The `apiVersion` read.
        api_version: String,
        /// The `kind` read.
        kind: String,
    },
    /// The configuration decoded but failed validation.
    #[error("invalid scheduler configuration: {0}")]
    Invalid(FieldErrors),
}

impl ConfigError {
    /// The field errors of an [`ConfigError::Invalid`], empty for other variants.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ConfigError::Invalid(errors) => &errors.0,
            _ => &[],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_upstream_field_errors() {
        let cases = [
            (
                FieldError::duplicate("profiles[1].schedulerName", "x"),
                r#"profiles[1].schedulerName: Duplicate value: "x""#,
            ),
            (
                FieldError::invalid(
                    "parallelism",
                    0,
                    "should be an integer value greater than zero",
                ),
                "parallelism: Invalid value: 0: should be an integer value greater than zero",
            ),
            (
                FieldError::required("profiles", ""),
                "profiles: Required value",
            ),
            (
                FieldError::required("a.b", "can not be empty"),
                "a.b: Required value: can not be empty",
            ),
            (
                FieldError::not_supported("t", "X", &["A", "B"]),
                r#"t: Unsupported value: "X": supported values: "A", "B""#,
            ),
            (FieldError::forbidden("p", "nope"), "p: Forbidden: nope"),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn aggregates_like_upstream() {
        let one = FieldErrors(vec![FieldError::required("a", "")]);
        assert_eq!(one.to_string(), "a: Required value");
        let two = FieldErrors(vec![
            FieldError::required("a", ""),
            FieldError::required("b", ""),
        ]);
        assert_eq!(two.to_string(), "[a: Required value, b: Required value]");
    }
}

//! Label and field selectors, parsed and matched as upstream does.

pub mod field;
pub mod fields;
pub mod label;

/// A selector that cannot be parsed or names a field this kind does not support (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// Malformed selector text.
    #[error("unable to parse requirement: {0}")]
    Parse(String),
    /// A field selector naming a field the kind does not index.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

//! Strategic merge patch (`application/strategic-merge-patch+json`), applied as upstream's
//! k8s.io/apimachinery/pkg/util/strategicpatch v1.33 applies it on the server.
//!
//! Objects merge key by key and `null` deletes a key. Lists merge only where upstream
//! declares a patch strategy ([`merge_keys`]): lists of objects by their merge key, lists
//! of scalars as sets; every other list is replaced whole. The directives are
//! `$patch: replace | delete` (on an object, or on a list element), `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`. Fields that are not in
//! the schema merge like a JSON merge patch.
//!
//! Element order follows upstream: `$setElementOrder` decides where it is given; otherwise
//! the patch's order wins for the elements it names, the others keep their place, and
//! elements new to the list come before the server-only elements that follow them.
//!
//! Like upstream, a value the patch adds where the object has none is stripped of
//! directives (an object carrying `$patch` is dropped); any directive left in the result
//! (for example inside a replaced list) is removed, as decoding into the typed object does
//! upstream.

mod list;
mod merge_keys;
mod schema;
#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::{Map, Value};

use schema::Schema;

/// `$patch`: what to do with the object it is in.
const PATCH: &str = "$patch";
/// `$retainKeys`: the keys an object keeps.
const RETAIN_KEYS: &str = "$retainKeys";
/// `$setElementOrder/<list>`: the order of a merged list.
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
/// `$deleteFromPrimitiveList/<list>`: scalars to remove from a list.
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

/// Why a strategic merge patch could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum StrategicPatchError {
    /// The patch body is not a JSON object.
    #[error("a strategic merge patch must be a JSON object, not {found}")]
    NotAnObject {
        /// The JSON type of the body.
        found: &'static str,
    },
    /// The object being patched is not a JSON object.
    #[error("the object to patch is not a JSON object")]
    OriginalNotAnObject,
    /// No schema is known for the target type, so it cannot be strategically merged.
    #[error("strategic merge patch is not supported for {definition}")]
    UnsupportedType {
        /// The OpenAPI definition name asked for.
        definition: String,
    },
    /// A `$patch` directive has a value that is not allowed where it appears.
    #[error("invalid $patch directive {value} at {at}: only {allowed} are allowed here")]
    InvalidDirective {
        /// Where in the patch.
        at: String,
        /// The value given.
        value: String,
        /// The values allowed there.
        allowed: &'static str,
    },
    /// An element of a list merged by key lacks the key.
    #[error("{at}: list element {element} does not contain the merge key {key:?}")]
    MissingMergeKey {
        /// The list.
        at: String,
        /// The merge key of the list.
        key: &'static str,
        /// The offending element.
        element: String,
    },
    /// A list of objects has a merge strategy but no merge key.
    #[error("{at}: cannot merge a list of objects that has no merge key")]
    NoMergeKey {
        /// The list.
        at: String,
    },
    /// A value has the wrong JSON type for where it appears.
    #[error("{at}: expected {expected}, found {found}")]
    WrongType {
        /// Where.
        at: String,
        /// The JSON type needed.
        expected: &'static str,
        /// The JSON type given.
        found: &'static str,
    },
    /// The elements of a merged list are not all of one JSON type.
    #[error("{at}: list elements are not all of the same type")]
    MixedList {
        /// The list.
        at: String,
    },
    /// A merged list holds lists.
    #[error("{at}: lists of lists are not supported")]
    ListOfLists {
        /// The list.
        at: String,
    },
    /// `$setElementOrder` names a list that is empty in both the object and the patch.
    #[error("{at}: $setElementOrder/{field} orders a list that has no elements")]
    EmptyOrderedList {
        /// The object holding the list.
        at: String,
        /// The list.
        field: String,
    },
    /// `$retainKeys` is not a list, or the patch sets a key it does not retain.
    #[error("{at}: invalid $retainKeys directive: {reason}")]
    InvalidRetainKeys {
        /// The object holding the directive.
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// A `$setElementOrder/…` or `$deleteFromPrimitiveList/…` key does not name a list.
    #[error("{at}: malformed directive key {key:?}: expected {prefix}/<field>")]
    MalformedDirectiveKey {
        /// The object holding the key.
        at: String,
        /// The key given.
        key: String,
        /// The directive.
        prefix: &'static str,
    },
    /// The elements the patch lists are not in the order `$setElementOrder` gives.
    #[error("{at}: the order of the patch list does not match $setElementOrder/{field}")]
    OrderMismatch {
        /// The object holding the list.
        at: String,
        /// The list.
        field: String,
    },
}

impl StrategicPatchError {
    /// The HTTP status the API answers with: 415 for a type without a schema, 422 for a
    /// list of lists (as upstream), 400 for any other malformed patch. (Upstream answers
    /// some of the latter with a 500.)
    pub fn status_code(&self) -> u16 {
        match self {
            Self::UnsupportedType { .. } => 415,
            Self::ListOfLists { .. } => 422,
            _ => 400,
        }
    }
}

type Result<T, E = StrategicPatchError> = std::result::Result<T, E>;

/// Applies `patch` to `original`; `definition` is the OpenAPI definition name of the root
/// object's type, e.g. "io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment".
///
/// A `null` patch changes nothing. The result is not validated against the schema.
pub fn apply(original: &Value, patch: &Value, definition: &str) -> Result<Value> {
    let schema = Schema::root(definition).ok_or_else(|| StrategicPatchError::UnsupportedType {
        definition: definition.to_owned(),
    })?;
    let Value::Object(original) = original else {
        return Err(StrategicPatchError::OriginalNotAnObject);
    };
    let patch = match patch {
        Value::Null => Map::new(),
        Value::Object(patch) => patch.clone(),
        other => {
            return Err(StrategicPatchError::NotAnObject {
                found: type_name(other),
            });
        }
    };
    let mut merged = Value::Object(merge_map(original.clone(), patch, schema, Path::Root)?);
    strip_directives(&mut merged);
    Ok(merged)
}

/// Merges the object `patch` into the object `original`, both of the type `schema`.
fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema,
    path: Path<'_>,
) -> Result<Map<String, Value>> {
    if let Some(directive) = patch.remove(PATCH) {
        return match directive.as_str() {
            Some("replace") => Ok(patch),
            Some("delete") => Ok(Map::new()),
            _ => Err(StrategicPatchError::InvalidDirective {
                at: path.describe(),
                value: directive.to_string(),
                allowed: "\"replace\" and \"delete\"",
            }),
        };
    }
    retain_keys(&mut original, &mut patch, path)?;
    list::apply_element_orders(&mut original, &mut patch, schema, path)?;

    for (key, value) in patch {
        let (name, delete_list) = match key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            Some(rest) => (
                directive_target(rest, &key, DELETE_FROM_PRIMITIVE_LIST, path)?,
                true,
            ),
            None => (key.as_str(), false),
        };
        if value.is_null() {
            original.remove(name);
            continue;
        }
        let Some(current) = original.get_mut(name) else {
            if !delete_list {
                insert_added(&mut original, name, value);
            }
            continue;
        };
        match (current, value) {
            (Value::Object(current), Value::Object(value)) => {
                let field = schema.field(name);
                let taken = std::mem::take(current);
                *current = if field.replaces_object() {
                    value
                } else {
                    merge_map(taken, value, field.schema, path.field(name))?
                };
            }
            (Value::Array(current), Value::Array(value)) => {
                let taken = std::mem::take(current);
                *current = list::merge_field(
                    taken,
                    value,
                    schema.field(name),
                    delete_list,
                    path.field(name),
                )?;
            }
            (current, value) if kind(current) == kind(&value) => *current = value,
            (_, value) => {
                if !delete_list {
                    insert_added(&mut original, name, value);
                }
            }
        }
    }
    Ok(original)
}

/// Applies `$retainKeys`: drops the keys of `original` the list does not name, after
/// checking that the patch sets no key outside it.
fn retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    path: Path<'_>,
) -> Result<()> {
    let Some(retained) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retained) = retained else {
        return Err(StrategicPatchError::InvalidRetainKeys {
            at: path.describe(),
            reason: format!(
                "expected a list of field names, found {}",
                type_name(&retained)
            ),
        });
    };
    let keeps = |key: &str| retained.iter().any(|kept| kept.as_str() == Some(key));
    for (key, value) in patch.iter() {
        let is_list_directive =
            key.starts_with(DELETE_FROM_PRIMITIVE_LIST) || key.starts_with(SET_ELEMENT_ORDER);
        if !value.is_null() && !is_list_directive && !keeps(key) {
            return Err(StrategicPatchError::InvalidRetainKeys {
                at: path.describe(),
                reason: format!("the patch sets {key:?}, which the list does not retain"),
            });
        }
    }
    original.retain(|key, _| keeps(key));
    Ok(())
}

/// The field a `<prefix>/<field>` directive key names; `rest` is what follows the prefix.
fn directive_target<'k>(
    rest: &'k str,
    key: &str,
    prefix: &'static str,
    path: Path<'_>,
) -> Result<&'k str> {
    rest.strip_prefix('/')
        .ok_or_else(|| StrategicPatchError::MalformedDirectiveKey {
            at: path.describe(),
            key: key.to_owned(),
            prefix,
        })
}

/// Sets `original[name]` to a value the patch adds (or whose type it changes): without
/// its `null` members and directives; dropped if it is itself a directive object.
fn insert_added(original: &mut Map<String, Value>, name: &str, mut value: Value) {
    discard_nulls(&mut value);
    match without_directives(value) {
        Some(value) => {
            original.insert(name.to_owned(), value);
        }
        None => {
            original.remove(name);
        }
    }
}

/// Removes `null` members of every object in `value`.
fn discard_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, member| !member.is_null());
            map.values_mut().for_each(discard_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// `value` with every object carrying `$patch` dropped (from its parent object or list);
/// `None` if `value` itself carries it.
fn without_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.contains_key(PATCH) => None,
        Value::Object(map) => Some(Value::Object(
            map.into_iter()
                .filter_map(|(key, member)| Some((key, without_directives(member)?)))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(
            items.into_iter().filter_map(without_directives).collect(),
        )),
        other => Some(other),
    }
}

/// Removes directive keys left anywhere in the result.
fn strip_directives(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !is_directive_key(key));
            map.values_mut().for_each(strip_directives);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

fn is_directive_key(key: &str) -> bool {
    key == PATCH
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// The JSON type of a value, with integers and other numbers apart (as upstream's
/// decoding tells them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Integer,
    Number,
    String,
    List,
    Object,
}

fn kind(value: &Value) -> Kind {
    match value {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_f64() => Kind::Number,
        Value::Number(_) => Kind::Integer,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::List,
        Value::Object(_) => Kind::Object,
    }
}

/// The JSON type of a value, for messages.
fn type_name(value: &Value) -> &'static str {
    match kind(value) {
        Kind::Null => "null",
        Kind::Bool => "a boolean",
        Kind::Integer | Kind::Number => "a number",
        Kind::String => "a string",
        Kind::List => "a list",
        Kind::Object => "an object",
    }
}

/// Where a value sits in the patch, for error messages; built on the stack as the merge
/// descends.
#[derive(Debug, Clone, Copy)]
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn field(&'a self, name: &'a str) -> Path<'a> {
        Path::Field(self, name)
    }

    fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    /// The path as text, naming the top level when there is no path.
    fn describe(&self) -> String {
        match self {
            Path::Root => "the top level".to_owned(),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

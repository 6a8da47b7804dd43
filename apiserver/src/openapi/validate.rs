//! Server-side field validation (`fieldValidation=Strict|Warn`): unknown fields found by
//! walking an object along its schema, and duplicate keys found while parsing, both
//! reported as upstream's strict decoder words them (`unknown field "spec.x"`,
//! `duplicate field "metadata.name"`).

use std::fmt::{self, Write as _};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// How deep `$ref` chains are followed before giving up (they are one step in practice).
const MAX_REF_HOPS: usize = 8;

/// Every unknown field of `obj` against the definition `definition` of `definitions`.
pub(super) fn unknown_fields(
    definitions: &Map<String, Value>,
    definition: &str,
    obj: &Value,
) -> Vec<String> {
    let Some(root) = definitions.get(definition) else {
        return Vec::new();
    };
    let mut walker = Walker {
        definitions,
        found: Vec::new(),
    };
    walker.walk(root, obj, &mut String::new());
    walker.found
}

struct Walker<'a> {
    definitions: &'a Map<String, Value>,
    found: Vec<String>,
}

impl<'a> Walker<'a> {
    /// Follows `$ref` (alone or as the single member of an `allOf`) to the schema.
    fn resolve(&self, mut node: &'a Value) -> Option<&'a Value> {
        for _ in 0..MAX_REF_HOPS {
            let reference = node.get("$ref").and_then(Value::as_str).or_else(|| {
                match node.get("allOf").and_then(Value::as_array)?.as_slice() {
                    [only] => only.get("$ref").and_then(Value::as_str),
                    _ => None,
                }
            });
            let Some(reference) = reference else {
                return Some(node);
            };
            let name = reference.rsplit('/').next().unwrap_or(reference);
            node = self.definitions.get(name)?;
        }
        None
    }

    fn walk(&mut self, schema: &'a Value, value: &Value, path: &mut String) {
        let Some(schema) = self.resolve(schema) else {
            return;
        };
        if accepts_anything(schema) {
            return;
        }
        match value {
            Value::Object(fields) => {
                let properties = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties");
                let open = matches!(additional, Some(Value::Bool(true)));
                let values = additional.filter(|a| a.is_object());
                if properties.is_none() && values.is_none() {
                    // An opaque object (RawExtension, FieldsV1, …): anything goes.
                    return;
                }
                for (key, child) in fields {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    match properties.and_then(|p| p.get(key)).or(values) {
                        Some(child_schema) => self.walk(child_schema, child, path),
                        None if open => {}
                        None => self.found.push(format!("unknown field \"{path}\"")),
                    }
                    path.truncate(len);
                }
            }
            Value::Array(items) => {
                let Some(item_schema) = schema.get("items") else {
                    return;
                };
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    let _ = write!(path, "[{i}]");
                    self.walk(item_schema, item, path);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
}

/// Schemas whose values are not checked: preserved unknown fields and int-or-string
/// values (IntOrString, Quantity).
fn accepts_anything(schema: &Value) -> bool {
    [
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
    ]
    .iter()
    .any(|marker| schema.get(*marker) == Some(&Value::Bool(true)))
}

/// Parses `body` as JSON, keeping the last of duplicate keys, and names every duplicate.
pub(super) fn parse_with_duplicates(
    body: &[u8],
) -> Result<(Value, Vec<String>), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let mut duplicates = Vec::new();
    let value = Seed {
        path: None,
        duplicates: &mut duplicates,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok((value, duplicates))
}

/// One step of the path to a value.
#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Field(&'a str),
    Index(usize),
}

/// The path to a value, as a chain to its parent: rendered only when a duplicate is found.
#[derive(Debug)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    segment: Segment<'a>,
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            write!(f, "{parent}")?;
        }
        match self.segment {
            Segment::Field(name) if self.parent.is_none() => f.write_str(name),
            Segment::Field(name) => write!(f, ".{name}"),
            Segment::Index(i) => write!(f, "[{i}]"),
        }
    }
}

struct Seed<'p, 'd> {
    path: Option<&'p Path<'p>>,
    duplicates: &'d mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    crate::value_visit::scalar_visits!();

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let path = Path {
                parent: self.path,
                segment: Segment::Index(items.len()),
            };
            let seed = Seed {
                path: Some(&path),
                duplicates: &mut *self.duplicates,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let path = Path {
                parent: self.path,
                segment: Segment::Field(&key),
            };
            let value = access.next_value_seed(Seed {
                path: Some(&path),
                duplicates: &mut *self.duplicates,
            })?;
            if fields.contains_key(&key) {
                let message = format!("duplicate field \"{path}\"");
                if !self.duplicates.contains(&message) {
                    self.duplicates.push(message);
                }
            }
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

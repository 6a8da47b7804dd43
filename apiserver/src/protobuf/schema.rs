//! The message table: field numbers, JSON names and types of every message a client may
//! send, generated into `fields.txt` by `deploy/gen-protobuf-fields.py`.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A scalar protobuf type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    String,
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Double,
    Float,
    Bytes,
}

/// What one field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Type {
    Scalar(Scalar),
    Message(&'static str),
    Repeated(Box<Type>),
    /// Keys are always strings in the Kubernetes API.
    Map(Box<Type>),
}

/// One field of a message.
#[derive(Debug)]
pub(super) struct Field {
    /// The JSON name; `*` for an embedded message whose fields are inlined.
    pub(super) json: &'static str,
    pub(super) ty: Type,
}

/// Message name (`io.k8s.api.core.v1.Pod`) → field number → field.
pub(super) type Messages = HashMap<&'static str, HashMap<u64, Field>>;

static TABLE: &str = include_str!("fields.txt");

/// The parsed table (parsed once).
pub(super) fn messages() -> &'static Messages {
    static MESSAGES: LazyLock<Messages> = LazyLock::new(|| parse(TABLE));
    &MESSAGES
}

fn parse(text: &'static str) -> Messages {
    let mut messages: Messages = HashMap::new();
    let mut current: Option<&'static str> = None;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            current = Some(line.trim());
            messages.entry(line.trim()).or_default();
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(message), Some(number), Some(json), Some(ty)) = (
            current,
            parts.next().and_then(|n| n.parse::<u64>().ok()),
            parts.next(),
            parts.next().and_then(parse_type),
        ) else {
            // The table is generated and checked by a test; a bad line cannot ship.
            continue;
        };
        messages
            .entry(message)
            .or_default()
            .insert(number, Field { json, ty });
    }
    messages
}

fn parse_type(text: &'static str) -> Option<Type> {
    if let Some(inner) = text.strip_prefix("[]") {
        return parse_type(inner).map(|t| Type::Repeated(Box::new(t)));
    }
    if let Some(args) = text.strip_prefix("map<").and_then(|t| t.strip_suffix('>')) {
        let (key, value) = args.split_once(',')?;
        if key != "string" {
            return None;
        }
        return parse_type(value).map(|t| Type::Map(Box::new(t)));
    }
    let scalar = match text {
        "string" => Scalar::String,
        "bool" => Scalar::Bool,
        "int32" => Scalar::Int32,
        "int64" => Scalar::Int64,
        "uint32" => Scalar::Uint32,
        "uint64" => Scalar::Uint64,
        "double" => Scalar::Double,
        "float" => Scalar::Float,
        "bytes" => Scalar::Bytes,
        name if name.starts_with("io.k8s.") => return Some(Type::Message(name)),
        _ => return None,
    };
    Some(Type::Scalar(scalar))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_parses_and_every_referenced_message_is_present() {
        let fields = TABLE
            .lines()
            .filter(|l| l.starts_with(' ') && !l.trim().is_empty())
            .count();
        let table = messages();
        assert_eq!(table.values().map(HashMap::len).sum::<usize>(), fields);
        for (name, message) in table {
            for field in message.values() {
                let mut ty = &field.ty;
                while let Type::Repeated(inner) | Type::Map(inner) = ty {
                    ty = inner;
                }
                if let Type::Message(target) = ty {
                    assert!(table.contains_key(target), "{name} refers to {target}");
                }
            }
        }
    }

    #[test]
    fn known_fields() {
        let pod = &messages()["io.k8s.api.core.v1.Pod"];
        assert_eq!(pod[&2].json, "spec");
        assert_eq!(
            pod[&1].ty,
            Type::Message("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        );
        let secret = &messages()["io.k8s.api.core.v1.Secret"];
        assert_eq!(secret[&2].json, "data");
        assert_eq!(
            secret[&2].ty,
            Type::Map(Box::new(Type::Scalar(Scalar::Bytes)))
        );
        let volume = &messages()["io.k8s.api.core.v1.Volume"];
        assert_eq!(volume[&2].json, "*");
    }
}

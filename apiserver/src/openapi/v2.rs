//! `/openapi/v2`: the Swagger 2.0 document of every served resource, as JSON and as
//! gnostic protobuf, each built once on first use and served with an entity tag.

use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::schemas::{self, Dialect};
use super::{INFO_VERSION, gnostic, paths, stable_hash};
use crate::registry::{RESOURCES, ResourceDef};

/// The encodings `/openapi/v2` is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2Encoding {
    /// `application/json`.
    Json,
    /// gnostic's `openapi.v2.Document` ([`gnostic::CONTENT_TYPE`]).
    Protobuf,
}

/// One encoding of the v2 document.
#[derive(Debug)]
pub struct V2Document {
    /// The encoded document.
    pub body: Bytes,
    /// Its entity tag, quoted (`"0123456789ABCDEF"`), for `ETag` / `If-None-Match`.
    pub etag: String,
}

impl V2Document {
    fn new(body: Bytes) -> Self {
        let etag = format!("\"{:016X}\"", stable_hash(&body));
        Self { body, etag }
    }
}

/// The v2 document in `encoding`. The first call for an encoding builds it, which takes a
/// noticeable fraction of a second: callers on an async runtime use `spawn_blocking`.
pub fn document(encoding: V2Encoding) -> &'static V2Document {
    static JSON: OnceLock<V2Document> = OnceLock::new();
    static PROTOBUF: OnceLock<V2Document> = OnceLock::new();
    match encoding {
        V2Encoding::Json => JSON.get_or_init(|| V2Document::new(Bytes::from(build().to_string()))),
        V2Encoding::Protobuf => PROTOBUF.get_or_init(|| V2Document::new(gnostic::encode(&build()))),
    }
}

fn build() -> Value {
    let resources: Vec<&'static ResourceDef> = RESOURCES.iter().collect();
    let mut doc = json!({
        "swagger": "2.0",
        "info": { "title": "Kubernetes", "version": INFO_VERSION },
        "paths": paths::paths(Dialect::V2, &resources),
        "definitions": schemas::definitions(Dialect::V2, &resources),
    });
    upstream_shapes(&mut doc);
    doc
}

/// Rewrites the schema shapes that the generator writes the OpenAPI 3 way into the ones
/// upstream's v2 document has, which kubectl's v2 reader understands:
/// - `{"allOf": [{"$ref": R}], …}` (a reference with a description beside it) becomes
///   `{"$ref": R, …}`; kubectl takes a schema without `$ref` or `type` for one of any
///   shape, and neither validates nor explains below it;
/// - an int-or-string without a type (IntOrString, Quantity) becomes
///   `{"type": "string", "format": "int-or-string"}`.
fn upstream_shapes(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            single_reference(fields);
            if fields.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
                && !fields.contains_key("type")
            {
                fields.insert("type".into(), "string".into());
                fields.insert("format".into(), "int-or-string".into());
            }
            fields.values_mut().for_each(upstream_shapes);
        }
        Value::Array(items) => items.iter_mut().for_each(upstream_shapes),
        _ => {}
    }
}

fn single_reference(fields: &mut Map<String, Value>) {
    let Some(Value::Array(all_of)) = fields.get("allOf") else {
        return;
    };
    let [Value::Object(only)] = all_of.as_slice() else {
        return;
    };
    if only.len() != 1 || fields.contains_key("$ref") {
        return;
    }
    if let Some(reference) = only.get("$ref").cloned() {
        fields.remove("allOf");
        fields.insert("$ref".into(), reference);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_int_or_string_take_upstream_shapes() {
        let mut schema = json!({
            "properties": {
                "spec": { "allOf": [{ "$ref": "#/definitions/S" }], "description": "d" },
                "allOf": { "type": "string" },
                "both": { "allOf": [{ "$ref": "#/definitions/A" }, { "$ref": "#/definitions/B" }] },
                "port": { "x-kubernetes-int-or-string": true },
            },
        });
        upstream_shapes(&mut schema);
        assert_eq!(
            schema["properties"]["spec"],
            json!({ "$ref": "#/definitions/S", "description": "d" })
        );
        assert_eq!(schema["properties"]["allOf"], json!({ "type": "string" }));
        assert_eq!(
            schema["properties"]["both"]["allOf"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        assert_eq!(
            schema["properties"]["port"],
            json!({ "x-kubernetes-int-or-string": true, "type": "string", "format": "int-or-string" })
        );
    }

    #[test]
    fn encodings_have_distinct_stable_tags() {
        let json = document(V2Encoding::Json);
        let protobuf = document(V2Encoding::Protobuf);
        assert_ne!(json.etag, protobuf.etag);
        assert_eq!(json.etag, V2Document::new(json.body.clone()).etag);
        assert!(json.etag.starts_with('"') && json.etag.ends_with('"'));
    }
}

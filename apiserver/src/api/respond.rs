//! Answers: objects and lists as JSON, Tables or PartialObjectMetadata, with `Warning`
//! headers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::Ctx;
use super::request::Output;
use crate::pointer::At;
use crate::registry::ResourceDef;

/// A JSON body with a status code.
pub(crate) fn json_bytes(code: StatusCode, body: impl Into<Bytes>) -> Response {
    let mut r = (code, body.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A JSON value with a status code.
pub(crate) fn json(code: StatusCode, value: &Value) -> Response {
    json_bytes(code, serde_json::to_vec(value).unwrap_or_default())
}

/// Adds `Warning: 299 - "<text>"` headers.
pub(crate) fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", serde_json::Value::String(w.clone()));
        if let Ok(v) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, v);
        }
    }
    response
}

/// The served form of a stored object (conversion applied).
pub(crate) fn served(def: &ResourceDef, stored: Value) -> Value {
    match def.conversion {
        Some(c) => (c.to_served)(stored),
        None => stored,
    }
}

/// The PartialObjectMetadata form of an object.
pub(crate) fn partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// One object in the form the client asked for.
pub(crate) fn object(ctx: &Ctx, code: StatusCode, obj: &Value, warnings: &[String]) -> Response {
    let body = match ctx.output {
        Output::Json => serde_json::to_vec(obj).unwrap_or_default(),
        Output::Metadata => serde_json::to_vec(&partial(obj)).unwrap_or_default(),
        Output::Table => {
            let rv = obj
                .at("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(Value::Null);
            let table = crate::table::render(
                ctx.target.def.table,
                std::slice::from_ref(obj),
                ctx.query.include_object,
                true,
                json!({"resourceVersion": rv}),
                jiff::Timestamp::now(),
            );
            serde_json::to_vec(&table).unwrap_or_default()
        }
    };
    with_warnings(json_bytes(code, body), warnings)
}

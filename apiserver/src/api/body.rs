//! Request bodies: size limit, media type, JSON, YAML or protobuf decoding, and `fieldValidation`
//! (unknown and duplicate fields).

use axum::body::Body;
use bytes::Bytes;
use serde_json::Value;

use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::request::{self, FieldValidation};
use crate::registry::ResourceDef;

/// Reads the whole body, refusing more than the configured limit with 413.
pub(crate) async fn read(ctx: &Ctx, body: Body) -> ApiResult<Bytes> {
    let limit = ctx.state.config().max_body_bytes;
    let declared = ctx
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let text = e.to_string();
        if text.contains("length limit") {
            ApiError::too_large(limit)
        } else {
            ApiError::bad_request(format!("unable to read the request body: {text}"))
        }
    })
}

/// A decoded object body with the `Warning`s `fieldValidation=Warn` produced.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The object as sent (unknown fields are dropped later by typed normalisation).
    pub(crate) value: Value,
    /// Warnings to send back.
    pub(crate) warnings: Vec<String>,
}

/// Parses JSON, YAML or protobuf (by Content-Type) without field checks.
pub(crate) fn parse(ctx: &Ctx, bytes: &[u8]) -> ApiResult<(Value, Vec<String>)> {
    let media = request::content_type(&ctx.headers);
    match media.as_str() {
        "application/json"
        | "*/*"
        | "application/merge-patch+json"
        | "application/json-patch+json"
        | "application/strategic-merge-patch+json" => crate::openapi::parse_with_duplicates(bytes)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}"))),
        "application/yaml"
        | "application/x-yaml"
        | "text/yaml"
        | "application/apply-patch+yaml" => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| ApiError::bad_request("the request body is not valid UTF-8 YAML"))?;
            let value: Value = serde_saphyr::from_str(text).map_err(|e| {
                ApiError::bad_request(format!("the request body is not valid YAML: {e}"))
            })?;
            Ok((value, Vec::new()))
        }
        crate::protobuf::MEDIA_TYPE => crate::protobuf::decode(bytes)
            .map(|value| (value, Vec::new()))
            .map_err(|e| ApiError::bad_request(format!("the protobuf request body: {e}"))),
        other => Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: \
             application/json, application/yaml, application/vnd.kubernetes.protobuf (got {other})"
        ))),
    }
}

/// Decodes an object body of `def`, applying `fieldValidation` against its schema.
pub(crate) fn decode_object(ctx: &Ctx, bytes: &[u8], def: &ResourceDef) -> ApiResult<Decoded> {
    let (value, duplicates) = parse(ctx, bytes)?;
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "the request body must be a JSON object of kind {}",
            def.kind
        )));
    }
    let warnings = field_problems(ctx, def, &value, duplicates)?;
    Ok(Decoded { value, warnings })
}

/// Applies `fieldValidation` to an already parsed object: Strict fails with every problem
/// named, Warn returns them as warnings, Ignore drops them.
pub(crate) fn field_problems(
    ctx: &Ctx,
    def: &ResourceDef,
    value: &Value,
    duplicates: Vec<String>,
) -> ApiResult<Vec<String>> {
    if ctx.query.field_validation == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let mut problems: Vec<String> = duplicates;
    problems.extend(crate::openapi::unknown_fields(def.definition, value));
    if problems.is_empty() {
        return Ok(problems);
    }
    match ctx.query.field_validation {
        FieldValidation::Strict => Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            problems.join(", ")
        ))),
        _ => Ok(problems),
    }
}

/// Checks `apiVersion`/`kind` of a body against the resource, filling them when absent.
pub(crate) fn check_type(def: &ResourceDef, value: &mut Value) -> ApiResult<()> {
    let expected = def.api_version();
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !api_version.is_empty() && api_version != expected {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected})"
        )));
    }
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.is_empty() && kind != def.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            def.kind
        )));
    }
    value["apiVersion"] = Value::String(expected);
    value["kind"] = Value::String(def.kind.to_owned());
    Ok(())
}

//! PATCH: JSON Patch, JSON Merge Patch and strategic merge patch, applied to the current
//! object and written with compare-and-swap, retried when another writer got in between.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::read::{current_for_write, object_key};
use super::request;
use super::write::{Part, merge_update, normalize, store_update, stored_owner, to_stored};
use super::{Ctx, body, respond};
use crate::admission::{self, Operation};
use crate::object;
use crate::storage::StorageError;

pub(crate) use super::write::Part as Mode;

/// The patch formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchType {
    /// RFC 6902.
    Json,
    /// RFC 7386.
    Merge,
    /// Kubernetes strategic merge patch.
    Strategic,
}

/// The patch type of a request, from its Content-Type.
pub(crate) fn patch_type(ctx: &Ctx) -> ApiResult<PatchType> {
    match request::content_type(&ctx.headers).as_str() {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
            Err(ApiError::unsupported_media_type(
                "server-side apply (application/apply-patch+yaml) is not supported by this \
                 server yet; use client-side apply (kubectl apply without --server-side)",
            ))
        }
        other => Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, \
             application/strategic-merge-patch+json (got {other})"
        ))),
    }
}

/// A parsed patch body.
pub(crate) struct ParsedPatch {
    kind: PatchType,
    patch: Value,
    duplicates: Vec<String>,
}

/// Reads and parses the patch body.
pub(crate) async fn read_patch(ctx: &Ctx, req: Body) -> ApiResult<ParsedPatch> {
    let kind = patch_type(ctx)?;
    let bytes = body::read(ctx, req).await?;
    let (patch, duplicates) = crate::openapi::parse_with_duplicates(&bytes)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    match (kind, &patch) {
        (PatchType::Json, Value::Array(_)) => {}
        (PatchType::Json, _) => {
            return Err(ApiError::bad_request(
                "json patch must be a JSON array of operations",
            ));
        }
        (_, Value::Object(_)) => {}
        _ => {
            return Err(ApiError::bad_request(
                "merge and strategic merge patches must be JSON objects",
            ));
        }
    }
    Ok(ParsedPatch {
        kind,
        patch,
        duplicates,
    })
}

fn unprocessable(message: String) -> ApiError {
    let mut e = ApiError::bad_request(message);
    e.code = 422;
    e.reason = "Invalid";
    e
}

/// Applies a parsed patch to `original` (served form) of OpenAPI type `definition`.
pub(crate) fn apply(p: &ParsedPatch, original: &Value, definition: &str) -> ApiResult<Value> {
    match p.kind {
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_value(p.patch.clone())
                .map_err(|e| ApiError::bad_request(format!("error decoding json patch: {e}")))?;
            let mut doc = original.clone();
            json_patch::patch(&mut doc, &ops)
                .map_err(|e| unprocessable(format!("the json patch could not be applied: {e}")))?;
            Ok(doc)
        }
        PatchType::Merge => {
            let mut doc = original.clone();
            json_patch::merge(&mut doc, &p.patch);
            Ok(doc)
        }
        PatchType::Strategic => crate::patch::strategic::apply(original, &p.patch, definition)
            .map_err(|e| {
                let mut err = ApiError::bad_request(format!(
                    "the strategic merge patch could not be applied: {e}"
                ));
                err.code = e.status_code();
                err.reason = match err.code {
                    415 => "UnsupportedMediaType",
                    422 => "Invalid",
                    _ => "BadRequest",
                };
                err
            }),
    }
}

const ATTEMPTS: usize = 5;

/// PATCH of the main resource or `/status`.
pub(crate) async fn patch(ctx: Ctx, req: Body, part: Part) -> ApiResult<Response> {
    let def = ctx.target.def;
    let owner = stored_owner(def);
    let name = ctx.target.name.clone().unwrap_or_default();
    let parsed = read_patch(&ctx, req).await?;
    let mut warnings = Vec::new();
    for attempt in 0..ATTEMPTS {
        let (old, old_rev, cached) = current_for_write(&ctx, attempt == 0).await?;
        let served_old = respond::served(def, old.clone());
        let mut patched = apply(&parsed, &served_old, def.definition)?;
        if attempt == 0 {
            warnings = body::field_problems(&ctx, def, &patched, parsed.duplicates.clone())?;
        }
        body::check_type(def, &mut patched)?;
        if object::name(&patched) != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                object::name(&patched)
            )));
        }
        let pinned = object::meta_str(&patched, "resourceVersion")
            .map(str::to_owned)
            .filter(|rv| *rv != old_rev.to_string());
        if pinned.is_some() {
            if cached {
                // The cache may be behind the pinned version: ask storage.
                continue;
            }
            return Err(ApiError::conflict_modified(def, &name));
        }
        let merged = merge_update(owner, &old, to_stored(def, patched), part);
        let mut merged = normalize(def, owner, merged)?;
        let op = Operation::Update { old: &old, part };
        admission::admit(&ctx, owner, op, &mut merged).await?;
        match store_update(&ctx, &object_key(&ctx), &old, old_rev, merged.clone()).await {
            Ok(stored) => {
                let served = respond::served(def, stored.value);
                return Ok(respond::object(&ctx, StatusCode::OK, &served, &warnings));
            }
            Err(StorageError::Conflict { .. }) if attempt + 1 < ATTEMPTS => {
                admission::abandon(&ctx, owner, op, &merged).await;
                continue;
            }
            Err(e) => {
                admission::abandon(&ctx, owner, op, &merged).await;
                return Err(ApiError::from_storage(e, def, &name));
            }
        }
    }
    Err(ApiError::conflict_modified(def, &name))
}

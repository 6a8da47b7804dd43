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
use crate::storage::{Revision, StorageError};

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
    let name = ctx.target.name.clone().unwrap_or_default();
    let parsed = read_patch(&ctx, req).await?;
    let mut warnings = None;
    for attempt in 0..ATTEMPTS {
        let (old, old_rev, cached) = current_for_write(&ctx, attempt == 0).await?;
        let last = attempt + 1 == ATTEMPTS;
        let base = Base {
            old: &old,
            rev: old_rev,
            cached,
        };
        match patch_once(&ctx, &parsed, base, part, last, &mut warnings).await {
            Ok(Some(response)) => return Ok(response),
            Ok(None) => {}
            // As upstream's GuaranteedUpdate: a patch that fails on the cache's copy may
            // have failed on stale data (a status written a moment before, say), so it is
            // tried again on what storage holds before the error is believed.
            Err(_) if cached => {}
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict_modified(ctx.target.def, &name))
}

/// The object a patch attempt starts from.
#[derive(Clone, Copy)]
struct Base<'a> {
    old: &'a Value,
    rev: Revision,
    /// Whether it is the cache's copy (which may be behind storage).
    cached: bool,
}

/// One attempt: the answer, or `None` to try again from storage (a conflict, or a pinned
/// resourceVersion the cache's copy may be behind).
async fn patch_once(
    ctx: &Ctx,
    parsed: &ParsedPatch,
    base: Base<'_>,
    part: Part,
    last: bool,
    warnings: &mut Option<Vec<String>>,
) -> ApiResult<Option<Response>> {
    let def = ctx.target.def;
    let owner = stored_owner(def);
    let name = ctx.target.name.as_deref().unwrap_or_default();
    let served_old = respond::served(def, base.old.clone());
    let mut patched = apply(parsed, &served_old, def.definition)?;
    if warnings.is_none() {
        *warnings = Some(body::field_problems(
            ctx,
            def,
            &patched,
            parsed.duplicates.clone(),
        )?);
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
        .filter(|rv| *rv != base.rev.to_string());
    if pinned.is_some() {
        if base.cached {
            // The cache may be behind the pinned version: ask storage.
            return Ok(None);
        }
        return Err(ApiError::conflict_modified(def, name));
    }
    let merged = merge_update(owner, base.old, to_stored(def, patched), part);
    let mut merged = normalize(def, owner, merged)?;
    let op = Operation::Update {
        old: base.old,
        part,
    };
    admission::admit(ctx, owner, op, &mut merged).await?;
    match store_update(ctx, &object_key(ctx), base.old, base.rev, merged.clone()).await {
        Ok(stored) => {
            let served = respond::served(def, stored.value);
            let warnings = warnings.as_deref().unwrap_or_default();
            Ok(Some(respond::object(
                ctx,
                StatusCode::OK,
                &served,
                warnings,
            )))
        }
        Err(StorageError::Conflict { .. }) if !last => {
            admission::abandon(ctx, owner, op, &merged).await;
            Ok(None)
        }
        Err(e) => {
            admission::abandon(ctx, owner, op, &merged).await;
            Err(ApiError::from_storage(e, def, name))
        }
    }
}

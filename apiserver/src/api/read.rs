//! get and list, served from the watch cache with upstream's resourceVersion semantics.

use axum::http::StatusCode;
use axum::response::Response;
use bytes::{BufMut, BytesMut};
use serde_json::{Value, json};

use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::request::Output;
use super::respond;
use crate::cache::{CachedObject, Filter, ResourceCache};
use crate::registry::ResourceDef;
use crate::selector::field::FieldSelector;
use crate::selector::label::LabelSelector;
use crate::storage::{Revision, StorageError, keys};

/// The cache of a resource (every registered resource has one).
pub(crate) fn cache_of(ctx: &Ctx) -> ApiResult<&ResourceCache> {
    ctx.state
        .caches()
        .get(ctx.target.def)
        .map(|c| c.as_ref())
        .ok_or_else(|| ApiError::internal("no cache for this resource"))
}

/// The storage key of the object a request names.
pub(crate) fn object_key(ctx: &Ctx) -> String {
    keys::object_key(
        ctx.target.def.storage_prefix,
        ctx.target.namespace.as_deref(),
        ctx.target.name.as_deref().unwrap_or(""),
    )
}

/// The current object a request names, read from storage (read-your-writes), with its
/// revision set as resourceVersion. Stored form.
pub(crate) async fn current(ctx: &Ctx) -> ApiResult<(Value, Revision)> {
    let name = ctx.target.name.as_deref().unwrap_or("");
    let kv = ctx
        .state
        .storage()
        .get(&object_key(ctx))
        .await
        .map_err(|e| ApiError::from_storage(e, ctx.target.def, name))?;
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object is not JSON: {e}")))?;
    crate::object::set_meta(
        &mut obj,
        "resourceVersion",
        Value::String(kv.mod_revision.to_string()),
    );
    Ok((obj, kv.mod_revision))
}

/// The object a retried write starts from, and whether it came from the cache: with
/// `hint`, the cache's copy when it has one (upstream's GuaranteedUpdate also starts
/// from the watch cache's copy); otherwise, or when the cache has not seen the object,
/// a read from storage. A stale copy costs only a compare-and-swap conflict, after
/// which the caller retries without the hint.
pub(crate) async fn current_for_write(ctx: &Ctx, hint: bool) -> ApiResult<(Value, Revision, bool)> {
    if hint
        && let Some(cached) = cache_of(ctx)?.get(&object_key(ctx))
        && let Ok(obj) = serde_json::from_slice::<Value>(&cached.bytes)
        && obj.is_object()
    {
        return Ok((obj, cached.rev, true));
    }
    let (obj, rev) = current(ctx).await?;
    Ok((obj, rev, false))
}

/// GET of one object: from storage when resourceVersion is unset (a consistent read),
/// from the cache otherwise.
pub(crate) async fn get(ctx: Ctx) -> ApiResult<Response> {
    let obj = match ctx.query.resource_version.as_deref() {
        None => current(&ctx).await?.0,
        Some(rv) => {
            let rv = parse_rv(rv)?;
            if rv > 0 && !ctx.state.caches().wait_for(rv).await {
                return Err(too_large(rv));
            }
            let name = ctx.target.name.as_deref().unwrap_or("");
            cache_of(&ctx)?
                .get(&object_key(&ctx))
                .ok_or_else(|| ApiError::not_found(ctx.target.def, name))?
                .value()
        }
    };
    let obj = respond::served(ctx.target.def, obj);
    Ok(respond::object(&ctx, StatusCode::OK, &obj, &[]))
}

/// Parses a resourceVersion parameter.
pub(crate) fn parse_rv(rv: &str) -> ApiResult<Revision> {
    rv.parse::<Revision>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {rv:?}")))
}

fn too_large(rv: Revision) -> ApiError {
    let mut e = ApiError::timeout(format!(
        "Too large resource version: {rv}, current: unknown"
    ));
    e.details = Some(
        json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}),
    );
    e.retry_after = Some(1);
    e
}

/// The filter a list or watch asks for.
pub(crate) fn filter(ctx: &Ctx) -> ApiResult<Filter> {
    let def = ctx.target.def;
    let labels = LabelSelector::parse(&ctx.query.label_selector)
        .map_err(|e| ApiError::bad_request(format!("unable to parse labelSelector: {e}")))?;
    let fields = FieldSelector::parse(&ctx.query.field_selector)
        .map_err(|e| ApiError::bad_request(format!("unable to parse fieldSelector: {e}")))?;
    fields
        .check_supported(def.fields)
        .map_err(|e| ApiError::bad_request(format!("{e}")))?;
    let mut key_prefix = keys::list_prefix(def.storage_prefix, ctx.target.namespace.as_deref());
    // metadata.namespace=X on an all-namespaces request narrows the range.
    if ctx.target.namespace.is_none()
        && def.namespaced
        && let Some(ns) = fields
            .exact("metadata.namespace")
            .filter(|ns| !ns.is_empty())
    {
        key_prefix = keys::list_prefix(def.storage_prefix, Some(ns));
    }
    Ok(Filter {
        key_prefix,
        labels,
        fields,
    })
}

/// How a list picks its snapshot.
enum ListAt {
    /// Consistent with storage now.
    MostRecent,
    /// Whatever the cache has.
    Any,
    /// At least this revision.
    NotOlderThan(Revision),
    /// Exactly this revision.
    Exact(Revision),
}

fn list_at(ctx: &Ctx) -> ApiResult<ListAt> {
    let q = &ctx.query;
    let rv = q.resource_version.as_deref();
    let paging = q.limit > 0;
    Ok(match (q.resource_version_match.as_deref(), rv) {
        (None, None) => ListAt::MostRecent,
        (None, Some("0")) => ListAt::Any,
        (None, Some(rv)) if paging => ListAt::Exact(parse_rv(rv)?),
        (None, Some(rv)) => ListAt::NotOlderThan(parse_rv(rv)?),
        (Some("NotOlderThan"), Some("0")) => ListAt::Any,
        (Some("NotOlderThan"), Some(rv)) => ListAt::NotOlderThan(parse_rv(rv)?),
        (Some("Exact"), Some(rv)) if rv != "0" => ListAt::Exact(parse_rv(rv)?),
        (Some(m @ ("NotOlderThan" | "Exact")), _) => {
            return Err(ApiError::bad_request(format!(
                "resourceVersionMatch: Forbidden: resourceVersionMatch \"{m}\" is forbidden for resourceVersion \"{}\"",
                rv.unwrap_or("")
            )));
        }
        (Some(other), _) => {
            return Err(ApiError::bad_request(format!(
                "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
            )));
        }
    })
}

/// LIST.
pub(crate) async fn list(ctx: Ctx) -> ApiResult<Response> {
    let filter = filter(&ctx)?;
    let cache = cache_of(&ctx)?;
    let caches = ctx.state.caches();
    let (revision, start) = match ctx.query.continue_token.as_deref() {
        Some(token) => {
            if ctx
                .query
                .resource_version
                .as_deref()
                .is_some_and(|rv| rv != "0")
            {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let (start, rv) = keys::decode_continue(&filter.key_prefix, token)
                .map_err(|e| ApiError::bad_request(format!("continue key is not valid: {e}")))?;
            (Some(rv), Some(start))
        }
        None => {
            let revision = match list_at(&ctx)? {
                ListAt::MostRecent => {
                    Some(caches.consistent_revision().await.map_err(unavailable)?)
                }
                ListAt::Any => None,
                ListAt::NotOlderThan(rv) => {
                    if !caches.wait_for(rv).await {
                        return Err(too_large(rv));
                    }
                    None
                }
                ListAt::Exact(rv) => {
                    if !caches.wait_for(rv).await {
                        return Err(too_large(rv));
                    }
                    Some(rv)
                }
            };
            (revision, None)
        }
    };
    let page = cache
        .list(
            &filter,
            caches.progress(),
            revision,
            start.as_deref(),
            ctx.query.limit,
        )
        .map_err(|too_old| {
            if ctx.query.continue_token.is_some() {
                ApiError::gone(
                    "The provided continue parameter is too old to display a consistent list \
                     result. You can start a new list without the continue parameter.",
                )
            } else {
                ApiError::gone(format!(
                    "too old resource version: {} ({})",
                    revision.unwrap_or(0),
                    too_old.oldest
                ))
            }
        })?;
    let mut meta = json!({"resourceVersion": page.revision.to_string()});
    if let Some(last) = &page.next_key {
        meta["continue"] = Value::String(keys::encode_continue(
            &filter.key_prefix,
            last,
            page.revision,
        ));
        if filter.labels.is_empty() && filter.fields.is_empty() {
            meta["remainingItemCount"] = json!(page.remaining);
        }
    }
    Ok(render_list(&ctx, ctx.target.def, &page.items, meta))
}

fn unavailable(e: StorageError) -> ApiError {
    match e {
        StorageError::Timeout(_) => {
            ApiError::timeout("the watch cache did not catch up with storage in time; try again")
        }
        other => ApiError::from(other),
    }
}

/// A list answer in the asked form. JSON lists of kinds stored as served are spliced from
/// the cached bytes without parsing.
pub(crate) fn render_list(
    ctx: &Ctx,
    def: &ResourceDef,
    items: &[std::sync::Arc<CachedObject>],
    meta: Value,
) -> Response {
    match ctx.output {
        Output::Json if def.conversion.is_none() => {
            let head =
                json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": meta});
            let head = serde_json::to_vec(&head).unwrap_or_default();
            let size: usize =
                items.iter().map(|o| o.bytes.len() + 1).sum::<usize>() + head.len() + 16;
            let mut out = BytesMut::with_capacity(size);
            // `{"kind":…,"metadata":{…}` + `,"items":[` … `]}`
            out.put_slice(&head[..head.len() - 1]);
            out.put_slice(br#","items":["#);
            for (i, o) in items.iter().enumerate() {
                if i > 0 {
                    out.put_u8(b',');
                }
                out.put_slice(&o.bytes);
            }
            out.put_slice(b"]}");
            respond::json_bytes(StatusCode::OK, out.freeze())
        }
        Output::Json => {
            let items: Vec<Value> = items
                .iter()
                .map(|o| respond::served(def, o.value()))
                .collect();
            let list = json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": meta, "items": items});
            respond::json(StatusCode::OK, &list)
        }
        Output::Metadata => {
            let items: Vec<Value> = items
                .iter()
                .map(|o| respond::partial(&o.metadata_value()))
                .collect();
            let list = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "items": items});
            respond::json(StatusCode::OK, &list)
        }
        Output::Table => {
            let items: Vec<Value> = items
                .iter()
                .map(|o| respond::served(def, o.value()))
                .collect();
            let table = crate::table::render(
                def.table,
                &items,
                ctx.query.include_object,
                true,
                meta,
                jiff::Timestamp::now(),
            );
            respond::json(StatusCode::OK, &table)
        }
    }
}

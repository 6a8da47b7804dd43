//! DELETE and deletecollection with upstream's options: preconditions, graceful deletion of
//! pods, finalizers and the garbage collector's propagation finalizers.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, success_status};
use super::read::{cache_of, current, filter, object_key};
use super::write::store_update;
use super::{Ctx, body, respond};
use crate::object;
use crate::pointer::At;
use crate::storage::{DeletePreconditions, StorageError};

/// The garbage collector's finalizers.
pub(crate) const ORPHAN: &str = "orphan";
/// Foreground deletion's finalizer.
pub(crate) const FOREGROUND: &str = "foregroundDeletion";

/// `DeleteOptions` from the body and the query.
#[derive(Debug, Default, Clone)]
pub(crate) struct DeleteOptions {
    grace: Option<i64>,
    propagation: Option<String>,
    /// The deprecated `orphanDependents` (true = Orphan, false = Background).
    orphan: Option<bool>,
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
}

/// Reads DeleteOptions (body fields win over query parameters, as upstream).
pub(crate) async fn options(ctx: &Ctx, req: Body) -> ApiResult<DeleteOptions> {
    let bytes = body::read(ctx, req).await?;
    let mut o = DeleteOptions {
        grace: ctx.query.grace_period_seconds,
        propagation: ctx.query.propagation_policy.clone(),
        orphan: ctx.query.orphan_dependents,
        ..Default::default()
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        resolve_propagation(&mut o)?;
    } else {
        let (v, _) = body::parse(ctx, &bytes)?;
        from_value(&mut o, &v)?;
    }
    Ok(o)
}

/// Upstream's rules for the deprecated `orphanDependents`: not together with
/// `propagationPolicy`; `true` orphans, `false` collects in the background.
fn resolve_propagation(o: &mut DeleteOptions) -> ApiResult<()> {
    let Some(orphan) = o.orphan.take() else {
        return Ok(());
    };
    if let Some(p) = &o.propagation {
        let mut e = ApiError::bad_request(format!(
            "propagationPolicy: Invalid value: \"{p}\": orphanDependents and deletionPropagation cannot be both set"
        ));
        e.code = 422;
        e.reason = "Invalid";
        return Err(e);
    }
    o.propagation = Some(if orphan { "Orphan" } else { "Background" }.into());
    Ok(())
}

fn from_value(o: &mut DeleteOptions, v: &Value) -> ApiResult<()> {
    if let Some(g) = v.get("gracePeriodSeconds").filter(|g| !g.is_null()) {
        o.grace = Some(
            g.as_i64()
                .ok_or_else(|| ApiError::bad_request("gracePeriodSeconds must be an integer"))?,
        );
    }
    if let Some(p) = v.get("propagationPolicy").and_then(Value::as_str) {
        o.propagation = Some(p.to_owned());
    }
    if let Some(orphan) = v.get("orphanDependents").and_then(Value::as_bool) {
        o.orphan = Some(orphan);
    }
    resolve_propagation(o)?;
    if let Some(pre) = v.get("preconditions") {
        o.uid = pre.get("uid").and_then(Value::as_str).map(str::to_owned);
        o.resource_version = pre
            .get("resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    if let Some(values) = v.get("dryRun").and_then(Value::as_array) {
        if values.iter().any(|x| x != "All") {
            return Err(ApiError::bad_request(
                "Invalid dry run value: supported values: \"All\"",
            ));
        }
        o.dry_run = !values.is_empty();
    }
    if let Some(p) = &o.propagation
        && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
    {
        let mut e = ApiError::bad_request(format!(
            "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
        ));
        e.code = 422;
        e.reason = "Invalid";
        return Err(e);
    }
    Ok(())
}

/// Deletes the object a request names with options given as a DeleteOptions value (an
/// Eviction's `deleteOptions`).
pub(crate) async fn delete_with(ctx: &Ctx, options: &Value) -> ApiResult<Response> {
    let mut opts = DeleteOptions::default();
    from_value(&mut opts, options)?;
    delete_one(ctx, &object_key(ctx), &opts).await
}

/// DELETE of one object.
pub(crate) async fn delete(mut ctx: Ctx, req: Body) -> ApiResult<Response> {
    let opts = options(&ctx, req).await?;
    ctx.query.dry_run |= opts.dry_run;
    let outcome = delete_one(&ctx, &object_key(&ctx), &opts).await?;
    Ok(outcome)
}

/// Deletes the object at `key`; answers with the object when it stays (finalizers or a
/// grace period), or a Success Status when it is gone. As upstream's store, a delete that
/// loses its compare-and-swap to a concurrent write reads the object again and retries
/// (the caller's preconditions are checked against each fresh read), so a delete without
/// preconditions never fails with a Conflict.
async fn delete_one(ctx: &Ctx, key: &str, opts: &DeleteOptions) -> ApiResult<Response> {
    loop {
        if let Some(response) = try_delete(ctx, key, opts).await? {
            return Ok(response);
        }
    }
}

/// One attempt of [`delete_one`]; `None` when a concurrent write got in between.
async fn try_delete(ctx: &Ctx, key: &str, opts: &DeleteOptions) -> ApiResult<Option<Response>> {
    let def = ctx.target.def;
    let name = key.rsplit('/').next().unwrap_or("").to_owned();
    crate::admission::admit_delete(def, &name)?;
    let (old, old_rev) = current_at(ctx, key, &name).await?;
    if let Some(uid) = &opts.uid {
        let actual = object::meta_str(&old, "uid").unwrap_or("");
        if actual != uid {
            return Err(ApiError::conflict(
                def,
                &name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                ),
            ));
        }
    }
    if let Some(rv) = &opts.resource_version
        && *rv != old_rev.to_string()
    {
        return Err(ApiError::conflict(
            def,
            &name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {old_rev}"
            ),
        ));
    }
    let grace = grace_period(def.kind, &old, opts.grace);
    let mut new = old.clone();
    let mut finalizers = object::finalizers(&old);
    match opts.propagation.as_deref() {
        Some("Orphan") => {
            finalizers.retain(|f| f != FOREGROUND);
            if !finalizers.iter().any(|f| f == ORPHAN) {
                finalizers.push(ORPHAN.into());
            }
        }
        Some("Foreground") => {
            finalizers.retain(|f| f != ORPHAN);
            if !finalizers.iter().any(|f| f == FOREGROUND) {
                finalizers.push(FOREGROUND.into());
            }
        }
        Some("Background") => finalizers.retain(|f| f != ORPHAN && f != FOREGROUND),
        _ => {}
    }
    let deleting = object::is_deleting(&old);
    // Namespaces, as upstream: the first delete marks them Terminating; while the namespace
    // controller's `spec.finalizers` remain, a second delete is a Conflict.
    let namespace_held = def.kind == "Namespace" && object::namespace_finalizers(&old) > 0;
    if namespace_held && deleting {
        return Err(ApiError::conflict(
            def,
            &name,
            "The system is ensuring all content is removed from this namespace.  Upon \
             completion, this namespace will automatically be purged by the system.",
        ));
    }
    if def.kind == "Namespace" {
        new["status"]["phase"] = json!("Terminating");
    }
    if finalizers.is_empty() && grace == 0 && !namespace_held {
        if ctx.query.dry_run {
            return Ok(Some(gone_response(ctx, &old, &name)));
        }
        let pre = DeletePreconditions {
            revision: Some(old_rev),
        };
        let kv = match ctx.state.storage().delete(key, pre).await {
            Ok(kv) => kv,
            Err(StorageError::Conflict { .. }) => return Ok(None),
            Err(e) => return Err(ApiError::from_storage(e, def, &name)),
        };
        ctx.state.caches().wrote(key, kv.mod_revision);
        let mut last: Value = serde_json::from_slice(&kv.value).unwrap_or(old);
        crate::admission::deleted(ctx, def, &last).await;
        object::set_meta(
            &mut last,
            "resourceVersion",
            Value::String(kv.mod_revision.to_string()),
        );
        return Ok(Some(gone_response(ctx, &last, &name)));
    }
    // The object stays: mark it, then the GC, its finalizers' owners or its kubelet finish.
    object::set_meta(
        &mut new,
        "finalizers",
        if finalizers.is_empty() {
            Value::Null
        } else {
            json!(finalizers)
        },
    );
    let shorter = old
        .at("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_none_or(|g| grace < g);
    if !deleting || shorter {
        let when = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(grace))
            .unwrap_or_else(|_| jiff::Timestamp::now());
        object::set_meta(
            &mut new,
            "deletionTimestamp",
            Value::String(object::format_time(when)),
        );
        object::set_meta(&mut new, "deletionGracePeriodSeconds", json!(grace));
    }
    let stored = match store_update(ctx, key, &old, old_rev, new).await {
        Ok(stored) => stored,
        Err(StorageError::Conflict { .. }) => return Ok(None),
        Err(e) => return Err(ApiError::from_storage(e, def, &name)),
    };
    let served = respond::served(def, stored.value);
    let code = if deleting {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok(Some(respond::object(ctx, code, &served, &[])))
}

async fn current_at(ctx: &Ctx, key: &str, name: &str) -> ApiResult<(Value, i64)> {
    if key == object_key(ctx) {
        return current(ctx).await;
    }
    let kv = ctx
        .state
        .storage()
        .get(key)
        .await
        .map_err(|e| ApiError::from_storage(e, ctx.target.def, name))?;
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object is not JSON: {e}")))?;
    object::set_meta(
        &mut obj,
        "resourceVersion",
        Value::String(kv.mod_revision.to_string()),
    );
    Ok((obj, kv.mod_revision))
}

/// Upstream answers a finished delete of most kinds with a Success Status; kubectl and
/// kube-rs accept either that or the object.
fn gone_response(ctx: &Ctx, last: &Value, name: &str) -> Response {
    let def = ctx.target.def;
    if def.kind == "Pod" || def.kind == "Namespace" {
        let served = respond::served(def, last.clone());
        return respond::object(ctx, StatusCode::OK, &served, &[]);
    }
    let status = success_status(def, name, object::meta_str(last, "uid"), 200);
    respond::json(StatusCode::OK, &status)
}

/// The grace period a delete gets: only pods that a kubelet may be running are deleted
/// gracefully (spec.terminationGracePeriodSeconds unless the request says otherwise).
pub(crate) fn grace_period(kind: &str, obj: &Value, requested: Option<i64>) -> i64 {
    if kind != "Pod" {
        return 0;
    }
    let scheduled = obj
        .at("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let terminal = matches!(
        obj.at("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if !scheduled || terminal {
        return 0;
    }
    let default = obj
        .at("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(30);
    requested.unwrap_or(default).max(0)
}

/// DELETE of a collection: every selected object, each as a single delete would.
pub(crate) async fn delete_collection(mut ctx: Ctx, req: Body) -> ApiResult<Response> {
    let opts = options(&ctx, req).await?;
    ctx.query.dry_run |= opts.dry_run;
    let filter = filter(&ctx)?;
    let cache = cache_of(&ctx)?;
    let revision = ctx
        .state
        .caches()
        .consistent_revision()
        .await
        .map_err(ApiError::from)?;
    let page = cache
        .list(
            &filter,
            ctx.state.caches().progress(),
            Some(revision),
            None,
            0,
        )
        .map_err(|_| ApiError::gone("the cache moved on; retry"))?;
    let mut items = Vec::new();
    for obj in &page.items {
        let key = obj.key.clone();
        match delete_one(&ctx, &key, &opts).await {
            Ok(_) => items.push(respond::served(ctx.target.def, obj.value())),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let def = ctx.target.def;
    let list = json!({
        "kind": def.list_kind(),
        "apiVersion": def.api_version(),
        "metadata": {"resourceVersion": revision.to_string()},
        "items": items,
    });
    Ok(respond::json(StatusCode::OK, &list))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(v: Value) -> ApiResult<Option<String>> {
        let mut o = DeleteOptions::default();
        from_value(&mut o, &v)?;
        Ok(o.propagation)
    }

    #[test]
    fn orphan_dependents_maps_to_a_propagation_policy() {
        let cases = [
            (json!({}), Some(None)),
            (json!({"orphanDependents": true}), Some(Some("Orphan"))),
            (json!({"orphanDependents": false}), Some(Some("Background"))),
            (
                json!({"propagationPolicy": "Foreground"}),
                Some(Some("Foreground")),
            ),
            (
                json!({"propagationPolicy": "Foreground", "orphanDependents": false}),
                None,
            ),
        ];
        for (body, want) in cases {
            let got = parse(body.clone());
            match want {
                Some(p) => assert_eq!(got.unwrap().as_deref(), p, "{body}"),
                None => {
                    let e = got.unwrap_err();
                    assert_eq!(e.code, 422, "{body}");
                    assert!(e.message.contains("cannot be both set"), "{}", e.message);
                }
            }
        }
    }
}

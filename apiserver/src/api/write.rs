//! create and update, and the update path patches and subresources share.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, Cause};
use super::read::{current, object_key};
use super::request::Output;
use super::{Ctx, body, respond};
use crate::admission::{self, Operation};
use crate::object;
use crate::pointer::At;
use crate::registry::ResourceDef;
use crate::storage::{Revision, StorageError, keys};

/// POST: create an object.
pub(crate) async fn create(ctx: Ctx, req: Body) -> ApiResult<Response> {
    let bytes = body::read(&ctx, req).await?;
    let decoded = body::decode_object(&ctx, &bytes, ctx.target.def)?;
    let created = create_value(&ctx, decoded.value).await?;
    Ok(respond_created(&ctx, created, &decoded.warnings))
}

/// The answer to a create: the bytes just stored with their resourceVersion spliced in,
/// when they are what the client asked for (the same bytes a GET serves), else the object
/// rendered in the requested form.
fn respond_created(ctx: &Ctx, created: Created, warnings: &[String]) -> Response {
    let plain = ctx.target.def.conversion.is_none() && ctx.output == Output::Json;
    if plain
        && let Some((stored, rev)) = &created.stored
        && let Some(bytes) = crate::cache::with_resource_version(stored, *rev)
    {
        return respond::with_warnings(respond::json_bytes(StatusCode::CREATED, bytes), warnings);
    }
    let served = respond::served(ctx.target.def, created.value);
    respond::object(ctx, StatusCode::CREATED, &served, warnings)
}

/// What a create stored.
pub(crate) struct Created {
    /// The object in stored form, resourceVersion set (answered with `201 Created`, dry
    /// runs too, as upstream).
    pub(crate) value: Value,
    /// The stored bytes and their revision (none for a dry run).
    pub(crate) stored: Option<(bytes::Bytes, Revision)>,
}

/// Creates `value` (served form, fields already validated); returns what was stored.
pub(crate) async fn create_value(ctx: &Ctx, mut value: Value) -> ApiResult<Created> {
    let def = ctx.target.def;
    body::check_type(def, &mut value)?;
    let owner = stored_owner(def);
    let mut value = to_stored(def, value);
    let namespace = ctx.target.namespace.clone();
    if let Some(ns) = &namespace {
        let given = object::namespace(&value);
        if !given.is_empty() && given != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        object::set_meta(&mut value, "namespace", Value::String(ns.clone()));
    } else {
        object::set_meta(&mut value, "namespace", Value::Null);
    }
    let generate = object::meta_str(&value, "generateName").map(str::to_owned);
    let given_name = object::name(&value).to_owned();
    if given_name.is_empty() && generate.as_deref().unwrap_or("").is_empty() {
        return Err(ApiError::invalid(
            def,
            "",
            vec![Cause {
                reason: "FieldValueRequired",
                message: "Required value: name or generateName is required".into(),
                field: "metadata.name".into(),
            }],
        ));
    }
    prepare_create(owner, &mut value);
    let mut value = normalize(def, owner, value)?;
    admission::admit(ctx, owner, Operation::Create, &mut value).await?;
    let created = create_admitted(
        ctx,
        value,
        namespace.as_deref(),
        &given_name,
        generate.as_deref(),
    )
    .await;
    match created {
        Ok(created) => {
            if ctx.query.dry_run {
                admission::abandon(ctx, owner, Operation::Create, &created.value).await;
            }
            Ok(created)
        }
        Err((error, value)) => {
            admission::abandon(ctx, owner, Operation::Create, &value).await;
            Err(error)
        }
    }
}

/// Stores an admitted new object, generating its name (with retries) if asked to. On
/// failure the object comes back with the error (what admission allocated for it is then
/// released).
async fn create_admitted(
    ctx: &Ctx,
    mut value: Value,
    namespace: Option<&str>,
    given_name: &str,
    generate: Option<&str>,
) -> Result<Created, (ApiError, Value)> {
    let def = ctx.target.def;
    for attempt in 0..5 {
        let name = if given_name.is_empty() {
            let name = format!("{}{}", generate.unwrap_or(""), random_suffix());
            object::set_meta(&mut value, "name", Value::String(name.clone()));
            name
        } else {
            given_name.to_owned()
        };
        crate::defaults::strategy::canonicalize(def, &mut value);
        if let Err(error) = check_name(def, &name) {
            return Err((error, value));
        }
        if ctx.query.dry_run {
            return Ok(Created {
                value,
                stored: None,
            });
        }
        let key = keys::object_key(def.storage_prefix, namespace, &name);
        let stored = bytes::Bytes::from(object::to_stored_bytes(&value));
        match ctx.state.storage().create(&key, stored.clone()).await {
            Ok(rev) => {
                ctx.state.caches().wrote(&key, rev);
                object::set_meta(
                    &mut value,
                    "resourceVersion",
                    Value::String(rev.to_string()),
                );
                return Ok(Created {
                    value,
                    stored: Some((stored, rev)),
                });
            }
            Err(StorageError::AlreadyExists { .. }) if given_name.is_empty() && attempt < 4 => {}
            Err(e) => return Err((ApiError::from_storage(e, def, &name), value)),
        }
    }
    Err((ApiError::already_exists(def, given_name), value))
}

/// The registry entry that owns the stored form of `def`.
pub(crate) fn stored_owner(def: &'static ResourceDef) -> &'static ResourceDef {
    if def.conversion.is_none() {
        return def;
    }
    crate::registry::storage_owners()
        .find(|o| o.storage_prefix == def.storage_prefix)
        .unwrap_or(def)
}

/// Converts a served-form object to the stored form.
pub(crate) fn to_stored(def: &ResourceDef, value: Value) -> Value {
    match def.conversion {
        Some(c) => (c.to_stored)(value),
        None => value,
    }
}

/// Typed round trip of a stored-form object of `owner` (types checked, unknown fields
/// dropped), with upstream's "cannot be handled" message on failure.
pub(crate) fn normalize(def: &ResourceDef, owner: &ResourceDef, value: Value) -> ApiResult<Value> {
    let value_for_errors = super::decode_error::Base64Fields::of(owner.kind, &value);
    (owner.normalize)(value).map_err(|e| {
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {}",
            def.kind,
            def.version,
            def.kind,
            super::decode_error::go_message(&value_for_errors, &e.to_string())
        ))
    })
}

const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn random_suffix() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[..5]
        .iter()
        .map(|b| SUFFIX_ALPHABET[usize::from(*b) % SUFFIX_ALPHABET.len()] as char)
        .collect()
}

/// Names must be usable as a path segment (the full per-kind rules come with validation).
fn check_name(def: &ResourceDef, name: &str) -> ApiResult<()> {
    let bad = if name == "." || name == ".." {
        Some(format!("may not be '{name}'"))
    } else if name.contains('/') || name.contains('%') {
        Some("may not contain '/' or '%'".to_owned())
    } else if name.len() > 253 {
        Some("must be no more than 253 characters".to_owned())
    } else {
        None
    };
    match bad {
        Some(message) => Err(ApiError::invalid(
            def,
            name,
            vec![Cause {
                reason: "FieldValueInvalid",
                message: format!("Invalid value: \"{name}\": {message}"),
                field: "metadata.name".into(),
            }],
        )),
        None => Ok(()),
    }
}

/// Server-set metadata and status of a new object.
fn prepare_create(def: &ResourceDef, value: &mut Value) {
    let meta = object::metadata_mut(value);
    for f in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(f);
    }
    meta.insert(
        "uid".into(),
        Value::String(uuid::Uuid::new_v4().to_string()),
    );
    meta.insert(
        "creationTimestamp".into(),
        Value::String(object::now_rfc3339()),
    );
    if def.has_generation {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    crate::defaults::strategy::prepare_create(def, value);
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The main resource: everything but status (for kinds with a status subresource).
    Main,
    /// `/status`: only status.
    Status,
    /// `namespaces/<name>/finalize`: only `spec.finalizers`.
    Finalize,
}

/// The object to store when `new` replaces `old` (both stored form): server-owned metadata
/// is kept, the part outside `part` is taken from `old`, and generation bumps on spec
/// changes.
pub(crate) fn merge_update(def: &ResourceDef, old: &Value, mut new: Value, part: Part) -> Value {
    if part == Part::Finalize {
        let mut out = old.clone();
        let finalizers = new.at("/spec/finalizers").cloned().unwrap_or(Value::Null);
        if !out.get("spec").is_some_and(Value::is_object) {
            out["spec"] = json!({});
        }
        out["spec"]["finalizers"] = finalizers;
        return out;
    }
    if part == Part::Status {
        let mut out = old.clone();
        match new.get_mut("status").map(Value::take) {
            Some(status) => out["status"] = status,
            None => {
                if let Some(m) = out.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        // Upstream's Deployment status strategy resets only spec and labels: the
        // deployment controller records `deployment.kubernetes.io/revision` through status
        // updates.
        if def.kind == "Deployment" {
            let annotations = new
                .at("/metadata/annotations")
                .cloned()
                .unwrap_or(Value::Null);
            object::set_meta(&mut out, "annotations", annotations);
        }
        return out;
    }
    for f in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
        "name",
        "generation",
    ] {
        let value = old
            .get("metadata")
            .and_then(|m| m.get(f))
            .cloned()
            .unwrap_or(Value::Null);
        object::set_meta(&mut new, f, value);
    }
    if def.status_subresource {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    crate::defaults::strategy::prepare_update(def, old, &mut new);
    // Upstream defaults while decoding, so a spec that differs only by omitted defaults
    // is the same spec and keeps its generation.
    crate::defaults::apply(def.kind, &mut new);
    if def.has_generation && object::spec_part(old) != object::spec_part(&new) {
        let generation = old
            .at("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        object::set_meta(&mut new, "generation", json!(generation + 1));
    }
    new
}

/// Outcome of [`store_update`].
pub(crate) struct Stored {
    /// The object now stored (stored form, resourceVersion set), or the last state of an
    /// object the update finalized away.
    pub(crate) value: Value,
}

/// Writes `new` over the object at `expected` revision. An update that leaves a deleting
/// object without finalizers deletes it. A no-op update writes nothing.
pub(crate) async fn store_update(
    ctx: &Ctx,
    key: &str,
    old: &Value,
    expected: Revision,
    mut new: Value,
) -> Result<Stored, StorageError> {
    object::set_meta(
        &mut new,
        "resourceVersion",
        Value::String(expected.to_string()),
    );
    if &new == old {
        return Ok(Stored { value: new });
    }
    store_change(ctx, key, expected, new).await
}

/// [`store_update`] of an object the caller knows differs from the stored one at
/// `expected` (its resourceVersion already set to `expected`): no comparison, and no copy
/// of the old object is needed.
pub(crate) async fn store_change(
    ctx: &Ctx,
    key: &str,
    expected: Revision,
    mut new: Value,
) -> Result<Stored, StorageError> {
    if ctx.query.dry_run {
        return Ok(Stored { value: new });
    }
    let rev = ctx
        .state
        .storage()
        .update(key, expected, object::to_stored_bytes(&new).into())
        .await?;
    ctx.state.caches().wrote(key, rev);
    object::set_meta(&mut new, "resourceVersion", Value::String(rev.to_string()));
    let def = ctx.target.def;
    let pod_waits_for_kubelet = def.kind == "Pod"
        && new
            .at("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .is_some_and(|g| g > 0);
    if object::is_deleting(&new)
        && !object::held_by_finalizers(def.kind, &new)
        && !pod_waits_for_kubelet
    {
        let preconditions = crate::storage::DeletePreconditions {
            revision: Some(rev),
        };
        match ctx.state.storage().delete(key, preconditions).await {
            Ok(kv) => {
                ctx.state.caches().wrote(key, kv.mod_revision);
                admission::deleted(ctx, crate::api::write::stored_owner(def), &new).await;
                object::set_meta(
                    &mut new,
                    "resourceVersion",
                    Value::String(kv.mod_revision.to_string()),
                );
            }
            Err(StorageError::NotFound { .. } | StorageError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Stored { value: new })
}

/// Kinds upstream lets PUT create (`AllowCreateOnUpdate`).
fn create_on_update(def: &ResourceDef) -> bool {
    matches!(def.kind, "Endpoints" | "Event" | "Lease" | "EndpointSlice")
}

/// PUT: replace an object (or a subresource part of it).
pub(crate) async fn update(ctx: Ctx, req: Body) -> ApiResult<Response> {
    update_part(ctx, req, Part::Main).await
}

/// PUT of the main resource or `/status`.
pub(crate) async fn update_part(ctx: Ctx, req: Body, part: Part) -> ApiResult<Response> {
    let def = ctx.target.def;
    let name = ctx.target.name.clone().unwrap_or_default();
    let bytes = body::read(&ctx, req).await?;
    let decoded = body::decode_object(&ctx, &bytes, def)?;
    let mut value = decoded.value;
    body::check_type(def, &mut value)?;
    let body_name = object::name(&value);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let Some(ns) = &ctx.target.namespace {
        let given = object::namespace(&value);
        if !given.is_empty() && given != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let precondition = object::resource_version(&value);
    if object::meta_str(&value, "resourceVersion").is_some_and(|s| !s.is_empty())
        && precondition.is_none()
    {
        return Err(ApiError::bad_request(
            "metadata.resourceVersion: Invalid value: must be an integer",
        ));
    }
    let (old, old_rev) = match current(&ctx).await {
        Ok(found) => found,
        Err(e) if e.code == 404 && create_on_update(def) && part == Part::Main => {
            object::set_meta(&mut value, "name", Value::String(name.clone()));
            let created = create_value(&ctx, value).await?;
            return Ok(respond_created(&ctx, created, &decoded.warnings));
        }
        Err(e) => return Err(e),
    };
    if precondition.is_some_and(|rv| rv != old_rev) {
        return Err(ApiError::conflict_modified(def, &name));
    }
    let owner = stored_owner(def);
    let stored_new = to_stored(def, value);
    let merged = merge_update(owner, &old, stored_new, part);
    let mut merged = normalize(def, owner, merged)?;
    let op = Operation::Update { old: &old, part };
    admission::admit(&ctx, owner, op, &mut merged).await?;
    let stored = store_update(&ctx, &object_key(&ctx), &old, old_rev, merged.clone()).await;
    if stored.is_err() {
        admission::abandon(&ctx, owner, op, &merged).await;
    }
    let stored = stored.map_err(|e| ApiError::from_storage(e, def, &name))?;
    let served = respond::served(def, stored.value);
    Ok(respond::object(
        &ctx,
        StatusCode::OK,
        &served,
        &decoded.warnings,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn deployment_status_updates_keep_annotations_but_not_spec_or_labels() {
        let old = json!({"kind": "Deployment",
            "metadata": {"name": "d", "labels": {"a": "1"}, "annotations": {"x": "1"}},
            "spec": {"replicas": 1}, "status": {}});
        let new = json!({"kind": "Deployment",
            "metadata": {"name": "d", "labels": {"a": "2"},
                         "annotations": {"x": "1", "deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 5}, "status": {"replicas": 1}});
        let deployments = crate::registry::find("apps", "v1", "deployments").unwrap();
        let out = merge_update(deployments, &old, new.clone(), Part::Status);
        assert_eq!(
            out["metadata"]["annotations"],
            new["metadata"]["annotations"]
        );
        assert_eq!(out["metadata"]["labels"], old["metadata"]["labels"]);
        assert_eq!(out["spec"], old["spec"]);
        assert_eq!(out["status"], new["status"]);

        let replica_sets = crate::registry::find("apps", "v1", "replicasets").unwrap();
        let out = merge_update(replica_sets, &old, new, Part::Status);
        assert_eq!(
            out["metadata"]["annotations"],
            old["metadata"]["annotations"]
        );
    }
}

//! Subresources: `*/status`, `*/scale`, `pods/binding`, `pods/eviction`,
//! `namespaces/finalize`, and the streaming ones that the kubelet will serve.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::patch::{apply, read_patch};
use super::read::{current, current_for_write, object_key};
use super::write::{Part, merge_update, normalize, store_change, store_update, update_part};
use super::{Ctx, body, read, respond};
use crate::admission::{self, Operation};
use crate::object;
use crate::pointer::At;
use crate::storage::StorageError;

const ATTEMPTS: usize = 5;

/// `*/status` (and `namespaces/<n>/finalize`).
pub(crate) async fn status(ctx: Ctx, verb: &str, req: Body) -> ApiResult<Response> {
    let part = if ctx.target.subresource.is_some_and(|s| s.name == "finalize") {
        Part::Finalize
    } else {
        Part::Status
    };
    match verb {
        "get" => read::get(ctx).await,
        "update" => update_part(ctx, req, part).await,
        "patch" => super::patch::patch(ctx, req, part).await,
        _ => Err(ApiError::method_not_allowed(
            "unsupported method on a status subresource",
        )),
    }
}

/// The label selector of a workload as the Scale's `status.selector` string.
pub(crate) fn selector_string(selector: Option<&Value>) -> String {
    let Some(sel) = selector else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        let mut kv: Vec<_> = m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        kv.sort();
        parts.extend(kv);
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let mut values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => parts.push(format!("{key} in ({})", values.join(","))),
            "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
            "Exists" => parts.push(key.to_owned()),
            "DoesNotExist" => parts.push(format!("!{key}")),
            _ => {}
        }
    }
    parts.join(",")
}

/// The autoscaling/v1 Scale view of a Deployment or ReplicaSet.
fn scale_view(obj: &Value) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let pick = |f: &str| meta.get(f).cloned().unwrap_or(Value::Null);
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": pick("name"),
            "namespace": pick("namespace"),
            "uid": pick("uid"),
            "resourceVersion": pick("resourceVersion"),
            "creationTimestamp": pick("creationTimestamp"),
        },
        "spec": {"replicas": obj.at("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.at("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector_string(obj.at("/spec/selector")),
        },
    })
}

fn scale_replicas(scale: &Value) -> ApiResult<i64> {
    match scale.at("/spec/replicas") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_i64()
            .filter(|r| *r >= 0)
            .ok_or_else(|| {
                let mut e = ApiError::bad_request(format!(
                    "Scale.autoscaling \"\" is invalid: spec.replicas: Invalid value: {v}: must be greater than or equal to 0"
                ));
                e.code = 422;
                e.reason = "Invalid";
                e
            }),
    }
}

/// `*/scale`: get, update and patch of the replica count.
pub(crate) async fn scale(ctx: Ctx, verb: &str, req: Body) -> ApiResult<Response> {
    let def = ctx.target.def;
    let name = ctx.target.name.clone().unwrap_or_default();
    match verb {
        "get" => {
            let (obj, _) = current(&ctx).await?;
            Ok(respond::json(StatusCode::OK, &scale_view(&obj)))
        }
        "update" | "patch" => {
            let (body_scale, patch) = if verb == "update" {
                let bytes = body::read(&ctx, req).await?;
                let (v, _) = body::parse(&ctx, &bytes)?;
                (Some(v), None)
            } else {
                (None, Some(read_patch(&ctx, req).await?))
            };
            for attempt in 0..ATTEMPTS {
                let (old, old_rev) = current(&ctx).await?;
                let view = scale_view(&old);
                let wanted = match (&body_scale, &patch) {
                    (Some(v), _) => v.clone(),
                    (None, Some(p)) => apply(p, &view, "io.k8s.api.autoscaling.v1.Scale")?,
                    (None, None) => view.clone(),
                };
                if let Some(rv) =
                    object::meta_str(&wanted, "resourceVersion").filter(|rv| !rv.is_empty())
                    && rv != old_rev.to_string()
                {
                    return Err(ApiError::conflict_modified(def, &name));
                }
                let replicas = scale_replicas(&wanted)?;
                let mut new = old.clone();
                new["spec"]["replicas"] = json!(replicas);
                let merged = merge_update(def, &old, new, Part::Main);
                let mut merged = normalize(def, def, merged)?;
                let op = Operation::Update {
                    old: &old,
                    part: Part::Main,
                };
                admission::admit(&ctx, def, op, &mut merged).await?;
                match store_update(&ctx, &object_key(&ctx), &old, old_rev, merged).await {
                    Ok(stored) => {
                        return Ok(respond::json(StatusCode::OK, &scale_view(&stored.value)));
                    }
                    Err(StorageError::Conflict { .. })
                        if body_scale.is_none() && attempt + 1 < ATTEMPTS =>
                    {
                        continue;
                    }
                    Err(e) => return Err(ApiError::from_storage(e, def, &name)),
                }
            }
            Err(ApiError::conflict_modified(def, &name))
        }
        _ => Err(ApiError::method_not_allowed("unsupported method on scale")),
    }
}

/// `pods/binding`: assigns the pod to a node, once.
pub(crate) async fn binding(ctx: Ctx, req: Body) -> ApiResult<Response> {
    let def = ctx.target.def;
    let name = ctx.target.name.clone().unwrap_or_default();
    let bytes = body::read(&ctx, req).await?;
    let (binding, _) = body::parse(&ctx, &bytes)?;
    let node = binding
        .at("/target/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() {
        let mut e = ApiError::bad_request(format!(
            "Binding.core \"{name}\" is invalid: target.name: Required value"
        ));
        e.code = 422;
        e.reason = "Invalid";
        return Err(e);
    }
    let bname = object::name(&binding);
    if !bname.is_empty() && bname != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({bname}) does not match the name on the URL ({name})"
        )));
    }
    for attempt in 0..ATTEMPTS {
        let (old, old_rev, _) = current_for_write(&ctx, attempt == 0).await?;
        if object::is_deleting(&old) {
            return Err(ApiError::conflict(
                def,
                &name,
                &format!("pod {name} is being deleted, cannot be assigned to a host"),
            ));
        }
        let assigned = old
            .at("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !assigned.is_empty() {
            return Err(ApiError::conflict(
                def,
                &name,
                &format!("pod {name} is already assigned to node \"{assigned}\""),
            ));
        }
        // The pod had no node: setting one is a change, so no copy is kept to compare.
        let mut new = old;
        new["spec"]["nodeName"] = Value::String(node.to_owned());
        set_scheduled_condition(&mut new);
        match store_change(&ctx, &object_key(&ctx), old_rev, new).await {
            Ok(_) => {
                return Ok(respond::json(
                    StatusCode::CREATED,
                    &json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201
                    }),
                ));
            }
            Err(StorageError::Conflict { .. }) if attempt + 1 < ATTEMPTS => continue,
            Err(e) => return Err(ApiError::from_storage(e, def, &name)),
        }
    }
    Err(ApiError::conflict_modified(def, &name))
}

fn set_scheduled_condition(pod: &mut Value) {
    if !pod.get("status").is_some_and(Value::is_object) {
        pod["status"] = json!({});
    }
    let cond = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": object::now_rfc3339()});
    let conditions = pod["status"]
        .as_object_mut()
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
    if let Some(Value::Array(list)) = conditions {
        list.retain(|c| c.get("type").and_then(Value::as_str) != Some("PodScheduled"));
        list.push(cond);
    }
}

/// `pods/eviction`: deletes the pod with the Eviction's delete options.
pub(crate) async fn eviction(ctx: Ctx, req: Body) -> ApiResult<Response> {
    let name = ctx.target.name.clone().unwrap_or_default();
    let bytes = body::read(&ctx, req).await?;
    let (eviction, _) = body::parse(&ctx, &bytes)?;
    let ename = object::name(&eviction);
    if !ename.is_empty() && ename != name {
        return Err(ApiError::bad_request(format!(
            "name in URL does not match name in Eviction object ({ename} vs {name})"
        )));
    }
    let options = eviction
        .get("deleteOptions")
        .cloned()
        .unwrap_or_else(|| json!({}));
    super::delete::delete_with(&ctx, &options).await?;
    Ok(respond::json(
        StatusCode::CREATED,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201
        }),
    ))
}

/// `pods/log|exec|attach|portforward`, `nodes|services/proxy`: served by the kubelet
/// streaming work, not yet available.
pub(crate) fn streaming(ctx: &Ctx) -> ApiError {
    let sub = ctx.target.subresource.map_or("", |s| s.name);
    // 501, not 503: clients retry a 503, and waiting will not make this appear.
    let mut e = ApiError::unavailable(format!(
        "{}/{sub} is not yet available on this Keelson server: container streaming arrives with the kubelet streaming work",
        ctx.target.def.plural
    ));
    e.code = 501;
    e.reason = "NotImplemented";
    e.retry_after = None;
    e
}

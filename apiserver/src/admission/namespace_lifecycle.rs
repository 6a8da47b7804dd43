//! NamespaceLifecycle: no new objects in a namespace that is missing or Terminating; the
//! system namespaces cannot be deleted.

use async_trait::async_trait;
use serde_json::Value;

use super::{Operation, Plugin};
use crate::api::{ApiError, ApiResult, Ctx};
use crate::object;
use crate::registry::ResourceDef;
use crate::storage::{StorageError, keys};

/// Namespaces that are never deleted.
const IMMORTAL: &[&str] = &["default", "kube-system", "kube-public"];

pub(super) struct NamespaceLifecycle;

#[async_trait]
impl Plugin for NamespaceLifecycle {
    fn name(&self) -> &'static str {
        "NamespaceLifecycle"
    }

    async fn admit(
        &self,
        ctx: &Ctx,
        def: &'static ResourceDef,
        op: Operation<'_>,
        obj: &mut Value,
    ) -> ApiResult<()> {
        match (op, ctx.target.namespace.as_deref()) {
            (Operation::Create, Some(ns)) => check_namespace(ctx, def, object::name(obj), ns).await,
            _ => Ok(()),
        }
    }
}

/// A namespaced create needs its namespace to exist and not be terminating.
async fn check_namespace(
    ctx: &Ctx,
    def: &'static ResourceDef,
    name: &str,
    ns: &str,
) -> ApiResult<()> {
    let Some(ns_def) = crate::registry::find("", "v1", "namespaces") else {
        return Ok(());
    };
    let key = keys::object_key(ns_def.storage_prefix, None, ns);
    // From the watch cache, as upstream's plugin reads its namespace informer; only a
    // namespace the cache has not seen yet (created a moment ago) costs a storage read.
    let cached = ctx
        .state
        .caches()
        .fresh(ns_def)
        .await
        .and_then(|cache| cache.get(&key))
        .map(|obj| obj.value());
    let found = match cached {
        Some(obj) => Ok(obj),
        None => ctx
            .state
            .storage()
            .get(&key)
            .await
            .map(|kv| serde_json::from_slice::<Value>(&kv.value).unwrap_or(Value::Null)),
    };
    match found {
        Ok(obj) => {
            if obj.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating")
                || object::is_deleting(&obj)
            {
                return Err(ApiError::forbidden(
                    def,
                    name,
                    &format!(
                        "unable to create new content in namespace {ns} because it is being terminated"
                    ),
                ));
            }
            Ok(())
        }
        Err(StorageError::NotFound { .. }) => Err(ApiError::not_found(ns_def, ns)),
        Err(e) => Err(e.into()),
    }
}

/// The system namespaces cannot be deleted.
pub(super) fn admit_delete(def: &'static ResourceDef, name: &str) -> ApiResult<()> {
    if def.kind == "Namespace" && def.group.is_empty() && IMMORTAL.contains(&name) {
        return Err(ApiError::forbidden(
            def,
            name,
            "this namespace may not be deleted",
        ));
    }
    Ok(())
}

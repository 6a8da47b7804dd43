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
        .and_then(|cache| cache.get(&key));
    let found = match cached {
        Some(obj) => Ok(Terminating::of(&obj.bytes)),
        None => ctx
            .state
            .storage()
            .get(&key)
            .await
            .map(|kv| Terminating::of(&kv.value)),
    };
    match found {
        Ok(terminating) => {
            if terminating {
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

/// The parts of a stored Namespace that say it is terminating; every other field is
/// skipped unparsed (this runs for every namespaced create).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Terminating {
    metadata: TerminatingMeta,
    status: TerminatingStatus,
}

#[derive(serde::Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TerminatingMeta {
    deletion_timestamp: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct TerminatingStatus {
    phase: Option<String>,
}

impl Terminating {
    /// Whether the stored namespace is terminating: phase Terminating, or being deleted.
    /// Undecodable bytes read as not terminating, as an unreadable object did before.
    fn of(bytes: &[u8]) -> bool {
        let ns: Terminating = serde_json::from_slice(bytes).unwrap_or_default();
        ns.status.phase.as_deref() == Some("Terminating")
            || ns.metadata.deletion_timestamp.is_some()
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

#[cfg(test)]
mod tests {
    use super::Terminating;

    #[test]
    fn terminating_is_read_from_phase_or_deletion() {
        assert!(!Terminating::of(
            br#"{"metadata":{"name":"a"},"status":{"phase":"Active"}}"#
        ));
        assert!(Terminating::of(br#"{"status":{"phase":"Terminating"}}"#));
        assert!(Terminating::of(
            br#"{"metadata":{"deletionTimestamp":"2026-01-01T00:00:00Z"},"spec":{"finalizers":["kubernetes"]}}"#
        ));
        assert!(!Terminating::of(
            br#"{"metadata":{"deletionTimestamp":null}}"#
        ));
        assert!(!Terminating::of(b"not json"));
    }
}

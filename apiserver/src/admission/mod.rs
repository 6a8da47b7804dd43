//! Admission: what every write goes through between decoding and storage, in upstream's
//! order — defaulting, the mutating plugins, allocation (Service IPs and ports), validation
//! (422 with every field error at once), the validating plugins.
//!
//! A plugin is one entry in [`MUTATING`] or [`VALIDATING`]; LimitRange, ResourceQuota and
//! ServiceAccount admission will each be one more entry.

mod default_storage_class;
mod default_toleration_seconds;
mod namespace_lifecycle;
pub(crate) mod priority;

use async_trait::async_trait;
use serde_json::Value;

use crate::api::{ApiError, ApiResult, Ctx, Part};
use crate::registry::ResourceDef;

/// What a write does to the object.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Operation<'a> {
    /// A new object.
    Create,
    /// `old` (stored form) becomes the new object; `part` is what the request may change.
    Update {
        /// The object as stored before.
        old: &'a Value,
        /// Main resource, `/status` or `/finalize`.
        part: Part,
    },
}

impl<'a> Operation<'a> {
    /// The object before an update.
    pub(crate) fn old(&self) -> Option<&'a Value> {
        match self {
            Operation::Create => None,
            Operation::Update { old, .. } => Some(old),
        }
    }
}

/// One admission plugin.
#[async_trait]
pub(crate) trait Plugin: Sync {
    /// Its upstream name (`NamespaceLifecycle`, `Priority`, …).
    fn name(&self) -> &'static str;
    /// Admits (and for a mutating plugin, changes) `obj` (stored form) of kind `def`.
    async fn admit(
        &self,
        ctx: &Ctx,
        def: &'static ResourceDef,
        op: Operation<'_>,
        obj: &mut Value,
    ) -> ApiResult<()>;
}

/// Every stored object of a cluster-wide resource (classes), from the watch cache once it
/// holds this server's own writes to it.
async fn stored(ctx: &Ctx, group: &str, resource: &str) -> Vec<Value> {
    let Some(def) = crate::registry::find(group, "v1", resource) else {
        return Vec::new();
    };
    match ctx.state.caches().fresh(def).await {
        Some(cache) => cache.values().iter().map(|o| o.value()).collect(),
        None => Vec::new(),
    }
}

/// Mutating plugins, in order (after defaulting).
static MUTATING: &[&dyn Plugin] = &[
    &default_toleration_seconds::DefaultTolerationSeconds,
    &default_storage_class::DefaultStorageClass,
    &priority::Priority,
];

/// Validating plugins, in order (after validation).
static VALIDATING: &[&dyn Plugin] = &[&namespace_lifecycle::NamespaceLifecycle];

/// Runs the whole chain on `obj` (stored form of `def`). On success the object is ready to
/// store; any allocation it holds is released by [`abandon`] if the write then fails.
pub(crate) async fn admit(
    ctx: &Ctx,
    def: &'static ResourceDef,
    op: Operation<'_>,
    obj: &mut Value,
) -> ApiResult<()> {
    // Upstream defaults every object it decodes, `/status` writes included (a load
    // balancer's ingress `ipMode`, a node's `allocatable`).
    if !matches!(
        op,
        Operation::Update {
            part: Part::Finalize,
            ..
        }
    ) {
        crate::defaults::apply(def.kind, obj);
    }
    for plugin in MUTATING {
        tracing::trace!(plugin = plugin.name(), kind = def.kind, "admission");
        plugin.admit(ctx, def, op, obj).await?;
    }
    crate::alloc::allocate(ctx, def, op, obj).await?;
    let causes = crate::validation::validate(def, ctx.target.def.group, obj, op);
    if !causes.is_empty() {
        abandon(ctx, def, op, obj).await;
        let name = crate::object::name(obj).to_owned();
        return Err(ApiError::invalid(def, &name, causes));
    }
    for plugin in VALIDATING {
        tracing::trace!(plugin = plugin.name(), kind = def.kind, "admission");
        if let Err(e) = plugin.admit(ctx, def, op, obj).await {
            abandon(ctx, def, op, obj).await;
            return Err(e);
        }
    }
    Ok(())
}

/// Releases what [`admit`] allocated for `obj` when the write did not happen.
pub(crate) async fn abandon(ctx: &Ctx, def: &'static ResourceDef, op: Operation<'_>, obj: &Value) {
    crate::alloc::release_unstored(ctx, def, op, obj).await;
}

/// Called after `last` (stored form of `def`) was deleted from storage.
pub(crate) async fn deleted(ctx: &Ctx, def: &'static ResourceDef, last: &Value) {
    crate::alloc::release_deleted(ctx, def, last).await;
}

/// Refuses deletes upstream's admission refuses (the system namespaces).
pub(crate) fn admit_delete(def: &'static ResourceDef, name: &str) -> ApiResult<()> {
    namespace_lifecycle::admit_delete(def, name)
}

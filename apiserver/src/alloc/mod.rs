//! Allocation: Service cluster IPs and node ports, persisted through the storage layer.

use serde_json::Value;

use crate::admission::Operation;
use crate::api::{ApiResult, Ctx};
use crate::registry::ResourceDef;

/// Allocates what `obj` (stored form of `def`) needs, or refuses what it asks for.
pub(crate) async fn allocate(
    ctx: &Ctx,
    def: &'static ResourceDef,
    op: Operation<'_>,
    obj: &mut Value,
) -> ApiResult<()> {
    let _ = (ctx, def, op, obj);
    Ok(())
}

/// Releases what [`allocate`] took for an object that was then not stored.
pub(crate) async fn release_unstored(
    ctx: &Ctx,
    def: &'static ResourceDef,
    op: Operation<'_>,
    obj: &Value,
) {
    let _ = (ctx, def, op, obj);
}

/// Releases what a deleted object held.
pub(crate) async fn release_deleted(ctx: &Ctx, def: &'static ResourceDef, last: &Value) {
    let _ = (ctx, def, last);
}

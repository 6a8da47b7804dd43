//! Priority: a new pod's `priorityClassName` is resolved to `spec.priority` (and
//! `spec.preemptionPolicy`) from its PriorityClass — the global default class when it names
//! none — and an unknown class is refused. PriorityClasses themselves: at most one may be
//! the global default.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Operation, Plugin};
use crate::api::{ApiError, ApiResult, Ctx};
use crate::object;
use crate::pointer::At;
use crate::registry::ResourceDef;
use crate::storage::keys;

/// The classes every cluster has (upstream creates them at start-up).
pub(crate) const SYSTEM_CLASSES: &[(&str, i64)] = &[
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

pub(super) struct Priority;

#[async_trait]
impl Plugin for Priority {
    fn name(&self) -> &'static str {
        "Priority"
    }

    async fn admit(
        &self,
        ctx: &Ctx,
        def: &'static ResourceDef,
        op: Operation<'_>,
        obj: &mut Value,
    ) -> ApiResult<()> {
        match (def.kind, op) {
            ("Pod", Operation::Create) if ctx.target.subresource.is_none() => {
                resolve(ctx, def, obj).await
            }
            ("PriorityClass", Operation::Create | Operation::Update { .. }) => {
                one_global_default(ctx, def, obj).await
            }
            _ => Ok(()),
        }
    }
}

/// The stored PriorityClasses, this server's own writes included.
async fn classes(ctx: &Ctx) -> Vec<Value> {
    super::stored(ctx, "scheduling.k8s.io", "priorityclasses").await
}

async fn resolve(ctx: &Ctx, def: &'static ResourceDef, pod: &mut Value) -> ApiResult<()> {
    let name = object::name(pod).to_owned();
    let asked = pod
        .at("/spec/priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let classes = classes(ctx).await;
    let (class_name, priority, preemption) = if asked.is_empty() {
        match classes
            .iter()
            .find(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true))
        {
            Some(c) => (object::name(c).to_owned(), value_of(c), preemption_of(c)),
            None => (String::new(), 0, "PreemptLowerPriority".to_owned()),
        }
    } else if let Some(c) = classes.iter().find(|c| object::name(c) == asked) {
        (asked.clone(), value_of(c), preemption_of(c))
    } else if let Some((_, v)) = SYSTEM_CLASSES.iter().find(|(n, _)| *n == asked) {
        (asked.clone(), *v, "PreemptLowerPriority".to_owned())
    } else {
        return Err(ApiError::forbidden(
            def,
            &name,
            &format!("no PriorityClass with name {asked} was found"),
        ));
    };
    if let Some(given) = pod.at("/spec/priority").and_then(Value::as_i64)
        && given != priority
    {
        return Err(ApiError::forbidden(
            def,
            &name,
            &format!(
                "the integer value of priority ({given}) must not be provided in pod spec; \
                 priority admission controller computed {priority} from the given PriorityClass name"
            ),
        ));
    }
    if !pod.get("spec").is_some_and(Value::is_object) {
        pod["spec"] = json!({});
    }
    if !class_name.is_empty() {
        pod["spec"]["priorityClassName"] = json!(class_name);
    }
    pod["spec"]["priority"] = json!(priority);
    if pod.at("/spec/preemptionPolicy").is_none() {
        pod["spec"]["preemptionPolicy"] = json!(preemption);
    }
    Ok(())
}

fn value_of(class: &Value) -> i64 {
    class.get("value").and_then(Value::as_i64).unwrap_or(0)
}

fn preemption_of(class: &Value) -> String {
    class
        .get("preemptionPolicy")
        .and_then(Value::as_str)
        .unwrap_or("PreemptLowerPriority")
        .to_owned()
}

async fn one_global_default(ctx: &Ctx, def: &'static ResourceDef, class: &Value) -> ApiResult<()> {
    if class.get("globalDefault").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    let name = object::name(class);
    let key = keys::object_key(def.storage_prefix, None, name);
    let other = classes(ctx).await.into_iter().find(|c| {
        c.get("globalDefault").and_then(Value::as_bool) == Some(true)
            && keys::object_key(def.storage_prefix, None, object::name(c)) != key
    });
    match other {
        Some(other) => Err(ApiError::forbidden(
            def,
            name,
            &format!(
                "PriorityClass {} is already marked as default. Only one default can exist",
                object::name(&other)
            ),
        )),
        None => Ok(()),
    }
}

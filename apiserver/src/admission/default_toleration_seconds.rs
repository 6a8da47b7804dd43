//! DefaultTolerationSeconds: a new pod that does not tolerate the node lifecycle taints
//! `node.kubernetes.io/not-ready` and `node.kubernetes.io/unreachable` (NoExecute) gets
//! tolerations for them lasting 300 s (`--default-not-ready-toleration-seconds`,
//! `--default-unreachable-toleration-seconds`), so its pods are evicted five minutes after
//! their node goes away.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Operation, Plugin};
use crate::api::{ApiResult, Ctx};
use crate::pointer::At;
use crate::registry::ResourceDef;

const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

pub(super) struct DefaultTolerationSeconds;

#[async_trait]
impl Plugin for DefaultTolerationSeconds {
    fn name(&self) -> &'static str {
        "DefaultTolerationSeconds"
    }

    async fn admit(
        &self,
        ctx: &Ctx,
        def: &'static ResourceDef,
        op: Operation<'_>,
        obj: &mut Value,
    ) -> ApiResult<()> {
        if def.kind == "Pod" && matches!(op, Operation::Create) && ctx.target.subresource.is_none()
        {
            let config = ctx.state.config();
            add_tolerations(
                obj,
                config.default_not_ready_toleration_seconds,
                config.default_unreachable_toleration_seconds,
            );
        }
        Ok(())
    }
}

fn add_tolerations(pod: &mut Value, not_ready_seconds: i64, unreachable_seconds: i64) {
    let existing = pod
        .at("/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tolerates = |key: &str| {
        existing.iter().any(|t| {
            let k = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (k == key || k.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    let mut added = Vec::new();
    for (key, seconds) in [
        (NOT_READY, not_ready_seconds),
        (UNREACHABLE, unreachable_seconds),
    ] {
        if !tolerates(key) {
            added.push(json!({
                "key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": seconds,
            }));
        }
    }
    if added.is_empty() {
        return;
    }
    if !pod.get("spec").is_some_and(Value::is_object) {
        pod["spec"] = json!({});
    }
    let list = pod["spec"]
        .as_object_mut()
        .map(|spec| spec.entry("tolerations").or_insert_with(|| json!([])));
    if let Some(Value::Array(list)) = list {
        list.extend(added);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_both_unless_tolerated() {
        let mut pod = json!({"spec": {"containers": []}});
        add_tolerations(&mut pod, 30, 40);
        assert_eq!(
            pod["spec"]["tolerations"],
            json!([
                {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
                {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 40},
            ])
        );
        let mut pod = json!({"spec": {"tolerations": [
            {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}
        ]}});
        add_tolerations(&mut pod, 300, 300);
        let list = pod["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["tolerationSeconds"], 10);
        assert_eq!(list[1]["key"], UNREACHABLE);
        // Tolerating everything (empty key, operator Exists) adds nothing.
        let mut pod = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
        add_tolerations(&mut pod, 300, 300);
        assert_eq!(pod["spec"]["tolerations"].as_array().unwrap().len(), 1);
    }
}

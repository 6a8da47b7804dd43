//! DefaultTolerationSeconds: a new pod that does not tolerate the node lifecycle taints
//! `node.kubernetes.io/not-ready` and `node.kubernetes.io/unreachable` (NoExecute) gets
//! tolerations for them lasting 300 s, so its pods are evicted five minutes after their
//! node goes away.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Operation, Plugin};
use crate::api::{ApiResult, Ctx};
use crate::registry::ResourceDef;

const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Upstream's `--default-not-ready-toleration-seconds` and `…-unreachable-…` default.
const SECONDS: i64 = 300;

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
            add_tolerations(obj);
        }
        Ok(())
    }
}

fn add_tolerations(pod: &mut Value) {
    let existing = pod
        .pointer("/spec/tolerations")
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
    for key in [NOT_READY, UNREACHABLE] {
        if !tolerates(key) {
            added.push(json!({
                "key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": SECONDS,
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
        add_tolerations(&mut pod);
        assert_eq!(
            pod["spec"]["tolerations"],
            json!([
                {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ])
        );
        let mut pod = json!({"spec": {"tolerations": [
            {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}
        ]}});
        add_tolerations(&mut pod);
        let list = pod["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["tolerationSeconds"], 10);
        assert_eq!(list[1]["key"], UNREACHABLE);
        // Tolerating everything (empty key, operator Exists) adds nothing.
        let mut pod = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
        add_tolerations(&mut pod);
        assert_eq!(pod["spec"]["tolerations"].as_array().unwrap().len(), 1);
    }
}

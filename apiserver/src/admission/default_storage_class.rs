//! DefaultStorageClass: a new PersistentVolumeClaim that names no class (no
//! `spec.storageClassName`, not even `""`, and no beta class annotation) gets the default
//! StorageClass, when the cluster has one. With several defaults the newest wins (ties by
//! name), as upstream's `GetDefaultClass` since v1.26.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Operation, Plugin};
use crate::api::{ApiResult, Ctx};
use crate::object;
use crate::pointer::At;
use crate::registry::ResourceDef;

/// The annotation marking the default class, and its beta form (still honoured).
const DEFAULT_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];
/// The deprecated annotation naming a claim's class.
const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

pub(super) struct DefaultStorageClass;

#[async_trait]
impl Plugin for DefaultStorageClass {
    fn name(&self) -> &'static str {
        "DefaultStorageClass"
    }

    async fn admit(
        &self,
        ctx: &Ctx,
        def: &'static ResourceDef,
        op: Operation<'_>,
        obj: &mut Value,
    ) -> ApiResult<()> {
        if def.kind != "PersistentVolumeClaim"
            || !matches!(op, Operation::Create)
            || ctx.target.subresource.is_some()
            || has_class(obj)
        {
            return Ok(());
        }
        if let Some(class) = default_class(&classes(ctx).await) {
            if !obj.get("spec").is_some_and(Value::is_object) {
                obj["spec"] = json!({});
            }
            obj["spec"]["storageClassName"] = json!(class);
        }
        Ok(())
    }
}

/// Whether a claim asked for a class (`""` included) by field or beta annotation.
fn has_class(claim: &Value) -> bool {
    claim
        .at("/spec/storageClassName")
        .is_some_and(|c| !c.is_null())
        || claim
            .at("/metadata/annotations")
            .and_then(|a| a.get(BETA_CLASS_ANNOTATION))
            .is_some()
}

/// The stored StorageClasses, this server's own writes included.
async fn classes(ctx: &Ctx) -> Vec<Value> {
    super::stored(ctx, "storage.k8s.io", "storageclasses").await
}

/// The default class's name: the newest class annotated as default, ties by name.
fn default_class(classes: &[Value]) -> Option<String> {
    let mut defaults: Vec<(&str, &str)> = classes
        .iter()
        .filter(|c| {
            DEFAULT_ANNOTATIONS.iter().any(|a| {
                c.at("/metadata/annotations")
                    .and_then(|m| m.get(*a))
                    .and_then(Value::as_str)
                    == Some("true")
            })
        })
        .map(|c| {
            (
                object::meta_str(c, "creationTimestamp").unwrap_or(""),
                object::name(c),
            )
        })
        .collect();
    // Newest first (RFC 3339 in one format orders as text), then by name.
    defaults.sort_by(|a, b| b.0.cmp(a.0).then(a.1.cmp(b.1)));
    defaults.first().map(|(_, name)| (*name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, created: &str, default: Option<&str>) -> Value {
        let mut c = json!({"metadata": {"name": name, "creationTimestamp": created}});
        if let Some(v) = default {
            c["metadata"]["annotations"] =
                json!({"storageclass.kubernetes.io/is-default-class": v});
        }
        c
    }

    #[test]
    fn the_newest_default_wins() {
        let cases = [
            (vec![], None),
            (vec![class("a", "2024-01-01T00:00:00Z", None)], None),
            (
                vec![class("a", "2024-01-01T00:00:00Z", Some("false"))],
                None,
            ),
            (
                vec![
                    class("old", "2024-01-01T00:00:00Z", Some("true")),
                    class("new", "2024-02-01T00:00:00Z", Some("true")),
                    class("plain", "2024-03-01T00:00:00Z", None),
                ],
                Some("new"),
            ),
            (
                vec![
                    class("b", "2024-01-01T00:00:00Z", Some("true")),
                    class("a", "2024-01-01T00:00:00Z", Some("true")),
                ],
                Some("a"),
            ),
        ];
        for (classes, want) in cases {
            assert_eq!(default_class(&classes).as_deref(), want);
        }
    }

    #[test]
    fn a_class_asked_for_is_kept() {
        assert!(has_class(&json!({"spec": {"storageClassName": ""}})));
        assert!(has_class(
            &json!({"metadata": {"annotations": {BETA_CLASS_ANNOTATION: "x"}}, "spec": {}})
        ));
        assert!(!has_class(&json!({"spec": {"storageClassName": null}})));
        assert!(!has_class(&json!({"spec": {}})));
    }
}

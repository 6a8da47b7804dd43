//! Registering the Node, as upstream kubelet v1.33's `registerWithAPIServer`: create it
//! with the well-known labels, the configured labels and taints, the attach/detach
//! annotation and a first status; if it exists already (a restart), keep that object and
//! only put back the well-known labels and the annotation when they differ
//! (`updateDefaultLabels`, `reconcileCMADAnnotationWithExistingNode`) — labels and taints
//! added since stay. Capacity is brought up to date by the first status post right
//! after; extended resources in it stay, as upstream keeps them on a restart of the same
//! machine (`reconcileExtendedResource` zeroes them only for a recreated machine).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, NodeSpec, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::host::{OS, arch};
use crate::KubeletConfig;

/// The annotation telling the attach/detach controller it owns this node's volumes.
pub const CONTROLLER_MANAGED_ATTACH_DETACH: &str =
    "volumes.kubernetes.io/controller-managed-attach-detach";

/// The labels the kubelet owns (upstream's `updateDefaultLabels` list, those it sets).
pub(crate) fn default_labels(config: &KubeletConfig) -> BTreeMap<String, String> {
    [
        ("kubernetes.io/hostname", config.node_name.as_str()),
        ("kubernetes.io/os", OS),
        ("kubernetes.io/arch", arch()),
        ("beta.kubernetes.io/os", OS),
        ("beta.kubernetes.io/arch", arch()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The Node to create: default labels, then `config.labels` (which may override them),
/// `config.taints`, the attach/detach annotation, and `status`.
pub(crate) fn initial_node(config: &KubeletConfig, status: NodeStatus) -> Node {
    let mut labels = default_labels(config);
    labels.extend(config.labels.clone());
    Node {
        metadata: ObjectMeta {
            name: Some(config.node_name.clone()),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(
                CONTROLLER_MANAGED_ATTACH_DETACH.to_owned(),
                "true".to_owned(),
            )])),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            taints: (!config.taints.is_empty()).then(|| config.taints.clone()),
            ..Default::default()
        }),
        status: Some(status),
    }
}

/// The merge patch that brings an existing Node's well-known labels and attach/detach
/// annotation back to `initial`'s, or None when they already match.
pub(crate) fn reconcile_patch(
    config: &KubeletConfig,
    initial: &Node,
    existing: &Node,
) -> Option<Value> {
    let wanted = initial.metadata.labels.clone().unwrap_or_default();
    let present = existing.metadata.labels.clone().unwrap_or_default();
    let mut labels = Map::new();
    for key in default_labels(config).keys() {
        if let Some(value) = wanted.get(key)
            && present.get(key) != Some(value)
        {
            labels.insert(key.clone(), Value::String(value.clone()));
        }
    }
    let annotated = existing
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CONTROLLER_MANAGED_ATTACH_DETACH))
        .is_some_and(|v| v == "true");
    if labels.is_empty() && annotated {
        return None;
    }
    let mut metadata = Map::new();
    if !labels.is_empty() {
        metadata.insert("labels".to_owned(), Value::Object(labels));
    }
    if !annotated {
        metadata.insert(
            "annotations".to_owned(),
            json!({ CONTROLLER_MANAGED_ATTACH_DETACH: "true" }),
        );
    }
    Some(json!({ "metadata": metadata }))
}

/// Creates the Node or reconciles the existing one, retrying with backoff (100 ms doubling
/// to 7 s, as upstream) until it succeeds or `stop` turns true (then the last error).
pub(crate) async fn register(
    nodes: &Api<Node>,
    config: &KubeletConfig,
    initial: &Node,
    stop: &mut watch::Receiver<bool>,
) -> Result<Node, kube::Error> {
    let mut delay = Duration::from_millis(100);
    loop {
        let error = match try_register(nodes, config, initial).await {
            Ok(node) => return Ok(node),
            Err(error) => error,
        };
        tracing::warn!(node = %config.node_name, %error, "registering node; retrying");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|s| *s) => return Err(error),
        }
        delay = (delay * 2).min(Duration::from_secs(7));
    }
}

async fn try_register(
    nodes: &Api<Node>,
    config: &KubeletConfig,
    initial: &Node,
) -> Result<Node, kube::Error> {
    match nodes.create(&PostParams::default(), initial).await {
        Ok(node) => {
            tracing::info!(node = %config.node_name, "registered node");
            return Ok(node);
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e),
    }
    let existing = nodes.get(&config.node_name).await?;
    match reconcile_patch(config, initial, &existing) {
        None => Ok(existing),
        Some(patch) => {
            nodes
                .patch(
                    &config.node_name,
                    &PatchParams::default(),
                    &Patch::Merge(patch),
                )
                .await
        }
    }
}

#[cfg(test)]
#[path = "registration_tests.rs"]
mod tests;

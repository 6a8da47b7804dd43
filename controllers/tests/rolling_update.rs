//! A rolling update with the real ReplicaSet and Deployment controllers together, a test
//! kubelet marking each new pod Ready a little later: every state the pods pass through
//! keeps upstream's bounds — at most replicas + maxSurge pods, at least
//! replicas − maxUnavailable of them ready.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use support::{Cluster, eventually};

/// Marks every new pod Running and Ready 150 ms after it appears.
fn kubelet(client: kube::Client) -> tokio::task::JoinHandle<()> {
    let pods: Api<Pod> = Api::namespaced(client, "default");
    tokio::spawn(async move {
        let mut events = std::pin::pin!(watcher(pods.clone(), watcher::Config::default()));
        while let Some(event) = events.next().await {
            let Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) = event else {
                continue;
            };
            if pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
                continue;
            }
            let pods = pods.clone();
            let name = pod.metadata.name.unwrap_or_default();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                let now = jiff::Timestamp::now().to_string();
                let status = json!({ "status": { "phase": "Running", "conditions": [
                    { "type": "Ready", "status": "True", "lastTransitionTime": now },
                ]}});
                let _ = pods
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
                    .await;
            });
        }
    })
}

/// The (total, ready) pod counts seen, and the states that broke the bounds.
type Observed = (Vec<(usize, usize)>, Vec<String>);

/// Watches pods, checking the bounds on every state; returns the states seen (total,
/// ready) and the violations.
fn observe(
    client: kube::Client,
    most: usize,
    least_ready: usize,
) -> tokio::task::JoinHandle<Observed> {
    let pods: Api<Pod> = Api::namespaced(client, "default");
    tokio::spawn(async move {
        let mut live: BTreeMap<String, bool> = BTreeMap::new();
        let mut states = Vec::new();
        let mut violations = Vec::new();
        let mut events = std::pin::pin!(watcher(pods, watcher::Config::default()));
        let mut listed = false;
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_secs(3), events.next()).await
        {
            match event {
                Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    if pod.metadata.deletion_timestamp.is_some() {
                        live.remove(&name);
                    } else {
                        let ready = pod
                            .status
                            .as_ref()
                            .and_then(|s| s.conditions.as_ref())
                            .is_some_and(|c| {
                                c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                            });
                        live.insert(name, ready);
                    }
                }
                Ok(watcher::Event::Delete(pod)) => {
                    live.remove(&pod.metadata.name.unwrap_or_default());
                }
                Ok(watcher::Event::InitDone) => listed = true,
                _ => {}
            }
            if !listed {
                continue;
            }
            let total = live.len();
            let ready = live.values().filter(|r| **r).count();
            if states.last() != Some(&(total, ready)) {
                states.push((total, ready));
            }
            if total > most || ready < least_ready {
                violations.push(format!("{total} pods, {ready} ready"));
            }
        }
        (states, violations)
    })
}

async fn roll(surge: serde_json::Value, unavailable: serde_json::Value, most: usize, least: usize) {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["replicaset", "deployment"]);
    let kubelet = kubelet(cluster.client.clone());
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), "default");
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": {
            "replicas": 10,
            "selector": { "matchLabels": { "app": "web" } },
            "strategy": { "rollingUpdate": { "maxSurge": surge, "maxUnavailable": unavailable } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": { "containers": [{ "name": "c", "image": "busybox:1" }] },
            },
        },
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let complete = |image: &'static str| {
        let deployments = deployments.clone();
        move || {
            let deployments = deployments.clone();
            async move {
                let d = deployments.get("web").await.ok()?;
                let s = d.status.as_ref()?;
                let done = s.observed_generation >= d.metadata.generation
                    && s.replicas == Some(10)
                    && s.updated_replicas == Some(10)
                    && s.available_replicas == Some(10);
                let current = d.spec?.template.spec?.containers.first()?.image.clone();
                (done && current.as_deref() == Some(image)).then_some(())
            }
        }
    };
    eventually("the first rollout", complete("busybox:1")).await;

    let watch = observe(cluster.client.clone(), most, least);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let update = json!({ "spec": { "template": { "spec": { "containers": [{ "name": "c", "image": "busybox:2" }] } } } });
    deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(update))
        .await
        .unwrap();
    eventually("the rolling update", complete("busybox:2")).await;
    let (states, violations) = watch.await.unwrap();
    assert!(
        violations.is_empty(),
        "bounds broken: {violations:?} in {states:?}"
    );
    // The rollout went through intermediate states, not one jump.
    assert!(states.len() > 4, "{states:?}");
    assert!(
        states.iter().any(|(total, _)| *total > 10),
        "surge used: {states:?}"
    );
    kubelet.abort();
    manager.stop().await;
}

#[tokio::test]
async fn integer_bounds_hold_at_every_instant() {
    roll(json!(3), json!(2), 13, 8).await;
}

#[tokio::test]
async fn percent_bounds_hold_at_every_instant() {
    // 25% of 10: surge rounds up to 3, unavailable rounds down to 2.
    roll(json!("25%"), json!("25%"), 13, 8).await;
}

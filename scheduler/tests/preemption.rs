//! Preemption against an in-process apiserver (no kubelet): a high-priority pod evicts a
//! low-priority one from a full node, is nominated there, and binds once the victim is gone.
#![allow(clippy::unwrap_used)]

mod support;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use support::{Cluster, Scheduler};

async fn priority_class(cluster: &Cluster, name: &str, value: i32) {
    let api: Api<PriorityClass> = Api::all(cluster.client.clone());
    let class: PriorityClass =
        serde_json::from_value(json!({"metadata": {"name": name}, "value": value})).unwrap();
    api.create(&PostParams::default(), &class).await.unwrap();
}

async fn pod(cluster: &Cluster, name: &str, cpu: &str, class: &str) -> Pod {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": name, "namespace": "default" },
        "spec": { "priorityClassName": class, "containers": [{
            "name": "c", "image": "busybox",
            "resources": { "requests": { "cpu": cpu } },
        }]},
    }))
    .unwrap();
    cluster
        .pods()
        .create(&PostParams::default(), &pod)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn high_priority_pod_preempts_a_low_priority_one() {
    let cluster = Cluster::start().await;
    priority_class(&cluster, "low", 10).await;
    priority_class(&cluster, "high", 1000).await;
    cluster.node("n1", "1", None).await;
    let scheduler = Scheduler::start(&cluster, "s1", false);
    let low = pod(&cluster, "low", "1", "low").await;
    assert_eq!(low.spec.as_ref().unwrap().priority, Some(10));
    assert_eq!(cluster.bound("low").await, "n1");

    let high = pod(&cluster, "high", "1", "high").await;
    let uid = high.metadata.uid.clone().unwrap();
    let pods = cluster.pods();
    // The victim is marked and deleted gracefully (no kubelet finishes it).
    let victim = cluster
        .until("the victim terminating", || {
            let pods = pods.clone();
            async move {
                let p = pods.get("low").await.ok()?;
                p.metadata.deletion_timestamp.is_some().then_some(p)
            }
        })
        .await;
    let conditions = victim.status.unwrap().conditions.unwrap();
    let target = conditions
        .iter()
        .find(|c| c.type_ == "DisruptionTarget")
        .unwrap();
    assert_eq!(
        (target.status.as_str(), target.reason.as_deref()),
        ("True", Some("PreemptionByScheduler"))
    );
    let nominated = cluster
        .until("high nominated", || {
            let pods = pods.clone();
            async move { pods.get("high").await.ok()?.status?.nominated_node_name }
        })
        .await;
    assert_eq!(nominated, "n1");
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    let preempted = cluster
        .until("Preempted event", || {
            let events = events.clone();
            async move {
                let list = events.list(&ListParams::default()).await.ok()?;
                list.items
                    .into_iter()
                    .find(|e| e.reason.as_deref() == Some("Preempted"))
            }
        })
        .await;
    assert_eq!(
        preempted.note,
        Some(format!("Preempted by pod {uid} on node n1"))
    );
    assert_eq!(preempted.type_.as_deref(), Some("Normal"));
    assert_eq!(preempted.regarding.unwrap().name.as_deref(), Some("low"));

    // Finish the victim as its kubelet would; the preemptor then takes its place.
    pods.delete("low", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    assert_eq!(cluster.bound("high").await, "n1");
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn equal_priority_pods_are_not_preempted() {
    let cluster = Cluster::start().await;
    priority_class(&cluster, "same", 10).await;
    cluster.node("n1", "1", None).await;
    let scheduler = Scheduler::start(&cluster, "s1", false);
    pod(&cluster, "first", "1", "same").await;
    assert_eq!(cluster.bound("first").await, "n1");
    pod(&cluster, "second", "1", "same").await;
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    let failed = cluster
        .until("FailedScheduling event", || {
            let events = events.clone();
            async move {
                let list = events.list(&ListParams::default()).await.ok()?;
                list.items
                    .into_iter()
                    .find(|e| e.reason.as_deref() == Some("FailedScheduling"))
            }
        })
        .await;
    assert_eq!(
        failed.note.as_deref(),
        Some(
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        )
    );
    let first = cluster.pods().get("first").await.unwrap();
    assert!(first.metadata.deletion_timestamp.is_none());
    scheduler.stop().await;
}

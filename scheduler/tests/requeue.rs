//! Pods waiting in the scheduling queue against an in-process apiserver (no kubelet):
//! unschedulable pods retried when the blocking pod, taint or label goes away, and
//! scheduling gates (held back without a FailedScheduling report until removed).
#![allow(clippy::unwrap_used)]

mod support;

use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::{Cluster, Scheduler, default_allocatable};

#[tokio::test(flavor = "multi_thread")]
async fn anti_affinity_victim_deleted_lets_the_waiting_pod_in() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    cluster
        .pod_with("blocker", json!({ "app": "b" }), json!({}))
        .await;
    assert_eq!(cluster.bound("blocker").await, "n1");
    let apart = json!({ "affinity": { "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": { "matchLabels": { "app": "b" } },
            "topologyKey": "kubernetes.io/hostname" }] } } });
    cluster.pod_with("waiter", json!({}), apart).await;
    assert_eq!(
        cluster.failed_scheduling("waiter").await,
        "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    );
    cluster
        .pods()
        .delete("blocker", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    assert_eq!(cluster.bound("waiter").await, "n1");
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_taint_lets_the_waiting_pod_in() {
    let cluster = Cluster::start().await;
    let taint = json!([{ "key": "k", "value": "v", "effect": "NoSchedule" }]);
    cluster
        .node_from("n1", json!({}), taint, default_allocatable())
        .await;
    let scheduler = Scheduler::scoring_all(&cluster);
    cluster.pod_with("waiter", json!({}), json!({})).await;
    assert_eq!(
        cluster.failed_scheduling("waiter").await,
        "0/1 nodes are available: 1 node(s) had untolerated taint {k: v}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    );
    cluster
        .patch_node("n1", json!({ "spec": { "taints": null } }))
        .await;
    assert_eq!(cluster.bound("waiter").await, "n1");
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_node_label_lets_the_waiting_pod_in() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let ssd = json!({ "nodeSelector": { "disk": "ssd" } });
    cluster.pod_with("waiter", json!({}), ssd).await;
    assert_eq!(
        cluster.failed_scheduling("waiter").await,
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    );
    let labels = json!({ "metadata": { "labels": { "disk": "ssd" } } });
    cluster.patch_node("n1", labels).await;
    assert_eq!(cluster.bound("waiter").await, "n1");
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_node_takes_the_pod_anti_affinity_turned_away() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let apart = json!({ "affinity": { "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": { "matchLabels": { "app": "a" } },
            "topologyKey": "kubernetes.io/hostname" }] } } });
    cluster
        .pod_with("a-0", json!({ "app": "a" }), apart.clone())
        .await;
    assert_eq!(cluster.bound("a-0").await, "n1");
    cluster.pod_with("a-1", json!({ "app": "a" }), apart).await;
    assert_eq!(
        cluster.failed_scheduling("a-1").await,
        "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    );
    cluster.labeled_node("n2", json!({})).await;
    assert_eq!(cluster.bound("a-1").await, "n2");
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untainted_zone_takes_the_pod_spreading_turned_away() {
    let cluster = Cluster::start().await;
    let zone = "topology.kubernetes.io/zone";
    cluster.labeled_node("n1", json!({ zone: "a" })).await;
    let taint = json!([{ "key": "k", "value": "v", "effect": "NoSchedule" }]);
    cluster
        .node_from("n2", json!({ zone: "b" }), taint, default_allocatable())
        .await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let spread = json!({ "topologySpreadConstraints": [{
        "maxSkew": 1, "topologyKey": zone, "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": { "matchLabels": { "app": "s" } } }] });
    cluster
        .pod_with("s-0", json!({ "app": "s" }), spread.clone())
        .await;
    assert_eq!(cluster.bound("s-0").await, "n1");
    cluster.pod_with("s-1", json!({ "app": "s" }), spread).await;
    assert_eq!(
        cluster.failed_scheduling("s-1").await,
        "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 node(s) had untolerated taint {k: v}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
    );
    cluster
        .patch_node("n2", json!({ "spec": { "taints": null } }))
        .await;
    assert_eq!(cluster.bound("s-1").await, "n2");
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn uncordoning_lets_the_waiting_pod_in() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    cluster
        .patch_node("n1", json!({ "spec": { "unschedulable": true } }))
        .await;
    let scheduler = Scheduler::scoring_all(&cluster);
    cluster.pod_with("waiter", json!({}), json!({})).await;
    assert_eq!(
        cluster.failed_scheduling("waiter").await,
        "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    );
    // A pod tolerating the cordon goes there anyway.
    let tolerant = json!({ "tolerations": [{
        "key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule" }] });
    cluster.pod_with("tolerant", json!({}), tolerant).await;
    assert_eq!(cluster.bound("tolerant").await, "n1");
    assert_eq!(cluster.node_of("waiter").await, None);
    cluster
        .patch_node("n1", json!({ "spec": { "unschedulable": null } }))
        .await;
    assert_eq!(cluster.bound("waiter").await, "n1");
    scheduler.stop().await;
}

fn gates(names: &[&str]) -> Value {
    json!(
        names
            .iter()
            .map(|n| json!({ "name": n }))
            .collect::<Vec<_>>()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn gated_pods_wait_until_every_gate_is_removed() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let spec = json!({ "schedulingGates": gates(&["example.com/a", "example.com/b"]) });
    cluster.pod_with("gated", json!({}), spec).await;
    // Pods seen later are scheduled; the gated one is held back without a report.
    cluster.pod_with("after-0", json!({}), json!({})).await;
    assert_eq!(cluster.bound("after-0").await, "n1");
    assert_eq!(cluster.node_of("gated").await, None);
    assert!(!cluster.has_failed_scheduling("gated").await);
    let pods = cluster.pods();
    let conditions = pods.get("gated").await.unwrap().status.unwrap().conditions;
    let scheduled = conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "PodScheduled")
        .unwrap();
    assert_eq!(
        (
            scheduled.status.as_str(),
            scheduled.reason.as_deref(),
            scheduled.message.as_deref()
        ),
        (
            "False",
            Some("SchedulingGated"),
            Some("Scheduling is blocked due to non-empty scheduling gates")
        )
    );

    // Gates may only be removed after creation.
    let set_gates =
        |names: &[&str]| Patch::Merge(json!({ "spec": { "schedulingGates": gates(names) } }));
    let params = PatchParams::default();
    let added = pods
        .patch(
            "gated",
            &params,
            &set_gates(&["example.com/a", "example.com/b", "example.com/c"]),
        )
        .await;
    assert!(
        matches!(added, Err(kube::Error::Api(ref e)) if e.code == 422),
        "{added:?}"
    );
    let added = pods
        .patch("after-0", &params, &set_gates(&["example.com/a"]))
        .await;
    assert!(
        matches!(added, Err(kube::Error::Api(ref e)) if e.code == 422),
        "{added:?}"
    );

    // One gate left: still held back while a later pod is scheduled.
    pods.patch("gated", &params, &set_gates(&["example.com/b"]))
        .await
        .unwrap();
    cluster.pod_with("after-1", json!({}), json!({})).await;
    assert_eq!(cluster.bound("after-1").await, "n1");
    assert_eq!(cluster.node_of("gated").await, None);
    assert!(!cluster.has_failed_scheduling("gated").await);

    pods.patch(
        "gated",
        &params,
        &Patch::Merge(json!({ "spec": { "schedulingGates": null } })),
    )
    .await
    .unwrap();
    assert_eq!(cluster.bound("gated").await, "n1");
    let conditions = pods.get("gated").await.unwrap().status.unwrap().conditions;
    let scheduled = conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "PodScheduled");
    assert_eq!(
        scheduled.map(|c| (c.status, c.reason)),
        Some(("True".to_owned(), None))
    );
    scheduler.stop().await;
}

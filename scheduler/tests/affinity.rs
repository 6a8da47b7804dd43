//! InterPodAffinity against an in-process apiserver (no kubelet): required affinity and
//! anti-affinity, symmetry with existing pods' anti-affinity, namespaces and
//! namespaceSelector, preferred terms, and upstream's FailedScheduling notes.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Cluster, Scheduler};

const ZONE: &str = "topology.kubernetes.io/zone";
const HOST: &str = "kubernetes.io/hostname";

/// A pod affinity (`kind` = `podAffinity` or `podAntiAffinity`) with one required term.
fn required(kind: &str, labels: Value, topology: &str) -> Value {
    json!({ "affinity": { kind: {
        "requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": { "matchLabels": labels }, "topologyKey": topology }],
    }}})
}

fn on(node: &str) -> Value {
    json!({ "nodeSelector": { HOST: node } })
}

/// n1, n2 in zone a; n3 in zone b.
async fn two_zones(cluster: &Cluster) {
    for (node, zone) in [("n1", "a"), ("n2", "a"), ("n3", "b")] {
        cluster.labeled_node(node, json!({ ZONE: zone })).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn required_affinity_follows_the_matching_pod_and_self_affinity_starts() {
    let cluster = Cluster::start().await;
    two_zones(&cluster).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    cluster
        .pod_with("db", json!({ "app": "db" }), on("n3"))
        .await;
    assert_eq!(cluster.bound("db").await, "n3");
    let near_db = required("podAffinity", json!({ "app": "db" }), ZONE);
    cluster.pod_with("web", json!({}), near_db).await;
    assert_eq!(cluster.bound("web").await, "n3");

    // Nothing matches and the pod does not match its own term: unresolvable.
    let lonely = required("podAffinity", json!({ "app": "missing" }), ZONE);
    cluster.pod_with("lonely", json!({}), lonely).await;
    assert_eq!(
        cluster.failed_scheduling("lonely").await,
        "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );

    // The first pod of a self-affine group goes anywhere; the next ones join its zone.
    let group = required("podAffinity", json!({ "app": "group" }), ZONE);
    cluster
        .pod_with("group-0", json!({ "app": "group" }), group.clone())
        .await;
    let first = cluster.bound("group-0").await;
    let zone_of = |node: &str| if node == "n3" { "b" } else { "a" };
    for name in ["group-1", "group-2", "group-3"] {
        cluster
            .pod_with(name, json!({ "app": "group" }), group.clone())
            .await;
        let node = cluster.bound(name).await;
        assert_eq!(zone_of(&node), zone_of(&first), "{name} on {node}");
    }
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn required_anti_affinity_spreads_one_per_node_then_rejects() {
    let cluster = Cluster::start().await;
    two_zones(&cluster).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let apart = required("podAntiAffinity", json!({ "app": "spread" }), HOST);
    let names = ["s-0", "s-1", "s-2"];
    for name in names {
        cluster
            .pod_with(name, json!({ "app": "spread" }), apart.clone())
            .await;
    }
    let mut nodes = Vec::new();
    for name in names {
        nodes.push(cluster.bound(name).await);
    }
    nodes.sort();
    assert_eq!(nodes, ["n1", "n2", "n3"]);
    cluster
        .pod_with("s-3", json!({ "app": "spread" }), apart)
        .await;
    assert_eq!(
        cluster.failed_scheduling("s-3").await,
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_pods_anti_affinity_keeps_matching_pods_away() {
    let cluster = Cluster::start().await;
    two_zones(&cluster).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    // The guard on n1 wants no `app: intruder` in its zone (a).
    let mut guard = required("podAntiAffinity", json!({ "app": "intruder" }), ZONE);
    guard["nodeSelector"] = json!({ HOST: "n1" });
    cluster.pod_with("guard", json!({}), guard).await;
    assert_eq!(cluster.bound("guard").await, "n1");
    for name in ["intruder-0", "intruder-1"] {
        cluster
            .pod_with(name, json!({ "app": "intruder" }), json!({}))
            .await;
        assert_eq!(cluster.bound(name).await, "n3", "{name}");
    }
    // Other pods are not affected.
    cluster
        .pod_with("friend", json!({ "app": "friend" }), on("n1"))
        .await;
    assert_eq!(cluster.bound("friend").await, "n1");
    cluster
        .pod_with("intruder-n2", json!({ "app": "intruder" }), on("n2"))
        .await;
    assert_eq!(
        cluster.failed_scheduling("intruder-n2").await,
        "0/3 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
    );
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn affinity_terms_see_the_namespaces_they_name() {
    let cluster = Cluster::start().await;
    two_zones(&cluster).await;
    cluster.namespace("other", json!({ "team": "blue" })).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    cluster
        .pod_in("other", "target", json!({ "app": "t" }), on("n2"))
        .await;
    assert_eq!(cluster.bound_in("other", "target").await, "n2");
    let term = |extra: Value| {
        let mut term =
            json!({ "labelSelector": { "matchLabels": { "app": "t" } }, "topologyKey": HOST });
        term.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "affinity": { "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term] } } })
    };
    // (pod, extra term fields, node it must land on)
    let cases = [
        ("by-name", json!({ "namespaces": ["other"] }), "n2"),
        (
            "by-label",
            json!({ "namespaceSelector": { "matchLabels": { "team": "blue" } } }),
            "n2",
        ),
        ("all-namespaces", json!({ "namespaceSelector": {} }), "n2"),
    ];
    for (name, extra, _) in &cases {
        cluster.pod_with(name, json!({}), term(extra.clone())).await;
    }
    for (name, _, node) in &cases {
        assert_eq!(cluster.bound(name).await, *node, "{name}");
    }
    // Without namespaces the term looks in the pod's own namespace only.
    let blind = [
        ("own-namespace", json!({})),
        (
            "other-team",
            json!({ "namespaceSelector": { "matchLabels": { "team": "red" } } }),
        ),
    ];
    for (name, extra) in &blind {
        cluster.pod_with(name, json!({}), term(extra.clone())).await;
    }
    for (name, _) in &blind {
        assert_eq!(
            cluster.failed_scheduling(name).await,
            "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
            "{name}"
        );
    }
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn preferred_affinity_and_anti_affinity_outweigh_free_capacity() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    cluster.labeled_node("n2", json!({})).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let busy = |cpu: &str, node: &str| {
        json!({ "nodeSelector": { HOST: node }, "containers": [{ "name": "c", "image": "busybox",
            "resources": { "requests": { "cpu": cpu, "memory": "4Gi" } } }] })
    };
    // n1 carries the magnet and most of the load; n2 the (light) loner.
    cluster
        .pod_with("magnet", json!({ "app": "magnet" }), busy("1500m", "n1"))
        .await;
    cluster
        .pod_with("loner", json!({ "app": "loner" }), busy("10m", "n2"))
        .await;
    assert_eq!(cluster.bound("magnet").await, "n1");
    assert_eq!(cluster.bound("loner").await, "n2");
    let preferred = |kind: &str, app: &str| {
        json!({ "affinity": { kind: { "preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100, "podAffinityTerm": {
                "labelSelector": { "matchLabels": { "app": app } }, "topologyKey": HOST } }] } } })
    };
    cluster
        .pod_with("follower", json!({}), preferred("podAffinity", "magnet"))
        .await;
    assert_eq!(cluster.bound("follower").await, "n1");
    cluster
        .pod_with("shy", json!({}), preferred("podAntiAffinity", "loner"))
        .await;
    assert_eq!(cluster.bound("shy").await, "n1");
    // Without preferences the free capacity decides.
    cluster.pod_with("plain", json!({}), json!({})).await;
    assert_eq!(cluster.bound("plain").await, "n2");
    scheduler.stop().await;
}

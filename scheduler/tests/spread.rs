//! PodTopologySpread against an in-process apiserver (no kubelet): DoNotSchedule keeps
//! zones within maxSkew, ScheduleAnyway steers, minDomains, nodeAffinityPolicy and
//! nodeTaintsPolicy, and upstream's FailedScheduling notes.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::{Cluster, Scheduler, default_allocatable};

const ZONE: &str = "topology.kubernetes.io/zone";

/// A spread over zones of the pods labelled `app`, with extra constraint fields.
fn spread(app: &str, extra: Value) -> Value {
    let mut constraint = json!({
        "maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": { "matchLabels": { "app": app } },
    });
    for (k, v) in extra.as_object().unwrap() {
        constraint[k] = v.clone();
    }
    json!({ "topologySpreadConstraints": [constraint] })
}

/// Pods per zone of the given pods' nodes (`zone_of` maps node → zone).
async fn zones(
    cluster: &Cluster,
    names: &[String],
    zone_of: fn(&str) -> &'static str,
) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for name in names {
        *counts
            .entry(zone_of(&cluster.bound(name).await))
            .or_default() += 1;
    }
    counts
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// n1, n2 in zone a; n3 in b; n4 in c.
fn zone_of_four(node: &str) -> &'static str {
    match node {
        "n1" | "n2" => "a",
        "n3" => "b",
        _ => "c",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn do_not_schedule_keeps_zones_within_max_skew() {
    let cluster = Cluster::start().await;
    for node in ["n1", "n2", "n3", "n4"] {
        cluster
            .labeled_node(node, json!({ ZONE: zone_of_four(node) }))
            .await;
    }
    let scheduler = Scheduler::scoring_all(&cluster);
    let spread_pods = names("s", 6);
    for name in &spread_pods {
        cluster
            .pod_with(name, json!({ "app": "s" }), spread("s", json!({})))
            .await;
    }
    let counts = zones(&cluster, &spread_pods, zone_of_four).await;
    assert_eq!(counts, BTreeMap::from([("a", 2), ("b", 2), ("c", 2)]));

    // Two more matching pods (without the constraint) pinned to zone a: a=4, b=2, c=2.
    let pinned = json!({ "nodeSelector": { ZONE: "a" } });
    for name in ["extra-0", "extra-1"] {
        cluster
            .pod_with(name, json!({ "app": "s" }), pinned.clone())
            .await;
        assert_eq!(zone_of_four(&cluster.bound(name).await), "a");
    }
    // Honor (the default): only zone a counts for a pod restricted to it, so it fits.
    let mut honor = spread("s", json!({}));
    honor["nodeSelector"] = json!({ ZONE: "a" });
    cluster
        .pod_with("honor", json!({ "app": "s" }), honor)
        .await;
    assert_eq!(zone_of_four(&cluster.bound("honor").await), "a");
    // Ignore: zones b and c count too, and zone a is 3 over them.
    let mut ignore = spread("s", json!({ "nodeAffinityPolicy": "Ignore" }));
    ignore["nodeSelector"] = json!({ ZONE: "a" });
    cluster
        .pod_with("ignore", json!({ "app": "s" }), ignore)
        .await;
    assert_eq!(
        cluster.failed_scheduling("ignore").await,
        "0/4 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't match pod topology spread constraints. preemption: 0/4 nodes are available: 2 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
    );

    // A node without the topology key cannot take a constrained pod.
    cluster.labeled_node("bare", json!({})).await;
    let mut bare = spread("s", json!({}));
    bare["nodeSelector"] = json!({ "kubernetes.io/hostname": "bare" });
    cluster
        .pod_with("bare-pod", json!({ "app": "s" }), bare)
        .await;
    assert_eq!(
        cluster.failed_scheduling("bare-pod").await,
        "0/5 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label), 4 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
    );
    scheduler.stop().await;
}

/// m1 in zone a, m2 in b (with a 2-cpu pod on it), m3 in c tainted `k=v:NoSchedule`.
async fn tainted_zone(cluster: &Cluster) {
    cluster.labeled_node("m1", json!({ ZONE: "a" })).await;
    cluster.labeled_node("m2", json!({ ZONE: "b" })).await;
    let taint = json!([{ "key": "k", "value": "v", "effect": "NoSchedule" }]);
    cluster
        .node_from("m3", json!({ ZONE: "c" }), taint, default_allocatable())
        .await;
}

fn zone_of_three(node: &str) -> &'static str {
    match node {
        "m1" => "a",
        "m2" => "b",
        _ => "c",
    }
}

const TAINTED_ZONE_FULL: &str = "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 node(s) didn't match pod topology spread constraints. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.";

#[tokio::test(flavor = "multi_thread")]
async fn node_taints_policy_and_min_domains() {
    let cluster = Cluster::start().await;
    tainted_zone(&cluster).await;
    let scheduler = Scheduler::scoring_all(&cluster);

    // Honor: the tainted zone is no domain, so a and b take two pods each.
    let honored = names("honor", 4);
    for name in &honored {
        let spec = spread("honor", json!({ "nodeTaintsPolicy": "Honor" }));
        cluster
            .pod_with(name, json!({ "app": "honor" }), spec)
            .await;
    }
    let counts = zones(&cluster, &honored, zone_of_three).await;
    assert_eq!(counts, BTreeMap::from([("a", 2), ("b", 2)]));

    // Ignore (the default): the empty tainted zone holds the minimum at 0.
    let ignored = names("ignore", 2);
    for name in &ignored {
        cluster
            .pod_with(
                name,
                json!({ "app": "ignore" }),
                spread("ignore", json!({})),
            )
            .await;
    }
    let counts = zones(&cluster, &ignored, zone_of_three).await;
    assert_eq!(counts, BTreeMap::from([("a", 1), ("b", 1)]));
    cluster
        .pod_with(
            "ignore-2",
            json!({ "app": "ignore" }),
            spread("ignore", json!({})),
        )
        .await;
    assert_eq!(
        cluster.failed_scheduling("ignore-2").await,
        TAINTED_ZONE_FULL
    );

    // minDomains 3 with two eligible zones: the global minimum counts as 0.
    let min_domains = spread(
        "md",
        json!({ "nodeTaintsPolicy": "Honor", "minDomains": 3 }),
    );
    let placed = names("md", 2);
    for name in &placed {
        cluster
            .pod_with(name, json!({ "app": "md" }), min_domains.clone())
            .await;
    }
    let counts = zones(&cluster, &placed, zone_of_three).await;
    assert_eq!(counts, BTreeMap::from([("a", 1), ("b", 1)]));
    cluster
        .pod_with("md-2", json!({ "app": "md" }), min_domains)
        .await;
    assert_eq!(cluster.failed_scheduling("md-2").await, TAINTED_ZONE_FULL);
    // The same pod without minDomains fits (minimum 1).
    let spec = spread("md", json!({ "nodeTaintsPolicy": "Honor" }));
    cluster.pod_with("md-3", json!({ "app": "md" }), spec).await;
    assert!(["m1", "m2"].contains(&cluster.bound("md-3").await.as_str()));
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn schedule_anyway_steers_against_free_capacity() {
    let cluster = Cluster::start().await;
    tainted_zone(&cluster).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    // m2 carries an unrelated 2-cpu pod, so free capacity alone favours m1.
    let heavy = json!({ "nodeSelector": { "kubernetes.io/hostname": "m2" }, "containers": [{
        "name": "c", "image": "busybox", "resources": { "requests": { "cpu": "2", "memory": "8Gi" } } }] });
    cluster.pod_with("heavy", json!({}), heavy).await;
    assert_eq!(cluster.bound("heavy").await, "m2");
    let anyway = spread(
        "sa",
        json!({ "whenUnsatisfiable": "ScheduleAnyway", "nodeTaintsPolicy": "Honor" }),
    );
    let steered = names("sa", 4);
    for name in &steered {
        cluster
            .pod_with(name, json!({ "app": "sa" }), anyway.clone())
            .await;
        cluster.bound(name).await;
    }
    let counts = zones(&cluster, &steered, zone_of_three).await;
    assert_eq!(counts, BTreeMap::from([("a", 2), ("b", 2)]));
    // An unsatisfiable skew is only a preference: pinned to zone a, it still schedules.
    let mut pinned = anyway;
    pinned["nodeSelector"] = json!({ ZONE: "a" });
    for name in ["pinned-0", "pinned-1"] {
        cluster
            .pod_with(name, json!({ "app": "sa" }), pinned.clone())
            .await;
        assert_eq!(cluster.bound(name).await, "m1");
    }
    scheduler.stop().await;
}

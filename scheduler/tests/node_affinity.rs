//! NodeAffinity and TaintToleration against an in-process apiserver (no kubelet): every
//! selector form places its pod on the one matching node, preferred terms pick the
//! heavier-weighted node, and unschedulable pods get upstream's FailedScheduling note.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Cluster, Scheduler, default_allocatable};

/// `0/3` nodes rejected by NodeAffinity alone (unresolvable, so preemption does not help).
const NO_NODE_MATCHES: &str = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";

fn required(expressions: Value) -> Value {
    json!({ "affinity": { "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{ "matchExpressions": expressions }] },
    }}})
}

/// n1 {zone a, size 3, gpu}, n2 {zone b, size 8}, n3 {zone c}.
async fn three_nodes(cluster: &Cluster) {
    let zone = "topology.kubernetes.io/zone";
    cluster
        .labeled_node("n1", json!({ zone: "a", "size": "3", "gpu": "true" }))
        .await;
    cluster
        .labeled_node("n2", json!({ zone: "b", "size": "8" }))
        .await;
    cluster.labeled_node("n3", json!({ zone: "c" })).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn required_node_affinity_forms_pick_the_matching_node() {
    let cluster = Cluster::start().await;
    three_nodes(&cluster).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let zone = "topology.kubernetes.io/zone";
    // (pod, spec, node it must land on)
    let cases = [
        ("selector", json!({ "nodeSelector": { zone: "b" } }), "n2"),
        (
            "in",
            required(json!([{ "key": zone, "operator": "In", "values": ["a"] }])),
            "n1",
        ),
        (
            "not-in",
            required(json!([{ "key": zone, "operator": "NotIn", "values": ["a", "b"] }])),
            "n3",
        ),
        (
            "exists",
            required(json!([{ "key": "gpu", "operator": "Exists" }])),
            "n1",
        ),
        (
            "does-not-exist",
            required(json!([{ "key": "size", "operator": "DoesNotExist" }])),
            "n3",
        ),
        (
            "gt",
            required(json!([{ "key": "size", "operator": "Gt", "values": ["5"] }])),
            "n2",
        ),
        (
            "lt",
            required(json!([{ "key": "size", "operator": "Lt", "values": ["5"] }])),
            "n1",
        ),
        (
            "fields",
            json!({ "affinity": { "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": [{
                    "matchFields": [{ "key": "metadata.name", "operator": "In", "values": ["n3"] }],
                }]},
            }}}),
            "n3",
        ),
        (
            "second-term",
            json!({ "affinity": { "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": [
                    { "matchExpressions": [{ "key": zone, "operator": "In", "values": ["x"] }] },
                    { "matchExpressions": [{ "key": zone, "operator": "In", "values": ["c"] }] },
                ]},
            }}}),
            "n3",
        ),
        (
            "selector-and-affinity",
            {
                let mut spec = required(json!([{ "key": "size", "operator": "Exists" }]));
                spec["nodeSelector"] = json!({ zone: "b" });
                spec
            },
            "n2",
        ),
    ];
    for (name, spec, _) in &cases {
        cluster.pod_with(name, json!({}), spec.clone()).await;
    }
    for (name, _, node) in &cases {
        assert_eq!(cluster.bound(name).await, *node, "{name}");
    }

    let unmatched = [
        ("no-zone", json!({ "nodeSelector": { zone: "z" } })),
        (
            "gt-too-big",
            required(json!([{ "key": "size", "operator": "Gt", "values": ["8"] }])),
        ),
    ];
    for (name, spec) in &unmatched {
        cluster.pod_with(name, json!({}), spec.clone()).await;
    }
    for (name, _) in &unmatched {
        assert_eq!(cluster.failed_scheduling(name).await, NO_NODE_MATCHES);
        assert_eq!(cluster.node_of(name).await, None);
    }
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn preferred_terms_pick_the_heavier_weighted_node() {
    let cluster = Cluster::start().await;
    three_nodes(&cluster).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let zone = "topology.kubernetes.io/zone";
    let term = |weight: i32, key: &str, values: Value| {
        json!({ "weight": weight, "preference": { "matchExpressions": [
            { "key": key, "operator": "In", "values": values }] } })
    };
    // (pod, preferred terms, node it must land on)
    let cases = [
        (
            "heavier-b",
            vec![term(10, zone, json!(["a"])), term(50, zone, json!(["b"]))],
            "n2",
        ),
        (
            "heavier-a",
            vec![term(50, zone, json!(["a"])), term(10, zone, json!(["b"]))],
            "n1",
        ),
        // n1 matches two terms (30 + 30) and beats n2's single 50.
        (
            "summed",
            vec![
                term(30, zone, json!(["a"])),
                term(30, "gpu", json!(["true"])),
                term(50, zone, json!(["b"])),
            ],
            "n1",
        ),
        ("only-c", vec![term(1, zone, json!(["c"]))], "n3"),
    ];
    for (name, terms, node) in cases {
        let spec = json!({ "affinity": { "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": terms } } });
        cluster.pod_with(name, json!({}), spec).await;
        assert_eq!(cluster.bound(name).await, node, "{name}");
    }
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn taints_and_tolerations() {
    let cluster = Cluster::start().await;
    let taint = |key: &str, value: &str, effect: &str| json!([{ "key": key, "value": value, "effect": effect }]);
    let alloc = default_allocatable;
    cluster
        .node_from(
            "gpu",
            json!({}),
            taint("dedicated", "gpu", "NoSchedule"),
            alloc(),
        )
        .await;
    cluster
        .node_from("maint", json!({}), taint("maint", "", "NoExecute"), alloc())
        .await;
    cluster
        .node_from(
            "spot",
            json!({}),
            taint("spot", "true", "PreferNoSchedule"),
            alloc(),
        )
        .await;
    cluster.labeled_node("plain", json!({})).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let on = |node: &str, tolerations: Value| json!({ "nodeSelector": { "kubernetes.io/hostname": node }, "tolerations": tolerations });
    // (pod, spec, node it must land on)
    let cases = [
        (
            "equal",
            on(
                "gpu",
                json!([{ "key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule" }]),
            ),
            "gpu",
        ),
        (
            "exists",
            on("gpu", json!([{ "key": "dedicated", "operator": "Exists" }])),
            "gpu",
        ),
        ("all", on("gpu", json!([{ "operator": "Exists" }])), "gpu"),
        (
            "no-execute",
            on(
                "maint",
                json!([{ "key": "maint", "operator": "Exists", "effect": "NoExecute" }]),
            ),
            "maint",
        ),
        // PreferNoSchedule only steers: the pod may still go there when it must.
        ("spot-forced", on("spot", json!([])), "spot"),
        // Unconstrained pods prefer the untainted node over the PreferNoSchedule one.
        ("free-1", json!({}), "plain"),
        ("free-2", json!({}), "plain"),
        ("free-3", json!({}), "plain"),
    ];
    for (name, spec, _) in &cases {
        cluster.pod_with(name, json!({}), spec.clone()).await;
    }
    for (name, _, node) in &cases {
        assert_eq!(cluster.bound(name).await, *node, "{name}");
    }

    // Both nodes with hard taints reject, whichever of them the pod is restricted to.
    let untolerated = "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {maint: }, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.";
    let rejected = [
        (
            "wrong-value",
            on(
                "gpu",
                json!([{ "key": "dedicated", "value": "cpu", "effect": "NoSchedule" }]),
            ),
        ),
        (
            "wrong-effect",
            on(
                "gpu",
                json!([{ "key": "dedicated", "operator": "Exists", "effect": "NoExecute" }]),
            ),
        ),
        ("untolerated", on("maint", json!([]))),
    ];
    for (name, spec) in &rejected {
        cluster.pod_with(name, json!({}), spec.clone()).await;
    }
    for (name, _) in &rejected {
        assert_eq!(cluster.failed_scheduling(name).await, untolerated, "{name}");
    }
    scheduler.stop().await;
}

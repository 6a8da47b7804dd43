//! Table tests for InterPodAffinity.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::*;
use crate::plugins::Code;

fn node(name: &str, zone: &str) -> NodeInfo {
    let n: Node = serde_json::from_value(json!({"metadata": {"name": name,
        "labels": {"kubernetes.io/hostname": name, "zone": zone}}}))
    .unwrap();
    NodeInfo::new(Arc::new(n))
}

fn pod(name: &str, ns: &str, labels: Value, affinity: Value) -> Arc<PodInfo> {
    let p: Pod = serde_json::from_value(
        json!({"metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [], "affinity": affinity}}),
    )
    .unwrap();
    Arc::new(PodInfo::new(Arc::new(p)))
}

fn term(app: &str, key: &str) -> Value {
    json!({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key})
}

fn no_ns(_: &str) -> Option<Labels> {
    None
}

/// Three nodes: n1 and n2 in zone a, n3 in zone b; a `db` pod on n1.
fn cluster(existing: Arc<PodInfo>) -> Vec<NodeInfo> {
    let mut nodes = vec![node("n1", "a"), node("n2", "a"), node("n3", "b")];
    nodes[0].add_pod(existing);
    nodes
}

fn codes(pod: &PodInfo, nodes: &[NodeInfo]) -> Vec<(Code, Vec<String>)> {
    let state = pre_filter(pod, nodes, &no_ns);
    nodes
        .iter()
        .map(|n| {
            let s = filter(&state, pod, n, &no_ns);
            (s.code, s.reasons)
        })
        .collect()
}

fn ok() -> (Code, Vec<String>) {
    (Code::Success, vec![])
}

#[test]
fn required_affinity_follows_the_zone() {
    let db = pod("db", "default", json!({"app": "db"}), json!({}));
    let web = pod(
        "web",
        "default",
        json!({"app": "web"}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("db", "zone")]}}),
    );
    let no = (
        Code::UnschedulableAndUnresolvable,
        vec![AFFINITY.to_owned()],
    );
    assert_eq!(
        codes(&web, &cluster(db.clone())),
        vec![ok(), ok(), no.clone()]
    );
    // Another namespace's db does not count; nor does a term on a missing key.
    let other = pod("db", "prod", json!({"app": "db"}), json!({}));
    assert_eq!(
        codes(&web, &cluster(other)),
        vec![no.clone(), no.clone(), no.clone()]
    );
    let missing_key = pod(
        "web",
        "default",
        json!({"app": "web"}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("db", "rack")]}}),
    );
    assert_eq!(
        codes(&missing_key, &cluster(db)),
        vec![no.clone(), no.clone(), no]
    );
}

#[test]
fn the_first_pod_of_a_self_affine_group_goes_anywhere() {
    let unrelated = pod("x", "default", json!({"app": "x"}), json!({}));
    let first = pod(
        "w1",
        "default",
        json!({"app": "web"}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "zone")]}}),
    );
    assert_eq!(codes(&first, &cluster(unrelated)), vec![ok(), ok(), ok()]);
}

#[test]
fn anti_affinity_both_ways() {
    let db = pod(
        "db",
        "default",
        json!({"app": "db"}),
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "kubernetes.io/hostname")]}}),
    );
    // The incoming pod's own anti-affinity: not in db's zone.
    let web = pod(
        "web",
        "default",
        json!({"app": "other"}),
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("db", "zone")]}}),
    );
    let anti = (Code::Unschedulable, vec![ANTI_AFFINITY.to_owned()]);
    assert_eq!(
        codes(&web, &cluster(db.clone())),
        vec![anti.clone(), anti, ok()]
    );
    // Symmetry: db refuses `app: web` pods on its host only.
    let plain_web = pod("w", "default", json!({"app": "web"}), json!({}));
    let existing = (Code::Unschedulable, vec![EXISTING_ANTI_AFFINITY.to_owned()]);
    assert_eq!(codes(&plain_web, &cluster(db)), vec![existing, ok(), ok()]);
}

#[test]
fn namespace_selectors() {
    let db = pod("db", "prod", json!({"app": "db"}), json!({}));
    let mut t = term("db", "zone");
    t["namespaceSelector"] = json!({"matchLabels": {"env": "prod"}});
    let web = pod(
        "web",
        "default",
        json!({}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [t]}}),
    );
    let ns = |n: &str| (n == "prod").then(|| [("env".to_owned(), "prod".to_owned())].into());
    let nodes = cluster(db);
    let state = pre_filter(&web, &nodes, &ns);
    let got: Vec<bool> = nodes
        .iter()
        .map(|n| filter(&state, &web, n, &ns).is_success())
        .collect();
    assert_eq!(got, [true, true, false]);
}

#[test]
fn preferred_terms_score_by_topology() {
    let db = pod(
        "db",
        "default",
        json!({"app": "db"}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "kubernetes.io/hostname")]}}),
    );
    let web = pod(
        "web",
        "default",
        json!({"app": "web"}),
        json!({
            "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "podAffinityTerm": term("db", "zone")}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 4, "podAffinityTerm": term("db", "kubernetes.io/hostname")}]}
        }),
    );
    let nodes = cluster(db);
    // n1: +10 (zone a) -4 (same host) +1 (db's required affinity to web, hard weight 1);
    // n2: +10; n3: 0.
    let mut s = scores(&web, &nodes, &no_ns, 1, false);
    assert_eq!(s, [7, 10, 0]);
    normalize(&mut s);
    assert_eq!(s, [70, 100, 0]);
    assert_eq!(scores(&web, &nodes, &no_ns, 0, false), [6, 10, 0]);
    let mut same = vec![5, 5];
    normalize(&mut same);
    assert_eq!(same, [0, 0]);
}

#[test]
fn pods_without_terms_only_meet_placed_pods_that_have_terms() {
    let plain = |name: &str| pod(name, "default", json!({"app": "web"}), Value::Null);
    let mut nodes = cluster(plain("a"));
    nodes[1].add_pod(plain("b"));
    let web = plain("web");
    // Nobody has terms: nothing to score, nothing to count.
    assert!(scores(&web, &nodes, &no_ns, 1, false).is_empty());
    let state = pre_filter(&web, &nodes, &no_ns);
    assert!(state.existing_anti.is_empty() && state.affinity.is_empty());
    // A placed pod preferring `app: web` in its zone is found through the index, and
    // its required anti-affinity still keeps `web` off its host.
    let fan = pod(
        "fan",
        "default",
        json!({"app": "fan"}),
        json!({
            "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 3, "podAffinityTerm": term("web", "zone")}]},
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "kubernetes.io/hostname")]}
        }),
    );
    nodes[2].add_pod(Arc::clone(&fan));
    assert_eq!(nodes[2].pods_with_affinity.len(), 1);
    assert_eq!(scores(&web, &nodes, &no_ns, 1, false), [0, 0, 3]);
    let blocked = codes(&web, &nodes);
    assert_eq!(blocked[2].1, [EXISTING_ANTI_AFFINITY]);
    assert!(nodes[2].remove_pod("default/fan"));
    assert!(nodes[2].pods_with_affinity.is_empty());
    assert!(nodes[2].pods_with_required_anti_affinity.is_empty());
    assert!(scores(&web, &nodes, &no_ns, 1, false).is_empty());
}

/// The nodes remember counts between cycles: answers must follow the incoming pod's
/// labels and namespace, and the node's pods, through the same snapshot.
#[test]
fn remembered_counts_follow_the_pod_and_the_node() {
    let anti = |app: &str, key: &str| json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(app, key)]}});
    let guard = pod(
        "guard",
        "default",
        json!({"app": "guard"}),
        anti("web", "zone"),
    );
    let mut nodes = cluster(guard);
    let web = pod("web", "default", json!({"app": "web"}), json!({}));
    let api = pod("api", "default", json!({"app": "api"}), json!({}));
    let web_elsewhere = pod("web", "prod", json!({"app": "web"}), json!({}));
    // The guard's anti-affinity to web over the zone keeps web out of zone a (n1, n2).
    let no = (Code::Unschedulable, vec![EXISTING_ANTI_AFFINITY.to_owned()]);
    let mut seen = vec![
        codes(&web, &nodes),
        codes(&api, &nodes),
        codes(&web_elsewhere, &nodes),
        codes(&web, &nodes),
    ];
    // Without the guard, web may go anywhere; with a second guard on the hostname, it
    // may not go to that node.
    nodes[0].remove_pod("default/guard");
    seen.push(codes(&web, &nodes));
    nodes[2].add_pod(pod(
        "guard2",
        "default",
        json!({"app": "g"}),
        anti("web", "kubernetes.io/hostname"),
    ));
    seen.push(codes(&web, &nodes));
    // An own anti-affinity term counts the node's pods again after they change.
    let lonely = pod(
        "lonely",
        "default",
        json!({"app": "x"}),
        anti("g", "kubernetes.io/hostname"),
    );
    seen.push(codes(&lonely, &nodes));
    nodes[2].remove_pod("default/guard2");
    seen.push(codes(&lonely, &nodes));
    let anti_no = (Code::Unschedulable, vec![ANTI_AFFINITY.to_owned()]);
    assert_eq!(
        seen,
        vec![
            vec![no.clone(), no.clone(), ok()],
            vec![ok(), ok(), ok()],
            vec![ok(), ok(), ok()],
            vec![no.clone(), no.clone(), ok()],
            vec![ok(), ok(), ok()],
            vec![ok(), ok(), no.clone()],
            vec![ok(), ok(), anti_no],
            vec![ok(), ok(), ok()],
        ]
    );
}

//! Table tests for PodTopologySpread filtering.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::*;
use crate::config::DefaultConstraint;
use crate::plugins::pod_topology_spread_score::WorkloadSelectors;

fn node(name: &str, labels: Value) -> NodeInfo {
    let n: Node =
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap();
    NodeInfo::new(Arc::new(n))
}

fn pod(name: &str, labels: Value, spec: Value) -> Arc<PodInfo> {
    let mut spec = spec;
    spec["containers"] = json!([]);
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default",
        "labels": labels}, "spec": spec}))
    .unwrap();
    Arc::new(PodInfo::new(Arc::new(p)))
}

fn spread(max_skew: i32, key: &str, extra: Value) -> Value {
    let mut c = json!({"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}}});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    json!({"topologySpreadConstraints": [c]})
}

/// Zones a (n1, n2) and b (n3); `web` pods: two on n1, one on n3; n4 has no zone.
fn cluster() -> Vec<NodeInfo> {
    let mut nodes = vec![
        node("n1", json!({"zone": "a"})),
        node("n2", json!({"zone": "a"})),
        node("n3", json!({"zone": "b", "disk": "ssd"})),
        node("n4", json!({})),
    ];
    for (i, n) in [(0, "w1"), (0, "w2"), (2, "w3")] {
        nodes[i].add_pod(pod(n, json!({"app": "web"}), json!({})));
    }
    nodes[1].add_pod(pod("other", json!({"app": "db"}), json!({})));
    nodes
}

fn results(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<&'static str> {
    let workloads = WorkloadSelectors::default();
    let defaults = Defaults {
        constraints: &[],
        system: false,
        workloads: &workloads,
    };
    results_with(p, nodes, &defaults)
}

fn results_with(p: &PodInfo, nodes: &[NodeInfo], defaults: &Defaults<'_>) -> Vec<&'static str> {
    let state = pre_filter(p, nodes, defaults);
    nodes
        .iter()
        .map(|n| {
            let s = filter(&state, n);
            match s.reasons.first().map(String::as_str) {
                None => "ok",
                Some(NOT_MATCH) => "skew",
                Some(MISSING_LABEL) => "label",
                Some(_) => "other",
            }
        })
        .collect()
}

#[test]
fn skew_per_zone() {
    let nodes = cluster();
    // a has 2, b has 1: a new web pod fits only in b with maxSkew 1.
    let web = pod("new", json!({"app": "web"}), spread(1, "zone", json!({})));
    assert_eq!(results(&web, &nodes), ["skew", "skew", "ok", "label"]);
    // maxSkew 2 allows zone a too.
    let loose = pod("new", json!({"app": "web"}), spread(2, "zone", json!({})));
    assert_eq!(results(&loose, &nodes), ["ok", "ok", "ok", "label"]);
    // A pod not matching its own selector does not add itself.
    let other = pod("new", json!({"app": "x"}), spread(1, "zone", json!({})));
    assert_eq!(results(&other, &nodes), ["ok", "ok", "ok", "label"]);
    // ScheduleAnyway constraints do not filter.
    let soft = pod(
        "new",
        json!({"app": "web"}),
        spread(1, "zone", json!({"whenUnsatisfiable": "ScheduleAnyway"})),
    );
    assert_eq!(results(&soft, &nodes), ["ok", "ok", "ok", "ok"]);
}

#[test]
fn per_host_and_min_domains() {
    let nodes = cluster();
    let host = |extra: Value| {
        pod(
            "new",
            json!({"app": "web"}),
            spread(1, "kubernetes.io/hostname", extra),
        )
    };
    let mut labelled = nodes.clone();
    for n in &mut labelled {
        let mut node = (*n.node).clone();
        node.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("kubernetes.io/hostname".to_owned(), n.name.clone());
        n.set_node(Arc::new(node));
    }
    // Counts per host: n1 2, n2 0, n3 1, n4 0 → minimum 0.
    assert_eq!(
        results(&host(json!({})), &labelled),
        ["skew", "ok", "skew", "ok"]
    );
    // minDomains 5 > 4 domains: the minimum counts as 0 anyway; with maxSkew 3 n1 fits.
    let many = pod(
        "new",
        json!({"app": "web"}),
        spread(3, "zone", json!({"minDomains": 5})),
    );
    assert_eq!(results(&many, &nodes), ["ok", "ok", "ok", "label"]);
    let few = pod(
        "new",
        json!({"app": "web"}),
        spread(2, "zone", json!({"minDomains": 3})),
    );
    // Only 2 zones: minimum 0, so zone a (2 + 1 - 0 = 3) is too skewed.
    assert_eq!(results(&few, &nodes), ["skew", "skew", "ok", "label"]);
}

#[test]
fn node_inclusion_policies() {
    let nodes = cluster();
    // With node affinity honoured, only zone b (disk=ssd) is eligible: min = 1, so b fits.
    let mut spec = spread(1, "zone", json!({}));
    spec["nodeSelector"] = json!({"disk": "ssd"});
    let honoured = pod("new", json!({"app": "web"}), spec.clone());
    assert_eq!(results(&honoured, &nodes)[2], "ok");
    // Ignored: zone a (2) counts as a domain again; the minimum stays 1, so n3 fits.
    let mut ignore = spread(1, "zone", json!({"nodeAffinityPolicy": "Ignore"}));
    ignore["nodeSelector"] = json!({"disk": "ssd"});
    let ignored = pod("new", json!({"app": "web"}), ignore);
    assert_eq!(results(&ignored, &nodes)[2], "ok");
    let mut tight = spread(0, "zone", json!({}));
    tight["nodeSelector"] = json!({"disk": "ssd"});
    let p = pod("new", json!({"app": "web"}), tight);
    // Only b eligible (count 1 = min): 1 + 1 - 1 = 1 > 0.
    assert_eq!(results(&p, &nodes)[2], "skew");
}

/// `DoNotSchedule` cluster defaults (a `List`) filter pods without constraints of their
/// own, counting with the selector of the Service that selects the pod.
#[test]
fn hard_default_constraints() {
    let nodes = cluster();
    let list = [DefaultConstraint {
        max_skew: 1,
        topology_key: "zone".to_owned(),
        when_unsatisfiable: "DoNotSchedule".to_owned(),
    }];
    let mut workloads = WorkloadSelectors::default();
    let with = |w: &WorkloadSelectors, p: &PodInfo| {
        let defaults = Defaults {
            constraints: &list,
            system: false,
            workloads: w,
        };
        results_with(p, &nodes, &defaults)
    };
    let plain = pod("new", json!({"app": "web"}), json!({}));
    // No Service selects the pod: no default selector, no constraint.
    assert_eq!(with(&workloads, &plain), ["ok", "ok", "ok", "ok"]);
    let svc = [("app".to_owned(), "web".to_owned())].into_iter().collect();
    workloads
        .services
        .insert(("default".to_owned(), "web".to_owned()), svc);
    // Zone a has 2 web pods, b 1: as a pod's own maxSkew 1 constraint would.
    assert_eq!(with(&workloads, &plain), ["skew", "skew", "ok", "label"]);
    // A pod with a constraint of its own (even a soft one) does not take the defaults.
    let soft = pod(
        "new",
        json!({"app": "web"}),
        spread(1, "zone", json!({"whenUnsatisfiable": "ScheduleAnyway"})),
    );
    assert_eq!(with(&workloads, &soft), ["ok", "ok", "ok", "ok"]);
}

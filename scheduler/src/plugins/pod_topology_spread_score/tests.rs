//! Table tests for PodTopologySpread scoring, the cases and expected scores of upstream's
//! `TestPodTopologySpreadScore` (v1.33), the System and own-constraint defaults, and the cycle.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::*;
use crate::config::PodTopologySpreadArgs;

const H: &str = HOSTNAME_KEY;

fn node(name: &str, labels: &[(&str, &str)]) -> NodeInfo {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let n: Node =
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap();
    NodeInfo::new(Arc::new(n))
}

fn pod_with(name: &str, ns: &str, labels: &[&str], extra_meta: Value, spec: Value) -> PodInfo {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|k| ((*k).to_owned(), json!("")))
        .collect();
    let mut meta = json!({"name": name, "namespace": ns, "labels": labels});
    if let (Some(m), Some(extra)) = (meta.as_object_mut(), extra_meta.as_object()) {
        m.extend(extra.clone());
    }
    let mut spec = spec;
    spec["containers"] = json!([]);
    let p: Pod = serde_json::from_value(json!({"metadata": meta, "spec": spec})).unwrap();
    PodInfo::new(Arc::new(p))
}

/// A pod labelled with `labels` (each with value "") and these soft constraints:
/// (maxSkew, topologyKey, selector label that must exist, or none for a null selector).
fn pod(labels: &[&str], constraints: &[(i32, &str, Option<&str>)]) -> PodInfo {
    let list: Vec<Value> = constraints
        .iter()
        .map(|(skew, key, sel)| {
            let mut c = json!({"maxSkew": skew, "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway"});
            if let Some(l) = sel {
                c["labelSelector"] =
                    json!({"matchExpressions": [{"key": l, "operator": "Exists"}]});
            }
            c
        })
        .collect();
    pod_with(
        "p",
        "default",
        labels,
        json!({}),
        json!({"topologySpreadConstraints": list}),
    )
}

/// One node: name, labels, and existing pods given by their label sets.
type NodeSpec<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a [&'a str]]);

/// The snapshot (candidates first, then the failed nodes) and the candidates' indices.
fn cluster(candidates: &[NodeSpec<'_>], failed: &[NodeSpec<'_>]) -> (Vec<NodeInfo>, Vec<usize>) {
    let mut nodes = Vec::new();
    for (name, labels, pods) in candidates.iter().chain(failed) {
        let mut n = node(name, labels);
        for (k, l) in pods.iter().enumerate() {
            let p = pod_with(&format!("{name}-{k}"), "default", l, json!({}), json!({}));
            n.add_pod(Arc::new(p));
        }
        nodes.push(n);
    }
    (nodes, (0..candidates.len()).collect())
}

fn run(
    p: &PodInfo,
    nodes: &[NodeInfo],
    feasible: &[usize],
    args: &PodTopologySpreadArgs,
) -> Option<Vec<i64>> {
    let constraints = args.effective_constraints();
    let workloads = WorkloadSelectors::default();
    let defaults = Defaults {
        constraints: &constraints,
        system: args.defaulting_type == crate::config::DefaultingType::System,
        workloads: &workloads,
    };
    scores(p, nodes, feasible, &defaults)
}

const F: &[&str] = &["foo"];
const FB: &[&str] = &["foo", "bar"];
const B: &[&str] = &["bar"];

#[test]
fn upstream_score_cases() {
    let foo = Some("foo");
    let bar = Some("bar");
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        &str,
        PodInfo,
        Vec<NodeSpec<'_>>,
        Vec<NodeSpec<'_>>,
        Vec<i64>,
    )> = vec![
        (
            "one constraint on node, no existing pods",
            pod(F, &[(1, H, foo)]),
            vec![("a", &[(H, "a")], &[]), ("b", &[(H, "b")], &[])],
            vec![],
            vec![100, 100],
        ),
        (
            "one constraint on node, only one node is candidate",
            pod(F, &[(1, H, foo)]),
            vec![("a", &[(H, "a")], &[F, F])],
            vec![("b", &[(H, "b")], &[F])],
            vec![100],
        ),
        (
            "all nodes have the same number of matching pods",
            pod(F, &[(1, H, foo)]),
            vec![("a", &[(H, "a")], &[F]), ("b", &[(H, "b")], &[F])],
            vec![],
            vec![100, 100],
        ),
        (
            "one constraint on node, 2/1/0/3",
            pod(F, &[(1, H, foo)]),
            vec![
                ("a", &[(H, "a")], &[F, F]),
                ("b", &[(H, "b")], &[F]),
                ("c", &[(H, "c")], &[]),
                ("d", &[(H, "d")], &[F, F, F]),
            ],
            vec![],
            vec![20, 60, 100, 0],
        ),
        (
            "one constraint on node, null selector",
            pod(F, &[(1, H, None)]),
            vec![
                ("a", &[(H, "a")], &[F, F]),
                ("b", &[(H, "b")], &[F]),
                ("c", &[(H, "c")], &[]),
                ("d", &[(H, "d")], &[F, F, F]),
            ],
            vec![],
            vec![100, 100, 100, 100],
        ),
        (
            "2/1/0/3, maxSkew=2",
            pod(F, &[(2, H, foo)]),
            vec![
                ("a", &[(H, "a")], &[F, F]),
                ("b", &[(H, "b")], &[F]),
                ("c", &[(H, "c")], &[]),
                ("d", &[(H, "d")], &[F, F, F]),
            ],
            vec![],
            vec![33, 66, 100, 16],
        ),
        (
            "4/3/2/1, maxSkew=3",
            pod(F, &[(3, H, foo)]),
            vec![
                ("a", &[(H, "a")], &[F, F, F, F]),
                ("b", &[(H, "b")], &[F, F, F]),
                ("c", &[(H, "c")], &[F, F]),
                ("d", &[(H, "d")], &[F]),
            ],
            vec![],
            vec![44, 66, 77, 100],
        ),
        (
            "one constraint on node, 4/2/1/~3~",
            pod(F, &[(1, H, foo)]),
            vec![
                ("a", &[(H, "a")], &[F, F, F, F]),
                ("b", &[(H, "b")], &[F, F]),
                ("x", &[(H, "x")], &[F]),
            ],
            vec![("y", &[(H, "y")], &[F, F, F])],
            vec![33, 83, 100],
        ),
        (
            "4/?2?/1/~3~: node-b lacks the topology key",
            pod(F, &[(1, H, foo)]),
            vec![
                ("a", &[(H, "a")], &[F, F, F, F]),
                ("b", &[("n", "b")], &[F, F]),
                ("x", &[(H, "x")], &[F]),
            ],
            vec![("y", &[(H, "y")], &[F, F, F])],
            vec![16, 0, 100],
        ),
        (
            "one constraint on zone, 4/2/1/~3~",
            pod(F, &[(1, "zone", foo)]),
            vec![
                ("a", &[("zone", "z1"), (H, "a")], &[F, F, F, F]),
                ("b", &[("zone", "z1"), (H, "b")], &[F, F]),
                ("x", &[("zone", "z2"), (H, "x")], &[F]),
            ],
            vec![("y", &[("zone", "z2"), (H, "y")], &[F, F, F])],
            vec![75, 75, 100],
        ),
        (
            "zone and node, 2/~1~/2/~4~",
            pod(F, &[(1, "zone", foo), (1, H, foo)]),
            vec![
                ("a", &[("zone", "z1"), (H, "a")], &[F, F]),
                ("x", &[("zone", "z2"), (H, "x")], &[F, F]),
            ],
            vec![
                ("b", &[("zone", "z1"), (H, "b")], &[F]),
                ("y", &[("zone", "z2"), (H, "y")], &[F, F, F, F]),
            ],
            vec![100, 63],
        ),
        (
            "two constraints on zone, different selectors",
            pod(FB, &[(1, "zone", foo), (1, "zone", bar)]),
            vec![
                ("a", &[("zone", "z1")], &[FB, F]),
                ("x", &[("zone", "z2")], &[]),
            ],
            vec![
                ("b", &[("zone", "z1")], &[FB]),
                ("y", &[("zone", "z2")], &[F, FB, F]),
            ],
            vec![85, 100],
        ),
        (
            "zone and node with different selectors",
            pod(FB, &[(1, "zone", foo), (1, H, bar)]),
            vec![
                ("a", &[("zone", "z1"), (H, "a")], &[F]),
                ("b", &[("zone", "z1"), (H, "b")], &[FB]),
                ("x", &[("zone", "z2"), (H, "x")], &[]),
                ("y", &[("zone", "z2"), (H, "y")], &[F, B]),
            ],
            vec![],
            vec![60, 20, 100, 60],
        ),
        (
            "zone and node with different selectors, some nodes have 0 pods",
            pod(FB, &[(1, "zone", foo), (1, H, bar)]),
            vec![
                ("a", &[("zone", "z1"), (H, "a")], &[]),
                ("b", &[("zone", "z1"), (H, "b")], &[B]),
                ("x", &[("zone", "z2"), (H, "x")], &[F]),
                ("y", &[("zone", "z2"), (H, "y")], &[FB]),
            ],
            vec![],
            vec![100, 60, 40, 0],
        ),
        (
            "zone and node with different selectors, 3 of 4 candidates",
            pod(FB, &[(1, "zone", foo), (1, H, bar)]),
            vec![
                ("a", &[("zone", "z1"), (H, "a")], &[F]),
                ("b", &[("zone", "z1"), (H, "b")], &[FB]),
                ("x", &[("zone", "z2"), (H, "x")], &[]),
            ],
            vec![("y", &[("zone", "z2"), (H, "y")], &[F, B])],
            vec![50, 25, 100],
        ),
    ];
    let args = PodTopologySpreadArgs::default();
    for (name, p, candidates, failed, want) in cases {
        let (nodes, feasible) = cluster(&candidates, &failed);
        assert_eq!(run(&p, &nodes, &feasible, &args), Some(want), "{name}");
    }
}

fn four_nodes_without_zone() -> (Vec<NodeInfo>, Vec<usize>) {
    cluster(
        &[
            ("a", &[(H, "a")], &[F, F, F, F]),
            ("b", &[(H, "b")], &[F, F, F]),
            ("c", &[(H, "c")], &[F, F]),
            ("d", &[(H, "d")], &[F]),
        ],
        &[],
    )
}

#[test]
fn system_defaults_with_a_service_spread_by_hostname_without_zones() {
    let (nodes, feasible) = four_nodes_without_zone();
    let p = pod_with("p", "default", F, json!({}), json!({}));
    let constraints = PodTopologySpreadArgs::default().effective_constraints();
    let mut workloads = WorkloadSelectors::default();
    let run = |w: &WorkloadSelectors, system: bool| {
        let d = Defaults {
            constraints: &constraints,
            system,
            workloads: w,
        };
        scores(&p, &nodes, &feasible, &d)
    };
    // No Service or controller selects the pod: the defaults do not apply.
    assert_eq!(run(&workloads, true), None);
    let svc = [("foo".to_owned(), String::new())].into_iter().collect();
    workloads
        .services
        .insert(("default".to_owned(), "svc".to_owned()), svc);
    // Same scores as one hostname constraint with maxSkew 3 (upstream's case).
    assert_eq!(run(&workloads, true), Some(vec![44, 66, 77, 100]));
    // The same constraints given as a List require every key: no node has a zone.
    assert_eq!(run(&workloads, false), Some(vec![0, 0, 0, 0]));
}

#[test]
fn own_constraints_replace_the_defaults() {
    let (nodes, feasible) = four_nodes_without_zone();
    let hard = json!({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": H,
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"foo": ""}}}]});
    let p = pod_with("p", "default", F, json!({}), hard);
    let constraints = PodTopologySpreadArgs::default().effective_constraints();
    let mut workloads = WorkloadSelectors::default();
    let svc = [("foo".to_owned(), String::new())].into_iter().collect();
    workloads
        .services
        .insert(("default".to_owned(), "svc".to_owned()), svc);
    let d = Defaults {
        constraints: &constraints,
        system: true,
        workloads: &workloads,
    };
    // Only a hard constraint: nothing to score, and the defaults stay out.
    assert_eq!(scores(&p, &nodes, &feasible, &d), None);
}

/// The cycle runs the Score with the profile's defaults and the snapshot's selectors:
/// a pod selected by a Service goes to the node with the fewest of its peers, even when
/// other pods make that node the more allocated one.
#[test]
fn the_cycle_spreads_by_default() {
    use crate::config::SchedulerConfig;
    use crate::framework::{Algorithm, Snapshot};
    let sized = |name: &str, peers: usize, others: usize| {
        let n: Node = serde_json::from_value(json!({"metadata": {"name": name,
            "labels": {H: name}}, "status": {"allocatable": {"cpu": "4", "memory": "8Gi",
            "pods": "110"}}}))
        .unwrap();
        let mut info = NodeInfo::new(Arc::new(n));
        for k in 0..peers {
            let p = pod_with(&format!("{name}-{k}"), "default", F, json!({}), json!({}));
            info.add_pod(Arc::new(p));
        }
        for k in 0..others {
            let p: Pod =
                serde_json::from_value(json!({"metadata": {"name": format!("{name}-o{k}"),
                "namespace": "default"}, "spec": {"containers": [{"name": "c",
                "resources": {"requests": {"cpu": "500m"}}}]}}))
                .unwrap();
            info.add_pod(Arc::new(PodInfo::new(Arc::new(p))));
        }
        info
    };
    let config = SchedulerConfig {
        percentage_of_nodes_to_score: 100,
        ..SchedulerConfig::default()
    };
    let mut snapshot = Snapshot {
        nodes: vec![
            sized("a", 2, 0),
            sized("b", 1, 0),
            sized("c", 0, 2),
            sized("d", 3, 0),
        ],
        ..Snapshot::default()
    };
    let p = pod_with("p", "default", F, json!({}), json!({}));
    // One algorithm throughout, so the rotating tie-break visits every tied node.
    let mut algorithm = Algorithm::new(&config.profiles[0], &config);
    // Without a Service the defaults do not apply: c, the one allocated node, loses.
    for _ in 0..4 {
        assert_ne!(algorithm.schedule(&p, &snapshot).unwrap().node, "c");
    }
    let svc = [("foo".to_owned(), String::new())].into_iter().collect();
    snapshot
        .workload_selectors
        .services
        .insert(("default".to_owned(), "svc".to_owned()), svc);
    for _ in 0..4 {
        assert_eq!(algorithm.schedule(&p, &snapshot).unwrap().node, "c");
    }
}

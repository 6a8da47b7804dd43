//! Table tests for the scheduling cycle: filters, scores, the FitError message, node
//! sampling with a rotating start, tie-breaking and profiles with plugins disabled.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::*;
use crate::config::{SchedulerConfig, parse_yaml};

/// A node with allocatable cpu/memory/pods and extra metadata/spec (labels, taints).
fn node(name: &str, cpu: &str, memory: &str, pods: &str, labels: Value, spec: Value) -> NodeInfo {
    let mut all_labels = json!({"kubernetes.io/hostname": name});
    if let (Some(all), Some(extra)) = (all_labels.as_object_mut(), labels.as_object()) {
        all.extend(extra.clone());
    }
    let n: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": all_labels},
        "spec": spec,
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}))
    .unwrap();
    NodeInfo::new(Arc::new(n))
}

fn plain(name: &str, cpu: &str) -> NodeInfo {
    node(name, cpu, "8Gi", "110", json!({}), json!({}))
}

/// A pod in namespace `d` requesting `cpu` and 1Gi, with extra spec fields and labels.
fn pod(name: &str, cpu: &str, labels: Value, spec: Value) -> PodInfo {
    let mut full = json!({"containers": [{"name": "c",
        "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]});
    if let (Some(all), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
        all.extend(extra.clone());
    }
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "d", "labels": labels}, "spec": full}))
    .unwrap();
    PodInfo::new(Arc::new(p))
}

fn snapshot(nodes: Vec<NodeInfo>) -> Snapshot {
    Snapshot {
        nodes,
        namespace_labels: HashMap::new(),
        ..Snapshot::default()
    }
}

/// The default profile with `percentage` of nodes to score.
fn algorithm(percentage: u8) -> Algorithm {
    let config = SchedulerConfig {
        percentage_of_nodes_to_score: percentage,
        ..SchedulerConfig::default()
    };
    Algorithm::new(&config.profiles[0], &config)
}

fn gpu_taint() -> Value {
    json!({"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]})
}

#[test]
fn filters_and_scores_choose_the_node() {
    let host_port = json!({"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}],
        "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}}]});
    let mut port_taken = plain("busy-port", "8");
    port_taken.add_pod(Arc::new(pod("web-0", "100m", json!({}), host_port.clone()))); // same port
    // (case, nodes, pod, expected node)
    let cases: Vec<(&str, Vec<NodeInfo>, PodInfo, &str)> = vec![
        (
            "cpu",
            vec![plain("small", "1"), plain("big", "4")],
            pod("p", "2", json!({}), json!({})),
            "big",
        ),
        (
            "memory",
            vec![
                node("small", "8", "1Gi", "110", json!({}), json!({})),
                node("big", "1", "4Gi", "110", json!({}), json!({})),
            ],
            pod("p", "100m", json!({}), json!({})),
            "big",
        ),
        (
            "pod count",
            vec![
                node("full", "8", "8Gi", "0", json!({}), json!({})),
                plain("free", "1"),
            ],
            pod("p", "100m", json!({}), json!({})),
            "free",
        ),
        (
            "untolerated taint",
            vec![
                node("gpu", "8", "8Gi", "110", json!({}), gpu_taint()),
                plain("cpu", "1"),
            ],
            pod("p", "100m", json!({}), json!({})),
            "cpu",
        ),
        (
            "tolerated taint, least allocated wins",
            vec![
                node("gpu", "8", "8Gi", "110", json!({}), gpu_taint()),
                plain("cpu", "1"),
            ],
            pod(
                "p",
                "100m",
                json!({}),
                json!({"tolerations": [{"key": "dedicated", "operator": "Exists"}]}),
            ),
            "gpu",
        ),
        (
            "node selector",
            vec![
                node("a", "8", "8Gi", "110", json!({"zone": "a"}), json!({})),
                node("b", "1", "8Gi", "110", json!({"zone": "b"}), json!({})),
            ],
            pod(
                "p",
                "100m",
                json!({}),
                json!({"nodeSelector": {"zone": "b"}}),
            ),
            "b",
        ),
        (
            "host port",
            vec![port_taken, plain("free-port", "1")],
            pod("p", "100m", json!({}), host_port),
            "free-port",
        ),
        (
            "least allocated",
            vec![plain("n1", "4"), plain("n2", "8"), plain("n3", "2")],
            pod("p", "1", json!({}), json!({})),
            "n2",
        ),
    ];
    for (case, nodes, p, want) in cases {
        let got = algorithm(100).schedule(&p, &snapshot(nodes));
        assert_eq!(got.map(|s| s.node), Ok(want.to_owned()), "{case}");
    }
}

#[test]
fn fit_error_lists_every_node() {
    let nodes = vec![
        node("gpu", "8", "8Gi", "110", json!({}), gpu_taint()),
        plain("n2", "1"),
        plain("n3", "1"),
    ];
    let err = algorithm(100)
        .schedule(&pod("p", "2", json!({}), json!({})), &snapshot(nodes))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu."
    );
    let empty = algorithm(100).schedule(&pod("p", "1", json!({}), json!({})), &snapshot(vec![]));
    assert_eq!(empty.unwrap_err().num_all_nodes, 0);
}

/// Schedules `pods` one after another, placing each on its chosen node; returns the
/// chosen node names (or the error message).
fn place_all(alg: &mut Algorithm, snap: &mut Snapshot, pods: Vec<PodInfo>) -> Vec<String> {
    pods.into_iter()
        .map(|p| match alg.schedule(&p, snap) {
            Ok(s) => {
                let n = snap.nodes.iter_mut().find(|n| n.name == s.node).unwrap();
                n.add_pod(Arc::new(p));
                s.node
            }
            Err(e) => e.to_string(),
        })
        .collect()
}

#[test]
fn anti_affinity_spreads_one_pod_per_node() {
    let anti = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}});
    let mut snap = snapshot(vec![plain("n1", "4"), plain("n2", "4"), plain("n3", "4")]);
    let pods = (0..4)
        .map(|i| {
            pod(
                &format!("web-{i}"),
                "100m",
                json!({"app": "web"}),
                anti.clone(),
            )
        })
        .collect();
    let mut placed = place_all(&mut algorithm(100), &mut snap, pods);
    let last = placed.pop().unwrap();
    placed.sort();
    assert_eq!(placed, ["n1", "n2", "n3"]);
    assert_eq!(
        last,
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."
    );
}

#[test]
fn topology_spread_balances_zones() {
    let spread = json!({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]});
    // Zone a has two big nodes, zone b one small node: scores alone would fill zone a.
    let mut snap = snapshot(vec![
        node("a1", "16", "64Gi", "110", json!({"zone": "a"}), json!({})),
        node("a2", "16", "64Gi", "110", json!({"zone": "a"}), json!({})),
        node("b1", "2", "8Gi", "110", json!({"zone": "b"}), json!({})),
    ]);
    let pods = (0..4)
        .map(|i| {
            pod(
                &format!("web-{i}"),
                "100m",
                json!({"app": "web"}),
                spread.clone(),
            )
        })
        .collect();
    let placed = place_all(&mut algorithm(100), &mut snap, pods);
    let in_b = placed.iter().filter(|n| *n == "b1").count();
    assert_eq!(in_b, 2, "{placed:?}");
}

#[test]
fn sampling_stops_early_and_rotates_the_start() {
    let nodes: Vec<NodeInfo> = (0..200).map(|i| plain(&format!("n{i:03}"), "4")).collect();
    let snap = snapshot(nodes);
    let p = pod("p", "100m", json!({}), json!({}));
    // (percentage, evaluated per cycle, first cycle's node range, second cycle's range)
    let cases = [
        (50, 100, ("n000", "n099"), ("n100", "n199")),
        (0, 100, ("n000", "n099"), ("n100", "n199")),
        (100, 200, ("n000", "n199"), ("n000", "n199")),
    ];
    for (percentage, evaluated, first, second) in cases {
        let mut alg = algorithm(percentage);
        for (lo, hi) in [first, second] {
            let s = alg.schedule(&p, &snap).unwrap();
            assert_eq!((s.evaluated, s.feasible), (evaluated, evaluated));
            assert!(
                lo <= s.node.as_str() && s.node.as_str() <= hi,
                "{percentage}: {}",
                s.node
            );
        }
    }
}

#[test]
fn equal_nodes_take_turns() {
    let snap = snapshot(vec![plain("n1", "4"), plain("n2", "4"), plain("n3", "4")]);
    let p = pod("p", "100m", json!({}), json!({}));
    let mut alg = algorithm(100);
    let picks: Vec<String> = (0..3)
        .map(|_| alg.schedule(&p, &snap).unwrap().node)
        .collect();
    assert_eq!(picks, ["n1", "n2", "n3"]);
}

#[test]
fn disabled_plugins_do_not_run() {
    let nodes = || {
        vec![
            node("gpu", "8", "8Gi", "110", json!({}), gpu_taint()),
            plain("n2", "1"),
        ]
    };
    let p = pod("p", "100m", json!({}), json!({}));
    let header = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";
    // (plugins section, expected node)
    let cases = [
        ("{}", "n2"),
        ("{filter: {disabled: [{name: TaintToleration}]}}", "gpu"),
        (
            "{filter: {disabled: [{name: TaintToleration}]}, score: {disabled: [{name: '*'}]}}",
            "gpu",
        ),
    ];
    for (plugins, want) in cases {
        let yaml = format!("{header}profiles:\n- schedulerName: s\n  plugins: {plugins}\n");
        let config = parse_yaml(&yaml).unwrap();
        let mut alg = Algorithm::new(&config.profiles[0], &config);
        assert_eq!(
            alg.schedule(&p, &snapshot(nodes())).unwrap().node,
            want,
            "{plugins}"
        );
    }
}

#[test]
fn sampling_counts_rejected_nodes_and_wraps_around() {
    // n000..n049 are too small for the pod; the other 150 fit.
    let nodes: Vec<NodeInfo> = (0..200)
        .map(|i| plain(&format!("n{i:03}"), if i < 50 { "100m" } else { "4" }))
        .collect();
    let snap = snapshot(nodes);
    let p = pod("p", "1", json!({}), json!({}));
    let mut alg = algorithm(50);
    // First cycle: 50 rejected, then 100 feasible (n050..n149). Second: from n150 to the
    // end (50 feasible), around through the 50 small nodes, then n050..n099. Third: from
    // n100, 100 feasible in a row.
    let cycles: Vec<(usize, usize)> = (0..3)
        .map(|_| {
            let s = alg.schedule(&p, &snap).unwrap();
            (s.evaluated, s.feasible)
        })
        .collect();
    assert_eq!(cycles, [(150, 100), (150, 100), (100, 100)]);
}

#[test]
fn nominated_pods_of_equal_or_higher_priority_hold_their_room() {
    let mut snap = snapshot(vec![plain("n1", "4"), plain("n2", "4")]);
    let nominee = pod("nominee", "3", json!({}), json!({"priority": 10}));
    snap.nominated
        .insert("n1".into(), vec![Arc::new(nominee.clone())]);
    // (pod, priority) → the node it gets.
    let cases = [("low", 0, "n2"), ("same", 10, "n2"), ("high", 20, "n1")];
    for (name, priority, want) in cases {
        let mut alg = algorithm(100);
        let p = pod(name, "2", json!({}), json!({"priority": priority}));
        // n1 is tried first; only a pod above the nominee may take its room.
        let got = alg.schedule(&p, &snap).unwrap().node;
        assert_eq!(got, want, "{name}");
    }
    // The nominee itself is not counted against itself.
    let mut alg = algorithm(100);
    snap.nodes.truncate(1);
    assert_eq!(alg.schedule(&nominee, &snap).unwrap().node, "n1");
    // Nor does a nomination make a pod fit where it would not otherwise.
    let big = pod("big", "5", json!({}), json!({"priority": 20}));
    assert!(alg.schedule(&big, &snap).is_err());
}

#[test]
fn only_the_filters_that_can_reject_the_pod_run_on_each_node() {
    let algorithm = algorithm(100);
    let mut snap = snapshot(vec![plain("a", "4"), plain("b", "4")]);
    snap.affinity_pods = Some(0); // known: no placed pod has pod affinity terms
    let ns_of = |_: &str| None;
    let names = |p: &PodInfo| -> Vec<FilterPlugin> {
        algorithm.pre_filter(p, &snap.nodes, &ns_of, &snap).filters
    };
    let plain_pod = pod("p", "100m", json!({}), json!({}));
    use FilterPlugin as F;
    assert_eq!(
        names(&plain_pod),
        vec![
            F::NodeUnschedulable,
            F::TaintToleration,
            F::NodeResourcesFit
        ]
    );
    let asking = pod(
        "q",
        "100m",
        json!({}),
        json!({"nodeName": "b", "nodeSelector": {"disk": "ssd"},
               "containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}]}],
               "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                   "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {}}]}),
    );
    let all = names(&asking);
    for f in [
        F::NodeName,
        F::NodeAffinity,
        F::NodePorts,
        F::PodTopologySpread,
    ] {
        assert!(all.contains(&f), "{f:?} missing from {all:?}");
    }
    // The order is the profile's.
    let order: Vec<F> = algorithm
        .filters
        .iter()
        .copied()
        .filter(|f| all.contains(f))
        .collect();
    assert_eq!(all, order);
    // And what they decide is what every filter decides.
    let state = algorithm.pre_filter(&asking, &snap.nodes, &ns_of, &snap);
    let status = algorithm.filter(&state, &asking, &snap.nodes[0], &ns_of);
    assert_eq!(
        status.map(|s| s.reasons),
        Some(vec![node_name::REASON.to_owned()])
    );
}

//! Table tests for preemption: eligibility, victim minimisation, candidate choice, the
//! dry run's limits and the PostFilter messages.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Node;
use serde_json::{Value, json};

use super::*;
use crate::config::SchedulerConfig;
use crate::snapshot::NodeInfo;

fn node(name: &str, cpu: &str, spec: Value) -> NodeInfo {
    let n: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": spec,
        "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}}}))
    .unwrap();
    NodeInfo::new(Arc::new(n))
}

/// A pod requesting `cpu` with `priority`, started at second `start` (none when 0).
fn pod(name: &str, cpu: &str, priority: i32, start: i64) -> Arc<PodInfo> {
    let status = if start > 0 {
        json!({"startTime": jiff::Timestamp::from_second(start).unwrap().to_string()})
    } else {
        json!({})
    };
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "d"},
        "spec": {"priority": priority, "containers": [{"name": "c",
            "resources": {"requests": {"cpu": cpu}}}]},
        "status": status}))
    .unwrap();
    Arc::new(PodInfo::new(Arc::new(p)))
}

/// A node of `cpu` holding `pods`.
fn full(name: &str, cpu: &str, pods: &[Arc<PodInfo>]) -> NodeInfo {
    let mut n = node(name, cpu, json!({}));
    for p in pods {
        n.add_pod(Arc::clone(p));
    }
    n
}

fn snapshot(nodes: Vec<NodeInfo>) -> Snapshot {
    Snapshot {
        nodes,
        namespace_labels: HashMap::new(),
        ..Snapshot::default()
    }
}

fn algorithm() -> Algorithm {
    let config = SchedulerConfig::default();
    Algorithm::new(&config.profiles[0], &config)
}

fn names(victims: &[Arc<PodInfo>]) -> Vec<&str> {
    victims.iter().map(|v| v.key.as_str()).collect()
}

#[test]
fn victims_are_minimal_and_most_important_first() {
    let a = algorithm();
    // (case, node cpu, pods on it, preemptor cpu, victims or the failure reason)
    type Case<'a> = (
        &'a str,
        &'a str,
        Vec<Arc<PodInfo>>,
        &'a str,
        Result<Vec<&'a str>, &'a str>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "one low pod makes room",
            "2",
            vec![pod("low", "2", 1, 10)],
            "1",
            Ok(vec!["d/low"]),
        ),
        (
            "the higher of two low pods is reprieved",
            "4",
            vec![pod("p5", "2", 5, 10), pod("p1", "2", 1, 10)],
            "2",
            Ok(vec!["d/p1"]),
        ),
        (
            "equal priority: the earlier start is reprieved",
            "4",
            vec![pod("late", "2", 1, 50), pod("early", "2", 1, 10)],
            "2",
            Ok(vec!["d/late"]),
        ),
        (
            "both must go; sorted by priority",
            "4",
            vec![pod("p1", "2", 1, 10), pod("p3", "2", 3, 10)],
            "4",
            Ok(vec!["d/p3", "d/p1"]),
        ),
        (
            "same or higher priority pods are never victims",
            "2",
            vec![pod("same", "2", 10, 10)],
            "1",
            Err(NO_VICTIMS),
        ),
        (
            "not enough even without the low pods",
            "4",
            vec![pod("high", "3", 100, 10), pod("low", "1", 1, 10)],
            "2",
            Err("Insufficient cpu"),
        ),
    ];
    for (case, cpu, pods, want_cpu, want) in cases {
        let n = full("n", cpu, &pods);
        let snap = snapshot(vec![n.clone()]);
        let preemptor = pod("preemptor", want_cpu, 10, 0);
        let got = select_victims(&a, &preemptor, &n, &snap);
        match (got, want) {
            (Ok(v), Ok(w)) => assert_eq!(names(&v), w, "{case}"),
            (Err(s), Err(w)) => assert_eq!(s.reasons, vec![w.to_owned()], "{case}"),
            (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
        }
    }
}

fn candidate(node: &str, victims: Vec<Arc<PodInfo>>, pdb: usize) -> Candidate {
    Candidate {
        node: node.to_owned(),
        victims,
        pdb_violations: pdb,
    }
}

#[test]
fn node_choice_follows_upstream_order() {
    // (case, candidates, chosen node)
    let cases: Vec<(&str, Vec<Candidate>, &str)> = vec![
        (
            "fewest PDB violations",
            vec![
                candidate("a", vec![pod("x", "1", 1, 10)], 1),
                candidate("b", vec![pod("y", "1", 5, 10)], 0),
            ],
            "b",
        ),
        (
            "lowest highest priority",
            vec![
                candidate("a", vec![pod("x", "1", 5, 10)], 0),
                candidate("b", vec![pod("y", "1", 3, 10), pod("z", "1", 3, 10)], 0),
            ],
            "b",
        ),
        (
            "smallest sum of priorities (shifted, so fewer victims count)",
            vec![
                candidate("a", vec![pod("x", "1", 3, 10), pod("w", "1", -5, 10)], 0),
                candidate("b", vec![pod("y", "1", 3, 10)], 0),
            ],
            "b",
        ),
        (
            "latest start of the highest-priority victims",
            vec![
                candidate("a", vec![pod("x", "1", 3, 10)], 0),
                candidate("b", vec![pod("y", "1", 3, 90)], 0),
                candidate("c", vec![pod("z", "1", 3, 50)], 0),
            ],
            "b",
        ),
        (
            "all equal: the first",
            vec![
                candidate("a", vec![pod("x", "1", 3, 10)], 0),
                candidate("b", vec![pod("y", "1", 3, 10)], 0),
            ],
            "a",
        ),
        (
            "no victims beats any victim",
            vec![
                candidate("a", vec![pod("x", "1", -100, 10)], 0),
                candidate("b", vec![], 0),
            ],
            "b",
        ),
    ];
    for (case, candidates, want) in cases {
        let i = pick_one(&candidates).unwrap();
        assert_eq!(candidates[i].node, want, "{case}");
    }
    assert_eq!(pick_one(&[]), None);
}

#[test]
fn candidate_limits_as_upstream() {
    let args = |pct, abs| DefaultPreemptionArgs {
        min_candidate_nodes_percentage: pct,
        min_candidate_nodes_absolute: abs,
    };
    // (percentage, absolute, potential nodes, candidates wanted)
    let cases = [
        (10, 100, 50, 50),
        (10, 100, 5000, 500),
        (10, 100, 1000, 100),
        (0, 3, 10, 3),
        (100, 1, 7, 7),
    ];
    for (pct, abs, n, want) in cases {
        let p = Preemption::new(&args(pct, abs));
        assert_eq!(p.num_candidates(n), want, "{pct}% {abs} of {n}");
    }
}

#[test]
fn preempt_chooses_a_node_or_explains() {
    let a = algorithm();
    let taint = json!({"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]});
    let mut tainted = node("tainted", "4", taint);
    tainted.add_pod(pod("t", "4", 0, 10));
    // (case, nodes, preemptor priority, Ok(node) or Err(message))
    type Case<'a> = (&'a str, Vec<NodeInfo>, i32, Result<&'a str, &'a str>);
    let cases: Vec<Case<'_>> = vec![
        (
            "the node with the lower victim",
            vec![
                full("n1", "2", &[pod("mid", "2", 5, 10)]),
                full("n2", "2", &[pod("low", "2", 1, 10)]),
                tainted.clone(),
            ],
            10,
            Ok("n2"),
        ),
        (
            "nothing to preempt",
            vec![
                full("n1", "2", &[pod("a", "2", 10, 10)]),
                full("n2", "2", &[pod("b", "2", 20, 10)]),
                tainted.clone(),
            ],
            10,
            Err(
                "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod",
            ),
        ),
        (
            "only unresolvable nodes",
            vec![tainted.clone()],
            10,
            Err("preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling"),
        ),
        ("no nodes: no message", vec![], 10, Err("")),
    ];
    for (case, nodes, priority, want) in cases {
        let snap = snapshot(nodes);
        let preemptor = pod("p", "2", priority, 0);
        let got = Preemption::new(&DefaultPreemptionArgs::default()).preempt(&a, &preemptor, &snap);
        match (got, want) {
            (Ok(c), Ok(w)) => assert_eq!(c.node, w, "{case}"),
            (Err(m), Err(w)) => assert_eq!(m, w, "{case}"),
            (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn eligibility() {
    let mut never = (*pod("p", "1", 10, 0).pod).clone();
    if let Some(spec) = never.spec.as_mut() {
        spec.preemption_policy = Some("Never".to_owned());
    }
    let empty = snapshot(vec![]);
    assert_eq!(
        eligible(&never, &empty),
        Err("not eligible due to preemptionPolicy=Never.")
    );

    let mut nominated = (*pod("p", "1", 10, 0).pod).clone();
    nominated.status.get_or_insert_default().nominated_node_name = Some("n".to_owned());
    let terminating: Pod = serde_json::from_value(json!({
        "metadata": {"name": "v", "namespace": "d", "deletionTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"priority": 1, "containers": [{"name": "c"}]},
        "status": {"conditions": [{"type": "DisruptionTarget", "status": "True",
            "reason": DISRUPTION_REASON}]}}))
    .unwrap();
    let mut n = node("n", "1", json!({}));
    n.add_pod(Arc::new(PodInfo::new(Arc::new(terminating))));
    let snap = snapshot(vec![n]);
    assert_eq!(
        eligible(&nominated, &snap),
        Err("not eligible due to a terminating pod on the nominated node.")
    );
    assert_eq!(eligible(&pod("q", "1", 10, 0).pod, &snap), Ok(()));
}

#[test]
fn dry_run_rotates_and_stops_at_the_wanted_count() {
    let a = algorithm();
    let nodes: Vec<NodeInfo> = (0..4)
        .map(|i| full(&format!("n{i}"), "1", &[pod(&format!("v{i}"), "1", 0, 10)]))
        .collect();
    let snap = snapshot(nodes);
    let preemptor = pod("p", "1", 10, 0);
    let mut p = Preemption::new(&DefaultPreemptionArgs {
        min_candidate_nodes_percentage: 0,
        min_candidate_nodes_absolute: 1,
    });
    let chosen: Vec<String> = (0..5)
        .map(|_| p.preempt(&a, &preemptor, &snap).unwrap().node)
        .collect();
    assert_eq!(chosen, ["n0", "n1", "n2", "n3", "n0"]);
}

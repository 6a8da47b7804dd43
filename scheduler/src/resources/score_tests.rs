//! Table tests for the resource scores; expected numbers follow upstream's formulas and
//! upstream's test tables where noted.

use super::*;
use crate::resources::node_info::tests::{named_pod, node};
use crate::resources::pod::tests::pod;
use k8s_openapi::api::core::v1::{Container, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// A pod whose single container requests exactly `requests`.
fn pod_with(requests: &[(&str, &str)]) -> Pod {
    let container = Container {
        name: "c".to_owned(),
        resources: Some(ResourceRequirements {
            requests: Some(
                requests
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned())))
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    pod(vec![container], vec![])
}

/// (name, quantity) pairs.
type List = &'static [(&'static str, &'static str)];

/// (case, pod requests, node allocatable, resources, expected score).
type BalancedCase = (&'static str, List, List, Vec<ResourceSpec>, Option<i64>);

fn node_info(allocatable: &[(&str, &str)]) -> NodeInfo {
    NodeInfo::new(&node("n", allocatable))
}

const SMALL: &[(&str, &str)] = &[("cpu", "4000m"), ("memory", "10000"), ("pods", "110")];
const LARGE: &[(&str, &str)] = &[("cpu", "6000m"), ("memory", "10000"), ("pods", "110")];
const REQ: &[(&str, &str)] = &[("cpu", "3000m"), ("memory", "5000")];

fn scoring(strategy: ScoringStrategy, resources: Vec<ResourceSpec>) -> FitScoring {
    FitScoring {
        strategy,
        resources,
    }
}

fn shape(points: &[(i64, i64)]) -> ScoringStrategy {
    ScoringStrategy::RequestedToCapacityRatio {
        shape: points
            .iter()
            .map(|&(utilization, score)| UtilizationShapePoint { utilization, score })
            .collect(),
    }
}

#[test]
fn fit_scores_follow_each_strategy() {
    use ScoringStrategy::{LeastAllocated, MostAllocated};
    let cpu_mem = default_resources;
    let with_gpu = || {
        let mut r = default_resources();
        r.push(ResourceSpec::new("example.com/gpu", 1));
        r
    };
    // (case, pod requests, node allocatable, scoring, expected)
    let cases: Vec<(&str, List, List, FitScoring, i64)> = vec![
        // Upstream least_allocated_test "differently sized nodes": 37 and 50.
        (
            "least, small node",
            REQ,
            SMALL,
            scoring(LeastAllocated, cpu_mem()),
            37,
        ),
        (
            "least, large node",
            REQ,
            LARGE,
            scoring(LeastAllocated, cpu_mem()),
            50,
        ),
        (
            "least, cpu weighted 2",
            REQ,
            SMALL,
            scoring(
                LeastAllocated,
                vec![ResourceSpec::new(CPU, 2), ResourceSpec::new(MEMORY, 1)],
            ),
            33,
        ),
        (
            "least, unrequested extended resource left out",
            REQ,
            SMALL,
            scoring(LeastAllocated, with_gpu()),
            37,
        ),
        (
            "least, resource the node lacks left out",
            REQ,
            SMALL,
            scoring(
                LeastAllocated,
                vec![
                    ResourceSpec::new(CPU, 1),
                    ResourceSpec::new(EPHEMERAL_STORAGE, 1),
                ],
            ),
            25,
        ),
        (
            "least, requested extended resource counts",
            &[
                ("cpu", "3000m"),
                ("memory", "5000"),
                ("example.com/gpu", "1"),
            ],
            &[
                ("cpu", "4000m"),
                ("memory", "10000"),
                ("example.com/gpu", "4"),
            ],
            scoring(LeastAllocated, with_gpu()),
            (25 + 50 + 75) / 3,
        ),
        (
            "least, nothing requested uses 100m/200Mi",
            &[],
            SMALL,
            scoring(LeastAllocated, cpu_mem()),
            48,
        ),
        (
            "least, over capacity scores 0",
            &[("cpu", "5"), ("memory", "5000")],
            SMALL,
            scoring(LeastAllocated, cpu_mem()),
            25,
        ),
        // Upstream most_allocated_test "differently sized nodes": 62 and 50.
        (
            "most, small node",
            REQ,
            SMALL,
            scoring(MostAllocated, cpu_mem()),
            62,
        ),
        (
            "most, large node",
            REQ,
            LARGE,
            scoring(MostAllocated, cpu_mem()),
            50,
        ),
        (
            "most, over capacity capped",
            &[("cpu", "5"), ("memory", "5000")],
            SMALL,
            scoring(MostAllocated, cpu_mem()),
            75,
        ),
        (
            "ratio, increasing shape rounds",
            REQ,
            SMALL,
            scoring(shape(&[(0, 0), (100, 10)]), cpu_mem()),
            63,
        ),
        (
            "ratio, decreasing shape rounds",
            REQ,
            SMALL,
            scoring(shape(&[(0, 10), (100, 0)]), cpu_mem()),
            38,
        ),
        (
            "ratio, explicit zero cpu scores 0 and is left out",
            &[("cpu", "0"), ("memory", "5000")],
            SMALL,
            scoring(shape(&[(0, 0), (100, 10)]), cpu_mem()),
            50,
        ),
        (
            "ratio, over capacity is full utilization",
            &[("cpu", "5"), ("memory", "5000")],
            SMALL,
            scoring(shape(&[(0, 0), (100, 10)]), cpu_mem()),
            75,
        ),
    ];
    for (case, requests, allocatable, config, want) in cases {
        let got = fit_score(&pod_with(requests), &node_info(allocatable), &config);
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn fit_scores_count_existing_pods_non_zero() {
    let mut info = node_info(&[("cpu", "10000m"), ("memory", "20000"), ("pods", "110")]);
    info.add_pod(&named_pod("a", "3000m", "0"));
    info.add_pod(&named_pod("b", "3000m", "5000"));
    // cpu: (10000-9000)*100/10000 = 10; memory: (20000-10000)*100/20000 = 50.
    assert_eq!(fit_score(&pod_with(REQ), &info, &FitScoring::default()), 30);
    // A best-effort existing pod adds 100m (and 200Mi, beyond this node's memory).
    info.add_pod(&named_pod("c", "", ""));
    assert_eq!(fit_score(&pod_with(REQ), &info, &FitScoring::default()), 4);
}

#[test]
fn broken_linear_interpolates() {
    let points = [(10, 10), (50, 50), (100, 100)]
        .map(|(utilization, score)| UtilizationShapePoint { utilization, score });
    for (utilization, want) in [
        (0, 10),
        (10, 10),
        (30, 30),
        (75, 75),
        (100, 100),
        (120, 100),
    ] {
        assert_eq!(
            broken_linear(&points, utilization),
            want,
            "at {utilization}"
        );
    }
}

#[test]
fn balanced_allocation_scores() {
    let three = vec![
        ResourceSpec::new(CPU, 1),
        ResourceSpec::new(MEMORY, 1),
        ResourceSpec::new(EPHEMERAL_STORAGE, 1),
    ];
    // (case, pod requests, node allocatable, resources, expected)
    let cases: Vec<BalancedCase> = vec![
        // Upstream balanced_allocation_test "differently sized nodes": 87 and 100.
        ("small node", REQ, SMALL, default_resources(), Some(87)),
        ("large node", REQ, LARGE, default_resources(), Some(100)),
        (
            "fraction capped at 1",
            &[("cpu", "5"), ("memory", "5000")],
            SMALL,
            default_resources(),
            Some(75),
        ),
        (
            "three resources use the standard deviation",
            &[
                ("cpu", "3000m"),
                ("memory", "5000"),
                ("ephemeral-storage", "2500"),
            ],
            &[
                ("cpu", "4000m"),
                ("memory", "10000"),
                ("ephemeral-storage", "10000"),
            ],
            three,
            Some(79),
        ),
        (
            "one resource left: deviation 0",
            REQ,
            &[("cpu", "4000m")],
            default_resources(),
            Some(100),
        ),
        (
            "best-effort pod is skipped",
            &[],
            SMALL,
            default_resources(),
            None,
        ),
    ];
    for (case, requests, allocatable, resources, want) in cases {
        let got =
            balanced_allocation_score(&pod_with(requests), &node_info(allocatable), &resources);
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn balanced_allocation_counts_real_requests() {
    let mut info = node_info(SMALL);
    info.add_pod(&named_pod("best-effort", "", ""));
    assert_eq!(
        balanced_allocation_score(&pod_with(REQ), &info, &default_resources()),
        Some(87)
    );
}

#[test]
fn pods_without_containers_request_nothing_even_for_scoring() {
    // Upstream requested_to_capacity_ratio_test "nothing scheduled, nothing requested":
    // the defaults apply per container, so container-less pods count as zero everywhere.
    let empty = pod(vec![], vec![]);
    let mut info = node_info(SMALL);
    info.add_pod(&pod(vec![], vec![]));
    let decreasing = scoring(shape(&[(0, 10), (100, 0)]), default_resources());
    assert_eq!(fit_score(&empty, &info, &decreasing), MAX_NODE_SCORE);
    assert_eq!(
        fit_score(&empty, &info, &FitScoring::default()),
        MAX_NODE_SCORE
    );
    assert_eq!(
        fit_score(
            &empty,
            &info,
            &scoring(ScoringStrategy::MostAllocated, default_resources())
        ),
        0
    );
    assert_eq!(
        balanced_allocation_score(&empty, &info, &default_resources()),
        None
    );
}

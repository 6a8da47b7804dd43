//! Resource scores 0..=100: NodeResourcesFit's strategies (LeastAllocated, MostAllocated,
//! RequestedToCapacityRatio) and NodeResourcesBalancedAllocation.
//!
//! For each configured resource the node's allocatable and "requested after placing the pod"
//! are compared. The Fit strategies count cpu and memory with the non-zero defaults (100m,
//! 200Mi per container that requests none) on both the pod and the node side; the balanced
//! score counts real requests. Resources the node lacks, and scalar resources the pod does not
//! request, are left out of the weighted average.

use k8s_openapi::api::core::v1::Pod;

use super::node_info::NodeInfo;
use super::pod::{MissingRequests, pod_request_amounts, pod_request_for};
use super::resource::{CPU, EPHEMERAL_STORAGE, MEMORY, is_scalar_resource_name};

/// The highest node score.
pub const MAX_NODE_SCORE: i64 = 100;
/// The highest score a RequestedToCapacityRatio shape point may give.
pub const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;
/// Utilization is expressed in percent.
const MAX_UTILIZATION: i64 = 100;

/// A resource taking part in a score, with its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// The resource name.
    pub name: String,
    /// Its weight in the average (1..=100 in a valid configuration).
    pub weight: i64,
}

impl ResourceSpec {
    /// A resource with a weight.
    #[must_use]
    pub fn new(name: &str, weight: i64) -> Self {
        Self {
            name: name.to_owned(),
            weight,
        }
    }
}

/// The upstream default scored resources: cpu and memory, weight 1 each.
#[must_use]
pub fn default_resources() -> Vec<ResourceSpec> {
    vec![ResourceSpec::new(CPU, 1), ResourceSpec::new(MEMORY, 1)]
}

/// One point of a RequestedToCapacityRatio shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtilizationShapePoint {
    /// Utilization in percent, 0..=100; points are sorted by it.
    pub utilization: i64,
    /// Score at that utilization, 0..=10.
    pub score: i64,
}

/// How NodeResourcesFit scores a node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ScoringStrategy {
    /// Prefer nodes with the most free capacity (the default).
    #[default]
    LeastAllocated,
    /// Prefer nodes with the least free capacity.
    MostAllocated,
    /// Score utilization through a piecewise-linear shape.
    RequestedToCapacityRatio {
        /// The shape's points, by increasing utilization.
        shape: Vec<UtilizationShapePoint>,
    },
}

/// NodeResourcesFit scoring configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitScoring {
    /// The strategy.
    pub strategy: ScoringStrategy,
    /// The resources and weights it averages.
    pub resources: Vec<ResourceSpec>,
}

impl Default for FitScoring {
    fn default() -> Self {
        Self {
            strategy: ScoringStrategy::LeastAllocated,
            resources: default_resources(),
        }
    }
}

/// Which request figures a score counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counting {
    /// Non-zero requests (the Fit strategies).
    NonZero,
    /// Real requests (BalancedAllocation).
    Requested,
}

/// The pod's request for each configured resource, in the resources' order (PreScore).
fn pod_requests(pod: &Pod, resources: &[ResourceSpec], counting: Counting) -> Vec<i64> {
    let missing = match counting {
        Counting::NonZero => MissingRequests::AsDefaults,
        Counting::Requested => MissingRequests::AsZero,
    };
    let amounts = pod_request_amounts(pod, missing);
    resources
        .iter()
        .map(|r| pod_request_for(&amounts, &r.name))
        .collect()
}

/// (allocatable, requested with the pod) for one resource; (0, 0) leaves it out.
fn allocatable_and_requested(
    node: &NodeInfo,
    name: &str,
    pod_request: i64,
    counting: Counting,
) -> (i64, i64) {
    let line = node.line();
    let (cpu, memory) = match counting {
        Counting::NonZero => (line.non_zero_milli_cpu, line.non_zero_memory),
        Counting::Requested => (line.requested_milli_cpu, line.requested_memory),
    };
    if pod_request == 0 && is_scalar_resource_name(name) {
        return (0, 0);
    }
    match name {
        CPU => (line.allocatable_milli_cpu, cpu + pod_request),
        MEMORY => (line.allocatable_memory, memory + pod_request),
        EPHEMERAL_STORAGE => (
            node.allocatable.ephemeral_storage,
            node.requested.ephemeral_storage + pod_request,
        ),
        other => match node.allocatable.scalar.get(other) {
            Some(&allocatable) => (allocatable, node.requested.get(other) + pod_request),
            None => (0, 0),
        },
    }
}

/// Resources whose figures fit on the stack (the default configurations name two).
const INLINE_FIGURES: usize = 4;

/// Calls `f` with the per-resource (requested, allocatable), left-out resources as
/// (0, 0); without allocating for up to [`INLINE_FIGURES`] resources (this runs for
/// every scored node).
fn with_node_figures<R>(
    node: &NodeInfo,
    resources: &[ResourceSpec],
    requests: &[i64],
    counting: Counting,
    f: impl FnOnce(&[(i64, i64)]) -> R,
) -> R {
    let figure = |(spec, &req): (&ResourceSpec, &i64)| {
        let (allocatable, requested) = allocatable_and_requested(node, &spec.name, req, counting);
        if allocatable == 0 {
            (0, 0)
        } else {
            (requested, allocatable)
        }
    };
    let pairs = resources.iter().zip(requests);
    let n = resources.len().min(requests.len());
    if n <= INLINE_FIGURES {
        let mut buf = [(0_i64, 0_i64); INLINE_FIGURES];
        for (slot, pair) in buf.iter_mut().zip(pairs) {
            *slot = figure(pair);
        }
        f(&buf[..n])
    } else {
        let figures: Vec<(i64, i64)> = pairs.map(figure).collect();
        f(&figures)
    }
}

/// `(capacity - requested) * 100 / capacity`, 0 when over capacity.
#[must_use]
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// `requested * 100 / capacity`, with requested capped at capacity.
#[must_use]
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// Evaluates a piecewise-linear shape (scores already scaled to 0..=100) at `utilization`.
fn broken_linear(shape: &[UtilizationShapePoint], utilization: i64) -> i64 {
    for (i, point) in shape.iter().enumerate() {
        if utilization <= point.utilization {
            let Some(prev) = i.checked_sub(1).map(|j| shape[j]) else {
                return point.score;
            };
            return prev.score
                + (point.score - prev.score) * (utilization - prev.utilization)
                    / (point.utilization - prev.utilization);
        }
    }
    shape.last().map_or(0, |p| p.score)
}

fn weighted_integer_average(
    figures: &[(i64, i64)],
    resources: &[ResourceSpec],
    score: impl Fn(i64, i64) -> i64,
) -> i64 {
    let (mut total, mut weights) = (0, 0);
    for ((requested, allocatable), spec) in figures.iter().zip(resources) {
        if *allocatable == 0 {
            continue;
        }
        total += score(*requested, *allocatable) * spec.weight;
        weights += spec.weight;
    }
    if weights == 0 { 0 } else { total / weights }
}

fn requested_to_capacity_ratio(
    figures: &[(i64, i64)],
    resources: &[ResourceSpec],
    shape: &[UtilizationShapePoint],
) -> i64 {
    let scaled: Vec<_> = shape
        .iter()
        .map(|p| UtilizationShapePoint {
            utilization: p.utilization,
            score: p.score * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE),
        })
        .collect();
    let (mut total, mut weights) = (0_i64, 0_i64);
    for ((requested, capacity), spec) in figures.iter().zip(resources) {
        if *capacity == 0 {
            continue;
        }
        let utilization = if requested > capacity {
            MAX_UTILIZATION
        } else {
            requested * MAX_UTILIZATION / capacity
        };
        let score = broken_linear(&scaled, utilization);
        // Resources scoring zero do not take part in the average.
        if score > 0 {
            total += score * spec.weight;
            weights += spec.weight;
        }
    }
    if weights == 0 {
        0
    } else {
        (total as f64 / weights as f64).round() as i64
    }
}

/// The pod's per-resource requests as NodeResourcesFit scores them (non-zero defaults), in
/// the order of `scoring.resources`; compute once per pod (PreScore) and reuse per node.
#[must_use]
pub fn fit_pod_requests(pod: &Pod, scoring: &FitScoring) -> Vec<i64> {
    pod_requests(pod, &scoring.resources, Counting::NonZero)
}

/// NodeResourcesFit's score of `node` for `pod`.
#[must_use]
pub fn fit_score(pod: &Pod, node: &NodeInfo, scoring: &FitScoring) -> i64 {
    fit_score_with(&fit_pod_requests(pod, scoring), node, scoring)
}

/// NodeResourcesFit's score from requests computed by [`fit_pod_requests`].
#[must_use]
pub fn fit_score_with(requests: &[i64], node: &NodeInfo, scoring: &FitScoring) -> i64 {
    let resources = &scoring.resources;
    with_node_figures(
        node,
        resources,
        requests,
        Counting::NonZero,
        |figures| match &scoring.strategy {
            ScoringStrategy::LeastAllocated => {
                weighted_integer_average(figures, resources, least_requested_score)
            }
            ScoringStrategy::MostAllocated => {
                weighted_integer_average(figures, resources, most_requested_score)
            }
            ScoringStrategy::RequestedToCapacityRatio { shape } => {
                requested_to_capacity_ratio(figures, resources, shape)
            }
        },
    )
}

/// `(1 - std) * 100` over the requested/allocatable fractions (each capped at 1); for two
/// resources the deviation is half their difference.
fn balanced_score(figures: &[(i64, i64)]) -> i64 {
    let fractions = || {
        figures
            .iter()
            .filter(|(_, allocatable)| *allocatable != 0)
            .map(|(requested, allocatable)| (*requested as f64 / *allocatable as f64).min(1.0))
    };
    let count = fractions().count();
    let std = if count == 2 {
        let mut two = fractions();
        let (a, b) = (two.next().unwrap_or(0.0), two.next().unwrap_or(0.0));
        ((a - b) / 2.0).abs()
    } else if count > 2 {
        let n = count as f64;
        let mean = fractions().sum::<f64>() / n;
        let variance = fractions().map(|f| (f - mean) * (f - mean)).sum::<f64>() / n;
        variance.sqrt()
    } else {
        0.0
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// The pod's per-resource real requests for NodeResourcesBalancedAllocation (PreScore), or
/// `None` when it requests none of them: upstream skips best-effort pods.
#[must_use]
pub fn balanced_pod_requests(pod: &Pod, resources: &[ResourceSpec]) -> Option<Vec<i64>> {
    let requests = pod_requests(pod, resources, Counting::Requested);
    requests.iter().any(|&r| r != 0).then_some(requests)
}

/// NodeResourcesBalancedAllocation's score from [`balanced_pod_requests`].
#[must_use]
pub fn balanced_allocation_score_with(
    requests: &[i64],
    node: &NodeInfo,
    resources: &[ResourceSpec],
) -> i64 {
    with_node_figures(
        node,
        resources,
        requests,
        Counting::Requested,
        balanced_score,
    )
}

/// NodeResourcesBalancedAllocation's score, or `None` when the plugin skips the pod because
/// it requests none of the configured resources (a best-effort pod).
#[must_use]
pub fn balanced_allocation_score(
    pod: &Pod,
    node: &NodeInfo,
    resources: &[ResourceSpec],
) -> Option<i64> {
    let requests = balanced_pod_requests(pod, resources)?;
    Some(balanced_allocation_score_with(&requests, node, resources))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "score_tests.rs"]
mod tests;

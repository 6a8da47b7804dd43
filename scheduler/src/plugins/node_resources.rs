//! NodeResourcesFit and NodeResourcesBalancedAllocation as framework plugins (upstream
//! v1.33): each is built once per profile from its arguments, computes what it needs from
//! the pod once per cycle (PreFilter / PreScore), then answers per node from the node's
//! resource accounting.

use k8s_openapi::api::core::v1::Pod;

use super::Status;
use crate::config::{BalancedAllocationArgs, NodeResourcesFitArgs, ScoringStrategyType};
use crate::resources::{
    self, FitScoring, IgnoredResources, PodResources, Resource, ResourceSpec, ScoringStrategy,
    UtilizationShapePoint,
};

fn specs(list: &[crate::config::ResourceSpec]) -> Vec<ResourceSpec> {
    list.iter()
        .map(|r| ResourceSpec::new(&r.name, r.weight))
        .collect()
}

/// NodeResourcesFit: the filter on requests and the configured scoring strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    ignored: IgnoredResources,
    scoring: FitScoring,
}

impl Fit {
    /// The plugin as `args` configure it.
    #[must_use]
    pub fn new(args: &NodeResourcesFitArgs) -> Self {
        let strategy = &args.scoring_strategy;
        let strategy_kind = match strategy.kind {
            ScoringStrategyType::LeastAllocated => ScoringStrategy::LeastAllocated,
            ScoringStrategyType::MostAllocated => ScoringStrategy::MostAllocated,
            ScoringStrategyType::RequestedToCapacityRatio => {
                ScoringStrategy::RequestedToCapacityRatio {
                    shape: strategy
                        .shape
                        .iter()
                        .map(|p| UtilizationShapePoint {
                            utilization: i64::from(p.utilization),
                            score: i64::from(p.score),
                        })
                        .collect(),
                }
            }
        };
        Self {
            ignored: IgnoredResources {
                names: args.ignored_resources.iter().cloned().collect(),
                groups: args.ignored_resource_groups.iter().cloned().collect(),
            },
            scoring: FitScoring {
                strategy: strategy_kind,
                resources: specs(&strategy.resources),
            },
        }
    }

    /// PreFilter: the pod's effective request (init-container rule, overhead), from what
    /// [`PodResources::of`] read.
    #[must_use]
    pub fn pre_filter(&self, pod: &PodResources) -> Resource {
        pod.requests.clone()
    }

    /// Filter: `Unschedulable` with one reason per lacking resource (`Too many pods`,
    /// `Insufficient cpu`, …), in upstream's order.
    #[must_use]
    pub fn filter(&self, request: &Resource, node: &resources::NodeInfo) -> Status {
        if resources::fit::fits_on_line(request, node) == Some(true) {
            return Status::success();
        }
        let lacking = resources::fits_request(request, node, &self.ignored);
        if lacking.is_empty() {
            return Status::success();
        }
        Status {
            code: super::Code::Unschedulable,
            reasons: lacking.into_iter().map(|r| r.reason).collect(),
        }
    }

    /// PreScore: the pod's request for each scored resource.
    #[must_use]
    pub fn pre_score(&self, pod: &Pod) -> Vec<i64> {
        resources::fit_pod_requests(pod, &self.scoring)
    }

    /// Score: 0..=100 by the configured strategy (no normalisation step).
    #[must_use]
    pub fn score(&self, requests: &[i64], node: &resources::NodeInfo) -> i64 {
        resources::fit_score_with(requests, node, &self.scoring)
    }
}

/// NodeResourcesBalancedAllocation: prefers nodes whose resource fractions stay even.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancedAllocation {
    resources: Vec<ResourceSpec>,
}

impl BalancedAllocation {
    /// The plugin as `args` configure it.
    #[must_use]
    pub fn new(args: &BalancedAllocationArgs) -> Self {
        Self {
            resources: specs(&args.resources),
        }
    }

    /// PreScore: the pod's real requests, or `None` for a pod requesting none of the
    /// resources (upstream skips scoring it: every node gets 0 from this plugin).
    #[must_use]
    pub fn pre_score(&self, pod: &Pod) -> Option<Vec<i64>> {
        resources::balanced_pod_requests(pod, &self.resources)
    }

    /// Score: 0..=100 (no normalisation step).
    #[must_use]
    pub fn score(&self, requests: &[i64], node: &resources::NodeInfo) -> i64 {
        resources::balanced_allocation_score_with(requests, node, &self.resources)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use k8s_openapi::api::core::v1::Node;
    use serde_json::json;

    use super::*;
    use crate::config::PluginArgs;
    use crate::plugins::Code;

    fn node(cpu: &str, memory: &str, pods: &str) -> resources::NodeInfo {
        let n: Node = serde_json::from_value(json!({"metadata": {"name": "n"},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}))
        .unwrap();
        resources::NodeInfo::new(&n)
    }

    fn pod(name: &str, cpu: &str, memory: &str) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "d"},
            "spec": {"containers": [{"name": "c",
                "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}}))
        .unwrap()
    }

    #[test]
    fn filter_reasons() {
        let fit = Fit::new(&NodeResourcesFitArgs::default());
        let mut busy = node("2", "4Gi", "2");
        busy.add_pod(&pod("a", "1", "1Gi"));
        // (node, pod cpu, pod memory, expected reasons)
        let cases: [(&resources::NodeInfo, &str, &str, &[&str]); 4] = [
            (&busy, "1", "1Gi", &[]),
            (&busy, "1500m", "1Gi", &["Insufficient cpu"]),
            (
                &busy,
                "2",
                "4Gi",
                &["Insufficient cpu", "Insufficient memory"],
            ),
            (&node("4", "8Gi", "0"), "1", "1Gi", &["Too many pods"]),
        ];
        for (n, cpu, mem, want) in cases {
            let status = fit.filter(&fit.pre_filter(&PodResources::of(&pod("p", cpu, mem))), n);
            assert_eq!(status.reasons, want, "{cpu} {mem}");
            let code = if want.is_empty() {
                Code::Success
            } else {
                Code::Unschedulable
            };
            assert_eq!(status.code, code);
        }
    }

    #[test]
    fn strategies_score_as_configured() {
        let mut half = node("4", "8Gi", "110");
        half.add_pod(&pod("a", "2", "4Gi"));
        let empty = node("4", "8Gi", "110");
        let least = Fit::new(&PluginArgs::default().node_resources_fit);
        let mut args = NodeResourcesFitArgs::default();
        args.scoring_strategy.kind = ScoringStrategyType::MostAllocated;
        let most = Fit::new(&args);
        let p = pod("p", "1", "2Gi");
        let cases = [
            (&least, &empty, 75),
            (&least, &half, 25),
            (&most, &empty, 25),
            (&most, &half, 75),
        ];
        for (plugin, n, want) in cases {
            assert_eq!(plugin.score(&plugin.pre_score(&p), n), want);
        }
    }

    #[test]
    fn balanced_allocation_skips_best_effort_pods() {
        let plugin = BalancedAllocation::new(&BalancedAllocationArgs::default());
        let best_effort: Pod = serde_json::from_value(json!({"metadata": {"name": "b"},
            "spec": {"containers": [{"name": "c"}]}}))
        .unwrap();
        assert_eq!(plugin.pre_score(&best_effort), None);
        let requests = plugin.pre_score(&pod("p", "1", "2Gi")).unwrap();
        // cpu 1/4 and memory 2/8: perfectly even.
        assert_eq!(plugin.score(&requests, &node("4", "8Gi", "110")), 100);
        // cpu 1/4, memory 2/4: deviation 0.125.
        assert_eq!(plugin.score(&requests, &node("4", "4Gi", "110")), 87);
    }
}

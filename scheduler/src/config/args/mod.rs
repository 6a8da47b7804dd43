//! Typed plugin arguments (`pluginConfig[].args`) with upstream v1.33 defaults;
//! decoding in `decode`, validation of the larger argument types in `checks`.

use serde::Deserialize;

mod checks;
mod decode;

pub(super) use decode::apply;

/// How NodeResourcesFit scores a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoringStrategyType {
    /// Favour nodes with the most free resources (the default).
    LeastAllocated,
    /// Favour the fullest nodes (bin packing).
    MostAllocated,
    /// Score through a piecewise-linear function of utilization.
    RequestedToCapacityRatio,
}

pub(super) const SCORING_TYPES: [&str; 3] = [
    "LeastAllocated",
    "MostAllocated",
    "RequestedToCapacityRatio",
];

/// A resource and its weight in a score.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSpec {
    /// Resource name (`cpu`, `memory`, an extended resource).
    pub name: String,
    /// Weight; 0 or unset means 1.
    #[serde(default)]
    pub weight: i64,
}

/// A point of a utilization → score function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UtilizationShapePoint {
    /// Utilization in percent, 0..=100.
    #[serde(default)]
    pub utilization: i32,
    /// Score at that utilization, 0..=10.
    #[serde(default)]
    pub score: i32,
}

/// NodeResourcesFit's scoring strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoringStrategy {
    /// The strategy.
    pub kind: ScoringStrategyType,
    /// Resources scored, with weights.
    pub resources: Vec<ResourceSpec>,
    /// The function shape for `RequestedToCapacityRatio`.
    pub shape: Vec<UtilizationShapePoint>,
}

/// Arguments of NodeResourcesFit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeResourcesFitArgs {
    /// Resources the Filter ignores.
    pub ignored_resources: Vec<String>,
    /// Resource groups (`example.com` of `example.com/foo`) the Filter ignores.
    pub ignored_resource_groups: Vec<String>,
    /// How nodes are scored.
    pub scoring_strategy: ScoringStrategy,
}

pub(super) fn default_resources() -> Vec<ResourceSpec> {
    vec![
        ResourceSpec {
            name: "cpu".to_owned(),
            weight: 1,
        },
        ResourceSpec {
            name: "memory".to_owned(),
            weight: 1,
        },
    ]
}

impl Default for NodeResourcesFitArgs {
    fn default() -> Self {
        NodeResourcesFitArgs {
            ignored_resources: Vec::new(),
            ignored_resource_groups: Vec::new(),
            scoring_strategy: ScoringStrategy {
                kind: ScoringStrategyType::LeastAllocated,
                resources: default_resources(),
                shape: Vec::new(),
            },
        }
    }
}

/// Arguments of NodeResourcesBalancedAllocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancedAllocationArgs {
    /// Resources balanced (weights are always 1).
    pub resources: Vec<ResourceSpec>,
}

impl Default for BalancedAllocationArgs {
    fn default() -> Self {
        BalancedAllocationArgs {
            resources: default_resources(),
        }
    }
}

/// Where PodTopologySpread's cluster default constraints come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultingType {
    /// Built-in constraints (hostname skew 3, zone skew 5, both ScheduleAnyway).
    System,
    /// The `defaultConstraints` list.
    List,
}

/// A cluster default topology spread constraint (no selector: it is the pod's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultConstraint {
    /// Largest allowed skew.
    pub max_skew: i32,
    /// Node label that defines the domains.
    pub topology_key: String,
    /// `DoNotSchedule` or `ScheduleAnyway`.
    pub when_unsatisfiable: String,
}

/// Arguments of PodTopologySpread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodTopologySpreadArgs {
    /// Where default constraints come from.
    pub defaulting_type: DefaultingType,
    /// The `List` constraints.
    pub default_constraints: Vec<DefaultConstraint>,
}

impl Default for PodTopologySpreadArgs {
    fn default() -> Self {
        PodTopologySpreadArgs {
            defaulting_type: DefaultingType::System,
            default_constraints: Vec::new(),
        }
    }
}

impl PodTopologySpreadArgs {
    /// The constraints applied to pods that have none of their own.
    pub fn effective_constraints(&self) -> Vec<DefaultConstraint> {
        match self.defaulting_type {
            DefaultingType::List => self.default_constraints.clone(),
            DefaultingType::System => vec![
                DefaultConstraint {
                    max_skew: 3,
                    topology_key: "kubernetes.io/hostname".to_owned(),
                    when_unsatisfiable: "ScheduleAnyway".to_owned(),
                },
                DefaultConstraint {
                    max_skew: 5,
                    topology_key: "topology.kubernetes.io/zone".to_owned(),
                    when_unsatisfiable: "ScheduleAnyway".to_owned(),
                },
            ],
        }
    }
}

/// Arguments of InterPodAffinity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterPodAffinityArgs {
    /// Score weight of existing pods' required affinity terms matching the pod.
    pub hard_pod_affinity_weight: i32,
    /// Ignore existing pods' preferred terms when scoring.
    pub ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for InterPodAffinityArgs {
    fn default() -> Self {
        InterPodAffinityArgs {
            hard_pod_affinity_weight: 1,
            ignore_preferred_terms_of_existing_pods: false,
        }
    }
}

/// Arguments of DefaultPreemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultPreemptionArgs {
    /// Minimum candidates as a percentage of nodes.
    pub min_candidate_nodes_percentage: i32,
    /// Minimum candidates as an absolute number.
    pub min_candidate_nodes_absolute: i32,
}

impl Default for DefaultPreemptionArgs {
    fn default() -> Self {
        DefaultPreemptionArgs {
            min_candidate_nodes_percentage: 10,
            min_candidate_nodes_absolute: 100,
        }
    }
}

/// Arguments of VolumeBinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeBindingArgs {
    /// How long PreBind waits for volumes to bind.
    pub bind_timeout_seconds: i64,
}

impl Default for VolumeBindingArgs {
    fn default() -> Self {
        VolumeBindingArgs {
            bind_timeout_seconds: 600,
        }
    }
}

/// The typed arguments of a profile's plugins, defaulted where not configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginArgs {
    /// NodeResourcesFit.
    pub node_resources_fit: NodeResourcesFitArgs,
    /// NodeResourcesBalancedAllocation.
    pub balanced_allocation: BalancedAllocationArgs,
    /// PodTopologySpread.
    pub pod_topology_spread: PodTopologySpreadArgs,
    /// InterPodAffinity.
    pub inter_pod_affinity: InterPodAffinityArgs,
    /// DefaultPreemption.
    pub default_preemption: DefaultPreemptionArgs,
    /// VolumeBinding.
    pub volume_binding: VolumeBindingArgs,
}

#[cfg(test)]
mod tests;

//! Typed plugin arguments (`pluginConfig[].args`) with upstream v1.33 defaults and
//! range validation.

use serde::Deserialize;
use serde_json::Value;

use super::error::FieldError;
use super::labels::qualified_name_errors;

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

const SCORING_TYPES: [&str; 3] = [
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

fn default_resources() -> Vec<ResourceSpec> {
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFit {
    api_version: Option<String>,
    kind: Option<String>,
    ignored_resources: Option<Vec<String>>,
    ignored_resource_groups: Option<Vec<String>>,
    scoring_strategy: Option<RawStrategy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawStrategy {
    #[serde(rename = "type")]
    kind: Option<String>,
    resources: Option<Vec<ResourceSpec>>,
    requested_to_capacity_ratio: Option<RawRatio>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRatio {
    shape: Option<Vec<UtilizationShapePoint>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawBalanced {
    api_version: Option<String>,
    kind: Option<String>,
    resources: Option<Vec<ResourceSpec>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSpread {
    api_version: Option<String>,
    kind: Option<String>,
    defaulting_type: Option<String>,
    default_constraints: Option<Vec<RawConstraint>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawConstraint {
    max_skew: Option<i32>,
    topology_key: Option<String>,
    when_unsatisfiable: Option<String>,
    label_selector: Option<Value>,
    match_label_keys: Option<Value>,
    min_domains: Option<Value>,
    node_affinity_policy: Option<Value>,
    node_taints_policy: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawAffinity {
    api_version: Option<String>,
    kind: Option<String>,
    hard_pod_affinity_weight: Option<i32>,
    ignore_preferred_terms_of_existing_pods: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPreemption {
    api_version: Option<String>,
    kind: Option<String>,
    min_candidate_nodes_percentage: Option<i32>,
    min_candidate_nodes_absolute: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawVolumeBinding {
    api_version: Option<String>,
    kind: Option<String>,
    bind_timeout_seconds: Option<i64>,
}

/// Decodes `args` of plugin `name` into `into`, applying defaults, and appends
/// validation errors under `path` (the `pluginConfig[i]` path). Plugins without
/// typed arguments accept only empty args.
pub(super) fn apply(
    into: &mut PluginArgs,
    name: &str,
    args: Option<&Value>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let args_path = format!("{path}.args");
    let empty = Value::Object(serde_json::Map::new());
    let value = match args {
        None | Some(Value::Null) => &empty,
        Some(v) => v,
    };
    let kind = value.get("kind").and_then(Value::as_str);
    if let Some(kind) = kind.filter(|k| *k != format!("{name}Args")) {
        errs.push(FieldError::invalid(
            &args_path,
            kind,
            "has to match plugin args",
        ));
        return;
    }
    let decoded = match name {
        "NodeResourcesFit" => decode::<RawFit>(value).map(|raw| {
            into.node_resources_fit = fit_args(raw, &args_path, errs);
        }),
        "NodeResourcesBalancedAllocation" => decode::<RawBalanced>(value).map(|raw| {
            into.balanced_allocation = balanced_args(raw, &args_path, errs);
        }),
        "PodTopologySpread" => decode::<RawSpread>(value).map(|raw| {
            into.pod_topology_spread = spread_args(raw, &args_path, errs);
        }),
        "InterPodAffinity" => decode::<RawAffinity>(value).map(|raw| {
            let _ = (raw.api_version, raw.kind);
            let args = InterPodAffinityArgs {
                hard_pod_affinity_weight: raw.hard_pod_affinity_weight.unwrap_or(1),
                ignore_preferred_terms_of_existing_pods: raw
                    .ignore_preferred_terms_of_existing_pods
                    .unwrap_or(false),
            };
            let w = args.hard_pod_affinity_weight;
            if !(0..=100).contains(&w) {
                errs.push(FieldError::invalid(
                    format!("{args_path}.hardPodAffinityWeight"),
                    w,
                    "not in valid range [0, 100]",
                ));
            }
            into.inter_pod_affinity = args;
        }),
        "DefaultPreemption" => decode::<RawPreemption>(value).map(|raw| {
            let _ = (raw.api_version, raw.kind);
            let args = DefaultPreemptionArgs {
                min_candidate_nodes_percentage: raw.min_candidate_nodes_percentage.unwrap_or(10),
                min_candidate_nodes_absolute: raw.min_candidate_nodes_absolute.unwrap_or(100),
            };
            preemption_errors(&args, &args_path, errs);
            into.default_preemption = args;
        }),
        "VolumeBinding" => decode::<RawVolumeBinding>(value).map(|raw| {
            let _ = (raw.api_version, raw.kind);
            let seconds = raw.bind_timeout_seconds.unwrap_or(600);
            if seconds < 0 {
                let detail = "invalid BindTimeoutSeconds, should not be a negative value";
                errs.push(FieldError::invalid(
                    format!("{args_path}.bindTimeoutSeconds"),
                    seconds,
                    detail,
                ));
            }
            into.volume_binding = VolumeBindingArgs {
                bind_timeout_seconds: seconds,
            };
        }),
        _ => {
            let has_fields = value
                .as_object()
                .is_some_and(|m| m.keys().any(|k| k != "apiVersion" && k != "kind"));
            if has_fields {
                Err(format!("plugin {name:?} takes no arguments"))
            } else {
                Ok(())
            }
        }
    };
    if let Err(message) = decoded {
        errs.push(FieldError::invalid(
            &args_path,
            FieldValueRaw(value),
            &message,
        ));
    }
}

/// Shows a JSON value bare in an error.
struct FieldValueRaw<'a>(&'a Value);

impl From<FieldValueRaw<'_>> for super::error::FieldValue {
    fn from(v: FieldValueRaw<'_>) -> Self {
        super::error::FieldValue::Raw(v.0.to_string())
    }
}

fn decode<T: for<'de> Deserialize<'de>>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("decoding args: {e}"))
}

fn fit_args(raw: RawFit, path: &str, errs: &mut Vec<FieldError>) -> NodeResourcesFitArgs {
    let _ = (raw.api_version, raw.kind);
    let ignored_resources = raw.ignored_resources.unwrap_or_default();
    let ignored_resource_groups = raw.ignored_resource_groups.unwrap_or_default();
    for (i, res) in ignored_resources.iter().enumerate() {
        let p = format!("{path}.ignoredResources[{i}]");
        for message in qualified_name_errors(res) {
            errs.push(FieldError::invalid(&p, res.as_str(), &message));
        }
    }
    for (i, group) in ignored_resource_groups.iter().enumerate() {
        let p = format!("{path}.ignoredResourceGroups[{i}]");
        if group.contains('/') {
            errs.push(FieldError::invalid(
                &p,
                group.as_str(),
                "resource group name can't contain '/'",
            ));
        }
        for message in qualified_name_errors(group) {
            errs.push(FieldError::invalid(&p, group.as_str(), &message));
        }
    }
    let strategy_path = format!("{path}.scoringStrategy");
    let mut strategy = NodeResourcesFitArgs::default().scoring_strategy;
    if let Some(raw) = raw.scoring_strategy {
        let kind_text = raw.kind.unwrap_or_default();
        strategy.kind = match kind_text.as_str() {
            "LeastAllocated" => ScoringStrategyType::LeastAllocated,
            "MostAllocated" => ScoringStrategyType::MostAllocated,
            "RequestedToCapacityRatio" => ScoringStrategyType::RequestedToCapacityRatio,
            _ => {
                let p = format!("{strategy_path}.type");
                errs.push(FieldError::not_supported(
                    p,
                    kind_text.as_str(),
                    &SCORING_TYPES,
                ));
                ScoringStrategyType::LeastAllocated
            }
        };
        let mut resources = raw.resources.unwrap_or_default();
        if resources.is_empty() {
            resources = default_resources();
        }
        for (i, r) in resources.iter_mut().enumerate() {
            if r.weight == 0 {
                r.weight = 1;
            }
            if !(1..=100).contains(&r.weight) {
                let detail = format!("resource weight of {} not in valid range (0, 100]", r.name);
                errs.push(FieldError::invalid(
                    format!("{strategy_path}.resources[{i}].weight"),
                    r.weight,
                    &detail,
                ));
            }
        }
        strategy.resources = resources;
        let ratio_path = format!("{strategy_path}.requestedToCapacityRatio");
        match (strategy.kind, raw.requested_to_capacity_ratio) {
            (ScoringStrategyType::RequestedToCapacityRatio, None) => {
                errs.push(FieldError::required(
                    ratio_path,
                    "must be specified when type is RequestedToCapacityRatio",
                ))
            }
            (ScoringStrategyType::RequestedToCapacityRatio, Some(ratio)) => {
                strategy.shape = ratio.shape.unwrap_or_default();
                shape_errors(&strategy.shape, &format!("{ratio_path}.shape"), errs);
            }
            (_, Some(_)) => {
                errs.push(FieldError::forbidden(
                    ratio_path,
                    "must be nil when type is not RequestedToCapacityRatio",
                ));
            }
            (_, None) => {}
        }
    }
    NodeResourcesFitArgs {
        ignored_resources,
        ignored_resource_groups,
        scoring_strategy: strategy,
    }
}

fn shape_errors(shape: &[UtilizationShapePoint], path: &str, errs: &mut Vec<FieldError>) {
    if shape.is_empty() {
        errs.push(FieldError::required(
            path,
            "at least one point must be specified",
        ));
        return;
    }
    if let Some(i) = (1..shape.len()).find(|&i| shape[i - 1].utilization >= shape[i].utilization) {
        let detail = "values must be sorted in increasing order";
        errs.push(FieldError::invalid(
            format!("{path}[{i}].utilization"),
            shape[i].utilization,
            detail,
        ));
    }
    for (i, point) in shape.iter().enumerate() {
        if !(0..=100).contains(&point.utilization) {
            let p = format!("{path}[{i}].utilization");
            errs.push(FieldError::invalid(
                p,
                point.utilization,
                "not in valid range [0, 100]",
            ));
        }
        if !(0..=10).contains(&point.score) {
            errs.push(FieldError::invalid(
                format!("{path}[{i}].score"),
                point.score,
                "not in valid range [0, 10]",
            ));
        }
    }
}

fn balanced_args(
    raw: RawBalanced,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> BalancedAllocationArgs {
    let _ = (raw.api_version, raw.kind);
    let mut resources = raw.resources.unwrap_or_default();
    if resources.is_empty() {
        return BalancedAllocationArgs::default();
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, r) in resources.iter_mut().enumerate() {
        if r.weight == 0 {
            r.weight = 1;
        }
        let p = format!("{path}.resources[{i}]");
        if seen.contains(&r.name.as_str()) {
            errs.push(FieldError::duplicate(format!("{p}.name"), r.name.as_str()));
        } else {
            seen.push(r.name.as_str());
        }
        if r.weight != 1 {
            errs.push(FieldError::invalid(
                format!("{p}.weight"),
                r.weight,
                "must be 1",
            ));
        }
    }
    BalancedAllocationArgs { resources }
}

fn spread_args(raw: RawSpread, path: &str, errs: &mut Vec<FieldError>) -> PodTopologySpreadArgs {
    let _ = (raw.api_version, raw.kind);
    let raw_constraints = raw.default_constraints.unwrap_or_default();
    let type_path = format!("{path}.defaultingType");
    let defaulting_type = match raw.defaulting_type.as_deref().unwrap_or("System") {
        "System" => {
            if !raw_constraints.is_empty() {
                errs.push(FieldError::invalid(
                    type_path,
                    "System",
                    "when .defaultConstraints are not empty",
                ));
            }
            DefaultingType::System
        }
        "List" => DefaultingType::List,
        other => {
            errs.push(FieldError::not_supported(
                type_path,
                other,
                &["System", "List"],
            ));
            DefaultingType::System
        }
    };
    let list_path = format!("{path}.defaultConstraints");
    let mut constraints: Vec<DefaultConstraint> = Vec::new();
    for (i, rc) in raw_constraints.into_iter().enumerate() {
        let _ = (
            &rc.match_label_keys,
            &rc.min_domains,
            &rc.node_affinity_policy,
            &rc.node_taints_policy,
        );
        let p = format!("{list_path}[{i}]");
        let c = DefaultConstraint {
            max_skew: rc.max_skew.unwrap_or(0),
            topology_key: rc.topology_key.unwrap_or_default(),
            when_unsatisfiable: rc.when_unsatisfiable.unwrap_or_default(),
        };
        if c.max_skew <= 0 {
            errs.push(FieldError::invalid(
                format!("{p}.maxSkew"),
                c.max_skew,
                "not in valid range (0, inf)",
            ));
        }
        let key_path = format!("{p}.topologyKey");
        if c.topology_key.is_empty() {
            errs.push(FieldError::required(key_path, "can not be empty"));
        } else {
            for message in qualified_name_errors(&c.topology_key) {
                errs.push(FieldError::invalid(
                    &key_path,
                    c.topology_key.as_str(),
                    &message,
                ));
            }
        }
        let when_path = format!("{p}.whenUnsatisfiable");
        match c.when_unsatisfiable.as_str() {
            "" => errs.push(FieldError::required(when_path, "can not be empty")),
            "DoNotSchedule" | "ScheduleAnyway" => {}
            other => errs.push(FieldError::not_supported(
                when_path,
                other,
                &["DoNotSchedule", "ScheduleAnyway"],
            )),
        }
        if rc.label_selector.is_some() {
            let detail = "constraint must not define a selector, as they deduced for each pod";
            errs.push(FieldError::forbidden(format!("{p}.labelSelector"), detail));
        }
        let repeated = constraints.iter().any(|o| {
            o.topology_key == c.topology_key && o.when_unsatisfiable == c.when_unsatisfiable
        });
        if repeated {
            let shown = format!("{{{}, {}}}", c.topology_key, c.when_unsatisfiable);
            errs.push(FieldError::duplicate(p, shown));
        }
        constraints.push(c);
    }
    PodTopologySpreadArgs {
        defaulting_type,
        default_constraints: constraints,
    }
}

fn preemption_errors(args: &DefaultPreemptionArgs, path: &str, errs: &mut Vec<FieldError>) {
    let pct_path = format!("{path}.minCandidateNodesPercentage");
    let abs_path = format!("{path}.minCandidateNodesAbsolute");
    let pct = args.min_candidate_nodes_percentage;
    let abs = args.min_candidate_nodes_absolute;
    if !(0..=100).contains(&pct) {
        errs.push(FieldError::invalid(
            &pct_path,
            pct,
            "not in valid range [0, 100]",
        ));
    }
    if abs < 0 {
        errs.push(FieldError::invalid(
            &abs_path,
            abs,
            "not in valid range [0, inf)",
        ));
    }
    if pct == 0 && abs == 0 {
        errs.push(FieldError::invalid(
            pct_path,
            pct,
            "cannot be zero at the same time as minCandidateNodesAbsolute",
        ));
        errs.push(FieldError::invalid(
            abs_path,
            abs,
            "cannot be zero at the same time as minCandidateNodesPercentage",
        ));
    }
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;

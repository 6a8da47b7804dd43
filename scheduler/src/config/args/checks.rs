//! Validation and defaulting of NodeResourcesFit, NodeResourcesBalancedAllocation
//! and PodTopologySpread arguments, with upstream's messages.

use super::decode::{RawBalanced, RawFit, RawSpread};
use super::{
    BalancedAllocationArgs, DefaultConstraint, DefaultingType, NodeResourcesFitArgs,
    PodTopologySpreadArgs, SCORING_TYPES, ScoringStrategyType, UtilizationShapePoint,
    default_resources,
};
use crate::config::error::FieldError;
use crate::config::labels::qualified_name_errors;

pub(super) fn fit_args(
    raw: RawFit,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> NodeResourcesFitArgs {
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

pub(super) fn balanced_args(
    raw: RawBalanced,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> BalancedAllocationArgs {
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

pub(super) fn spread_args(
    raw: RawSpread,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> PodTopologySpreadArgs {
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

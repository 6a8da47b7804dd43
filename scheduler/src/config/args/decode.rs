//! Decoding `pluginConfig[].args` by plugin name into [`PluginArgs`], with the
//! small argument types validated inline.

use serde::Deserialize;
use serde_json::Value;

use super::checks::{balanced_args, fit_args, spread_args};
use super::{
    DefaultPreemptionArgs, InterPodAffinityArgs, PluginArgs, ResourceSpec, UtilizationShapePoint,
    VolumeBindingArgs,
};
use crate::config::error::{FieldError, FieldValue};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawFit {
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) api_version: Option<String>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) kind: Option<String>,
    pub(super) ignored_resources: Option<Vec<String>>,
    pub(super) ignored_resource_groups: Option<Vec<String>>,
    pub(super) scoring_strategy: Option<RawStrategy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawStrategy {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) resources: Option<Vec<ResourceSpec>>,
    pub(super) requested_to_capacity_ratio: Option<RawRatio>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawRatio {
    pub(super) shape: Option<Vec<UtilizationShapePoint>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawBalanced {
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) api_version: Option<String>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) kind: Option<String>,
    pub(super) resources: Option<Vec<ResourceSpec>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawSpread {
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) api_version: Option<String>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) kind: Option<String>,
    pub(super) defaulting_type: Option<String>,
    pub(super) default_constraints: Option<Vec<RawConstraint>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawConstraint {
    pub(super) max_skew: Option<i32>,
    pub(super) topology_key: Option<String>,
    pub(super) when_unsatisfiable: Option<String>,
    pub(super) label_selector: Option<Value>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) match_label_keys: Option<Value>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) min_domains: Option<Value>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) node_affinity_policy: Option<Value>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) node_taints_policy: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawAffinity {
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) api_version: Option<String>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) kind: Option<String>,
    pub(super) hard_pod_affinity_weight: Option<i32>,
    pub(super) ignore_preferred_terms_of_existing_pods: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawPreemption {
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) api_version: Option<String>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) kind: Option<String>,
    pub(super) min_candidate_nodes_percentage: Option<i32>,
    pub(super) min_candidate_nodes_absolute: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawVolumeBinding {
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) api_version: Option<String>,
    #[expect(dead_code, reason = "accepted as upstream does; not used")]
    pub(super) kind: Option<String>,
    pub(super) bind_timeout_seconds: Option<i64>,
}

/// Decodes `args` of plugin `name` into `into`, applying defaults, and appends
/// validation errors under `path` (the `pluginConfig[i]` path). Plugins without
/// typed arguments accept only empty args.
pub(crate) fn apply(
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
            let args = DefaultPreemptionArgs {
                min_candidate_nodes_percentage: raw.min_candidate_nodes_percentage.unwrap_or(10),
                min_candidate_nodes_absolute: raw.min_candidate_nodes_absolute.unwrap_or(100),
            };
            preemption_errors(&args, &args_path, errs);
            into.default_preemption = args;
        }),
        "VolumeBinding" => decode::<RawVolumeBinding>(value).map(|raw| {
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

impl From<FieldValueRaw<'_>> for FieldValue {
    fn from(v: FieldValueRaw<'_>) -> Self {
        FieldValue::Raw(v.0.to_string())
    }
}

fn decode<T: for<'de> Deserialize<'de>>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("decoding args: {e}"))
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

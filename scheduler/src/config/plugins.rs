//! Plugins per extension point: the in-tree registry, upstream's v1.33 default set
//! (all through `multiPoint`), merging a profile's sets with the defaults, and
//! expanding `multiPoint` into the effective ordered list per extension point.

use std::collections::BTreeMap;

use super::error::FieldError;
use super::wire::{RawPlugin, RawPluginSet, RawPlugins};

/// An extension point of the scheduling framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExtensionPoint {
    /// Gate before a pod enters the active queue.
    PreEnqueue,
    /// Orders the active queue.
    QueueSort,
    /// Per-pod preparation and early rejection.
    PreFilter,
    /// Per-node feasibility.
    Filter,
    /// Runs when no node fits (preemption).
    PostFilter,
    /// Per-pod preparation for scoring.
    PreScore,
    /// Per-node score, weighted.
    Score,
    /// Claims resources before binding (and undoes on failure).
    Reserve,
    /// Approves, denies or delays binding.
    Permit,
    /// Work before the binding (volumes).
    PreBind,
    /// Writes the binding.
    Bind,
    /// Notification after a binding.
    PostBind,
}

impl ExtensionPoint {
    /// Every point, in the order the framework runs them.
    pub const ALL: [ExtensionPoint; 12] = [
        ExtensionPoint::PreEnqueue,
        ExtensionPoint::QueueSort,
        ExtensionPoint::PreFilter,
        ExtensionPoint::Filter,
        ExtensionPoint::PostFilter,
        ExtensionPoint::PreScore,
        ExtensionPoint::Score,
        ExtensionPoint::Reserve,
        ExtensionPoint::Permit,
        ExtensionPoint::PreBind,
        ExtensionPoint::Bind,
        ExtensionPoint::PostBind,
    ];

    /// The field name in `plugins` (`preFilter`, …).
    pub fn field_name(self) -> &'static str {
        match self {
            ExtensionPoint::PreEnqueue => "preEnqueue",
            ExtensionPoint::QueueSort => "queueSort",
            ExtensionPoint::PreFilter => "preFilter",
            ExtensionPoint::Filter => "filter",
            ExtensionPoint::PostFilter => "postFilter",
            ExtensionPoint::PreScore => "preScore",
            ExtensionPoint::Score => "score",
            ExtensionPoint::Reserve => "reserve",
            ExtensionPoint::Permit => "permit",
            ExtensionPoint::PreBind => "preBind",
            ExtensionPoint::Bind => "bind",
            ExtensionPoint::PostBind => "postBind",
        }
    }

    /// The framework's plugin interface name (`FilterPlugin`, …), used in messages.
    pub fn interface_name(self) -> &'static str {
        match self {
            ExtensionPoint::PreEnqueue => "PreEnqueuePlugin",
            ExtensionPoint::QueueSort => "QueueSortPlugin",
            ExtensionPoint::PreFilter => "PreFilterPlugin",
            ExtensionPoint::Filter => "FilterPlugin",
            ExtensionPoint::PostFilter => "PostFilterPlugin",
            ExtensionPoint::PreScore => "PreScorePlugin",
            ExtensionPoint::Score => "ScorePlugin",
            ExtensionPoint::Reserve => "ReservePlugin",
            ExtensionPoint::Permit => "PermitPlugin",
            ExtensionPoint::PreBind => "PreBindPlugin",
            ExtensionPoint::Bind => "BindPlugin",
            ExtensionPoint::PostBind => "PostBindPlugin",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

use ExtensionPoint as E;

/// The in-tree plugins Keelson knows, with the extension points each implements
/// (as upstream v1.33's implementations do).
pub const REGISTRY: &[(&str, &[ExtensionPoint])] = &[
    ("SchedulingGates", &[E::PreEnqueue]),
    ("PrioritySort", &[E::QueueSort]),
    ("NodeUnschedulable", &[E::Filter]),
    ("NodeName", &[E::Filter]),
    ("TaintToleration", &[E::Filter, E::PreScore, E::Score]),
    (
        "NodeAffinity",
        &[E::PreFilter, E::Filter, E::PreScore, E::Score],
    ),
    ("NodePorts", &[E::PreFilter, E::Filter]),
    (
        "NodeResourcesFit",
        &[E::PreFilter, E::Filter, E::PreScore, E::Score],
    ),
    ("VolumeRestrictions", &[E::PreFilter, E::Filter]),
    ("NodeVolumeLimits", &[E::PreFilter, E::Filter]),
    (
        "VolumeBinding",
        &[
            E::PreFilter,
            E::Filter,
            E::PreScore,
            E::Score,
            E::Reserve,
            E::PreBind,
        ],
    ),
    ("VolumeZone", &[E::PreFilter, E::Filter]),
    (
        "PodTopologySpread",
        &[E::PreFilter, E::Filter, E::PreScore, E::Score],
    ),
    (
        "InterPodAffinity",
        &[E::PreFilter, E::Filter, E::PreScore, E::Score],
    ),
    ("DefaultPreemption", &[E::PostFilter]),
    ("NodeResourcesBalancedAllocation", &[E::PreScore, E::Score]),
    ("ImageLocality", &[E::Score]),
    ("DefaultBinder", &[E::Bind]),
];

/// Upstream v1.33's default `multiPoint` set, in order, with score weights.
pub const DEFAULT_MULTI_POINT: &[(&str, Option<i32>)] = &[
    ("SchedulingGates", None),
    ("PrioritySort", None),
    ("NodeUnschedulable", None),
    ("NodeName", None),
    ("TaintToleration", Some(3)),
    ("NodeAffinity", Some(2)),
    ("NodePorts", None),
    ("NodeResourcesFit", Some(1)),
    ("VolumeRestrictions", None),
    ("NodeVolumeLimits", None),
    ("VolumeBinding", None),
    ("VolumeZone", None),
    ("PodTopologySpread", Some(2)),
    ("InterPodAffinity", Some(2)),
    ("DefaultPreemption", None),
    ("NodeResourcesBalancedAllocation", Some(1)),
    ("ImageLocality", Some(1)),
    ("DefaultBinder", None),
];

/// Plugins removed from the v1 API; naming one is an error.
pub(super) const REMOVED_IN_V1: &[&str] = &[
    "AzureDiskLimits",
    "CinderLimits",
    "EBSLimits",
    "GCEPDLimits",
];

/// The points `name` implements, `None` for a plugin not in [`REGISTRY`].
pub fn extension_points_of(name: &str) -> Option<&'static [ExtensionPoint]> {
    REGISTRY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, points)| *points)
}

/// A score plugin with its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedPlugin {
    /// Plugin name.
    pub name: String,
    /// Multiplier of its normalized score (unset or 0 means 1).
    pub weight: i64,
}

/// A profile's effective plugins: the ordered list per extension point, and the
/// weight of each score plugin.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedPlugins {
    points: [Vec<String>; 12],
    weights: BTreeMap<String, i64>,
}

impl ResolvedPlugins {
    /// The plugins run at `point`, in order.
    pub fn at(&self, point: ExtensionPoint) -> &[String] {
        &self.points[point.index()]
    }

    /// The score plugins in order with their weights.
    pub fn score(&self) -> Vec<WeightedPlugin> {
        self.at(ExtensionPoint::Score)
            .iter()
            .map(|name| WeightedPlugin {
                name: name.clone(),
                weight: self.weight(name),
            })
            .collect()
    }

    /// The weight of a score plugin (1 when it has none).
    pub fn weight(&self, name: &str) -> i64 {
        self.weights.get(name).copied().unwrap_or(1)
    }

    /// Whether `name` runs at any extension point.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.points
            .iter()
            .any(|list| list.iter().any(|n| n == name))
    }
}

/// The sets a profile gives, by point, after merging with the defaults.
#[derive(Debug, Clone, Default)]
struct MergedSet {
    enabled: Vec<RawPlugin>,
    disabled: Vec<String>,
}

/// Upstream's `mergePluginSet`: defaults minus the disabled ones (all with `*`),
/// re-configured defaults updated in place, then the custom ones appended.
fn merge_set(defaults: &[RawPlugin], custom: Option<&RawPluginSet>) -> MergedSet {
    let empty = RawPluginSet::default();
    let custom = custom.unwrap_or(&empty);
    let custom_enabled = custom.enabled.as_deref().unwrap_or_default();
    let disabled: Vec<String> = custom
        .disabled
        .iter()
        .flatten()
        .map(|p| p.name.clone())
        .collect();
    let mut replaced = vec![false; custom_enabled.len()];
    let mut enabled = Vec::new();
    if !disabled.iter().any(|d| d == "*") {
        for default in defaults {
            if disabled.contains(&default.name) {
                continue;
            }
            match custom_enabled.iter().position(|c| c.name == default.name) {
                Some(i) => {
                    replaced[i] = true;
                    enabled.push(custom_enabled[i].clone());
                }
                None => enabled.push(default.clone()),
            }
        }
    }
    for (plugin, was_replaced) in custom_enabled.iter().zip(replaced) {
        if !was_replaced {
            enabled.push(plugin.clone());
        }
    }
    MergedSet { enabled, disabled }
}

fn custom_set(plugins: &RawPlugins, point: ExtensionPoint) -> Option<&RawPluginSet> {
    match point {
        E::PreEnqueue => plugins.pre_enqueue.as_ref(),
        E::QueueSort => plugins.queue_sort.as_ref(),
        E::PreFilter => plugins.pre_filter.as_ref(),
        E::Filter => plugins.filter.as_ref(),
        E::PostFilter => plugins.post_filter.as_ref(),
        E::PreScore => plugins.pre_score.as_ref(),
        E::Score => plugins.score.as_ref(),
        E::Reserve => plugins.reserve.as_ref(),
        E::Permit => plugins.permit.as_ref(),
        E::PreBind => plugins.pre_bind.as_ref(),
        E::Bind => plugins.bind.as_ref(),
        E::PostBind => plugins.post_bind.as_ref(),
    }
}

/// Resolves a profile's `plugins` against the defaults, as upstream's defaulting
/// (`mergePlugins`) followed by the framework's construction (explicit point
/// lists, then `multiPoint` expansion, then score weights). `path` is the
/// profile's field path, for errors.
pub(super) fn resolve(
    path: &str,
    custom: Option<&RawPlugins>,
) -> Result<ResolvedPlugins, FieldError> {
    let empty = RawPlugins::default();
    let custom = custom.unwrap_or(&empty);
    let plugins_path = format!("{path}.plugins");
    check_names(&plugins_path, "multiPoint", custom.multi_point.as_ref())?;
    for point in ExtensionPoint::ALL {
        check_names(&plugins_path, point.field_name(), custom_set(custom, point))?;
    }

    let defaults: Vec<RawPlugin> = DEFAULT_MULTI_POINT
        .iter()
        .map(|(name, weight)| RawPlugin {
            name: (*name).to_owned(),
            weight: *weight,
        })
        .collect();
    let multi = merge_set(&defaults, custom.multi_point.as_ref());

    let mut resolved = ResolvedPlugins::default();
    for point in ExtensionPoint::ALL {
        let explicit = merge_set(&[], custom_set(custom, point));
        let at = format!("{plugins_path}.{}", point.field_name());
        let mut names: Vec<String> = Vec::new();
        for (i, plugin) in explicit.enabled.iter().enumerate() {
            let implements = extension_points_of(&plugin.name).is_some_and(|p| p.contains(&point));
            if !implements {
                let detail = format!(
                    "plugin {:?} does not extend {}",
                    plugin.name,
                    point.interface_name()
                );
                return Err(FieldError::invalid(
                    format!("{at}.enabled[{i}]"),
                    plugin.name.as_str(),
                    &detail,
                ));
            }
            if names.contains(&plugin.name) {
                return Err(FieldError::duplicate(
                    format!("{at}.enabled[{i}]"),
                    plugin.name.as_str(),
                ));
            }
            names.push(plugin.name.clone());
        }
        if !explicit.disabled.iter().any(|d| d == "*") {
            // Explicitly listed plugins that are also in multiPoint come first, then
            // the multiPoint ones, then the remaining explicit ones.
            let mut overrides = Vec::new();
            let mut from_multi = Vec::new();
            for plugin in &multi.enabled {
                let implements =
                    extension_points_of(&plugin.name).is_some_and(|p| p.contains(&point));
                if !implements || explicit.disabled.contains(&plugin.name) {
                    continue;
                }
                if names.contains(&plugin.name) {
                    if !overrides.contains(&plugin.name) {
                        overrides.push(plugin.name.clone());
                    }
                    continue;
                }
                if from_multi.contains(&plugin.name) {
                    let detail = format!(
                        "plugin {:?} already registered as {:?}",
                        plugin.name,
                        point.interface_name()
                    );
                    return Err(FieldError::invalid(
                        format!("{plugins_path}.multiPoint"),
                        plugin.name.as_str(),
                        &detail,
                    ));
                }
                from_multi.push(plugin.name.clone());
            }
            let mut ordered = overrides;
            ordered.extend(from_multi);
            for name in names {
                if !ordered.contains(&name) {
                    ordered.push(name);
                }
            }
            names = ordered;
        }
        resolved.points[point.index()] = names;
    }

    // Weights: the score point's own entries win over multiPoint's; 0 means 1.
    let score_entries = merge_set(&[], custom.score.as_ref()).enabled;
    for plugin in score_entries.iter().chain(&multi.enabled) {
        let scores = extension_points_of(&plugin.name).is_some_and(|p| p.contains(&E::Score));
        if !scores || resolved.weights.contains_key(&plugin.name) {
            continue;
        }
        let weight = match plugin.weight {
            None | Some(0) => 1,
            Some(w) => i64::from(w),
        };
        resolved.weights.insert(plugin.name.clone(), weight);
    }

    let queue_sort = resolved.at(E::QueueSort).len();
    if queue_sort == 0 {
        return Err(FieldError::required(
            format!("{plugins_path}.queueSort"),
            "no queue sort plugin is enabled",
        ));
    }
    if queue_sort > 1 {
        let detail = "only one queue sort plugin can be enabled";
        return Err(FieldError::invalid(
            format!("{plugins_path}.queueSort"),
            i64::try_from(queue_sort).unwrap_or(i64::MAX),
            detail,
        ));
    }
    if resolved.at(E::Bind).is_empty() {
        return Err(FieldError::required(
            format!("{plugins_path}.bind"),
            "at least one bind plugin is needed",
        ));
    }
    Ok(resolved)
}

/// Rejects plugin names that are unknown or were removed from the v1 API.
fn check_names(
    plugins_path: &str,
    field: &str,
    set: Option<&RawPluginSet>,
) -> Result<(), FieldError> {
    let Some(set) = set else { return Ok(()) };
    for (i, plugin) in set.enabled.iter().flatten().enumerate() {
        let path = format!("{plugins_path}.{field}.enabled[{i}]");
        check_name(&path, &plugin.name)?;
    }
    for (i, plugin) in set.disabled.iter().flatten().enumerate() {
        if plugin.name != "*" {
            check_name(
                &format!("{plugins_path}.{field}.disabled[{i}]"),
                &plugin.name,
            )?;
        }
    }
    Ok(())
}

/// An error when `name` is not a plugin this scheduler has.
pub(super) fn check_name(path: &str, name: &str) -> Result<(), FieldError> {
    if REMOVED_IN_V1.contains(&name) {
        let detail = format!(
            "was invalid in version {:?} (KubeSchedulerConfiguration is version {:?})",
            super::API_VERSION,
            super::API_VERSION
        );
        return Err(FieldError::invalid(path, name, &detail));
    }
    if extension_points_of(name).is_none() {
        let detail = format!("plugin {name:?} does not exist");
        return Err(FieldError::invalid(path, name, &detail));
    }
    Ok(())
}

#[cfg(test)]
#[path = "plugins_tests.rs"]
mod tests;

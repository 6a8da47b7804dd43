//! A profile's plugins per extension point: merging its sets with upstream's
//! default `multiPoint` set, and expanding `multiPoint` into the effective ordered
//! list per extension point with score weights.

use std::collections::BTreeMap;

use super::error::FieldError;
use super::wire::{RawPlugin, RawPluginSet, RawPlugins};

use super::registry::{
    DEFAULT_MULTI_POINT, ExtensionPoint, ExtensionPoint as E, REMOVED_IN_V1, extension_points_of,
};

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

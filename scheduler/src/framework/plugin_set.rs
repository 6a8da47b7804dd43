//! Which of a profile's enabled plugins the scheduling cycle runs, per extension point.
//!
//! Plugins are looked up by name in the profile's resolved lists, so a plugin disabled in
//! the profile never runs and the order is the profile's. Names the cycle does not run yet
//! are listed in [`NOT_YET_RUN`]; they are skipped.

/// Plugins enabled by default that the cycle skips for now (volumes, image locality,
/// queue-side and binding plugins belong to later work).
pub const NOT_YET_RUN: &[&str] = &[
    "VolumeRestrictions",
    "NodeVolumeLimits",
    "VolumeZone",
    "ImageLocality",
    "SchedulingGates",
    "PrioritySort",
    "DefaultPreemption",
    "DefaultBinder",
];

/// A Filter plugin the cycle runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterPlugin {
    NodeUnschedulable,
    NodeName,
    TaintToleration,
    NodeAffinity,
    NodePorts,
    NodeResourcesFit,
    PodTopologySpread,
    InterPodAffinity,
    VolumeBinding,
}

impl FilterPlugin {
    /// The plugin called `name`, if the cycle runs it as a filter.
    pub(crate) fn named(name: &str) -> Option<Self> {
        Some(match name {
            "NodeUnschedulable" => Self::NodeUnschedulable,
            "NodeName" => Self::NodeName,
            "TaintToleration" => Self::TaintToleration,
            "NodeAffinity" => Self::NodeAffinity,
            "NodePorts" => Self::NodePorts,
            "NodeResourcesFit" => Self::NodeResourcesFit,
            "PodTopologySpread" => Self::PodTopologySpread,
            "InterPodAffinity" => Self::InterPodAffinity,
            "VolumeBinding" => Self::VolumeBinding,
            _ => return None,
        })
    }
}

/// A Score plugin the cycle runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScorePlugin {
    TaintToleration,
    NodeAffinity,
    NodeResourcesFit,
    NodeResourcesBalancedAllocation,
    InterPodAffinity,
    PodTopologySpread,
}

impl ScorePlugin {
    /// The plugin called `name`, if the cycle runs it as a scorer.
    pub(crate) fn named(name: &str) -> Option<Self> {
        Some(match name {
            "TaintToleration" => Self::TaintToleration,
            "NodeAffinity" => Self::NodeAffinity,
            "NodeResourcesFit" => Self::NodeResourcesFit,
            "NodeResourcesBalancedAllocation" => Self::NodeResourcesBalancedAllocation,
            "InterPodAffinity" => Self::InterPodAffinity,
            "PodTopologySpread" => Self::PodTopologySpread,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_MULTI_POINT, ExtensionPoint, extension_points_of};

    /// Plugins whose Score is off unless a feature gate is on (VolumeBinding scores only
    /// with StorageCapacityScoring); the cycle skips their Score point.
    const SCORE_GATED: &[&str] = &["VolumeBinding"];

    /// Every default plugin is either run by the cycle at its Filter/Score points or
    /// listed as not run yet.
    #[test]
    fn every_default_plugin_is_accounted_for() {
        for (name, _) in DEFAULT_MULTI_POINT {
            let points = extension_points_of(name).unwrap_or_default();
            let filter_ok =
                !points.contains(&ExtensionPoint::Filter) || FilterPlugin::named(name).is_some();
            let score_ok = !points.contains(&ExtensionPoint::Score)
                || ScorePlugin::named(name).is_some()
                || SCORE_GATED.contains(name);
            let runs_something =
                FilterPlugin::named(name).is_some() || ScorePlugin::named(name).is_some();
            assert!(
                (filter_ok && score_ok && runs_something) || NOT_YET_RUN.contains(name),
                "{name}"
            );
        }
    }
}

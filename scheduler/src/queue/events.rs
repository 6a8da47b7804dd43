//! Cluster events that can make an unschedulable pod schedulable, and which events each
//! in-tree plugin cares about (upstream's `EventsToRegister`, reduced to a static table).

/// The aspect of a Node that an update changed. Upstream splits one Node update into one
/// event per changed aspect; callers do the same and send one [`ClusterEvent`] each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeAspect {
    /// `status.allocatable` changed.
    Allocatable,
    /// `metadata.labels` changed.
    Labels,
    /// `spec.taints` changed.
    Taints,
    /// `spec.unschedulable` changed.
    Schedulable,
    /// `status.conditions` changed.
    Conditions,
    /// `metadata.annotations` changed.
    Annotations,
}

/// Something that happened in the cluster and may let pending pods fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClusterEvent {
    /// A Node was added.
    NodeAdd,
    /// A Node changed in the given aspect.
    NodeUpdate(NodeAspect),
    /// A Node was deleted.
    NodeDelete,
    /// A pod bound to a node appeared (in the cache or via an assume).
    AssignedPodAdd,
    /// A pod bound to a node changed (labels, resources).
    AssignedPodUpdate,
    /// A pod bound to a node went away, freeing its resources.
    AssignedPodDelete,
    /// A PersistentVolume was added.
    PvAdd,
    /// A PersistentVolume changed.
    PvUpdate,
    /// A PersistentVolumeClaim was added.
    PvcAdd,
    /// A PersistentVolumeClaim changed.
    PvcUpdate,
    /// A StorageClass was added.
    StorageClassAdd,
    /// A StorageClass changed.
    StorageClassUpdate,
    /// A pod stayed too long in the unschedulable set; always moves it.
    UnschedulableTimeout,
    /// An explicit request to retry everything; always moves.
    ForceActivate,
}

impl ClusterEvent {
    /// Short label for logs and metrics, shaped like upstream's event labels.
    pub fn label(self) -> &'static str {
        match self {
            Self::NodeAdd => "NodeAdd",
            Self::NodeUpdate(NodeAspect::Allocatable) => "NodeAllocatableChange",
            Self::NodeUpdate(NodeAspect::Labels) => "NodeLabelChange",
            Self::NodeUpdate(NodeAspect::Taints) => "NodeTaintChange",
            Self::NodeUpdate(NodeAspect::Schedulable) => "NodeSpecUnschedulableChange",
            Self::NodeUpdate(NodeAspect::Conditions) => "NodeConditionChange",
            Self::NodeUpdate(NodeAspect::Annotations) => "NodeAnnotationChange",
            Self::NodeDelete => "NodeDelete",
            Self::AssignedPodAdd => "AssignedPodAdd",
            Self::AssignedPodUpdate => "AssignedPodUpdate",
            Self::AssignedPodDelete => "AssignedPodDelete",
            Self::PvAdd => "PvAdd",
            Self::PvUpdate => "PvUpdate",
            Self::PvcAdd => "PvcAdd",
            Self::PvcUpdate => "PvcUpdate",
            Self::StorageClassAdd => "StorageClassAdd",
            Self::StorageClassUpdate => "StorageClassUpdate",
            Self::UnschedulableTimeout => "UnschedulableTimeout",
            Self::ForceActivate => "ForceActivate",
        }
    }

    /// Whether this event moves every pod, whatever rejected it.
    pub fn is_wildcard(self) -> bool {
        matches!(self, Self::UnschedulableTimeout | Self::ForceActivate)
    }
}

use ClusterEvent as E;
use NodeAspect as A;

/// The events each in-tree filtering plugin registers. A plugin not listed here is
/// treated as interested in every event, so a pod it rejected is never stranded.
const PLUGIN_EVENTS: &[(&str, &[ClusterEvent])] = &[
    ("NodeName", &[E::NodeAdd]),
    (
        "NodeUnschedulable",
        &[
            E::NodeAdd,
            E::NodeUpdate(A::Schedulable),
            E::NodeUpdate(A::Taints),
        ],
    ),
    (
        "NodeResourcesFit",
        &[
            E::NodeAdd,
            E::NodeUpdate(A::Allocatable),
            E::AssignedPodUpdate,
            E::AssignedPodDelete,
        ],
    ),
    ("NodePorts", &[E::NodeAdd, E::AssignedPodDelete]),
    ("NodeAffinity", &[E::NodeAdd, E::NodeUpdate(A::Labels)]),
    ("TaintToleration", &[E::NodeAdd, E::NodeUpdate(A::Taints)]),
    (
        "InterPodAffinity",
        &[
            E::NodeAdd,
            E::NodeUpdate(A::Labels),
            E::AssignedPodAdd,
            E::AssignedPodUpdate,
            E::AssignedPodDelete,
        ],
    ),
    (
        "PodTopologySpread",
        &[
            E::NodeAdd,
            E::NodeUpdate(A::Labels),
            E::NodeUpdate(A::Taints),
            E::NodeDelete,
            E::AssignedPodAdd,
            E::AssignedPodUpdate,
            E::AssignedPodDelete,
        ],
    ),
    (
        "VolumeBinding",
        &[
            E::NodeAdd,
            E::NodeUpdate(A::Labels),
            E::NodeUpdate(A::Allocatable),
            E::PvAdd,
            E::PvUpdate,
            E::PvcAdd,
            E::PvcUpdate,
            E::StorageClassAdd,
            E::StorageClassUpdate,
        ],
    ),
    (
        "VolumeRestrictions",
        &[E::NodeAdd, E::AssignedPodDelete, E::PvcAdd, E::PvcUpdate],
    ),
    (
        "VolumeZone",
        &[
            E::NodeAdd,
            E::NodeUpdate(A::Labels),
            E::PvAdd,
            E::PvUpdate,
            E::PvcAdd,
            E::PvcUpdate,
            E::StorageClassAdd,
        ],
    ),
    (
        "NodeVolumeLimits",
        &[E::NodeAdd, E::AssignedPodDelete, E::PvcAdd, E::PvAdd],
    ),
];

/// Whether `event` may make a pod rejected by `plugin` schedulable.
pub fn plugin_interested(plugin: &str, event: ClusterEvent) -> bool {
    if event.is_wildcard() {
        return true;
    }
    match PLUGIN_EVENTS.iter().find(|(name, _)| *name == plugin) {
        Some((_, events)) => events.contains(&event),
        None => true,
    }
}

/// Whether `event` may help a pod rejected by `rejectors`; a pod with no recorded
/// rejector moves on any event.
pub fn event_may_help<'a, I>(rejectors: I, event: ClusterEvent) -> bool
where
    I: IntoIterator<Item = &'a str>,
{
    let mut any = false;
    for plugin in rejectors {
        any = true;
        if plugin_interested(plugin, event) {
            return true;
        }
    }
    !any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_table() {
        let cases: &[(&str, ClusterEvent, bool)] = &[
            ("NodeResourcesFit", E::NodeAdd, true),
            ("NodeResourcesFit", E::NodeUpdate(A::Allocatable), true),
            ("NodeResourcesFit", E::NodeUpdate(A::Labels), false),
            ("NodeResourcesFit", E::AssignedPodDelete, true),
            ("NodeResourcesFit", E::AssignedPodAdd, false),
            ("NodeResourcesFit", E::PvAdd, false),
            ("TaintToleration", E::NodeUpdate(A::Taints), true),
            ("TaintToleration", E::NodeUpdate(A::Allocatable), false),
            ("NodeAffinity", E::NodeUpdate(A::Labels), true),
            ("NodeAffinity", E::AssignedPodDelete, false),
            ("NodeUnschedulable", E::NodeUpdate(A::Schedulable), true),
            ("InterPodAffinity", E::AssignedPodAdd, true),
            ("PodTopologySpread", E::NodeDelete, true),
            ("VolumeBinding", E::PvcAdd, true),
            ("VolumeBinding", E::AssignedPodDelete, false),
            ("NodePorts", E::AssignedPodDelete, true),
            ("NodePorts", E::UnschedulableTimeout, true),
            ("SomeOutOfTreePlugin", E::PvAdd, true),
        ];
        for &(plugin, event, want) in cases {
            assert_eq!(plugin_interested(plugin, event), want, "{plugin} {event:?}");
        }
    }

    #[test]
    fn rejector_sets() {
        let cases: &[(&[&str], ClusterEvent, bool)] = &[
            (&[], E::PvAdd, true),
            (&["NodeAffinity"], E::PvAdd, false),
            (&["NodeAffinity", "VolumeBinding"], E::PvAdd, true),
            (
                &["NodeAffinity", "TaintToleration"],
                E::NodeUpdate(A::Taints),
                true,
            ),
            (&["NodeAffinity"], E::ForceActivate, true),
        ];
        for &(plugins, event, want) in cases {
            assert_eq!(
                event_may_help(plugins.iter().copied(), event),
                want,
                "{plugins:?} {event:?}"
            );
        }
    }

    #[test]
    fn labels_are_distinct() {
        let all = [
            E::NodeAdd,
            E::NodeUpdate(A::Allocatable),
            E::NodeUpdate(A::Labels),
            E::NodeUpdate(A::Taints),
            E::NodeUpdate(A::Schedulable),
            E::NodeUpdate(A::Conditions),
            E::NodeUpdate(A::Annotations),
            E::NodeDelete,
            E::PvAdd,
            E::PvcUpdate,
        ];
        let labels: std::collections::HashSet<_> = all.iter().map(|e| e.label()).collect();
        assert_eq!(labels.len(), all.len());
    }
}

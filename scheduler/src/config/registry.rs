//! The in-tree plugin registry: extension points, which plugins implement which
//! point, upstream v1.33's default `multiPoint` set and the names removed from v1.

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

    pub(super) fn index(self) -> usize {
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

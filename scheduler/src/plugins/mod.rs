//! Scheduling plugins with upstream v1.33 semantics, one per file, as pure functions over
//! the pod and the node (the framework that runs them per extension point comes with the
//! scheduling loop). Every filter answers a [`Status`]; scores are 0..=[`MAX_NODE_SCORE`]
//! after normalisation.

pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod pod_topology_spread_score;
pub mod taint_toleration;
pub mod volume_binding;

use k8s_openapi::api::core::v1::Node;

use crate::selector::Labels;

/// Upstream's `framework.MaxNodeScore`.
pub const MAX_NODE_SCORE: i64 = 100;

/// Upstream's status codes, as far as filters use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The node passes.
    Success,
    /// The node does not fit now; preemption may help.
    Unschedulable,
    /// The node does not fit, and preempting pods on it would not change that.
    UnschedulableAndUnresolvable,
}

/// A filter's answer: a code and the reasons users read in `FailedScheduling` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// What the answer means for the node.
    pub code: Code,
    /// Why, in upstream's words (`node(s) had untolerated taint {dedicated: gpu}`).
    pub reasons: Vec<String>,
}

impl Status {
    /// The node passes.
    pub fn success() -> Self {
        Self {
            code: Code::Success,
            reasons: Vec::new(),
        }
    }

    /// The node does not fit, for `reason`; preemption may help.
    pub fn unschedulable(reason: impl Into<String>) -> Self {
        Self {
            code: Code::Unschedulable,
            reasons: vec![reason.into()],
        }
    }

    /// The node does not fit, for `reason`, whatever is preempted.
    pub fn unresolvable(reason: impl Into<String>) -> Self {
        Self {
            code: Code::UnschedulableAndUnresolvable,
            reasons: vec![reason.into()],
        }
    }

    /// Whether the node passes.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
}

/// The labels of a node (none when absent), borrowed: the filters run for every node
/// of every cycle, so they must not copy them.
pub fn node_labels(node: &Node) -> &Labels {
    static EMPTY: Labels = Labels::new();
    node.metadata.labels.as_ref().unwrap_or(&EMPTY)
}

/// The name of a node ("" when absent).
pub fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or("")
}

/// Upstream's `DefaultNormalizeScore`: scales raw scores so the highest becomes
/// `max`, reversed (`max - score`) when a lower raw score is better. With all raw scores
/// zero, every node gets `max` when reversed and 0 otherwise.
pub fn default_normalize(scores: &mut [i64], max: i64, reverse: bool) {
    let highest = scores.iter().copied().max().unwrap_or(0);
    for s in scores.iter_mut() {
        if highest == 0 {
            *s = if reverse { max } else { 0 };
            continue;
        }
        let scaled = max * *s / highest;
        *s = if reverse { max - scaled } else { scaled };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_as_upstream() {
        let cases: [(&[i64], bool, &[i64]); 5] = [
            (&[1, 2, 3, 4], false, &[25, 50, 75, 100]),
            (&[1, 2, 3, 4], true, &[75, 50, 25, 0]),
            (&[0, 0], false, &[0, 0]),
            (&[0, 0], true, &[100, 100]),
            (&[1000, 10, 20, 30], false, &[100, 1, 2, 3]),
        ];
        for (raw, reverse, want) in cases {
            let mut s = raw.to_vec();
            default_normalize(&mut s, MAX_NODE_SCORE, reverse);
            assert_eq!(s, want, "{raw:?} reverse={reverse}");
        }
    }
}

//! Why a pod fits no node, in the words users read in `FailedScheduling` events
//! (upstream v1.33 `FitError.Error()`):
//! `0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. preemption: …`
//!
//! Every rejection reason of every node is counted; the counted reasons are sorted as
//! strings (count first, as upstream sorts them) and joined.

use std::collections::BTreeMap;

/// The diagnosis of a failed scheduling cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FitError {
    /// How many nodes the cycle considered.
    pub num_all_nodes: usize,
    /// Set when a PreFilter plugin rejected the pod outright (no node was filtered).
    pub pre_filter_msg: String,
    /// How many nodes gave each reason.
    pub reasons: BTreeMap<String, usize>,
    /// What PostFilter (preemption) found, e.g. `preemption: 0/3 nodes are available: …`.
    pub post_filter_msg: String,
}

impl FitError {
    /// An empty diagnosis over `num_all_nodes` nodes.
    pub fn new(num_all_nodes: usize) -> Self {
        Self {
            num_all_nodes,
            ..Self::default()
        }
    }

    /// Records the reasons one node was rejected for.
    pub fn add_node<'a>(&mut self, reasons: impl IntoIterator<Item = &'a str>) {
        for r in reasons {
            *self.reasons.entry(r.to_owned()).or_default() += 1;
        }
    }
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        if !self.pre_filter_msg.is_empty() {
            write!(f, " {}.", self.pre_filter_msg)?;
        } else {
            let mut counted: Vec<String> = self
                .reasons
                .iter()
                .map(|(reason, n)| format!("{n} {reason}"))
                .collect();
            counted.sort();
            if !counted.is_empty() {
                write!(f, " {}.", counted.join(", "))?;
            }
        }
        if !self.post_filter_msg.is_empty() {
            write!(f, " {}.", self.post_filter_msg)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_as_upstream() {
        let mut e = FitError::new(3);
        e.add_node(["Insufficient cpu"]);
        e.add_node(["Insufficient cpu", "Insufficient memory"]);
        e.add_node(["node(s) had untolerated taint {dedicated: gpu}"]);
        e.post_filter_msg =
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling"
                .to_owned();
        assert_eq!(
            e.to_string(),
            "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
        let mut pre = FitError::new(5);
        pre.pre_filter_msg = "persistentvolumeclaim \"data\" not found".to_owned();
        pre.add_node(["ignored"]);
        assert_eq!(
            pre.to_string(),
            "0/5 nodes are available: persistentvolumeclaim \"data\" not found."
        );
        assert_eq!(FitError::new(0).to_string(), "0/0 nodes are available:");
    }
}

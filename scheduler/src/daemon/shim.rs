//! TEMPORARY stand-in for `crate::framework::{Snapshot, Scheduled, Algorithm}` (being
//! written in `framework/cycle.rs`): checks only cpu and NoSchedule taints. Removed as
//! soon as the real scheduling cycle lands.

use std::collections::HashMap;

use crate::config::{Profile, SchedulerConfig};
use crate::framework::fit_error::FitError;
use crate::resources::{PodResources, Resource};
use crate::selector::Labels;
use crate::snapshot::{NodeInfo, PodInfo};

/// The nodes and namespace labels a cycle sees.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every node with its pods.
    pub nodes: Vec<NodeInfo>,
    /// Labels per namespace name.
    pub namespace_labels: HashMap<String, Labels>,
}

/// A successful cycle.
#[derive(Debug)]
pub struct Scheduled {
    /// The chosen node.
    pub node: String,
    /// Nodes evaluated.
    pub evaluated: usize,
    /// Nodes that fit.
    pub feasible: usize,
}

/// The scheduling algorithm of one profile.
#[derive(Debug)]
pub struct Algorithm;

impl Algorithm {
    /// An algorithm for `profile`.
    pub fn new(_profile: &Profile, _config: &SchedulerConfig) -> Self {
        Self
    }

    /// Picks a node for `pod`.
    pub fn schedule(&mut self, pod: &PodInfo, snapshot: &Snapshot) -> Result<Scheduled, FitError> {
        let want = PodResources::of(&pod.pod).requests.get("cpu");
        let mut err = FitError::new(snapshot.nodes.len());
        let mut best: Option<(i64, &str)> = None;
        for n in &snapshot.nodes {
            let taints = n
                .node
                .spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default();
            if taints.iter().any(|t| t.effect == "NoSchedule") {
                err.add_node(["node(s) had untolerated taint"]);
                continue;
            }
            let alloc = n
                .node
                .status
                .as_ref()
                .and_then(|s| s.allocatable.as_ref())
                .map(Resource::from_list)
                .unwrap_or_default()
                .get("cpu");
            let used: i64 = n
                .pods
                .iter()
                .map(|p| PodResources::of(&p.pod).requests.get("cpu"))
                .sum();
            if used + want > alloc {
                err.add_node(["Insufficient cpu"]);
                continue;
            }
            let free = alloc - used - want;
            if best.is_none_or(|(f, _)| free > f) {
                best = Some((free, &n.name));
            }
        }
        match best {
            Some((_, node)) => Ok(Scheduled {
                node: node.to_owned(),
                evaluated: snapshot.nodes.len(),
                feasible: 1,
            }),
            None => Err(err),
        }
    }
}

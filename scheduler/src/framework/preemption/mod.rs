//! DefaultPreemption, the PostFilter plugin (upstream v1.33 `framework/preemption` and
//! `plugins/defaultpreemption`), pure and synchronous: when a pod fits no node, find the
//! nodes where removing lower-priority pods would let it fit, keep the fewest victims on
//! each (reprieving the most important first), and pick one node by upstream's order.
//!
//! Only nodes rejected as `Unschedulable` are tried; `UnschedulableAndUnresolvable` ones
//! are "not helpful". The dry run visits nodes from a rotating offset and stops once
//! `max(nodes × minCandidateNodesPercentage / 100, minCandidateNodesAbsolute)` (capped at
//! the node count) candidates are found. PodDisruptionBudgets do not exist yet, so no
//! victim ever violates one.

pub mod report;
mod victims;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::cycle::{Algorithm, Snapshot};
use super::fit_error::FitError;
use crate::config::DefaultPreemptionArgs;
use crate::plugins::{Code, Status};
use crate::queue::{nominated_node, pod_priority};
use crate::snapshot::PodInfo;

pub use victims::{more_important, select_victims};

/// The reason given for nodes where no preemption could make room.
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// The reason given for nodes without lower-priority pods.
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
/// The reason of the `DisruptionTarget` condition set on victims.
pub const DISRUPTION_REASON: &str = "PreemptionByScheduler";

/// The pods to delete on one node so the preemptor fits there.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The node's name.
    pub node: String,
    /// The victims, most important first.
    pub victims: Vec<Arc<PodInfo>>,
    /// How many victims a PodDisruptionBudget protects (always 0 for now).
    pub pdb_violations: usize,
}

/// DefaultPreemption with its arguments and the offset its dry runs rotate from.
#[derive(Debug, Clone)]
pub struct Preemption {
    percentage: usize,
    absolute: usize,
    offset: usize,
}

impl Preemption {
    /// The plugin with the profile's `DefaultPreemptionArgs`.
    #[must_use]
    pub fn new(args: &DefaultPreemptionArgs) -> Self {
        Self {
            percentage: usize::try_from(args.min_candidate_nodes_percentage).unwrap_or(0),
            absolute: usize::try_from(args.min_candidate_nodes_absolute).unwrap_or(0),
            offset: 0,
        }
    }

    /// How many candidates a dry run over `potential` nodes looks for.
    #[must_use]
    pub fn num_candidates(&self, potential: usize) -> usize {
        (potential * self.percentage / 100)
            .max(self.absolute)
            .min(potential)
    }

    /// Preemption for `pod`, which fits no node of `snapshot`: the chosen candidate, or
    /// the PostFilter message (`preemption: …`, without the final period) for the
    /// `FailedScheduling` note. With no nodes at all there is nothing to try and the
    /// message is empty (upstream does not run PostFilter then).
    pub fn preempt(
        &mut self,
        algorithm: &Algorithm,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<Candidate, String> {
        if let Err(why) = eligible(&pod.pod, snapshot) {
            return Err(format!("preemption: {why}"));
        }
        let all = snapshot.nodes.len();
        if all == 0 {
            return Err(String::new());
        }
        let mut diagnosis = FitError::new(all);
        let mut potential = Vec::new();
        for (i, node) in snapshot.nodes.iter().enumerate() {
            match algorithm.node_status(pod, node, snapshot) {
                Some(Status {
                    code: Code::Unschedulable,
                    ..
                }) => potential.push(i),
                _ => diagnosis.add_node([NOT_HELPFUL]),
            }
        }
        let candidates = self.dry_run(algorithm, pod, snapshot, &potential, &mut diagnosis);
        match pick_one(&candidates) {
            Some(i) => candidates
                .into_iter()
                .nth(i)
                .ok_or_else(|| format!("preemption: {}", trimmed(&diagnosis))),
            None => Err(format!("preemption: {}", trimmed(&diagnosis))),
        }
    }

    /// Victims on the potential nodes, from the rotating offset, until enough candidates.
    fn dry_run(
        &mut self,
        algorithm: &Algorithm,
        pod: &PodInfo,
        snapshot: &Snapshot,
        potential: &[usize],
        diagnosis: &mut FitError,
    ) -> Vec<Candidate> {
        let n = potential.len();
        if n == 0 {
            return Vec::new();
        }
        let wanted = self.num_candidates(n);
        let start = self.offset % n;
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut visited = 0;
        for k in 0..n {
            let non_violating = candidates.iter().filter(|c| c.pdb_violations == 0).count();
            if non_violating > 0 && candidates.len() >= wanted {
                break;
            }
            visited += 1;
            let node = &snapshot.nodes[potential[(start + k) % n]];
            match select_victims(algorithm, pod, node, snapshot) {
                Ok(victims) => candidates.push(Candidate {
                    node: node.name.clone(),
                    victims,
                    pdb_violations: 0,
                }),
                Err(status) => diagnosis.add_node(status.reasons.iter().map(String::as_str)),
            }
        }
        self.offset = (start + visited) % n;
        candidates
    }
}

/// Whether `pod` may preempt: not with `preemptionPolicy: Never`, nor while a
/// lower-priority pod on its nominated node is still terminating from an earlier
/// preemption. The error is upstream's explanation.
pub fn eligible(pod: &Pod, snapshot: &Snapshot) -> Result<(), &'static str> {
    let policy = pod
        .spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref());
    if policy == Some("Never") {
        return Err("not eligible due to preemptionPolicy=Never.");
    }
    let Some(nominated) = nominated_node(pod) else {
        return Ok(());
    };
    let priority = pod_priority(pod);
    let terminating = snapshot
        .nodes
        .iter()
        .filter(|n| n.name == nominated)
        .flat_map(|n| &n.pods)
        .any(|p| pod_priority(&p.pod) < priority && terminating_by_preemption(&p.pod));
    if terminating {
        return Err("not eligible due to a terminating pod on the nominated node.");
    }
    Ok(())
}

/// Being deleted, with the `DisruptionTarget` condition preemption sets.
fn terminating_by_preemption(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.type_ == "DisruptionTarget"
                        && c.status == "True"
                        && c.reason.as_deref() == Some(DISRUPTION_REASON)
                })
            })
}

/// A diagnosis as upstream nests it in the PostFilter message: without its final period.
fn trimmed(diagnosis: &FitError) -> String {
    diagnosis.to_string().trim_end_matches('.').to_owned()
}

/// The index of the candidate upstream picks: fewest PDB violations, then the lowest
/// highest victim priority, the smallest sum of priorities, the fewest victims, the latest
/// start among each node's highest-priority victims, then the first.
#[must_use]
pub fn pick_one(candidates: &[Candidate]) -> Option<usize> {
    let mut left: Vec<usize> = (0..candidates.len()).collect();
    let keys: [&dyn Fn(&Candidate) -> i128; 5] = [
        &|c| -(c.pdb_violations as i128),
        &|c| {
            -c.victims.first().map_or(i128::from(i32::MIN) - 1, |v| {
                i128::from(pod_priority(&v.pod))
            })
        },
        // Upstream shifts every priority by 2^31 so the sum counts victims too.
        &|c| {
            -c.victims
                .iter()
                .map(|v| i128::from(pod_priority(&v.pod)) + (1_i128 << 31))
                .sum::<i128>()
        },
        &|c| -(c.victims.len() as i128),
        &|c| victims::earliest_start_of_highest(&c.victims),
    ];
    for key in keys {
        if left.len() <= 1 {
            break;
        }
        let best = left.iter().map(|&i| key(&candidates[i])).max()?;
        left.retain(|&i| key(&candidates[i]) == best);
    }
    left.first().copied()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

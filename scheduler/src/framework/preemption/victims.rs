//! The fewest victims on one node (upstream `SelectVictimsOnNode`): remove every pod of
//! lower priority than the preemptor; if the preemptor then fits, add them back one by one,
//! most important first, keeping back each that still leaves room.

use std::cmp::Ordering;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::NO_VICTIMS;
use crate::framework::cycle::{Algorithm, Snapshot};
use crate::plugins::Status;
use crate::queue::pod_priority;
use crate::snapshot::{NodeInfo, PodInfo};

/// `status.startTime` in nanoseconds; a pod not started yet counts as starting now, the
/// latest possible time.
fn start_nanos(pod: &Pod) -> i128 {
    pod.status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map_or(i128::MAX, |t| t.0.as_nanosecond())
}

/// Upstream's `MoreImportantPod` as an ordering: higher priority first, then the earlier
/// start.
#[must_use]
pub fn more_important(a: &Pod, b: &Pod) -> Ordering {
    pod_priority(b)
        .cmp(&pod_priority(a))
        .then_with(|| start_nanos(a).cmp(&start_nanos(b)))
}

/// The earliest start among the victims of the highest priority (nanoseconds; a node
/// without victims gives the latest possible time).
pub(super) fn earliest_start_of_highest(victims: &[Arc<PodInfo>]) -> i128 {
    let Some(highest) = victims.iter().map(|v| pod_priority(&v.pod)).max() else {
        return i128::MAX;
    };
    victims
        .iter()
        .filter(|v| pod_priority(&v.pod) == highest)
        .map(|v| start_nanos(&v.pod))
        .min()
        .unwrap_or(i128::MAX)
}

/// The minimal victims on `node` for `pod`, most important first, or why the node cannot
/// be made to fit (no lower-priority pods, or the filters still fail without them).
pub fn select_victims(
    algorithm: &Algorithm,
    pod: &PodInfo,
    node: &NodeInfo,
    snapshot: &Snapshot,
) -> Result<Vec<Arc<PodInfo>>, Status> {
    let priority = pod_priority(&pod.pod);
    let mut trial = node.clone();
    let mut potential: Vec<Arc<PodInfo>> = node
        .pods
        .iter()
        .filter(|p| pod_priority(&p.pod) < priority)
        .cloned()
        .collect();
    if potential.is_empty() {
        return Err(Status::unresolvable(NO_VICTIMS));
    }
    for p in &potential {
        trial.remove_pod(&p.key);
    }
    if let Some(status) = algorithm.node_status(pod, &trial, snapshot) {
        return Err(status);
    }
    potential.sort_by(|a, b| more_important(&a.pod, &b.pod));
    let mut victims = Vec::new();
    for p in potential {
        trial.add_pod(Arc::clone(&p));
        if !algorithm.fits_on(pod, &trial, snapshot) {
            trial.remove_pod(&p.key);
            victims.push(p);
        }
    }
    victims.sort_by(|a, b| more_important(&a.pod, &b.pod));
    Ok(victims)
}

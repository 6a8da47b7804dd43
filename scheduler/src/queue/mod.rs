//! The scheduling queue (upstream's `PriorityQueue`), as a pure synchronous structure.
//!
//! Every pending pod is in exactly one place:
//! - the **active queue**, popped by higher `spec.priority`, then earlier timestamp;
//! - the **backoff queue**, after a failed attempt, until `timestamp + backoff`;
//! - the **unschedulable set**, after an "unschedulable" failure, until a cluster event
//!   that may help one of the rejecting plugins, or until it has waited 5 minutes;
//! - **in flight**, between `pop` and `requeue_failed` / `done`; cluster events seen
//!   meanwhile are remembered, so a pod that fails just after a helpful event is retried
//!   after its backoff instead of waiting for the next one.
//!
//! Time is always passed in; nothing here sleeps, blocks or spawns.

mod backoff;
mod events;
mod flight;
mod gates;
mod info;
mod moves;
mod nominator;
mod relist;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;

pub use backoff::QueueConfig;
pub use events::{ClusterEvent, NodeAspect, event_may_help, plugin_interested};
pub use gates::is_gated;
pub use info::{QueuedPod, nominated_node, pod_key, pod_meaningfully_changed, pod_priority};
pub use nominator::Nominator;

/// Errors of the scheduling queue.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueueError {
    /// The pod has no `metadata.name`, so it has no key.
    #[error("pod has no name")]
    MissingName,
}

/// Why a popped pod could not be scheduled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Plugins found no fitting node; names the rejecting plugins (may be empty).
    Unschedulable(BTreeSet<String>),
    /// An internal error (API failure, plugin error); retried after backoff.
    Error,
}

/// Where a pod went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Into the active queue.
    Active,
    /// Into the backoff queue.
    Backoff,
    /// Into the unschedulable set.
    Unschedulable,
    /// Still being scheduled (popped, not yet requeued or done).
    InFlight,
    /// Held back until its scheduling gates are removed.
    Gated,
    /// Nowhere: the pod is not (or no longer) pending.
    Dropped,
}

/// How many pods each part of the queue holds (for `scheduler_pending_pods`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Active queue.
    pub active: usize,
    /// Backoff queue.
    pub backoff: usize,
    /// Unschedulable set.
    pub unschedulable: usize,
    /// Popped and not yet done.
    pub in_flight: usize,
    /// Held back by scheduling gates.
    pub gated: usize,
}

/// Active-queue order: higher priority first, then earlier timestamp, then arrival.
type ActiveOrder = (Reverse<i32>, Instant, u64);
/// Backoff-queue order: earlier expiry first, then arrival.
type BackoffOrder = (Instant, u64);

#[derive(Clone, Copy, Debug)]
enum Place {
    Active(ActiveOrder),
    Backoff { order: BackoffOrder, error: bool },
    Unschedulable,
    InFlight { cycle: u64, changed: bool },
}

#[derive(Debug)]
struct Slot {
    info: QueuedPod,
    place: Place,
}

/// The scheduling queue. See the module docs for the life of a pod.
#[derive(Debug)]
pub struct SchedulingQueue {
    config: QueueConfig,
    pods: HashMap<String, Slot>,
    active: BTreeMap<ActiveOrder, String>,
    backoff: BTreeMap<BackoffOrder, String>,
    unschedulable: BTreeSet<String>,
    /// Pods with scheduling gates, by key (not in `pods`; see `gates.rs`).
    gated: HashMap<String, Arc<Pod>>,
    /// Scheduling cycles of the pods in flight.
    in_flight: BTreeSet<u64>,
    /// Events received while pods were in flight, with the cycle current at the time;
    /// a pod popped in cycle `c` saw the entries whose cycle is `>= c`.
    in_flight_events: VecDeque<(u64, ClusterEvent)>,
    seq: u64,
    scheduling_cycle: u64,
    nominator: Nominator,
}

impl SchedulingQueue {
    /// An empty queue with the given timing.
    pub fn new(config: QueueConfig) -> Self {
        Self {
            config,
            pods: HashMap::new(),
            active: BTreeMap::new(),
            backoff: BTreeMap::new(),
            unschedulable: BTreeSet::new(),
            gated: HashMap::new(),
            in_flight: BTreeSet::new(),
            in_flight_events: VecDeque::new(),
            seq: 0,
            scheduling_cycle: 0,
            nominator: Nominator::new(),
        }
    }

    /// The timing settings.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Adds a newly seen pending pod to the active queue, or holds it back while it has
    /// scheduling gates. A pod already known is treated as an update.
    pub fn add(&mut self, pod: Arc<Pod>, now: Instant) -> Result<Placement, QueueError> {
        let key = pod_key(&pod)?;
        if let Some(placement) = self.hold_if_gated(&key, &pod) {
            return Ok(placement);
        }
        if self.pods.contains_key(&key) {
            return self.update(pod, now);
        }
        self.sync_nomination(&key, None, &pod);
        let info = QueuedPod::new(pod, now)?;
        self.insert_active(info);
        Ok(Placement::Active)
    }

    /// Applies an update of a pending pod. In the active or backoff queue the object is
    /// replaced in place (re-sorted if its priority changed); in the unschedulable set a
    /// meaningful change moves it out (to backoff if still backing off, else active);
    /// in flight, a meaningful change sends the pod to backoff if it fails; an unknown
    /// pod is added.
    pub fn update(&mut self, pod: Arc<Pod>, now: Instant) -> Result<Placement, QueueError> {
        let key = pod_key(&pod)?;
        let Some(slot) = self.pods.get_mut(&key) else {
            return self.add(pod, now);
        };
        let changed = pod_meaningfully_changed(&slot.info.pod, &pod);
        let old = Arc::clone(&slot.info.pod);
        slot.info.set_pod(Arc::clone(&pod));
        self.sync_nomination(&key, Some(&old), &pod);
        let Some(slot) = self.pods.remove(&key) else {
            return Ok(Placement::Dropped);
        };
        let placement = match slot.place {
            Place::Active(order) => {
                self.active.remove(&order);
                let order = (Reverse(slot.info.priority), order.1, order.2);
                self.active.insert(order, key.clone());
                let place = Place::Active(order);
                self.pods.insert(key, Slot { place, ..slot });
                Placement::Active
            }
            Place::Backoff { .. } => {
                self.pods.insert(key, slot);
                Placement::Backoff
            }
            Place::Unschedulable if changed => {
                self.unschedulable.remove(&key);
                self.requeue_after_backoff(slot.info, now)
            }
            Place::Unschedulable => {
                self.pods.insert(key, slot);
                Placement::Unschedulable
            }
            Place::InFlight {
                cycle,
                changed: before,
            } => {
                let place = Place::InFlight {
                    cycle,
                    changed: before || changed,
                };
                self.pods.insert(key, Slot { place, ..slot });
                Placement::InFlight
            }
        };
        Ok(placement)
    }

    /// Removes a pod (deleted, or bound by someone else). An in-flight pod is forgotten,
    /// so a later `requeue_failed` for it drops it. Returns whether it was known.
    pub fn delete(&mut self, key: &str) -> bool {
        self.nominator.remove(key);
        let Some(slot) = self.pods.remove(key) else {
            return self.gated.remove(key).is_some();
        };
        match slot.place {
            Place::Active(order) => {
                self.active.remove(&order);
            }
            Place::Backoff { order, .. } => {
                self.backoff.remove(&order);
            }
            Place::Unschedulable => {
                self.unschedulable.remove(key);
            }
            Place::InFlight { cycle, .. } => self.end_flight(cycle),
        }
        true
    }

    /// Sizes of each part of the queue.
    pub fn counts(&self) -> QueueCounts {
        QueueCounts {
            active: self.active.len(),
            backoff: self.backoff.len(),
            unschedulable: self.unschedulable.len(),
            in_flight: self.in_flight.len(),
            gated: self.gated.len(),
        }
    }

    /// The queued bookkeeping of a known pod.
    pub fn get(&self, key: &str) -> Option<&QueuedPod> {
        self.pods.get(key).map(|s| &s.info)
    }

    /// Where a pod currently is; `Dropped` for unknown pods.
    pub fn placement(&self, key: &str) -> Placement {
        match self.pods.get(key).map(|s| s.place) {
            Some(Place::Active(_)) => Placement::Active,
            Some(Place::Backoff { .. }) => Placement::Backoff,
            Some(Place::Unschedulable) => Placement::Unschedulable,
            Some(Place::InFlight { .. }) => Placement::InFlight,
            None if self.gated.contains_key(key) => Placement::Gated,
            None => Placement::Dropped,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn insert_active(&mut self, info: QueuedPod) {
        let order = (Reverse(info.priority), info.timestamp, self.next_seq());
        self.active.insert(order, info.key.clone());
        let place = Place::Active(order);
        self.pods.insert(info.key.clone(), Slot { info, place });
    }

    fn backoff_expiry(&self, info: &QueuedPod) -> Instant {
        info.timestamp + self.config.backoff_for(info.attempts)
    }

    fn insert_backoff(&mut self, info: QueuedPod, error: bool) {
        let order = (self.backoff_expiry(&info), self.next_seq());
        self.backoff.insert(order, info.key.clone());
        let place = Place::Backoff { order, error };
        self.pods.insert(info.key.clone(), Slot { info, place });
    }
}

impl Default for SchedulingQueue {
    fn default() -> Self {
        Self::new(QueueConfig::default())
    }
}

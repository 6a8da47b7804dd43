//! A pod's attempt: popped into flight, then requeued after a failure (where the cluster
//! events seen in flight decide between backoff and the unschedulable set) or done.

use std::time::Instant;

use super::{
    ClusterEvent, Failure, Place, Placement, QueuedPod, SchedulingQueue, Slot, event_may_help,
};

impl SchedulingQueue {
    /// Takes the next pod to schedule: the head of the active queue or, when that is
    /// empty and `pop_from_backoff` is set, the backing-off pod (not one that failed with
    /// an error) whose backoff ends first. `None` when there is nothing to schedule.
    /// Counts an attempt and starts a scheduling cycle.
    pub fn pop(&mut self, now: Instant) -> Option<QueuedPod> {
        let key = match self.active.pop_first() {
            Some((_, key)) => key,
            None if self.config.pop_from_backoff => {
                let order = self
                    .backoff
                    .iter()
                    .find(|(_, k)| {
                        matches!(
                            self.pods.get(*k).map(|s| s.place),
                            Some(Place::Backoff { error: false, .. })
                        )
                    })
                    .map(|(order, _)| *order)?;
                self.backoff.remove(&order)?
            }
            None => return None,
        };
        let slot = self.pods.get_mut(&key)?;
        self.scheduling_cycle += 1;
        slot.place = Place::InFlight {
            cycle: self.scheduling_cycle,
            changed: false,
        };
        slot.info.attempts += 1;
        slot.info.initial_attempt.get_or_insert(now);
        self.in_flight.insert(self.scheduling_cycle);
        Some(slot.info.clone())
    }

    /// Puts a popped pod back after a failed attempt (upstream's
    /// `AddUnschedulableIfNotPresent`). Errors go to the backoff queue. An unschedulable
    /// pod also goes there if, while it was in flight, it was meaningfully updated or a
    /// cluster event arrived that may help one of its rejectors (upstream's in-flight
    /// events, which replaced the older `moveRequestCycle` rule); otherwise it goes to
    /// the unschedulable set, remembering its rejectors. The timestamp becomes `now`.
    pub fn requeue_failed(&mut self, key: &str, failure: Failure, now: Instant) -> Placement {
        let Some(slot) = self.pods.get(key) else {
            return Placement::Dropped;
        };
        let Place::InFlight { cycle, changed } = slot.place else {
            return Placement::Dropped;
        };
        let Some(mut slot) = self.pods.remove(key) else {
            return Placement::Dropped;
        };
        let seen: Vec<ClusterEvent> = self
            .in_flight_events
            .iter()
            .filter(|(c, _)| *c >= cycle)
            .map(|(_, e)| *e)
            .collect();
        self.end_flight(cycle);
        slot.info.timestamp = now;
        match failure {
            Failure::Error => {
                slot.info.unschedulable_plugins.clear();
                self.insert_backoff(slot.info, true);
                Placement::Backoff
            }
            Failure::Unschedulable(plugins) => {
                slot.info.unschedulable_plugins = plugins;
                let helped = seen.into_iter().any(|e| {
                    event_may_help(
                        slot.info.unschedulable_plugins.iter().map(String::as_str),
                        e,
                    )
                });
                if helped || changed {
                    self.insert_backoff(slot.info, false);
                    Placement::Backoff
                } else {
                    self.unschedulable.insert(key.to_owned());
                    slot.place = Place::Unschedulable;
                    self.pods.insert(key.to_owned(), slot);
                    Placement::Unschedulable
                }
            }
        }
    }

    /// Ends the scheduling of a popped pod that was bound (or given up on). A pod
    /// already requeued or deleted is left alone. Returns whether it was in flight.
    pub fn done(&mut self, key: &str) -> bool {
        if !matches!(
            self.pods.get(key).map(|s| s.place),
            Some(Place::InFlight { .. })
        ) {
            return false;
        }
        if let Some(Slot {
            place: Place::InFlight { cycle, .. },
            ..
        }) = self.pods.remove(key)
        {
            self.end_flight(cycle);
        }
        self.nominator.remove(key);
        true
    }

    /// Forgets a finished flight and the events no pod in flight still needs.
    pub(super) fn end_flight(&mut self, cycle: u64) {
        self.in_flight.remove(&cycle);
        match self.in_flight.first() {
            Some(&oldest) => {
                while self
                    .in_flight_events
                    .front()
                    .is_some_and(|(c, _)| *c < oldest)
                {
                    self.in_flight_events.pop_front();
                }
            }
            None => self.in_flight_events.clear(),
        }
    }
}

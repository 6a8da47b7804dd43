//! Moving pods between the backoff queue, the unschedulable set and the active queue:
//! backoff completion, cluster events and the unschedulable timeout.

use std::time::Instant;

use super::{ClusterEvent, Placement, QueuedPod, SchedulingQueue, event_may_help};

impl SchedulingQueue {
    /// Moves every backing-off pod whose backoff has ended by `now` to the active queue.
    /// Returns how many moved.
    pub fn flush_backoff(&mut self, now: Instant) -> usize {
        let mut moved = 0;
        while let Some(entry) = self.backoff.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            if let Some(slot) = self.pods.remove(&key) {
                self.insert_active(slot.info);
                moved += 1;
            }
        }
        moved
    }

    /// Moves unschedulable pods that `event` may help (see [`event_may_help`]) to the
    /// backoff queue if still backing off, else to the active queue, and remembers the
    /// event for the pods in flight. Returns how many moved.
    pub fn move_all_on_event(&mut self, event: ClusterEvent, now: Instant) -> usize {
        if !self.in_flight.is_empty() {
            self.in_flight_events
                .push_back((self.scheduling_cycle, event));
        }
        let keys: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|k| {
                self.pods.get(*k).is_some_and(|s| {
                    event_may_help(
                        s.info.unschedulable_plugins.iter().map(String::as_str),
                        event,
                    )
                })
            })
            .cloned()
            .collect();
        self.move_unschedulable(&keys, now)
    }

    /// Moves pods that have waited in the unschedulable set longer than
    /// `max_in_unschedulable` (upstream's leftover flush). Returns how many moved.
    pub fn flush_unschedulable_leftover(&mut self, now: Instant) -> usize {
        let limit = self.config.max_in_unschedulable;
        let keys: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|k| {
                self.pods
                    .get(*k)
                    .is_some_and(|s| now.saturating_duration_since(s.info.timestamp) > limit)
            })
            .cloned()
            .collect();
        self.move_unschedulable(&keys, now)
    }

    pub(super) fn requeue_after_backoff(&mut self, info: QueuedPod, now: Instant) -> Placement {
        if self.backoff_expiry(&info) > now {
            self.insert_backoff(info, false);
            Placement::Backoff
        } else {
            self.insert_active(info);
            Placement::Active
        }
    }

    pub(super) fn move_unschedulable(&mut self, keys: &[String], now: Instant) -> usize {
        let mut moved = 0;
        for key in keys {
            self.unschedulable.remove(key);
            if let Some(slot) = self.pods.remove(key) {
                self.requeue_after_backoff(slot.info, now);
                moved += 1;
            }
        }
        moved
    }
}

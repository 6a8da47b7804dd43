//! Queue timing settings and the per-pod backoff rule (upstream's
//! `podInitialBackoffDuration` doubled per attempt, capped at `podMaxBackoffDuration`).

use std::time::Duration;

/// Timing settings of the scheduling queue; `Default` gives upstream v1.33's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// Backoff after the first failed attempt (`podInitialBackoffSeconds`, 1 s).
    pub initial_backoff: Duration,
    /// Upper bound of the doubled backoff (`podMaxBackoffSeconds`, 10 s).
    pub max_backoff: Duration,
    /// How long a pod may sit in the unschedulable set before it is retried anyway
    /// (`podMaxInUnschedulablePodsDuration`, 5 min).
    pub max_in_unschedulable: Duration,
    /// When the active queue is empty, `pop` takes the pod whose backoff ends first
    /// (upstream's `SchedulerPopFromBackoffQ`, on by default in v1.33). Pods that failed
    /// with an error are never taken early.
    pub pop_from_backoff: bool,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_in_unschedulable: Duration::from_secs(5 * 60),
            pop_from_backoff: true,
        }
    }
}

impl QueueConfig {
    /// Sets the initial backoff.
    #[must_use]
    pub fn with_initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Sets the maximum backoff.
    #[must_use]
    pub fn with_max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Sets whether `pop` may take a backing-off pod when the active queue is empty.
    #[must_use]
    pub fn with_pop_from_backoff(mut self, enabled: bool) -> Self {
        self.pop_from_backoff = enabled;
        self
    }

    /// The backoff a pod serves after `attempts` scheduling attempts: none before the
    /// first attempt, then `initial_backoff * 2^(attempts - 1)`, never above `max_backoff`.
    pub fn backoff_for(&self, attempts: u32) -> Duration {
        if attempts == 0 {
            return Duration::ZERO;
        }
        let mut d = self.initial_backoff;
        for _ in 1..attempts {
            if d >= self.max_backoff {
                break;
            }
            d = d.saturating_mul(2);
        }
        d.min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let cfg = QueueConfig::default();
        let cases = [
            (0, 0),
            (1, 1),
            (2, 2),
            (3, 4),
            (4, 8),
            (5, 10),
            (6, 10),
            (40, 10),
        ];
        for (attempts, secs) in cases {
            assert_eq!(
                cfg.backoff_for(attempts),
                Duration::from_secs(secs),
                "attempts {attempts}"
            );
        }
    }

    #[test]
    fn backoff_honours_custom_bounds() {
        let cfg = QueueConfig::default()
            .with_initial_backoff(Duration::from_millis(300))
            .with_max_backoff(Duration::from_secs(1));
        let cases = [(1, 300), (2, 600), (3, 1000), (4, 1000)];
        for (attempts, ms) in cases {
            assert_eq!(cfg.backoff_for(attempts), Duration::from_millis(ms));
        }
    }

    #[test]
    fn defaults_are_upstream() {
        let cfg = QueueConfig::default();
        assert_eq!(cfg.initial_backoff, Duration::from_secs(1));
        assert_eq!(cfg.max_backoff, Duration::from_secs(10));
        assert_eq!(cfg.max_in_unschedulable, Duration::from_secs(300));
        assert!(cfg.pop_from_backoff);
    }
}

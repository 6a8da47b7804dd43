//! Restart back-off per container (upstream's `flowcontrol.Backoff` as the kubelet uses
//! it): the first restart is immediate, then 10 s, doubling to 5 min; an entry not touched
//! for twice the maximum starts over. The same shape serves image pulls.

use std::collections::HashMap;
use std::time::Duration;

/// Back-off state of many keys (`<pod uid>/<container name>`).
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    entries: HashMap<String, Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    delay: Duration,
    /// Unix nanoseconds of the last `next`.
    updated: i64,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Backoff {
    /// Upstream's container restart back-off: 10 s doubling to 300 s.
    pub(crate) fn containers() -> Self {
        Self::new(Duration::from_secs(10), Duration::from_secs(300))
    }

    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            entries: HashMap::new(),
        }
    }

    fn live(&self, key: &str, now: i64) -> Option<Entry> {
        self.entries
            .get(key)
            .copied()
            .filter(|e| now.saturating_sub(e.updated) <= nanos(self.max) * 2)
    }

    /// How much longer `key` must wait when its last run ended at `since` (Unix ns):
    /// `None` when it may go now.
    pub(crate) fn remaining(&self, key: &str, since: i64, now: i64) -> Option<Duration> {
        let entry = self.live(key, now)?;
        let until = since.saturating_add(nanos(entry.delay));
        (now < until).then(|| Duration::from_nanos(u64::try_from(until - now).unwrap_or(0)))
    }

    /// Records a (re)start of `key` now: the next wait doubles, up to the maximum.
    pub(crate) fn next(&mut self, key: &str, now: i64) {
        let delay = match self.live(key, now) {
            Some(e) => (e.delay * 2).min(self.max),
            None => self.initial,
        };
        self.entries.insert(
            key.to_owned(),
            Entry {
                delay,
                updated: now,
            },
        );
    }

    /// How much longer `key` must wait since its last `next` (image pulls): `None` when it
    /// may go now.
    pub(crate) fn remaining_since_update(&self, key: &str, now: i64) -> Option<Duration> {
        let since = self.live(key, now)?.updated;
        self.remaining(key, since, now)
    }

    /// When `key` was last touched (0 if never), to tell one back-off period from the next.
    pub(crate) fn updated(&self, key: &str) -> i64 {
        self.entries.get(key).map_or(0, |e| e.updated)
    }

    /// The current wait of `key` (for messages such as `back-off 20s restarting …`).
    pub(crate) fn delay(&self, key: &str, now: i64) -> Duration {
        self.live(key, now).map_or(self.initial, |e| e.delay)
    }

    /// Forgets every key of a pod (`<uid>/…`).
    pub(crate) fn forget_pod(&mut self, uid: &str) {
        self.entries
            .retain(|k, _| k.split_once('/').is_none_or(|(u, _)| u != uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn first_restart_is_immediate_then_doubles_to_the_cap() {
        let mut b = Backoff::containers();
        let k = "uid/app";
        assert_eq!(b.remaining(k, 0, 0), None);
        b.next(k, 0);
        // Exited at 1 s: it waits 10 s from there.
        assert_eq!(b.remaining(k, S, 2 * S), Some(Duration::from_secs(9)));
        assert_eq!(b.remaining(k, S, 11 * S), None);
        b.next(k, 11 * S);
        assert_eq!(b.delay(k, 11 * S), Duration::from_secs(20));
        let mut now = 11 * S;
        for _ in 0..10 {
            now += S;
            b.next(k, now);
        }
        assert_eq!(b.delay(k, now), Duration::from_secs(300));
    }

    #[test]
    fn an_entry_idle_for_twice_the_cap_starts_over() {
        let mut b = Backoff::containers();
        b.next("u/c", 0);
        b.next("u/c", S);
        assert_eq!(b.delay("u/c", S), Duration::from_secs(20));
        let later = S + 601 * S;
        assert_eq!(b.remaining("u/c", later - S, later), None);
        b.next("u/c", later);
        assert_eq!(b.delay("u/c", later), Duration::from_secs(10));
    }

    #[test]
    fn forgetting_a_pod_keeps_the_others() {
        let mut b = Backoff::containers();
        b.next("a/x", 0);
        b.next("ab/x", 0);
        b.forget_pod("a");
        assert_eq!(b.delay("a/x", 0), Duration::from_secs(10));
        b.next("ab/x", 0);
        assert_eq!(b.delay("ab/x", 0), Duration::from_secs(20));
    }
}

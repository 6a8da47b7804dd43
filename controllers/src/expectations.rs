//! What a controller expects to see of its own writes before it trusts its informer's view
//! again (upstream's `ControllerExpectations` with `UIDTrackingControllerExpectations`).
//!
//! A sync that creates `n` children expects `n` adds; one that deletes children expects
//! each by key, so a deletion seen twice (first as a deletionTimestamp, then as the delete)
//! counts once. Until the counts reach zero the controller does not create or delete again,
//! so watch lag never makes it create too many or delete twice. Expectations older than
//! [`TTL`] are treated as met, so a lost event only delays the controller.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long expectations hold before they are treated as met (upstream's
/// `ExpectationsTimeout`).
pub const TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Expected {
    adds: i64,
    dels: i64,
    since: Instant,
}

/// Expectations of every controller object, by its key.
#[derive(Debug, Default)]
pub struct Expectations {
    counts: Mutex<HashMap<String, Expected>>,
    /// Keys of the children each controller object waits to see deleted.
    deleting: Mutex<HashMap<String, HashSet<String>>>,
}

impl Expectations {
    /// No expectations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `key` may act: nothing expected, everything observed, or expired.
    pub fn satisfied(&self, key: &str) -> bool {
        self.satisfied_at(key, Instant::now())
    }

    fn satisfied_at(&self, key: &str, now: Instant) -> bool {
        match self.counts.lock().get(key) {
            None => true,
            Some(e) => (e.adds <= 0 && e.dels <= 0) || now.duration_since(e.since) > TTL,
        }
    }

    fn set(&self, key: &str, adds: i64, dels: i64, now: Instant) {
        self.counts.lock().insert(
            key.to_owned(),
            Expected {
                adds,
                dels,
                since: now,
            },
        );
    }

    /// `key` is about to create `count` children.
    pub fn expect_creations(&self, key: &str, count: usize) {
        self.set(key, count_i64(count), 0, Instant::now());
    }

    /// `key` is about to delete the children `children` (their keys).
    pub fn expect_deletions(&self, key: &str, children: impl IntoIterator<Item = String>) {
        let children: HashSet<String> = children.into_iter().collect();
        let dels = count_i64(children.len());
        self.deleting.lock().insert(key.to_owned(), children);
        self.set(key, 0, dels, Instant::now());
    }

    /// One child of `key` was seen created (or a create will never be seen).
    pub fn creation_observed(&self, key: &str) {
        self.lower_creations(key, 1);
    }

    /// `count` creations of `key` will never be seen.
    pub fn lower_creations(&self, key: &str, count: usize) {
        if let Some(e) = self.counts.lock().get_mut(key) {
            e.adds -= count_i64(count);
        }
    }

    /// The child `child` of `key` was seen deleted (or being deleted); counts once per child.
    pub fn deletion_observed(&self, key: &str, child: &str) {
        let mut deleting = self.deleting.lock();
        let Some(children) = deleting.get_mut(key) else {
            return;
        };
        if children.remove(child)
            && let Some(e) = self.counts.lock().get_mut(key)
        {
            e.dels -= 1;
        }
    }

    /// Forgets `key` (it was deleted, or recreated under the same name).
    pub fn delete(&self, key: &str) {
        self.deleting.lock().remove(key);
        self.counts.lock().remove(key);
    }

    /// The (adds, dels) still expected of `key`.
    pub fn pending(&self, key: &str) -> Option<(i64, i64)> {
        self.counts.lock().get(key).map(|e| (e.adds, e.dels))
    }
}

fn count_i64(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_are_met_when_observed_or_lowered() {
        let e = Expectations::new();
        assert!(e.satisfied("ns/rs"), "nothing expected");
        e.expect_creations("ns/rs", 3);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        assert_eq!(e.pending("ns/rs"), Some((1, 0)));
        e.lower_creations("ns/rs", 1);
        assert!(e.satisfied("ns/rs"));
        // Observing more than expected (e.g. an orphan adopted meanwhile) stays met.
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
        assert!(e.satisfied("ns/other"));
    }

    #[test]
    fn deletions_count_once_per_child() {
        let e = Expectations::new();
        e.expect_deletions("ns/rs", ["ns/a".to_owned(), "ns/b".to_owned()]);
        assert!(!e.satisfied("ns/rs"));
        // Seen first with a deletionTimestamp, then deleted: one observation.
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        assert_eq!(e.pending("ns/rs"), Some((0, 1)));
        // A child not being deleted by us does not count.
        e.deletion_observed("ns/rs", "ns/c");
        assert!(!e.satisfied("ns/rs"));
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn expectations_expire_and_can_be_forgotten() {
        let e = Expectations::new();
        let start = Instant::now();
        e.set("ns/rs", 2, 0, start);
        assert!(!e.satisfied_at("ns/rs", start + TTL));
        assert!(e.satisfied_at("ns/rs", start + TTL + Duration::from_secs(1)));
        e.expect_deletions("ns/rs", ["ns/a".to_owned()]);
        e.delete("ns/rs");
        assert!(e.satisfied("ns/rs"));
        assert_eq!(e.pending("ns/rs"), None);
        e.deletion_observed("ns/rs", "ns/a");
        assert_eq!(e.pending("ns/rs"), None);
    }
}

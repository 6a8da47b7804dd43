//! What a component does with an event before sending it, as client-go's
//! `EventCorrelator` (tools/record) does for upstream's controllers and kubelets:
//!
//! - **aggregation**: when one source reports more than [`AGGREGATE_MAX_EVENTS`]
//!   different notes of one reason about one object within [`AGGREGATE_INTERVAL`], the
//!   next ones become a single event noted `(combined from similar events): <note>`;
//! - **counting**: an event seen before (same source, object, type, reason and note) is
//!   not created again: the existing one's count goes up;
//! - **spam filtering**: a source may send [`SPAM_BURST`] events about one object, then
//!   one per [`SPAM_REFILL`]; the rest are dropped.
//!
//! So a ReplicaSet creating 10,000 pods records ten `SuccessfulCreate` events and one
//! combined event counting the others, until its budget runs out — the story
//! `kubectl describe` tells upstream — instead of 10,000 writes.
//!
//! The caches hold 64-bit hashes of the keys, at most [`CACHE_ENTRIES`] each, least
//! recently used dropped first. Time comes from the caller, so this is pure.

use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use hashlink::LruCache;
use k8s_openapi::api::core::v1::ObjectReference;

/// Entries per cache (client-go's `maxLruCacheEntries`).
pub const CACHE_ENTRIES: usize = 4096;
/// Different notes of one reason about one object before they are combined.
pub const AGGREGATE_MAX_EVENTS: usize = 10;
/// How long similar events are remembered for aggregation.
pub const AGGREGATE_INTERVAL: Duration = Duration::from_secs(600);
/// Events a source may send about one object at once.
pub const SPAM_BURST: f64 = 25.0;
/// How often a source earns one more event about an object.
pub const SPAM_REFILL: Duration = Duration::from_secs(300);

/// The prefix of a combined event's note.
pub const COMBINED: &str = "(combined from similar events): ";

/// The parts of an event the correlator compares.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The reporting component (`Source.Component`, `reportingController`).
    pub source: &'a str,
    /// The reporting instance (`Source.Host`, `reportingInstance`).
    pub host: &'a str,
    /// The object the event is about.
    pub regarding: &'a ObjectReference,
    /// `Normal` or `Warning`.
    pub type_: &'a str,
    /// The reason.
    pub reason: &'a str,
    /// The note (message).
    pub note: &'a str,
}

/// What to send for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Create a new event called `name`.
    Create {
        /// The new event's name.
        name: String,
        /// Its note (combined when similar events came too often).
        note: String,
    },
    /// The event was sent before as `name`: it has now happened `count` times.
    Count {
        /// The existing event's name.
        name: String,
        /// The note it would have now (an event written through `events.k8s.io`
        /// keeps its first note; this one is used if the event must be created again).
        note: String,
        /// How often it happened.
        count: i32,
    },
    /// The source sent too many events about the object lately: drop this one.
    Skip,
}

#[derive(Debug)]
struct Similar {
    /// Hashes of the notes seen, at most [`AGGREGATE_MAX_EVENTS`] − 1 kept.
    notes: Vec<u64>,
    last: Instant,
}

#[derive(Debug)]
struct Seen {
    name: String,
    count: i32,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let earned =
            now.saturating_duration_since(self.last).as_secs_f64() / SPAM_REFILL.as_secs_f64();
        self.tokens = (self.tokens + earned).min(SPAM_BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One component's correlation state.
#[derive(Debug)]
pub struct Correlator {
    similar: LruCache<u64, Similar>,
    seen: LruCache<u64, Seen>,
    spam: LruCache<u64, Bucket>,
}

impl Default for Correlator {
    fn default() -> Self {
        Self {
            similar: LruCache::new(CACHE_ENTRIES),
            seen: LruCache::new(CACHE_ENTRIES),
            spam: LruCache::new(CACHE_ENTRIES),
        }
    }
}

/// A stable hash of `parts` (a separator between them, so parts never run together).
fn key(parts: &[&str]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

fn field(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

impl Correlator {
    /// What to do with the event `facts` describe at `now`; `new_name` names an event
    /// that is to be created.
    pub fn correlate(
        &mut self,
        now: Instant,
        facts: &Facts<'_>,
        new_name: impl FnOnce() -> String,
    ) -> Verdict {
        let r = facts.regarding;
        let object = [
            facts.source,
            facts.host,
            field(&r.kind),
            field(&r.namespace),
            field(&r.name),
            field(&r.uid),
            field(&r.api_version),
        ];
        let spam_key = key(&object);
        let mut similar_parts = object.to_vec();
        similar_parts.extend([facts.type_, facts.reason]);
        let similar_key = key(&similar_parts);
        let mut event_parts = similar_parts.clone();
        event_parts.extend([field(&r.field_path), facts.note]);
        let event_key = key(&event_parts);

        let (key, note) = self.aggregate(now, similar_key, event_key, facts.note);
        let verdict = match self.seen.get_mut(&key) {
            Some(seen) => {
                seen.count = seen.count.saturating_add(1);
                Verdict::Count {
                    name: seen.name.clone(),
                    note,
                    count: seen.count,
                }
            }
            None => {
                let name = new_name();
                self.seen.insert(
                    key,
                    Seen {
                        name: name.clone(),
                        count: 1,
                    },
                );
                Verdict::Create { name, note }
            }
        };
        // As upstream, the count above stands even when the filter drops the event.
        let bucket = match self.spam.get_mut(&spam_key) {
            Some(b) => b,
            None => {
                self.spam.insert(
                    spam_key,
                    Bucket {
                        tokens: SPAM_BURST,
                        last: now,
                    },
                );
                match self.spam.get_mut(&spam_key) {
                    Some(b) => b,
                    None => return verdict,
                }
            }
        };
        if bucket.take(now) {
            verdict
        } else {
            Verdict::Skip
        }
    }

    /// The key the event is counted under and its note: its own, or the combined ones
    /// once similar events came too often.
    fn aggregate(
        &mut self,
        now: Instant,
        similar_key: u64,
        event_key: u64,
        note: &str,
    ) -> (u64, String) {
        let note_key = key(&[note]);
        let record = match self.similar.get_mut(&similar_key) {
            Some(r) if now.saturating_duration_since(r.last) <= AGGREGATE_INTERVAL => r,
            _ => {
                self.similar.insert(
                    similar_key,
                    Similar {
                        notes: Vec::new(),
                        last: now,
                    },
                );
                match self.similar.get_mut(&similar_key) {
                    Some(r) => r,
                    None => return (event_key, note.to_owned()),
                }
            }
        };
        if !record.notes.contains(&note_key) {
            record.notes.push(note_key);
        }
        record.last = now;
        if record.notes.len() < AGGREGATE_MAX_EVENTS {
            return (event_key, note.to_owned());
        }
        // Keep the set below the threshold, so each new note is combined too.
        record.notes.pop();
        (similar_key, format!("{COMBINED}{note}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pod(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("Pod".into()),
            namespace: Some("default".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            api_version: Some("v1".into()),
            ..ObjectReference::default()
        }
    }

    fn facts<'a>(regarding: &'a ObjectReference, reason: &'a str, note: &'a str) -> Facts<'a> {
        Facts {
            source: "replicaset-controller",
            host: "",
            regarding,
            type_: "Normal",
            reason,
            note,
        }
    }

    /// Correlates `note` about `regarding`; new events are named `e<n>`.
    fn run(c: &mut Correlator, now: Instant, regarding: &ObjectReference, note: &str) -> Verdict {
        let n = c.seen.len();
        c.correlate(now, &facts(regarding, "SuccessfulCreate", note), || {
            format!("e{n}")
        })
    }

    #[test]
    fn the_same_event_again_counts_up_the_first() {
        let mut c = Correlator::default();
        let t = Instant::now();
        let p = pod("a");
        assert_eq!(
            run(&mut c, t, &p, "hello"),
            Verdict::Create {
                name: "e0".into(),
                note: "hello".into()
            }
        );
        assert_eq!(
            run(&mut c, t, &p, "hello"),
            Verdict::Count {
                name: "e0".into(),
                note: "hello".into(),
                count: 2
            }
        );
        // Another object, another reason or another field path is another event.
        assert!(matches!(
            run(&mut c, t, &pod("b"), "hello"),
            Verdict::Create { .. }
        ));
        let other = c.correlate(t, &facts(&p, "Killing", "hello"), || "k".into());
        assert!(matches!(other, Verdict::Create { .. }));
        let container = ObjectReference {
            field_path: Some("spec.containers{c}".into()),
            ..p.clone()
        };
        assert!(matches!(
            run(&mut c, t, &container, "hello"),
            Verdict::Create { .. }
        ));
    }

    #[test]
    fn similar_events_are_combined_after_ten_notes_within_ten_minutes() {
        let mut c = Correlator::default();
        let t = Instant::now();
        let rs = pod("rs");
        for i in 0..9 {
            let v = run(&mut c, t, &rs, &format!("Created pod: p{i}"));
            assert!(
                matches!(v, Verdict::Create { ref note, .. } if *note == format!("Created pod: p{i}")),
                "{v:?}"
            );
        }
        let Verdict::Create { name, note } = run(&mut c, t, &rs, "Created pod: p9") else {
            panic!("the tenth note starts the combined event");
        };
        assert_eq!(note, "(combined from similar events): Created pod: p9");
        assert_eq!(
            run(&mut c, t, &rs, "Created pod: p10"),
            Verdict::Count {
                name: name.clone(),
                note: "(combined from similar events): Created pod: p10".into(),
                count: 2
            }
        );
        // Ten minutes of quiet start over.
        let later = t + AGGREGATE_INTERVAL + Duration::from_secs(1);
        assert!(matches!(
            run(&mut c, later, &rs, "Created pod: q"),
            Verdict::Create { ref note, .. } if note == "Created pod: q"
        ));
    }

    #[test]
    fn a_source_gets_twenty_five_events_per_object_then_one_per_five_minutes() {
        let mut c = Correlator::default();
        let t = Instant::now();
        let rs = pod("rs");
        let sent = (0..100)
            .filter(|i| run(&mut c, t, &rs, &format!("Created pod: p{i}")) != Verdict::Skip)
            .count();
        assert_eq!(sent, 25);
        // Other objects have their own budget.
        assert_ne!(run(&mut c, t, &pod("other"), "x"), Verdict::Skip);
        assert_eq!(
            run(&mut c, t + Duration::from_secs(299), &rs, "y"),
            Verdict::Skip
        );
        let refilled = t + SPAM_REFILL + Duration::from_secs(1);
        assert!(matches!(
            run(&mut c, refilled, &rs, "z"),
            Verdict::Count { .. }
        ));
        assert_eq!(run(&mut c, refilled, &rs, "z2"), Verdict::Skip);
    }

    #[test]
    fn caches_stay_bounded() {
        let mut c = Correlator::default();
        let t = Instant::now();
        for i in 0..CACHE_ENTRIES + 100 {
            run(&mut c, t, &pod(&format!("p{i}")), "n");
        }
        assert_eq!(c.seen.len(), CACHE_ENTRIES);
        assert_eq!(c.similar.len(), CACHE_ENTRIES);
        assert_eq!(c.spam.len(), CACHE_ENTRIES);
    }
}

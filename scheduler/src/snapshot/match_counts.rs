//! A per-node memo of "how many pods on this node does X select", for the plugins that
//! count placed pods by a selector (PodTopologySpread, InterPodAffinity).
//!
//! Upstream recounts every node's pods for every pod it schedules, spread over 16
//! goroutines. Here a count is remembered per node together with the node's pod
//! generation: binding one pod changes one node, so the next cycle recounts that node and
//! reads every other node's count back. The memo is bounded: a node that has been asked
//! about more than [`MAX_KEYS`] selectors forgets them all and starts over.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::{Arc, LazyLock};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use parking_lot::Mutex;

use super::AffinityTerm;

/// Selectors remembered per node before the memo is cleared.
pub(super) const MAX_KEYS: usize = 64;
/// Key texts shared before the table of them is cleared.
const INTERNED_MAX: usize = 4_096;

static INTERNED: LazyLock<Mutex<HashSet<Arc<str>>>> = LazyLock::new(Mutex::default);

/// What a count is of: a canonical text naming the whole predicate, hashed once.
///
/// Two keys with the same text must name the same predicate over a pod: build them with
/// the constructors, which put every input of the predicate into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountKey {
    hash: u64,
    text: Arc<str>,
}

impl CountKey {
    /// A key from a canonical text. Equal texts share one allocation (up to
    /// [`INTERNED_MAX`] of them), so a memo entry is found by pointer, without comparing
    /// the text again on every node in every cycle.
    pub fn new(text: String) -> Self {
        let mut hasher = DefaultHasher::new();
        text.hash(&mut hasher);
        let mut interned = INTERNED.lock();
        let text = match interned.get(text.as_str()) {
            Some(shared) => Arc::clone(shared),
            None => {
                if interned.len() >= INTERNED_MAX {
                    interned.clear();
                }
                let shared: Arc<str> = text.into();
                interned.insert(Arc::clone(&shared));
                shared
            }
        };
        Self {
            hash: hasher.finish(),
            text,
        }
    }

    /// Pods of `namespace`, not being deleted, that `selector` selects (PodTopologySpread's
    /// counting).
    pub fn spread(namespace: &str, selector: &LabelSelector) -> Self {
        Self::new(format!("spread\0{namespace}\0{}", selector_text(selector)))
    }

    /// Placed pods that every one of `terms` selects, for InterPodAffinity; `None` when
    /// a term has a namespace selector (its answer also depends on namespaces' labels).
    pub fn terms(terms: &[AffinityTerm]) -> Option<Self> {
        let mut text = String::from("terms");
        for term in terms {
            if term.namespace_selector.is_some() {
                return None;
            }
            text.push('\u{1}');
            for ns in &term.namespaces {
                text.push_str(ns);
                text.push('\0');
            }
            text.push('\u{2}');
            match &term.selector {
                Some(s) => text.push_str(&selector_text(s)),
                None => text.push_str("none"),
            }
        }
        Some(Self::new(text))
    }
}

/// A selector's canonical text: its JSON form (`matchLabels` is a sorted map, and the
/// order of `matchExpressions` is kept, which at worst makes two equal selectors count
/// separately).
fn selector_text(selector: &LabelSelector) -> String {
    serde_json::to_string(selector).unwrap_or_else(|_| format!("{selector:?}"))
}

#[derive(Debug)]
struct Entry {
    hash: u64,
    text: Arc<str>,
    generation: u64,
    count: i64,
}

/// The memo of one node: a short list searched by hash (a node is asked about a few
/// selectors at a time). Cloning gives an empty memo (a copy recounts).
#[derive(Debug, Default)]
pub struct MatchCounts {
    entries: Mutex<Vec<Entry>>,
}

impl Clone for MatchCounts {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl MatchCounts {
    /// The count for `key` at `generation` of the node's pods: remembered, or computed by
    /// `count` and remembered.
    pub fn get_or_count(
        &self,
        key: &CountKey,
        generation: u64,
        count: impl FnOnce() -> i64,
    ) -> i64 {
        let mut entries = self.entries.lock();
        let found = entries.iter().position(|e| {
            e.hash == key.hash && (Arc::ptr_eq(&e.text, &key.text) || e.text == key.text)
        });
        if let Some(i) = found
            && entries[i].generation == generation
        {
            return entries[i].count;
        }
        let n = count();
        let entry = Entry {
            hash: key.hash,
            text: Arc::clone(&key.text),
            generation,
            count: n,
        };
        match found {
            Some(i) => entries[i] = entry,
            None => {
                if entries.len() >= MAX_KEYS {
                    entries.clear();
                }
                entries.push(entry);
            }
        }
        n
    }

    /// How many selectors are remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn selector(app: &str) -> LabelSelector {
        LabelSelector {
            match_labels: Some(BTreeMap::from([("app".to_owned(), app.to_owned())])),
            ..LabelSelector::default()
        }
    }

    #[test]
    fn counts_are_remembered_per_key_and_generation() {
        let memo = MatchCounts::default();
        let web = CountKey::spread("d", &selector("web"));
        let calls = std::cell::Cell::new(0);
        let counter = |n: i64| {
            calls.set(calls.get() + 1);
            n
        };
        assert_eq!(memo.get_or_count(&web, 1, || counter(3)), 3);
        // Same key, same generation: remembered.
        assert_eq!(memo.get_or_count(&web, 1, || counter(99)), 3);
        assert_eq!(calls.get(), 1);
        // A new generation recounts.
        assert_eq!(memo.get_or_count(&web, 2, || counter(4)), 4);
        // Another namespace or selector is another key.
        let other_ns = CountKey::spread("e", &selector("web"));
        let other_sel = CountKey::spread("d", &selector("db"));
        assert_ne!(web, other_ns);
        assert_ne!(web, other_sel);
        assert_eq!(memo.get_or_count(&other_ns, 2, || counter(5)), 5);
        assert_eq!(memo.get_or_count(&other_sel, 2, || counter(6)), 6);
        assert_eq!(memo.get_or_count(&web, 2, || counter(99)), 4);
        assert_eq!(calls.get(), 4);
        // The same key built again shares the text, and finds the same count.
        let again = CountKey::spread("d", &selector("web"));
        assert!(Arc::ptr_eq(&again.text, &web.text));
        assert_eq!(memo.get_or_count(&again, 2, || counter(99)), 4);
    }

    fn term(namespaces: &[&str], selector: Option<LabelSelector>) -> AffinityTerm {
        AffinityTerm {
            namespaces: namespaces.iter().map(|n| (*n).to_owned()).collect(),
            namespace_selector: None,
            selector,
            topology_key: "kubernetes.io/hostname".to_owned(),
        }
    }

    #[test]
    fn equal_inputs_make_equal_keys_and_namespace_selectors_make_none() {
        assert_eq!(
            CountKey::spread("d", &selector("web")),
            CountKey::spread("d", &selector("web"))
        );
        let web = term(&["d"], Some(selector("web")));
        assert_eq!(
            CountKey::terms(std::slice::from_ref(&web)),
            CountKey::terms(std::slice::from_ref(&web))
        );
        // An absent selector (selects nothing) is not an empty one (selects everything).
        assert_ne!(
            CountKey::terms(&[term(&["d"], None)]),
            CountKey::terms(&[term(&["d"], Some(LabelSelector::default()))])
        );
        // Namespaces and terms cannot run into each other.
        assert_ne!(
            CountKey::terms(&[term(&["a", "b"], None)]),
            CountKey::terms(&[term(&["a"], None), term(&["b"], None)])
        );
        assert_ne!(
            CountKey::terms(std::slice::from_ref(&web)),
            CountKey::terms(&[web.clone(), web.clone()])
        );
        let by_labels = AffinityTerm {
            namespace_selector: Some(LabelSelector::default()),
            ..web
        };
        assert_eq!(CountKey::terms(&[by_labels]), None);
    }

    #[test]
    fn the_memo_is_bounded_and_clones_start_empty() {
        let memo = MatchCounts::default();
        for i in 0..MAX_KEYS {
            memo.get_or_count(
                &CountKey::spread(&format!("ns{i}"), &selector("x")),
                1,
                || 1,
            );
        }
        assert_eq!(memo.len(), MAX_KEYS);
        memo.get_or_count(&CountKey::spread("one-more", &selector("x")), 1, || 1);
        assert_eq!(memo.len(), 1);
        assert!(memo.clone().is_empty());
    }
}

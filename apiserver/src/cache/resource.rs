//! The cache of one stored resource: its current objects, a window of recent events, and a
//! broadcast channel for live watchers. Older states inside the window are rebuilt from
//! the events, so paginated lists and watches from a recent resourceVersion never touch
//! storage.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::{Mutex, RwLock};
use tokio::sync::broadcast;

use super::channels::Channels;
use super::index::TriggerIndex;
use super::object::{CacheEvent, CachedObject, Filter};
use super::sparse::Keep;
use crate::registry::ResourceDef;
use crate::storage::{EventKind, KeyValue, Revision, WatchEvent};

/// A resourceVersion older than the cache's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld {
    /// The oldest revision the cache can serve from.
    pub oldest: Revision,
}

/// One page read from the cache.
#[derive(Debug)]
pub struct Page {
    /// The selected objects, in key order.
    pub items: Vec<Arc<CachedObject>>,
    /// The revision the page was read at.
    pub revision: Revision,
    /// The last key examined when the page filled up and more keys follow.
    pub next_key: Option<String>,
    /// How many keys follow the page (before filtering), when more follow.
    pub remaining: u64,
}

/// Where a new watcher starts.
#[derive(Debug)]
pub struct WatchStart {
    /// Events to send first (already in the window).
    pub replay: Vec<Arc<CacheEvent>>,
    /// Live events after them; events at or below `revision` may repeat and are skipped.
    pub receiver: broadcast::Receiver<Arc<CacheEvent>>,
    /// The revision the watcher is at before `replay` (the snapshot's, for a snapshot).
    pub revision: Revision,
}

#[derive(Debug)]
struct Inner {
    /// Live events; replaced (closing every watcher) when the content is replaced.
    /// Locked inside the read lock to subscribe (so subscribing never waits for, or
    /// blocks, readers), and reached through the write lock to send.
    channels: Mutex<Channels>,
    /// Keys by trigger value, for lists that pin it.
    index: TriggerIndex,
    objects: BTreeMap<String, Arc<CachedObject>>,
    history: VecDeque<Arc<CacheEvent>>,
    /// States at revisions ≥ this can be rebuilt; watches may start from here.
    oldest: Revision,
    /// The revision of the last event applied to this resource.
    last: Revision,
}

/// The cache of one stored resource.
#[derive(Debug)]
pub struct ResourceCache {
    /// The registry entry that owns the stored form.
    pub def: &'static ResourceDef,
    /// The parts of its objects the cache parses.
    keep: Keep,
    inner: RwLock<Inner>,
    history_limit: usize,
    /// The newest revision this server wrote to the resource (see [`Self::wrote`]).
    written: AtomicI64,
}

impl ResourceCache {
    /// An empty cache keeping up to `history_limit` events.
    pub fn new(def: &'static ResourceDef, history_limit: usize) -> Self {
        Self {
            def,
            keep: Keep::for_fields(def.fields),
            inner: RwLock::new(Inner {
                channels: Mutex::new(Channels::new(def)),
                index: TriggerIndex::new(def),
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                oldest: 0,
                last: 0,
            }),
            history_limit: history_limit.max(1),
            written: AtomicI64::new(0),
        }
    }

    /// Records that this server wrote the resource at `revision`, so its own lookups can
    /// wait until the cache holds the write (read-your-writes; see `Caches::fresh`).
    pub fn wrote(&self, revision: Revision) {
        self.written.fetch_max(revision, Ordering::AcqRel);
    }

    /// The newest revision this server wrote to the resource (0: none yet).
    pub fn written(&self) -> Revision {
        self.written.load(Ordering::Acquire)
    }

    /// Replaces the whole content with a list read at `revision` (start-up and relist).
    /// The event window restarts there.
    pub fn replace(&self, items: Vec<KeyValue>, revision: Revision) {
        let objects = items
            .into_iter()
            .map(|kv| {
                let obj =
                    CachedObject::new(self.def, &self.keep, &kv.key, &kv.value, kv.mod_revision);
                (kv.key, Arc::new(obj))
            })
            .collect();
        let mut inner = self.inner.write();
        inner.objects = objects;
        let Inner { index, objects, .. } = &mut *inner;
        index.replace(objects.values());
        inner.history.clear();
        inner.oldest = revision;
        inner.last = revision;
        // Watchers of the old content end; they resume from their last resourceVersion
        // and get 410 if it is older than the new window.
        inner.channels.get_mut().reset();
    }

    /// Applies one storage event and publishes it to watchers.
    pub fn apply(&self, event: &WatchEvent) {
        let obj = Arc::new(CachedObject::new(
            self.def,
            &self.keep,
            &event.kv.key,
            &event.kv.value,
            event.revision,
        ));
        let mut inner = self.inner.write();
        let prev = match event.kind {
            EventKind::Deleted => inner.objects.remove(&event.kv.key),
            EventKind::Added | EventKind::Modified => {
                inner.objects.insert(event.kv.key.clone(), obj.clone())
            }
        };
        let kind = match (event.kind, &prev) {
            (EventKind::Modified, None) => EventKind::Added,
            (EventKind::Added, Some(_)) => EventKind::Modified,
            (k, _) => k,
        };
        let now = (kind != EventKind::Deleted).then_some(&*obj);
        inner.index.update(&event.kv.key, prev.as_deref(), now);
        let ev = Arc::new(CacheEvent {
            kind,
            object: obj,
            prev,
        });
        inner.history.push_back(ev.clone());
        while inner.history.len() > self.history_limit {
            if let Some(old) = inner.history.pop_front() {
                inner.oldest = old.rev();
            }
        }
        inner.last = event.revision;
        inner.channels.get_mut().send(&ev);
    }

    /// The revision a read made now is consistent at, given the global progress `global`
    /// read before the call (every event of this resource at or below it is applied).
    fn at(inner: &Inner, global: Revision) -> Revision {
        inner.last.max(global)
    }

    /// Number of objects held.
    pub fn len(&self) -> usize {
        self.inner.read().objects.len()
    }

    /// Whether the cache holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The object under `key` now.
    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.inner.read().objects.get(key).cloned()
    }

    /// Every object now (for the apiserver's own lookups, as an informer's lister).
    pub fn values(&self) -> Vec<Arc<CachedObject>> {
        self.inner.read().objects.values().cloned().collect()
    }

    /// A page of the objects selected by `filter` as they were at `revision` (None: now),
    /// starting at `start` (inclusive), at most `limit` items (0: all).
    pub fn list(
        &self,
        filter: &Filter,
        global: Revision,
        revision: Option<Revision>,
        start: Option<&str>,
        limit: usize,
    ) -> Result<Page, TooOld> {
        let inner = self.inner.read();
        let now = Self::at(&inner, global);
        let revision = revision.unwrap_or(now);
        if revision < inner.oldest {
            return Err(TooOld {
                oldest: inner.oldest,
            });
        }
        // Keys changed after `revision`, with the state they had at it.
        let overlay = Self::overlay(&inner, revision);
        let from = start.unwrap_or(&filter.key_prefix);
        if overlay.is_empty() {
            let objects = Self::current(&inner, filter, from).map(|(k, o)| (k, Some(o)));
            return Ok(Self::page(objects, filter, limit, revision));
        }
        let range = (Bound::Included(from), Bound::Unbounded);
        let current = inner
            .objects
            .range::<str, _>(range)
            .map(|(k, v)| (k.as_str(), Some(v)));
        let changed = overlay
            .range::<str, _>(range)
            .map(|(k, v)| (k.as_str(), v.as_ref()));
        Ok(Self::page(
            merge_overlay(current, changed),
            filter,
            limit,
            revision,
        ))
    }

    /// The objects now, in key order from `from` on: only the keys the trigger index holds
    /// for the value `filter` pins, if it pins one (upstream's `listByIndex`), else all.
    fn current<'a>(
        inner: &'a Inner,
        filter: &Filter,
        from: &'a str,
    ) -> Box<dyn Iterator<Item = (&'a str, &'a Arc<CachedObject>)> + 'a> {
        let range = (Bound::Included(from), Bound::Unbounded);
        match inner.index.keys_for(filter) {
            Some(keys) => Box::new(
                keys.range::<str, _>(range)
                    .filter_map(|k| Some((k.as_str(), inner.objects.get(k)?))),
            ),
            None => Box::new(
                inner
                    .objects
                    .range::<str, _>(range)
                    .map(|(k, o)| (k.as_str(), o)),
            ),
        }
    }

    /// One page of `objects` (key order, from the page's start; `None`: absent at the
    /// revision) as `filter` selects them.
    fn page<'a>(
        objects: impl Iterator<Item = (&'a str, Option<&'a Arc<CachedObject>>)>,
        filter: &Filter,
        limit: usize,
        revision: Revision,
    ) -> Page {
        let mut items = Vec::new();
        let mut next_key = None;
        let mut remaining = 0u64;
        for (key, obj) in objects {
            if !key.starts_with(&filter.key_prefix) {
                break;
            }
            let Some(obj) = obj else { continue };
            if next_key.is_some() {
                remaining += 1;
                continue;
            }
            if filter.matches(obj) {
                items.push(obj.clone());
                if limit > 0 && items.len() >= limit {
                    next_key = Some(key.to_owned());
                }
            }
        }
        if remaining == 0 {
            next_key = None;
        }
        Page {
            items,
            revision,
            next_key,
            remaining,
        }
    }

    fn overlay(inner: &Inner, revision: Revision) -> BTreeMap<String, Option<Arc<CachedObject>>> {
        let mut overlay: HashMap<&str, Option<Arc<CachedObject>>> = HashMap::new();
        for ev in inner.history.iter().rev() {
            if ev.rev() <= revision {
                break;
            }
            // Walking backwards, the earliest event after `revision` wins: its `prev` is
            // the state at `revision`.
            let before = match ev.kind {
                EventKind::Added => None,
                EventKind::Modified | EventKind::Deleted => ev.prev.clone(),
            };
            overlay.insert(ev.object.key.as_str(), before);
        }
        overlay
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    /// Starts a watch after `from` (exclusive): the events still in the window, then live.
    pub fn watch_from(&self, from: Revision, filter: &Filter) -> Result<WatchStart, TooOld> {
        let inner = self.inner.read();
        if from < inner.oldest {
            return Err(TooOld {
                oldest: inner.oldest,
            });
        }
        let receiver = inner.channels.lock().subscribe(filter);
        let replay: Vec<_> = inner
            .history
            .iter()
            .filter(|e| e.rev() > from)
            .cloned()
            .collect();
        Ok(WatchStart {
            replay,
            receiver,
            revision: from,
        })
    }

    /// Starts a watch with the current state: the selected objects now, then live events.
    pub fn watch_snapshot(
        &self,
        filter: &Filter,
        global: Revision,
    ) -> (Vec<Arc<CachedObject>>, WatchStart) {
        let inner = self.inner.read();
        let receiver = inner.channels.lock().subscribe(filter);
        let revision = Self::at(&inner, global);
        let objects = Self::current(&inner, filter, &filter.key_prefix)
            .take_while(|(k, _)| k.starts_with(&filter.key_prefix))
            .filter(|(_, o)| filter.matches(o))
            .map(|(_, o)| o.clone())
            .collect();
        (
            objects,
            WatchStart {
                replay: Vec::new(),
                receiver,
                revision,
            },
        )
    }

    /// Events after `from` still in the window (a watcher catching up after lagging).
    pub fn events_after(&self, from: Revision) -> Result<Vec<Arc<CacheEvent>>, TooOld> {
        let inner = self.inner.read();
        if from < inner.oldest {
            return Err(TooOld {
                oldest: inner.oldest,
            });
        }
        Ok(inner
            .history
            .iter()
            .filter(|e| e.rev() > from)
            .cloned()
            .collect())
    }

    /// How many events wait in a receiver (used to decide whether a bookmark is safe).
    pub fn pending(receiver: &broadcast::Receiver<Arc<CacheEvent>>) -> usize {
        receiver.len()
    }
}

/// Merges the current objects with the overlay of changed keys, both in key order: an
/// overlay entry replaces the current one for the same key (None: absent at that revision).
fn merge_overlay<'a>(
    current: impl Iterator<Item = (&'a str, Option<&'a Arc<CachedObject>>)>,
    changed: impl Iterator<Item = (&'a str, Option<&'a Arc<CachedObject>>)>,
) -> impl Iterator<Item = (&'a str, Option<&'a Arc<CachedObject>>)> {
    let mut current = current.peekable();
    let mut changed = changed.peekable();
    std::iter::from_fn(move || match (current.peek(), changed.peek()) {
        (None, None) => None,
        (Some(_), None) => current.next(),
        (None, Some(_)) => changed.next(),
        (Some((a, _)), Some((b, _))) => match a.cmp(b) {
            std::cmp::Ordering::Less => current.next(),
            std::cmp::Ordering::Greater => changed.next(),
            std::cmp::Ordering::Equal => {
                current.next();
                changed.next()
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;
    use bytes::Bytes;

    fn kv(key: &str, rev: Revision, label: &str) -> KeyValue {
        let v = format!(
            r#"{{"metadata":{{"name":"{}","labels":{{"l":"{label}"}}}}}}"#,
            key.rsplit('/').next().unwrap()
        );
        KeyValue {
            key: key.into(),
            value: Bytes::from(v),
            create_revision: rev,
            mod_revision: rev,
        }
    }

    fn ev(kind: EventKind, key: &str, rev: Revision, label: &str) -> WatchEvent {
        WatchEvent {
            kind,
            revision: rev,
            kv: kv(key, rev, label),
            prev: None,
        }
    }

    fn cache() -> ResourceCache {
        let def = registry::find("", "v1", "configmaps").unwrap();
        let c = ResourceCache::new(def, 100);
        c.replace(
            vec![
                kv("/registry/configmaps/a/x", 2, "1"),
                kv("/registry/configmaps/b/y", 3, "1"),
            ],
            5,
        );
        c
    }

    fn names(page: &Page) -> Vec<String> {
        page.items
            .iter()
            .map(|o| o.key.rsplit('/').next().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn lists_rebuild_older_revisions_from_the_window() {
        let c = cache();
        let all = Filter {
            key_prefix: "/registry/configmaps/".into(),
            ..Default::default()
        };
        c.apply(&ev(EventKind::Added, "/registry/configmaps/a/z", 6, "1"));
        c.apply(&ev(EventKind::Deleted, "/registry/configmaps/a/x", 7, "1"));
        c.apply(&ev(EventKind::Modified, "/registry/configmaps/b/y", 8, "2"));
        assert_eq!(names(&c.list(&all, 0, None, None, 0).unwrap()), ["z", "y"]);
        let at5 = c.list(&all, 0, Some(5), None, 0).unwrap();
        assert_eq!(names(&at5), ["x", "y"]);
        assert_eq!(at5.items[1].labels["l"], "1");
        assert_eq!(
            names(&c.list(&all, 0, Some(6), None, 0).unwrap()),
            ["x", "z", "y"]
        );
        assert_eq!(
            c.list(&all, 0, Some(4), None, 0).unwrap_err(),
            TooOld { oldest: 5 }
        );
        let ns_a = Filter {
            key_prefix: "/registry/configmaps/a/".into(),
            ..Default::default()
        };
        assert_eq!(
            names(&c.list(&ns_a, 0, Some(6), None, 0).unwrap()),
            ["x", "z"]
        );
    }

    #[test]
    fn pages_stop_at_the_limit_and_count_what_follows() {
        let c = cache();
        let all = Filter {
            key_prefix: "/registry/configmaps/".into(),
            ..Default::default()
        };
        let p = c.list(&all, 9, None, None, 1).unwrap();
        assert_eq!(names(&p), ["x"]);
        assert_eq!(p.next_key.as_deref(), Some("/registry/configmaps/a/x"));
        assert_eq!((p.remaining, p.revision), (1, 9));
        let p2 = c
            .list(&all, 0, Some(9), Some("/registry/configmaps/a/x\0"), 1)
            .unwrap();
        assert_eq!(names(&p2), ["y"]);
        assert!(p2.next_key.is_none());
    }

    #[test]
    fn watches_replay_the_window_and_refuse_older_starts() {
        let c = ResourceCache::new(registry::find("", "v1", "configmaps").unwrap(), 2);
        c.replace(vec![], 1);
        for rev in 2..=4 {
            c.apply(&ev(
                EventKind::Added,
                &format!("/registry/configmaps/a/{rev}"),
                rev,
                "1",
            ));
        }
        // The window holds revisions 3 and 4: states from revision 2 on can be rebuilt.
        assert_eq!(
            c.watch_from(1, &Filter::default()).unwrap_err(),
            TooOld { oldest: 2 }
        );
        let w = c.watch_from(2, &Filter::default()).unwrap();
        assert_eq!(w.replay.iter().map(|e| e.rev()).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(w.revision, 2);
        let mut rx = w.receiver;
        c.apply(&ev(EventKind::Modified, "/registry/configmaps/a/3", 5, "2"));
        let live = rx.try_recv().unwrap();
        assert_eq!((live.kind, live.rev()), (EventKind::Modified, 5));
        assert_eq!(live.prev.as_ref().unwrap().rev, 3);
    }

    #[test]
    fn filters_turn_label_changes_into_added_and_deleted() {
        let c = cache();
        let f = Filter {
            key_prefix: "/registry/configmaps/".into(),
            labels: crate::selector::label::LabelSelector::parse("l=2").unwrap(),
            ..Default::default()
        };
        let mut rx = c.watch_from(5, &f).unwrap().receiver;
        c.apply(&ev(EventKind::Modified, "/registry/configmaps/b/y", 6, "2"));
        c.apply(&ev(EventKind::Modified, "/registry/configmaps/b/y", 7, "3"));
        c.apply(&ev(EventKind::Modified, "/registry/configmaps/a/x", 8, "1"));
        let kinds: Vec<_> = (0..3)
            .map(|_| f.translate(&rx.try_recv().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [Some(EventKind::Added), Some(EventKind::Deleted), None]
        );
    }

    fn pod(name: &str, rev: Revision, node: &str) -> WatchEvent {
        let v = format!(r#"{{"metadata":{{"name":"{name}"}},"spec":{{"nodeName":"{node}"}}}}"#);
        WatchEvent {
            kind: EventKind::Modified,
            revision: rev,
            kv: KeyValue {
                key: format!("/registry/pods/a/{name}"),
                value: Bytes::from(v),
                create_revision: 1,
                mod_revision: rev,
            },
            prev: None,
        }
    }

    #[test]
    fn a_node_pinned_pod_watcher_is_woken_only_by_its_nodes_pods() {
        let c = ResourceCache::new(registry::find("", "v1", "pods").unwrap(), 100);
        c.replace(vec![], 1);
        let on = |node: &str| Filter {
            key_prefix: "/registry/pods/".into(),
            fields: crate::selector::field::FieldSelector::parse(&format!("spec.nodeName={node}"))
                .unwrap(),
            ..Default::default()
        };
        let mut n1 = c.watch_from(1, &on("n1")).unwrap().receiver;
        let mut n2 = c.watch_snapshot(&on("n2"), 1).1.receiver;
        let mut all = c.watch_from(1, &Filter::default()).unwrap().receiver;
        c.apply(&pod("p", 2, "")); // created, unbound
        c.apply(&pod("p", 3, "n1")); // bound to n1
        c.apply(&pod("q", 4, "n2"));
        c.apply(&pod("p", 5, "n1")); // its status
        let revs = |rx: &mut broadcast::Receiver<Arc<CacheEvent>>| {
            std::iter::from_fn(|| rx.try_recv().ok())
                .map(|e| e.rev())
                .collect::<Vec<_>>()
        };
        assert_eq!(revs(&mut all), [2, 3, 4, 5]);
        assert_eq!(revs(&mut n1), [3, 5], "the binding and the later change");
        assert_eq!(revs(&mut n2), [4]);
        // The event moving a pod off a value reaches that value's watchers too.
        c.apply(&pod("q", 6, "n1"));
        assert_eq!(revs(&mut n2), [6]);
        assert_eq!(revs(&mut n1), [6]);
        let moved = c.inner.read().history.back().unwrap().clone();
        assert_eq!(on("n2").translate(&moved), Some(EventKind::Deleted));
    }

    #[test]
    fn node_pinned_lists_read_the_index_and_agree_with_a_scan() {
        let c = ResourceCache::new(registry::find("", "v1", "pods").unwrap(), 100);
        c.replace(vec![pod("p0", 1, "n1").kv], 1);
        c.apply(&pod("p1", 2, "n1"));
        c.apply(&pod("p2", 3, "n2"));
        c.apply(&pod("p3", 4, ""));
        c.apply(&pod("p3", 5, "n1")); // bound
        let mut gone = pod("p1", 6, "n1");
        gone.kind = EventKind::Deleted;
        c.apply(&gone);
        let on = |prefix: &str, node: &str| Filter {
            key_prefix: prefix.into(),
            fields: crate::selector::field::FieldSelector::parse(&format!("spec.nodeName={node}"))
                .unwrap(),
            ..Default::default()
        };
        let names = |page: &Page| -> Vec<String> {
            page.items
                .iter()
                .map(|o| o.key.rsplit('/').next().unwrap().to_owned())
                .collect()
        };
        let n1 = on("/registry/pods/a/", "n1");
        assert_eq!(names(&c.list(&n1, 6, None, None, 0).unwrap()), ["p0", "p3"]);
        assert!(
            c.list(&on("/registry/pods/b/", "n1"), 6, None, None, 0)
                .unwrap()
                .items
                .is_empty()
        );
        assert!(
            c.list(&on("/registry/pods/", "n9"), 6, None, None, 0)
                .unwrap()
                .items
                .is_empty()
        );
        // Pages: the first names where the next starts.
        let first = c.list(&n1, 6, None, None, 1).unwrap();
        assert_eq!(names(&first), ["p0"]);
        let next = first.next_key.unwrap();
        let rest = c.list(&n1, 6, None, Some(&format!("{next}\0")), 1).unwrap();
        assert_eq!(names(&rest), ["p3"]);
        // An older revision is rebuilt from the window (the index holds only now).
        assert_eq!(
            names(&c.list(&n1, 6, Some(3), None, 0).unwrap()),
            ["p0", "p1"]
        );
    }

    #[test]
    fn a_name_pinned_node_watcher_is_woken_only_by_its_node() {
        let c = ResourceCache::new(registry::find("", "v1", "nodes").unwrap(), 100);
        c.replace(vec![], 1);
        let named = Filter {
            key_prefix: "/registry/minions/".into(),
            fields: crate::selector::field::FieldSelector::parse("metadata.name=n1").unwrap(),
            ..Default::default()
        };
        let mut n1 = c.watch_from(1, &named).unwrap().receiver;
        for (rev, name) in [(2, "n2"), (3, "n1"), (4, "n3")] {
            c.apply(&ev(
                EventKind::Added,
                &format!("/registry/minions/{name}"),
                rev,
                "1",
            ));
        }
        let woken: Vec<_> = std::iter::from_fn(|| n1.try_recv().ok())
            .map(|e| e.rev())
            .collect();
        assert_eq!(woken, [3]);
    }
}

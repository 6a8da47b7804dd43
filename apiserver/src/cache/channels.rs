//! The live-event channels of one resource's cache, with upstream's watch-cache triggers.
//!
//! Every watcher used to receive every event and filter it itself, so with 5,000 kubelets
//! each watching the pods of its own node (`fieldSelector=spec.nodeName=<node>`) and its
//! own Node (`metadata.name=<node>`), one write woke 5,000 watch tasks. As upstream's watch
//! cache does with its trigger functions (pods: `spec.nodeName`; nodes, secrets and
//! configmaps: `metadata.name`), a watcher whose field selector pins the trigger field to
//! a value subscribes to that value's channel, and an event is sent only to the channels
//! of the values its object has now and had before (a binding moves a pod from "" to its
//! node), plus the channel of watchers without such a selector. Watchers still apply their
//! full filter, so what they see is unchanged; only whom an event wakes changes.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::object::{CacheEvent, CachedObject, Filter};
use crate::registry::ResourceDef;
use crate::selector::field;

/// Live events a watcher may fall behind by before it must catch up from the window.
const WATCH_BUFFER: usize = 4096;

/// The field whose value routes events, for the kinds upstream gives a trigger.
pub(super) fn trigger_field(def: &ResourceDef) -> Option<&'static str> {
    match (def.group, def.plural) {
        ("", "pods") => Some("spec.nodeName"),
        ("", "nodes" | "secrets" | "configmaps") => Some("metadata.name"),
        _ => None,
    }
}

#[derive(Debug)]
pub(super) struct Channels {
    /// `spec.nodeName` for pods, …; `None` for kinds without a trigger.
    trigger: Option<&'static str>,
    /// Watchers without a trigger value.
    all: broadcast::Sender<Arc<CacheEvent>>,
    /// Watchers of one trigger value. Entries go when their last watcher has gone.
    by_value: HashMap<String, broadcast::Sender<Arc<CacheEvent>>>,
}

impl Channels {
    pub(super) fn new(def: &ResourceDef) -> Self {
        Self {
            trigger: trigger_field(def),
            all: broadcast::channel(WATCH_BUFFER).0,
            by_value: HashMap::new(),
        }
    }

    /// A receiver for a watcher selecting with `filter`.
    pub(super) fn subscribe(&mut self, filter: &Filter) -> broadcast::Receiver<Arc<CacheEvent>> {
        match self.value_in(filter) {
            Some(value) => self
                .by_value
                .entry(value.to_owned())
                .or_insert_with(|| broadcast::channel(WATCH_BUFFER).0)
                .subscribe(),
            None => self.all.subscribe(),
        }
    }

    /// The trigger value a watcher selects, if its selector pins one.
    fn value_in<'f>(&self, filter: &'f Filter) -> Option<&'f str> {
        self.trigger.and_then(|field| filter.fields.exact(field))
    }

    fn value_of<'o>(&self, object: &'o CachedObject) -> Option<&'o str> {
        self.trigger
            .map(|field| field::value(&object.fields, field))
    }

    /// Sends `event` to the watchers it may concern.
    pub(super) fn send(&mut self, event: &Arc<CacheEvent>) {
        // No receivers is fine: nobody watches this resource right now.
        let _ = self.all.send(event.clone());
        if self.by_value.is_empty() {
            return;
        }
        let now = self.value_of(&event.object).map(str::to_owned);
        let before = event
            .prev
            .as_deref()
            .and_then(|p| self.value_of(p))
            .map(str::to_owned);
        for value in now
            .iter()
            .chain(before.iter().filter(|b| Some(*b) != now.as_ref()))
        {
            if let Some(tx) = self.by_value.get(value)
                && tx.send(event.clone()).is_err()
            {
                // Its last watcher has gone.
                self.by_value.remove(value);
            }
        }
    }

    /// New channels, ending every current watcher (the content was replaced).
    pub(super) fn reset(&mut self) {
        self.all = broadcast::channel(WATCH_BUFFER).0;
        self.by_value.clear();
    }
}

//! An informer's task: list and watch through kube-runtime's [`watcher`], keep the store
//! and the indexes, and tell subscribers what changed.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt as _;
use kube::runtime::reflector::{ObjectRef, store::Writer};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

use super::Change;
use super::index::Indexes;

/// Lists and watches `api` forever, keeping `writer`'s store and `indexes` and telling
/// subscribers.
pub(super) async fn follow<K>(
    api: Api<K>,
    writer: Writer<K>,
    indexes: Arc<Indexes<K>>,
    changes: broadcast::Sender<Change<K>>,
) where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let kind = K::kind(&());
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut dispatch = Dispatch::new(writer, indexes);
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%kind, %error, "informer watch failed; retrying");
                continue;
            }
        };
        for change in dispatch.handle(&event) {
            let _ = changes.send(change);
        }
    }
}

/// Turns watch events into changes, keeping the store and the indexes.
pub(super) struct Dispatch<K: Resource<DynamicType = ()> + Clone + 'static> {
    writer: Writer<K>,
    indexes: Arc<Indexes<K>>,
    /// During a (re)list: what the store held before it, to report deletions missed.
    before: Option<HashMap<ObjectRef<K>, Arc<K>>>,
    /// During a (re)list: the changes seen so far (the store swaps in the new list only at
    /// its end).
    listed: Vec<Change<K>>,
}

impl<K> Dispatch<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    pub(super) fn new(writer: Writer<K>, indexes: Arc<Indexes<K>>) -> Self {
        Self {
            writer,
            indexes,
            before: None,
            listed: Vec::new(),
        }
    }

    /// Applies `event` to the store and the indexes; the changes to tell subscribers.
    ///
    /// Subscribers are told only after the store and the indexes hold the change (as
    /// client-go's informers update the indexer before notifying handlers), so a
    /// controller woken by a change always reads it back; expectations depend on that.
    pub(super) fn handle(&mut self, event: &watcher::Event<K>) -> Vec<Change<K>> {
        let store = self.writer.as_reader();
        let mut ready: Vec<Change<K>> = Vec::new();
        match event {
            watcher::Event::Init => {
                self.before = Some(
                    store
                        .state()
                        .into_iter()
                        .map(|obj| (ObjectRef::from_obj(obj.as_ref()), obj))
                        .collect(),
                );
                self.listed.clear();
            }
            watcher::Event::InitApply(obj) => {
                let key = ObjectRef::from_obj(obj);
                let old = self.before.as_mut().and_then(|b| b.remove(&key));
                if old
                    .as_deref()
                    .and_then(|o| o.meta().resource_version.as_ref())
                    != obj.meta().resource_version.as_ref()
                {
                    self.listed.push(Change::Applied {
                        old,
                        new: Arc::new(obj.clone()),
                    });
                }
            }
            watcher::Event::InitDone => {
                ready = std::mem::take(&mut self.listed);
                for (_, gone) in self.before.take().unwrap_or_default() {
                    ready.push(Change::Deleted(gone));
                }
            }
            watcher::Event::Apply(obj) => {
                let old = store.get(&ObjectRef::from_obj(obj));
                ready.push(Change::Applied {
                    old,
                    new: Arc::new(obj.clone()),
                });
            }
            watcher::Event::Delete(obj) => {
                ready.push(Change::Deleted(Arc::new(obj.clone())));
            }
        }
        // The store first: an index added meanwhile is built from it (see
        // `Indexes::add`).
        self.writer.apply_watcher_event(event);
        for change in &ready {
            match change {
                Change::Applied { new, .. } => self.indexes.apply(new),
                Change::Deleted(obj) => self.indexes.delete(obj),
            }
        }
        ready
    }
}

#[cfg(test)]
#[path = "follow_tests.rs"]
mod tests;

//! Shared informers, as client-go's SharedInformerFactory: one list+watch per kind for the
//! whole controller manager, a read-only [`Store`] every controller reads, and a stream of
//! [`Change`]s (adds, updates with the old object, deletes) every controller subscribes to.
//!
//! kube-runtime's shared reflectors do not dispatch deletions, which every controller here
//! needs (expectations, endpoints, GC), so the dispatch is ours; listing, watching,
//! resuming and relisting are kube-runtime's [`watcher`].
//!
//! An informer may also keep secondary [`index`]es (client-go's `Indexer`): add one with
//! [`Informer::add_index`], query it with [`Informer::by_index`].

mod follow;
pub mod index;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::{Api, Resource};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

use self::index::{IndexFn, Indexes, UnknownIndex};

/// How many changes a slow subscriber may fall behind before it must resync from the
/// store.
const CHANGE_BUFFER: usize = 16 * 1024;

/// How often a wait for the first list looks again (see [`Informer::synced`]).
const SYNCED_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// One change seen by an informer.
#[derive(Debug)]
pub enum Change<K> {
    /// Created, or updated (`old` is the previous state when the informer had one).
    Applied {
        /// The state before, if known.
        old: Option<Arc<K>>,
        /// The state now.
        new: Arc<K>,
    },
    /// Deleted (the last state known).
    Deleted(Arc<K>),
}

impl<K> Clone for Change<K> {
    fn clone(&self) -> Self {
        match self {
            Self::Applied { old, new } => Self::Applied {
                old: old.clone(),
                new: new.clone(),
            },
            Self::Deleted(obj) => Self::Deleted(obj.clone()),
        }
    }
}

impl<K> Change<K> {
    /// The object as it is now (or was when deleted).
    pub fn object(&self) -> &Arc<K> {
        match self {
            Self::Applied { new, .. } => new,
            Self::Deleted(obj) => obj,
        }
    }
}

/// What a subscriber receives: a change, or word that it fell behind and must treat every
/// object in the store as changed.
#[derive(Debug)]
pub enum Received<K> {
    /// One change.
    Change(Change<K>),
    /// Changes were lost: resync from the store.
    Resync,
}

/// A handle on one kind's shared informer.
#[derive(Debug)]
pub struct Informer<K: Resource<DynamicType = ()> + 'static> {
    store: Store<K>,
    indexes: Arc<Indexes<K>>,
    changes: broadcast::Sender<Change<K>>,
}

impl<K: Resource<DynamicType = ()> + 'static> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            indexes: self.indexes.clone(),
            changes: self.changes.clone(),
        }
    }
}

impl<K> Informer<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    /// The current objects.
    pub fn store(&self) -> &Store<K> {
        &self.store
    }

    /// Every change from now on. Subscribe before reading the store for the initial state,
    /// so nothing falls between the two.
    pub fn subscribe(&self) -> Subscription<K> {
        Subscription {
            rx: self.changes.subscribe(),
        }
    }

    /// Waits until the first list has filled the store (client-go's `HasSynced`).
    pub async fn synced(&self) {
        // kube-runtime's readiness wakes only the task that polled it last, and several
        // controllers wait on one shared store: look again now and then so every waiter
        // sees it. The writer lives as long as the informer task, which lives as long as
        // the factory; an error only means it is shutting down.
        while tokio::time::timeout(SYNCED_POLL, self.store.wait_until_ready())
            .await
            .is_err()
        {}
    }

    /// One object by namespace (None for cluster-scoped kinds) and name.
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        let mut key = ObjectRef::new(name);
        if let Some(ns) = namespace {
            key = key.within(ns);
        }
        self.store.get(&key)
    }

    /// Adds the secondary index `name`, kept by `func`, unless it exists (the first
    /// function given a name stays). It may be added while the informer runs: it is built
    /// from the objects held now and kept from then on; add it before reading it.
    pub fn add_index(&self, name: &str, func: impl Fn(&K) -> Vec<String> + Send + Sync + 'static) {
        let func: IndexFn<K> = Arc::new(func);
        self.indexes.add(name, func, || self.store.state());
    }

    /// The objects whose index `name` has `key` (client-go's `ByIndex`), in no order.
    pub fn by_index(&self, name: &str, key: &str) -> Result<Vec<Arc<K>>, UnknownIndex> {
        self.indexes.by_index(name, key)
    }

    /// What a controller with `uid` may own or adopt in `namespace`: the objects it
    /// controls plus the namespace's orphans, through the [`index::BY_CONTROLLER`] index
    /// (upstream's `getRSPods` key pair). Another controller's objects are never in it.
    pub fn owned_or_orphans(
        &self,
        uid: &str,
        namespace: &str,
    ) -> Result<Vec<Arc<K>>, UnknownIndex> {
        let mut found = self.by_index(index::BY_CONTROLLER, uid)?;
        found.extend(self.by_index(index::BY_CONTROLLER, &index::orphan_key(namespace))?);
        found.retain(|o| o.meta().namespace.as_deref() == Some(namespace));
        Ok(found)
    }
}

/// A subscriber's end of an informer's changes.
#[derive(Debug)]
pub struct Subscription<K> {
    rx: broadcast::Receiver<Change<K>>,
}

impl<K: Clone> Subscription<K> {
    /// The next change; `None` when the informer has stopped.
    pub async fn recv(&mut self) -> Option<Received<K>> {
        match self.rx.recv().await {
            Ok(change) => Some(Received::Change(change)),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Received::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// The factory: one informer per kind, started on first use, stopped when dropped.
pub struct Informers {
    client: kube::Client,
    started: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Debug for Informers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Informers")
            .field("kinds", &self.started.lock().len())
            .finish_non_exhaustive()
    }
}

impl Drop for Informers {
    fn drop(&mut self) {
        for task in self.tasks.get_mut().drain(..) {
            task.abort();
        }
    }
}

impl Informers {
    /// A factory listing and watching through `client`.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            started: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// The shared informer of kind `K` (all namespaces), started if it was not.
    pub fn get<K>(&self) -> Informer<K>
    where
        K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    {
        let mut started = self.started.lock();
        if let Some(informer) = started
            .get(&TypeId::of::<K>())
            .and_then(|existing| existing.downcast_ref::<Informer<K>>())
        {
            return informer.clone();
        }
        let writer = Writer::<K>::default();
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        let indexes = Arc::new(Indexes::default());
        let informer = Informer {
            store: writer.as_reader(),
            indexes: indexes.clone(),
            changes: changes.clone(),
        };
        let api: Api<K> = Api::all(self.client.clone());
        let task = tokio::spawn(follow::follow(api, writer, indexes, changes));
        self.tasks.lock().push(task);
        started.insert(TypeId::of::<K>(), Box::new(informer.clone()));
        informer
    }
}

/// A key for an object: `namespace/name`, or `name` for cluster-scoped objects, as
/// client-go's `MetaNamespaceKeyFunc`.
pub fn key_of<K: Resource>(obj: &K) -> String {
    let meta = obj.meta();
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_owned(),
    }
}

/// Splits a key made by [`key_of`] into (namespace, name).
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, key),
    }
}

//! The watch cache: every read and watch is served from memory, fed by ONE storage watch
//! over the whole `/registry/` tree, however many clients there are.
//!
//! At start the cache lists the tree at one revision, then follows the storage watch from
//! there and routes each event to the cache of its resource. A global progress counter
//! says which revision has been applied everywhere, so a consistent read ("resourceVersion
//! unset") asks storage for its current revision and waits until the cache has reached it.
//!
//! The follower runs on a thread of its own (a one-thread runtime), not among the request
//! handlers: every consistent read waits for it, so it must not queue behind the work it
//! unblocks. On a busy server a task sharing the workers got one turn per pass of the run
//! queue and fell seconds behind storage; reads then timed out.

mod channels;
mod index;
mod object;
mod resource;
mod sparse;
mod splice;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;

pub use object::{CacheEvent, CachedObject, Filter};
pub use resource::{Page, ResourceCache, TooOld, WatchStart};
pub(crate) use splice::with_resource_version;

use crate::registry::{self, ResourceDef};
use crate::storage::{self, ListOptions, Revision, Storage, StorageError, keys};

/// Watch cache settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Events kept per resource for watches and paginated lists from recent revisions.
    pub history: usize,
    /// How long a consistent read waits for the cache to catch up before failing.
    pub catch_up_timeout: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            history: 10_000,
            catch_up_timeout: Duration::from_secs(5),
        }
    }
}

/// All resource caches and the one storage watch that feeds them.
#[derive(Debug)]
pub struct Caches {
    storage: Arc<dyn Storage>,
    by_prefix: HashMap<&'static str, Arc<ResourceCache>>,
    progress: watch::Sender<Revision>,
    config: CacheConfig,
    follower: parking_lot::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

const LIST_PAGE: usize = 5_000;

impl Caches {
    /// Lists the store, fills every cache and starts following the storage watch. The
    /// follower stops when `shutdown` fires or every handle is dropped.
    pub async fn start(
        storage: Arc<dyn Storage>,
        config: CacheConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<Self>, StorageError> {
        let by_prefix = registry::storage_owners()
            .map(|def| {
                (
                    def.storage_prefix,
                    Arc::new(ResourceCache::new(def, config.history)),
                )
            })
            .collect();
        let (progress, _) = watch::channel(0);
        let caches = Arc::new(Self {
            storage,
            by_prefix,
            progress,
            config,
            follower: parking_lot::Mutex::new(None),
        });
        let revision = caches.relist().await?;
        let follower = spawn_follower(follow(Arc::downgrade(&caches), revision, shutdown))
            .map_err(|e| StorageError::Internal(format!("starting the watch cache: {e}")))?;
        *caches.follower.lock() = Some(follower);
        Ok(caches)
    }

    /// Waits until the storage watch feeding the caches has ended (after shutdown), so the
    /// storage it held is released.
    pub async fn stopped(&self) {
        let follower = self.follower.lock().take();
        if let Some(follower) = follower {
            let _ = follower.await;
        }
    }

    /// Lists the whole tree at one revision and replaces every cache with it.
    async fn relist(&self) -> Result<Revision, StorageError> {
        let prefix = format!("{}/", keys::ROOT);
        let mut by_cache: HashMap<&'static str, Vec<storage::KeyValue>> = HashMap::new();
        let mut options = ListOptions {
            limit: LIST_PAGE,
            ..Default::default()
        };
        let revision = loop {
            let page = self.storage.list(&prefix, options.clone()).await?;
            for kv in page.items {
                if let Some(cache) = self.route(&kv.key) {
                    by_cache
                        .entry(cache.def.storage_prefix)
                        .or_default()
                        .push(kv);
                }
            }
            match page.continue_token {
                Some(token) => options.continue_token = Some(token),
                None => break page.revision,
            }
        };
        for (prefix, cache) in &self.by_prefix {
            cache.replace(by_cache.remove(prefix).unwrap_or_default(), revision);
        }
        self.progress.send_replace(revision);
        Ok(revision)
    }

    /// The cache of the resource stored under `key`.
    fn route(&self, key: &str) -> Option<&Arc<ResourceCache>> {
        let rest = key.strip_prefix(keys::ROOT)?.strip_prefix('/')?;
        let mut segments = rest.splitn(3, '/');
        let first = segments.next()?;
        if let Some(cache) = self.by_prefix.get(first) {
            return Some(cache);
        }
        let second = segments.next()?;
        let two = &rest[..first.len() + 1 + second.len()];
        self.by_prefix.get(two)
    }

    /// The cache serving `def` (several entries may share one stored resource).
    pub fn get(&self, def: &ResourceDef) -> Option<&Arc<ResourceCache>> {
        self.by_prefix.get(def.storage_prefix)
    }

    /// Records a write this server made under `key` at `revision` (see [`Self::fresh`]).
    pub fn wrote(&self, key: &str, revision: Revision) {
        if let Some(cache) = self.route(key) {
            cache.wrote(revision);
        }
    }

    /// The cache serving `def`, once it holds every write this server made to the resource
    /// (waiting at most the catch-up timeout; after that, as it is). The apiserver's own
    /// lookups read it, as upstream's admission plugins read informers, but a client that
    /// creates a class and then an object using it is sure the second request sees the
    /// first: the follower runs on its own thread and may be a moment behind.
    pub async fn fresh(&self, def: &ResourceDef) -> Option<&Arc<ResourceCache>> {
        let cache = self.get(def)?;
        let written = cache.written();
        if written > self.progress() {
            self.wait_for(written).await;
        }
        Some(cache)
    }

    /// The storage behind the cache.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The revision applied to every cache.
    pub fn progress(&self) -> Revision {
        *self.progress.borrow()
    }

    /// A receiver of the global progress (bookmarks use it).
    pub fn subscribe_progress(&self) -> watch::Receiver<Revision> {
        self.progress.subscribe()
    }

    /// Waits until the cache has applied `revision`; false on timeout.
    pub async fn wait_for(&self, revision: Revision) -> bool {
        let mut rx = self.progress.subscribe();
        let wait = rx.wait_for(|r| *r >= revision);
        matches!(
            tokio::time::timeout(self.config.catch_up_timeout, wait).await,
            Ok(Ok(_))
        )
    }

    /// The revision a consistent read is served at: storage's current revision, once the
    /// cache has caught up with it.
    pub async fn consistent_revision(&self) -> Result<Revision, StorageError> {
        let current = self.storage.current_revision().await?;
        if self.wait_for(current).await {
            Ok(self.progress().max(current))
        } else {
            Err(StorageError::Timeout(self.config.catch_up_timeout))
        }
    }
}

/// Runs `follower` on a new thread with a one-thread runtime of its own (the storage watch
/// it starts runs there too); the receiver hears when it has ended.
fn spawn_follower(
    follower: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<tokio::sync::oneshot::Receiver<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (done, ended) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("watch-cache".to_owned())
        .spawn(move || {
            runtime.block_on(follower);
            // The storage watch's task ends with the runtime, before anyone hears "ended".
            drop(runtime);
            let _ = done.send(());
        })?;
    Ok(ended)
}

/// Follows the storage watch, routing events; relists when the watch fails.
async fn follow(
    caches: std::sync::Weak<Caches>,
    mut revision: Revision,
    mut shutdown: watch::Receiver<bool>,
) {
    let prefix = format!("{}/", keys::ROOT);
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(strong) = caches.upgrade() else {
            return;
        };
        let stream = strong.storage.watch(&prefix, revision).await;
        drop(strong);
        let mut stream = match stream {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(%err, revision, "watch cache: storage watch failed to start");
                if !pause(&mut shutdown, &mut backoff).await {
                    return;
                }
                revision = match relist(&caches).await {
                    Some(r) => r,
                    None => return,
                };
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                next = stream.next() => next,
                _ = shutdown.changed() => return,
            };
            let Some(strong) = caches.upgrade() else {
                return;
            };
            match next {
                Some(Ok(event)) => {
                    if let Some(cache) = strong.route(&event.kv.key) {
                        cache.apply(&event);
                    }
                    revision = event.revision;
                    strong.progress.send_replace(revision);
                    backoff = Duration::from_millis(100);
                }
                Some(Err(err)) => {
                    tracing::warn!(%err, revision, "watch cache: storage watch ended; relisting");
                    break;
                }
                None => {
                    tracing::warn!(revision, "watch cache: storage watch closed; relisting");
                    break;
                }
            }
        }
        if !pause(&mut shutdown, &mut backoff).await {
            return;
        }
        revision = match relist(&caches).await {
            Some(r) => r,
            None => return,
        };
    }
}

async fn relist(caches: &std::sync::Weak<Caches>) -> Option<Revision> {
    loop {
        let strong = caches.upgrade()?;
        match strong.relist().await {
            Ok(r) => return Some(r),
            Err(err) => {
                tracing::warn!(%err, "watch cache: relist failed; retrying");
                drop(strong);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Sleeps for the backoff (doubling it, up to 5 s); false if shutdown came first.
async fn pause(shutdown: &mut watch::Receiver<bool>, backoff: &mut Duration) -> bool {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(Duration::from_secs(5));
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = shutdown.changed() => false,
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;
    use crate::storage::sqlite::{SqliteConfig, SqliteStorage};

    #[tokio::test]
    async fn fresh_waits_for_the_writes_this_server_made() {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage: Arc<dyn Storage> =
            Arc::new(SqliteStorage::open(SqliteConfig::new(dir.path().join("db"))).expect("store"));
        let (_stop, shutdown) = watch::channel(false);
        let caches = Caches::start(storage.clone(), CacheConfig::default(), shutdown)
            .await
            .expect("caches");
        let def = registry::find("scheduling.k8s.io", "v1", "priorityclasses").expect("def");
        let key = keys::object_key(def.storage_prefix, None, "high");

        // Nothing written: served at once.
        assert!(caches.fresh(def).now_or_never().is_some());
        // A write announced but not yet applied (not even made): the lookup waits.
        let next = caches.progress() + 1;
        caches.wrote(&key, next);
        assert!(caches.fresh(def).now_or_never().is_none());
        // Once made, the lookup sees it however far behind the follower was.
        let rev = storage
            .create(&key, br#"{"metadata":{"name":"high"}}"#.to_vec().into())
            .await
            .expect("create");
        assert_eq!(rev, next);
        let cache = caches.fresh(def).await.expect("cache");
        assert!(cache.get(&key).is_some());
    }
}

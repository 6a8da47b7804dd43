//! Automatic compaction, the way kube-apiserver does it: at every tick, compact to the
//! revision that was current at the previous tick. History therefore spans between one and
//! two intervals — long enough for watchers to resume — and the store stays bounded.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Revision, Storage};

/// Settings of the compactor.
#[derive(Debug, Clone, Copy)]
pub struct CompactorConfig {
    /// Time between compactions (kube-apiserver's `--etcd-compaction-interval`, 5 min).
    pub interval: Duration,
}

impl Default for CompactorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
        }
    }
}

/// Compacts a store periodically until cancelled.
#[derive(Debug)]
pub struct Compactor {
    storage: Arc<dyn Storage>,
    config: CompactorConfig,
    previous: Option<Revision>,
}

impl Compactor {
    /// A compactor for `storage`.
    pub fn new(storage: Arc<dyn Storage>, config: CompactorConfig) -> Self {
        Self {
            storage,
            config,
            previous: None,
        }
    }

    /// One tick: compact to the revision seen at the previous tick, remember the current.
    pub async fn tick(&mut self) {
        if let Some(target) = self.previous {
            match self.storage.compact(target).await {
                Ok(()) => tracing::debug!(revision = target, "compacted"),
                Err(err) => tracing::warn!(error = %err, revision = target, "compaction failed"),
            }
        }
        match self.storage.current_revision().await {
            Ok(rev) => self.previous = Some(rev),
            Err(err) => tracing::warn!(error = %err, "compactor cannot read the revision"),
        }
    }

    /// Ticks every interval until `shutdown` is cancelled.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => self.tick().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::storage::StorageError;
    use crate::storage::sqlite::{SqliteConfig, SqliteStorage};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_tick_compacts_to_the_previous_ticks_revision() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Storage> =
            Arc::new(SqliteStorage::open(SqliteConfig::new(dir.path().join("s.db"))).unwrap());
        let key = "/registry/configmaps/ns/c";
        // Revision 0 means "now" to a watch: keep every revision used below above it.
        store
            .create("/registry/seed/x", Bytes::from("seed"))
            .await
            .unwrap();
        let mut rev = store.create(key, Bytes::from("0")).await.unwrap();
        let mut compactor = Compactor::new(store.clone(), CompactorConfig::default());

        compactor.tick().await; // remembers `rev`, compacts nothing yet
        assert_eq!(store.compacted_revision().await.unwrap(), 0);
        let first_tick = rev;
        for i in 1..5 {
            rev = store
                .update(key, rev, Bytes::from(i.to_string()))
                .await
                .unwrap();
        }
        compactor.tick().await; // compacts to the first tick's revision
        assert_eq!(store.compacted_revision().await.unwrap(), first_tick);

        // History after the previous tick is still there for watchers to resume from.
        let mut watch = store
            .watch("/registry/configmaps/", first_tick)
            .await
            .unwrap();
        let event = futures::StreamExt::next(&mut watch).await.unwrap().unwrap();
        assert_eq!(event.revision, first_tick + 1);
        let mut old = store
            .watch("/registry/configmaps/", first_tick - 1)
            .await
            .unwrap();
        let next =
            tokio::time::timeout(Duration::from_secs(10), futures::StreamExt::next(&mut old));
        let err = next.await.expect("an answer in time").unwrap().unwrap_err();
        assert!(matches!(err, StorageError::Compacted { .. }), "{err:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn run_stops_when_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Storage> =
            Arc::new(SqliteStorage::open(SqliteConfig::new(dir.path().join("s.db"))).unwrap());
        let config = CompactorConfig {
            interval: Duration::from_millis(10),
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(Compactor::new(store, config).run(shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the compactor stops promptly")
            .unwrap();
    }
}

//! Automatic compaction, the way kube-apiserver does it: at every tick, compact to the
//! revision that was current at the previous tick. History therefore spans between one and
//! two intervals — long enough for watchers to resume — and the store stays bounded.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{Revision, Storage};

/// Settings of the compactor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactorConfig {
    /// Time between compactions (kube-apiserver's `--etcd-compaction-interval`, 5 min);
    /// zero turns automatic compaction off.
    pub interval: Duration,
}

impl Default for CompactorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
        }
    }
}

/// Compacts a store periodically for as long as the store exists.
#[derive(Debug)]
pub struct Compactor {
    storage: Weak<dyn Storage>,
    previous: Option<Revision>,
}

impl Compactor {
    /// A compactor for `storage`; it holds only a weak reference.
    pub fn new(storage: &Arc<dyn Storage>) -> Self {
        Self {
            storage: Arc::downgrade(storage),
            previous: None,
        }
    }

    /// Starts compacting every `config.interval` (unless it is zero). The task ends at the
    /// first tick after the last strong reference to the store is dropped.
    pub fn spawn(
        storage: &Arc<dyn Storage>,
        config: CompactorConfig,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if config.interval.is_zero() {
            return None;
        }
        let compactor = Self::new(storage);
        Some(tokio::spawn(compactor.run(config.interval)))
    }

    /// One tick: compact to the revision seen at the previous tick, remember the current.
    /// Returns false once the store is gone.
    pub async fn tick(&mut self) -> bool {
        let Some(storage) = self.storage.upgrade() else {
            return false;
        };
        if let Some(target) = self.previous {
            match storage.compact(target).await {
                Ok(()) => tracing::debug!(revision = target, "compacted"),
                Err(err) => tracing::warn!(error = %err, revision = target, "compaction failed"),
            }
        }
        match storage.current_revision().await {
            Ok(rev) => self.previous = Some(rev),
            Err(err) => tracing::warn!(error = %err, "compactor cannot read the revision"),
        }
        true
    }

    async fn run(mut self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if !self.tick().await {
                return;
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

    fn temp_store() -> (tempfile::TempDir, Arc<dyn Storage>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStorage::open(SqliteConfig::new(dir.path().join("s.db"))).unwrap();
        (dir, Arc::new(store))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_tick_compacts_to_the_previous_ticks_revision() {
        let (_dir, store) = temp_store();
        let key = "/registry/configmaps/ns/c";
        // Revision 0 means "now" to a watch: keep every revision used below above it.
        store
            .create("/registry/seed/x", Bytes::from("seed"))
            .await
            .unwrap();
        let mut rev = store.create(key, Bytes::from("0")).await.unwrap();
        let mut compactor = Compactor::new(&store);

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
    async fn spawned_compactor_compacts_and_stops_with_the_store() {
        let (_dir, store) = temp_store();
        let key = "/registry/leases/ns/l";
        let mut rev = store.create(key, Bytes::from("0")).await.unwrap();
        let task = Compactor::spawn(
            &store,
            CompactorConfig {
                interval: Duration::from_millis(20),
            },
        )
        .expect("a non-zero interval starts a task");
        // Keep writing; within a bounded time the background task must have compacted.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.compacted_revision().await.unwrap() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no compaction happened"
            );
            rev = store
                .update(key, rev, Bytes::from(rev.to_string()))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut compactor = Compactor::new(&store);
        drop(store);
        // The task may be mid-tick, holding the store for a moment; it must end at its next.
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the task ends once the store is gone")
            .expect("the task did not panic");
        assert!(
            !compactor.tick().await,
            "a compactor outliving its store stops"
        );
    }
}

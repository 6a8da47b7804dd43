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

//! Watches on the embedded store: catch up from the revision log, then follow the writer's
//! in-process broadcast. No polling.
//!
//! Order of operations makes delivery gap-free and duplicate-free: subscribe to the
//! broadcast first, then read the committed revision `upto`, replay the log in
//! `(from, upto]`, then take broadcast events with revisions above the last one handled.
//! If this watcher falls so far behind that the broadcast drops batches for it, it replays
//! the log again from where it was — unless compaction has passed it, which ends the watch
//! with [`StorageError::Compacted`], as etcd does for a slow watcher.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::read::{self, CATCH_UP_CHUNK, Readers};
use super::writer::{Batch, Revisions};
use crate::storage::{Revision, StorageError, WatchEvent, WatchStream};

/// Events buffered between the watch task and its consumer.
const WATCH_BUFFER: usize = 1_024;

pub(super) fn spawn(
    readers: Arc<Readers>,
    revisions: Arc<Revisions>,
    events: broadcast::Receiver<Batch>,
    prefix: String,
    from: Revision,
) -> WatchStream {
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    let last = if from == 0 {
        revisions.rev.load(Ordering::Acquire)
    } else {
        from
    };
    let task = WatchTask {
        readers,
        revisions,
        prefix,
        tx,
        last,
    };
    tokio::spawn(task.run(events));
    ReceiverStream::new(rx).boxed()
}

struct WatchTask {
    readers: Arc<Readers>,
    revisions: Arc<Revisions>,
    prefix: String,
    tx: mpsc::Sender<Result<WatchEvent, StorageError>>,
    /// Every event at or below this revision has been handled.
    last: Revision,
}

/// Why the task stops: the consumer went away, or an error was delivered.
struct Stop;

impl WatchTask {
    async fn run(mut self, mut events: broadcast::Receiver<Batch>) {
        if self.catch_up().await.is_err() {
            return;
        }
        loop {
            let received = tokio::select! {
                () = self.tx.closed() => return,
                received = events.recv() => received,
            };
            let step = match received {
                Ok(batch) => self.deliver(batch.iter().cloned()).await,
                Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await,
                Err(broadcast::error::RecvError::Closed) => {
                    let reason = "the embedded store was closed".to_owned();
                    let _ = self
                        .tx
                        .send(Err(StorageError::Unavailable { reason }))
                        .await;
                    return;
                }
            };
            if step.is_err() {
                return;
            }
        }
    }

    async fn deliver(&mut self, batch: impl Iterator<Item = WatchEvent>) -> Result<(), Stop> {
        for event in batch {
            if event.revision <= self.last {
                continue;
            }
            self.last = event.revision;
            if event.kv.key.starts_with(&self.prefix) && self.tx.send(Ok(event)).await.is_err() {
                return Err(Stop);
            }
        }
        Ok(())
    }

    async fn catch_up(&mut self) -> Result<(), Stop> {
        loop {
            let upto = self.revisions.rev.load(Ordering::Acquire);
            if self.last >= upto {
                return Ok(());
            }
            let (readers, prefix, after) = (self.readers.clone(), self.prefix.clone(), self.last);
            let read = tokio::task::spawn_blocking(move || {
                read::events_after(&readers, &prefix, after, upto)
            })
            .await
            .unwrap_or_else(|e| Err(StorageError::Internal(format!("watch reader failed: {e}"))));
            match read {
                Ok(events) => {
                    let full_chunk = events.len() as i64 >= CATCH_UP_CHUNK;
                    let chunk_end = events.last().map(|e| e.revision);
                    self.deliver(events.into_iter()).await?;
                    // A short chunk means everything up to `upto` has been read.
                    self.last = match (full_chunk, chunk_end) {
                        (true, Some(end)) => end,
                        _ => upto,
                    };
                }
                Err(err) => {
                    let _ = self.tx.send(Err(err)).await;
                    return Err(Stop);
                }
            }
        }
    }
}

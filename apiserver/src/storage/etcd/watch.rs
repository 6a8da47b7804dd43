//! Watches on etcd that survive lost connections.
//!
//! A task owns the etcd watch stream and forwards events. When the stream breaks (etcd
//! restarted, network blip), it reconnects with capped backoff and re-watches from the
//! revision after the last event it forwarded, so the consumer sees every event once and
//! in order. If etcd has compacted past that revision, the consumer gets
//! [`StorageError::Compacted`] and the stream ends.

use std::time::Duration;

use etcd_client::{EventType, WatchOptions};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{EtcdStorage, kv_from};
use crate::storage::keys::prefix_end;
use crate::storage::{EventKind, KeyValue, Revision, StorageError, WatchEvent, WatchStream};

const WATCH_BUFFER: usize = 1_024;
const MAX_BACKOFF: Duration = Duration::from_secs(2);

type Sender = mpsc::Sender<Result<WatchEvent, StorageError>>;

pub(super) fn spawn(storage: EtcdStorage, prefix: String, from: Revision) -> WatchStream {
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    tokio::spawn(run(storage, prefix, from, tx));
    ReceiverStream::new(rx).boxed()
}

/// How one connection's stream ended.
enum Ended {
    /// The consumer is gone or a terminal error was delivered.
    Stop,
    /// The connection broke; reconnect.
    Broken(String),
}

async fn run(storage: EtcdStorage, prefix: String, from: Revision, tx: Sender) {
    let mut last = from;
    let mut delay = storage.config.backoff;
    loop {
        let before = last;
        let Ended::Broken(reason) = follow(&storage, &prefix, &mut last, &tx).await else {
            return;
        };
        if last > before {
            // Events flowed on that connection: this is a fresh failure.
            delay = storage.config.backoff;
        }
        tracing::warn!(%prefix, revision = last, %reason, retry_in = ?delay, "etcd watch broken; resuming");
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(MAX_BACKOFF);
    }
}

/// Follows one etcd watch stream from `*last + 1`, advancing `*last` as events go out.
async fn follow(storage: &EtcdStorage, prefix: &str, last: &mut Revision, tx: &Sender) -> Ended {
    let options = WatchOptions::new()
        .with_range(prefix_end(prefix))
        .with_start_revision(*last + 1)
        .with_prev_key()
        .with_progress_notify();
    let mut client = storage.watch.clone();
    let opened = tokio::select! {
        () = tx.closed() => return Ended::Stop,
        opened = tokio::time::timeout(storage.config.attempt_timeout, client.watch(prefix, Some(options))) => opened,
    };
    let mut stream = match opened {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return Ended::Broken(err.to_string()),
        Err(_) => return Ended::Broken("watch not established in time".into()),
    };
    loop {
        let message = tokio::select! {
            () = tx.closed() => return Ended::Stop,
            message = stream.message() => message,
        };
        let resp = match message {
            Ok(Some(resp)) => resp,
            Ok(None) => return Ended::Broken("etcd closed the watch stream".into()),
            Err(err) => return Ended::Broken(err.to_string()),
        };
        if resp.canceled() {
            let err = if resp.compact_revision() > 0 {
                storage
                    .compacted
                    .fetch_max(resp.compact_revision(), std::sync::atomic::Ordering::AcqRel);
                StorageError::Compacted {
                    requested: *last,
                    compacted: resp.compact_revision(),
                }
            } else {
                StorageError::Unavailable {
                    reason: format!("etcd cancelled the watch: {}", resp.cancel_reason()),
                }
            };
            let _ = tx.send(Err(err)).await;
            return Ended::Stop;
        }
        for event in resp.events() {
            let converted = match convert(event) {
                Ok(converted) => converted,
                Err(err) => {
                    let _ = tx.send(Err(err)).await;
                    return Ended::Stop;
                }
            };
            if converted.revision <= *last {
                continue;
            }
            *last = converted.revision;
            if tx.send(Ok(converted)).await.is_err() {
                return Ended::Stop;
            }
        }
    }
}

fn convert(event: &etcd_client::Event) -> Result<WatchEvent, StorageError> {
    let kv = event
        .kv()
        .ok_or_else(|| StorageError::Internal("etcd watch event without a key".into()))?;
    let revision = kv.mod_revision();
    let prev = event.prev_kv().map(kv_from).transpose()?;
    match event.event_type() {
        EventType::Put => {
            let kind = if kv.create_revision() == kv.mod_revision() {
                EventKind::Added
            } else {
                EventKind::Modified
            };
            Ok(WatchEvent {
                kind,
                revision,
                kv: kv_from(kv)?,
                prev,
            })
        }
        EventType::Delete => {
            let last = match &prev {
                Some(prev) => KeyValue {
                    mod_revision: revision,
                    ..prev.clone()
                },
                None => KeyValue {
                    mod_revision: revision,
                    ..kv_from(kv)?
                },
            };
            Ok(WatchEvent {
                kind: EventKind::Deleted,
                revision,
                kv: last,
                prev,
            })
        }
    }
}

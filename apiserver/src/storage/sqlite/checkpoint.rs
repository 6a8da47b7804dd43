//! WAL checkpoints on their own thread.
//!
//! SQLite normally checkpoints inside the commit that crosses the WAL size threshold, which
//! puts copying pages and an fsync of the main file on one unlucky writer's latency. Here the
//! writer only nudges this thread after roughly every [`NUDGE_BYTES`] written; a PASSIVE
//! checkpoint then copies what it can without blocking the writer or readers.

use std::path::PathBuf;
use std::sync::mpsc;

use rusqlite::Connection;

/// Bytes written between checkpoints (about 1,000 pages, SQLite's default threshold).
pub(super) const NUDGE_BYTES: usize = 4 * 1024 * 1024;

/// The writer's handle: counts bytes and nudges the checkpointer when enough accumulated.
#[derive(Debug)]
pub(super) struct Nudger {
    tx: mpsc::SyncSender<()>,
    pending: usize,
    thread: std::thread::JoinHandle<()>,
}

impl Nudger {
    pub(super) fn wrote(&mut self, bytes: usize) {
        self.pending += bytes;
        if self.pending >= NUDGE_BYTES {
            self.pending = 0;
            // A nudge already queued is as good as a second one.
            let _ = self.tx.try_send(());
        }
    }

    /// Stops the checkpointer and waits for its final TRUNCATE checkpoint, so the file is
    /// free for the next opener when this returns.
    pub(super) fn finish(self) {
        drop(self.tx);
        let _ = self.thread.join();
    }
}

/// Starts the checkpointer; it stops when the [`Nudger`] is dropped.
pub(super) fn spawn(path: PathBuf, conn: Connection) -> std::io::Result<Nudger> {
    let (tx, rx) = mpsc::sync_channel::<()>(1);
    let thread = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
        while rx.recv().is_ok() {
            let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            });
            match result {
                Ok((_, wal_pages, copied)) => {
                    tracing::trace!(wal_pages, copied, "wal checkpoint");
                }
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "wal checkpoint failed");
                }
            }
        }
        // Leave the WAL empty for the next start.
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    })?;
    Ok(Nudger {
        tx,
        pending: 0,
        thread,
    })
}

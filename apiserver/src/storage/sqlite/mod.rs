//! The embedded backend (the default): SQLite through rusqlite, a revision log in the
//! style of k3s's kine, WAL mode, one writer thread with group commit, in-process watch
//! fan-out and chunked compaction. See [`schema`] for the tables and [`writer`] for how
//! writes are batched.

mod checkpoint;
mod list;
mod read;
mod schema;
mod watch;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use schema::Durability;

use self::read::Readers;
use self::writer::{Batch, Command, Op, Revisions, Writer, Written};
use super::keys::{validate_key, validate_prefix};
use super::{
    DeletePreconditions, KeyValue, ListOptions, ListResult, Result, Revision, Storage,
    StorageError, WatchStream,
};

/// Settings of the embedded store.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The database file (created if missing, with its directory).
    pub path: PathBuf,
    /// How hard commits push to disk; see [`Durability`].
    pub durability: Durability,
    /// The most writes one commit carries.
    pub max_batch: usize,
    /// How long the writer may hold a commit open for more writes while others are writing
    /// concurrently (the last commit carried more than one); zero: never.
    pub linger: std::time::Duration,
}

impl SqliteConfig {
    /// Defaults for a file: full durability, batches of up to 512 writes, a linger of up to
    /// 1 ms under concurrent writes.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: Durability::Full,
            max_batch: 512,
            linger: std::time::Duration::from_millis(1),
        }
    }

    /// Sets the durability.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
}

/// Writes queued for the writer before callers wait for room.
const WRITE_QUEUE: usize = 8_192;
/// Committed batches kept for watchers that are momentarily behind.
const EVENT_BUFFER: usize = 4_096;

/// The embedded store. Cloning is cheap; the writer stops when the last clone is dropped,
/// after committing everything it acknowledged.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    writes: mpsc::Sender<Command>,
    readers: Arc<Readers>,
    events: broadcast::Sender<Batch>,
    revisions: Arc<Revisions>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Inner {
    /// Closing the write queue lets the writer commit what it acknowledged and stop; waiting
    /// for it (and its final checkpoint) means the file is free when the last clone is gone.
    fn drop(&mut self) {
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.writes, closed));
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl SqliteStorage {
    /// Opens the file, checks it, and starts the writer thread. A damaged, foreign or
    /// unreadable file is refused with [`StorageError::Corrupt`] naming it.
    pub fn open(config: SqliteConfig) -> Result<Self> {
        let (conn, rev, compact) = schema::open_writer(&config.path, config.durability)?;
        let revisions = Arc::new(Revisions::default());
        revisions.rev.store(rev, Ordering::Release);
        revisions.compact.store(compact, Ordering::Release);
        let checkpointer = schema::open_checkpointer(&config.path, config.durability)?;
        let checkpoints = checkpoint::spawn(config.path.clone(), checkpointer)
            .map_err(|e| StorageError::Internal(format!("cannot start the checkpointer: {e}")))?;
        let (writes, rx) = mpsc::channel(WRITE_QUEUE);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let writer = Writer {
            path: config.path.clone(),
            conn,
            rx,
            events: events.clone(),
            revisions: revisions.clone(),
            max_batch: config.max_batch.max(1),
            linger: config.linger,
            checkpoints,
        };
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StorageError::Internal(format!("cannot start the writer thread: {e}")))?;
        let readers = Arc::new(Readers::new(config.path.clone(), config.durability));
        // Open one reader now so an unreadable file fails at start, not at the first read.
        readers.with_snapshot(|_| Ok(()))?;
        tracing::info!(path = %config.path.display(), revision = rev, "embedded store open");
        Ok(Self {
            inner: Arc::new(Inner {
                path: config.path,
                writes,
                readers,
                events,
                revisions,
                writer: Some(writer),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &std::path::Path {
        &self.inner.path
    }

    async fn write(&self, op: Op) -> Result<Written> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StorageError::Unavailable {
            reason: "the embedded writer stopped".into(),
        };
        self.inner
            .writes
            .send(Command::Write { op, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Readers) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let readers = self.inner.readers.clone();
        tokio::task::spawn_blocking(move || f(&readers))
            .await
            .map_err(|e| StorageError::Internal(format!("reader task failed: {e}")))?
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn get(&self, key: &str) -> Result<KeyValue> {
        validate_key(key)?;
        let key = key.to_owned();
        self.read(move |r| read::get(r, &key)).await
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult> {
        validate_prefix(prefix)?;
        let prefix = prefix.to_owned();
        self.read(move |r| read::list(r, &prefix, &options)).await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        validate_key(key)?;
        match self
            .write(Op::Create {
                key: key.to_owned(),
                value,
            })
            .await?
        {
            Written::Revision(rev) => Ok(rev),
            Written::Deleted(_) => Err(StorageError::Internal("create answered a delete".into())),
        }
    }

    async fn update(&self, key: &str, expected: Revision, value: Bytes) -> Result<Revision> {
        validate_key(key)?;
        match self
            .write(Op::Update {
                key: key.to_owned(),
                expected,
                value,
            })
            .await?
        {
            Written::Revision(rev) => Ok(rev),
            Written::Deleted(_) => Err(StorageError::Internal("update answered a delete".into())),
        }
    }

    async fn delete(&self, key: &str, preconditions: DeletePreconditions) -> Result<KeyValue> {
        validate_key(key)?;
        match self
            .write(Op::Delete {
                key: key.to_owned(),
                preconditions,
            })
            .await?
        {
            Written::Deleted(kv) => Ok(kv),
            Written::Revision(_) => Err(StorageError::Internal("delete answered a write".into())),
        }
    }

    async fn watch(&self, prefix: &str, from_revision: Revision) -> Result<WatchStream> {
        validate_prefix(prefix)?;
        let receiver = self.inner.events.subscribe();
        Ok(watch::spawn(
            self.inner.readers.clone(),
            self.inner.revisions.clone(),
            receiver,
            prefix.to_owned(),
            from_revision,
        ))
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.inner.revisions.rev.load(Ordering::Acquire))
    }

    async fn count(&self, prefix: &str) -> Result<u64> {
        validate_prefix(prefix)?;
        let prefix = prefix.to_owned();
        self.read(move |r| read::count(r, &prefix)).await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StorageError::Unavailable {
            reason: "the embedded writer stopped".into(),
        };
        self.inner
            .writes
            .send(Command::Compact { revision, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        Ok(self.inner.revisions.compact.load(Ordering::Acquire))
    }
}

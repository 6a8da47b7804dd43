//! Reads: a small pool of read-only connections, each read one WAL snapshot.
//!
//! WAL readers never block the writer nor each other. A read at the head revision uses the
//! `current` table; a read at an older revision (a later page of a paginated list) finds,
//! for each key, its newest log row at or below that revision.

use std::path::PathBuf;

use bytes::Bytes;
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, Row};

pub(super) use super::list::list;
use super::schema::{self, Durability, map_err, read_meta};
use crate::storage::keys::prefix_end;
use crate::storage::{EventKind, KeyValue, Revision, StorageError, WatchEvent};

/// Connections kept for reuse; more are opened under load and closed afterwards.
const POOL_KEEP: usize = 8;

#[derive(Debug)]
pub(super) struct Readers {
    path: PathBuf,
    durability: Durability,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(super) fn new(path: PathBuf, durability: Durability) -> Self {
        Self {
            path,
            durability,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on a pooled connection inside one read transaction (one snapshot).
    pub(super) fn with_snapshot<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let pooled = self.idle.lock().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => schema::open_reader(&self.path, self.durability)?,
        };
        let result = (|| {
            let tx = conn.transaction().map_err(|e| map_err(&self.path, e))?;
            let out = f(&tx)?;
            tx.finish().map_err(|e| map_err(&self.path, e))?;
            Ok(out)
        })();
        let mut idle = self.idle.lock();
        if idle.len() < POOL_KEEP {
            idle.push(conn);
        }
        result
    }

    pub(super) fn err(&self, e: rusqlite::Error) -> StorageError {
        map_err(&self.path, e)
    }
}

pub(super) fn kv_from_row(row: &Row<'_>) -> rusqlite::Result<KeyValue> {
    Ok(KeyValue {
        key: row.get(0)?,
        value: Bytes::from(row.get::<_, Vec<u8>>(1)?),
        create_revision: row.get(2)?,
        mod_revision: row.get(3)?,
    })
}

pub(super) fn get(readers: &Readers, key: &str) -> Result<KeyValue, StorageError> {
    readers.with_snapshot(|tx| {
        tx.prepare_cached(
            "SELECT c.key, l.value, l.create_rev, l.rev FROM current c
             JOIN log l ON l.rev = c.rev WHERE c.key = ?1",
        )
        .and_then(|mut s| s.query_row([key], kv_from_row).optional())
        .map_err(|e| readers.err(e))?
        .ok_or_else(|| StorageError::NotFound {
            key: key.to_owned(),
        })
    })
}

pub(super) fn count(readers: &Readers, prefix: &str) -> Result<u64, StorageError> {
    let end = prefix_end(prefix);
    readers.with_snapshot(|tx| {
        let n: i64 = tx
            .prepare_cached("SELECT count(*) FROM current WHERE key >= ?1 AND key < ?2")
            .and_then(|mut s| s.query_row([prefix, end.as_str()], |r| r.get(0)))
            .map_err(|e| readers.err(e))?;
        Ok(u64::try_from(n).unwrap_or_default())
    })
}

/// Rows read per catch-up query, so a watcher far behind does not load all history at once.
pub(super) const CATCH_UP_CHUNK: i64 = 1_000;

/// Events under `prefix` with `after < revision <= upto`, oldest first, at most one chunk.
/// Fails with [`StorageError::Compacted`] if `after` is older than the compacted revision.
pub(super) fn events_after(
    readers: &Readers,
    prefix: &str,
    after: Revision,
    upto: Revision,
) -> Result<Vec<WatchEvent>, StorageError> {
    let end = prefix_end(prefix);
    readers.with_snapshot(|tx| {
        let (_, compacted) = read_meta(tx).map_err(|e| readers.err(e))?;
        if after < compacted {
            return Err(StorageError::Compacted {
                requested: after,
                compacted,
            });
        }
        let mut stmt = tx
            .prepare_cached(
                "SELECT l.rev, l.key, l.value, l.create_rev, l.prev_rev, l.deleted,
                        p.value, p.create_rev
                 FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
                 WHERE l.rev > ?1 AND l.rev <= ?2 AND l.key >= ?3 AND l.key < ?4
                 ORDER BY l.rev LIMIT ?5",
            )
            .map_err(|e| readers.err(e))?;
        let rows = stmt
            .query_map(
                rusqlite::params![after, upto, prefix, end, CATCH_UP_CHUNK],
                |row| {
                    let revision: Revision = row.get(0)?;
                    let key: String = row.get(1)?;
                    let prev_rev: Revision = row.get(4)?;
                    let deleted: bool = row.get(5)?;
                    let prev_value: Option<Vec<u8>> = row.get(6)?;
                    let prev = match prev_value {
                        Some(value) if prev_rev > 0 => Some(KeyValue {
                            key: key.clone(),
                            value: Bytes::from(value),
                            create_revision: row.get(7)?,
                            mod_revision: prev_rev,
                        }),
                        _ => None,
                    };
                    let (kind, kv) = if deleted {
                        let last = prev.clone().unwrap_or_else(|| KeyValue {
                            key: key.clone(),
                            value: Bytes::new(),
                            create_revision: 0,
                            mod_revision: revision,
                        });
                        (
                            EventKind::Deleted,
                            KeyValue {
                                mod_revision: revision,
                                ..last
                            },
                        )
                    } else {
                        let kind = if prev_rev == 0 {
                            EventKind::Added
                        } else {
                            EventKind::Modified
                        };
                        let kv = KeyValue {
                            key,
                            value: Bytes::from(row.get::<_, Vec<u8>>(2)?),
                            create_revision: row.get(3)?,
                            mod_revision: revision,
                        };
                        (kind, kv)
                    };
                    Ok(WatchEvent {
                        kind,
                        revision,
                        kv,
                        prev,
                    })
                },
            )
            .map_err(|e| readers.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| readers.err(e))
    })
}

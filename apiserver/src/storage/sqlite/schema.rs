//! Opening the database file: pragmas, schema, and the checks that refuse a damaged or
//! foreign file instead of silently starting afresh.
//!
//! Tables:
//! - `log`: one row per write (the revision log, as in kine): `rev` (the revision, rowid),
//!   `key`, `create_rev`, `prev_rev` (the row this one supersedes, 0 for a create),
//!   `deleted` (a tombstone), `value` (empty for tombstones). Only the rowid is indexed:
//!   every lookup into the log is by revision, so a write touches one B-tree here.
//! - `current`: each live key and the `rev` of its latest row — the fast path for get,
//!   list at the head revision and count.
//! - `meta`: `rev` (the last committed revision) and `compact` (the compacted revision),
//!   written in the same transaction as the rows, so a snapshot is always self-consistent.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::storage::{Revision, StorageError};

/// Written into the file header so a foreign SQLite file is recognised ("KELS").
const APPLICATION_ID: i32 = 0x4B45_4C53;
/// The schema version this code writes and reads.
const SCHEMA_VERSION: i32 = 1;

/// How hard a commit pushes data to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the WAL on every commit: an acknowledged write survives power loss.
    Full,
    /// fsync only at checkpoints: an acknowledged write survives the process being killed
    /// (`kill -9`), not the machine losing power.
    Normal,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

pub(super) fn corrupt(path: &Path, err: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        path: path.display().to_string(),
        reason: err.to_string(),
    }
}

/// Maps a SQLite error: damage to the file becomes [`StorageError::Corrupt`] naming it.
pub(super) fn map_err(path: &Path, err: rusqlite::Error) -> StorageError {
    use rusqlite::ErrorCode;
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => corrupt(path, err),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            corrupt(path, format!("cannot open or write it: {err}"))
        }
        // Short reads of a truncated file land here, as do failing disks.
        Some(ErrorCode::SystemIoFailure) => corrupt(path, format!("I/O error on it: {err}")),
        Some(ErrorCode::DiskFull) => StorageError::Unavailable {
            reason: format!("disk full writing {}", path.display()),
        },
        _ => StorageError::Internal(format!("{}: {err}", path.display())),
    }
}

/// How long a connection waits for a lock another connection (or a closing store's final
/// checkpoint) holds.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn set_common_pragmas(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", durability.pragma())?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -32_000)?; // KiB: 32 MB of page cache
    Ok(())
}

/// Opens (creating if needed) the writer's connection and returns the committed
/// (revision, compacted revision).
pub(super) fn open_writer(
    path: &Path,
    durability: Durability,
) -> Result<(Connection, Revision, Revision), StorageError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| corrupt(path, e))?;
    }
    if path.is_dir() {
        return Err(corrupt(path, "it is a directory"));
    }
    let existed = path.exists();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| map_err(path, e))?;
    let err = |e| map_err(path, e);
    // Before the first read: a store closing elsewhere may still hold a lock briefly.
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;

    // The first read of the header: a file that is not SQLite fails here.
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(err)?;
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(err)?;
    if existed && tables > 0 {
        if app_id != APPLICATION_ID {
            return Err(corrupt(
                path,
                "it is a SQLite database, but not a Keelson one",
            ));
        }
        if version != SCHEMA_VERSION {
            return Err(corrupt(path, format!("unknown schema version {version}")));
        }
    } else {
        // A new file: incremental auto-vacuum must be chosen before the first table.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(err)?;
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(corrupt(
            path,
            format!("cannot switch to WAL mode (got {mode})"),
        ));
    }
    set_common_pragmas(&conn, durability).map_err(err)?;
    // Checkpoints run on their own thread (see `checkpoint.rs`), not inside commits.
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(err)?;
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .map_err(err)?;
    conn.execute_batch(&format!(
        "BEGIN;
         CREATE TABLE IF NOT EXISTS log (
             rev INTEGER PRIMARY KEY,
             key TEXT NOT NULL,
             create_rev INTEGER NOT NULL,
             prev_rev INTEGER NOT NULL,
             deleted INTEGER NOT NULL,
             value BLOB NOT NULL
         );
         CREATE TABLE IF NOT EXISTS current (
             key TEXT PRIMARY KEY,
             rev INTEGER NOT NULL
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS meta (
             name TEXT PRIMARY KEY,
             value INTEGER NOT NULL
         ) WITHOUT ROWID;
         -- Like etcd, an empty store is at revision 1: revision 0 means now to a
         -- watch, so a list of an empty store must never report it.
         INSERT OR IGNORE INTO meta (name, value) VALUES ('rev', 1), ('compact', 0);
         PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {SCHEMA_VERSION};
         COMMIT;"
    ))
    .map_err(err)?;
    let (rev, compact) = read_meta(&conn).map_err(err)?;
    let max_logged: Option<Revision> = conn
        .query_row("SELECT max(rev) FROM log", [], |r| r.get(0))
        .optional()
        .map_err(err)?
        .flatten();
    if max_logged.unwrap_or(0) > rev {
        return Err(corrupt(
            path,
            "the revision log is ahead of the recorded revision",
        ));
    }
    Ok((conn, rev, compact))
}

/// Opens the checkpointer's connection (read-write, never writes rows).
pub(super) fn open_checkpointer(
    path: &Path,
    durability: Durability,
) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| map_err(path, e))?;
    set_common_pragmas(&conn, durability).map_err(|e| map_err(path, e))?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(|e| map_err(path, e))?;
    Ok(conn)
}

/// Opens a read-only connection for the reader pool.
pub(super) fn open_reader(path: &Path, durability: Durability) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| map_err(path, e))?;
    set_common_pragmas(&conn, durability).map_err(|e| map_err(path, e))?;
    Ok(conn)
}

/// (revision, compacted revision) as committed.
pub(super) fn read_meta(conn: &Connection) -> rusqlite::Result<(Revision, Revision)> {
    let mut stmt = conn.prepare_cached("SELECT name, value FROM meta")?;
    let mut rows = stmt.query([])?;
    let (mut rev, mut compact) = (0, 0);
    while let Some(row) = rows.next()? {
        let name: String = row.get(0)?;
        match name.as_str() {
            "rev" => rev = row.get(1)?,
            "compact" => compact = row.get(1)?,
            _ => {}
        }
    }
    Ok((rev, compact))
}

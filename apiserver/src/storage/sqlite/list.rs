//! Lists, at the head revision or at an older one (the later pages of a paginated list).
//!
//! At the head, a list is a range scan of `current`. At an older revision R, the state of
//! each key is derived without any index beyond the rowid:
//! - a key whose live row is at or below R has not changed since R: its current value is
//!   its value at R;
//! - every other key was touched after R. Its first log row after R names, in `prev_rev`,
//!   the row that was live at R (0 means the key did not exist then). Those rows are few
//!   when R is recent, and compaction never removes them while R is readable.

use rusqlite::Transaction;

use super::read::{Readers, kv_from_row};
use super::schema::read_meta;
use crate::storage::keys::{decode_continue, encode_continue, prefix_end};
use crate::storage::{KeyValue, ListOptions, ListResult, Revision, StorageError};

const HEAD_PAGE: &str = "SELECT c.key, l.value, l.create_rev, l.rev FROM current c
     JOIN log l ON l.rev = c.rev WHERE c.key >= ?1 AND c.key < ?2 ORDER BY c.key LIMIT ?3";
const UNCHANGED_SINCE: &str = "SELECT c.key, l.value, l.create_rev, l.rev FROM current c
     JOIN log l ON l.rev = c.rev WHERE c.key >= ?1 AND c.key < ?2 AND c.rev <= ?3
     ORDER BY c.key";
const LIVE_AT_BEFORE_CHANGE: &str = "SELECT p.key, p.value, p.create_rev, p.rev FROM
     (SELECT key, min(rev) AS first FROM log WHERE rev > ?3 AND key >= ?1 AND key < ?2
      GROUP BY key) ch
     JOIN log f ON f.rev = ch.first
     JOIN log p ON p.rev = f.prev_rev AND p.deleted = 0
     ORDER BY p.key";
const COUNT_UNCHANGED: &str =
    "SELECT count(*) FROM current WHERE key >= ?1 AND key < ?2 AND rev <= ?3";

pub(in crate::storage::sqlite) fn list(
    readers: &Readers,
    prefix: &str,
    options: &ListOptions,
) -> Result<ListResult, StorageError> {
    let (start, wanted) = match &options.continue_token {
        Some(token) => {
            let (start, rev) = decode_continue(prefix, token)?;
            (start, Some(rev))
        }
        None => (
            prefix.to_owned(),
            options.at_revision.filter(|rev| *rev > 0),
        ),
    };
    let end = prefix_end(prefix);
    let limit = if options.limit == 0 {
        usize::MAX
    } else {
        options.limit
    };
    readers.with_snapshot(|tx| {
        let (head, compacted) = read_meta(tx).map_err(|e| readers.err(e))?;
        let revision = wanted.unwrap_or(head);
        if revision > head {
            return Err(StorageError::FutureRevision {
                requested: revision,
                current: head,
            });
        }
        if revision < compacted {
            return Err(StorageError::Compacted {
                requested: revision,
                compacted,
            });
        }
        let page = if revision == head {
            head_page(tx, &start, &end, limit)
        } else {
            page_at(tx, &start, &end, revision, limit)
        };
        let (items, more) = page.map_err(|e| readers.err(e))?;
        let mut result = ListResult {
            items,
            revision,
            continue_token: None,
            remaining: None,
        };
        if let Some(last) = result.items.last().filter(|_| more) {
            result.continue_token = Some(encode_continue(prefix, &last.key, revision));
            let after = format!("{}\0", last.key);
            let remaining = count_from(tx, &after, &end, revision, head);
            result.remaining = Some(remaining.map_err(|e| readers.err(e))?);
        }
        Ok(result)
    })
}

/// Up to `limit` items from `start` at the head revision, and whether more follow.
fn head_page(
    tx: &Transaction<'_>,
    start: &str,
    end: &str,
    limit: usize,
) -> rusqlite::Result<(Vec<KeyValue>, bool)> {
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(-1);
    let mut stmt = tx.prepare_cached(HEAD_PAGE)?;
    let mut items: Vec<KeyValue> = stmt
        .query_map(rusqlite::params![start, end, fetch], kv_from_row)?
        .collect::<Result<_, _>>()?;
    let more = items.len() > limit;
    items.truncate(limit);
    Ok((items, more))
}

/// Up to `limit` items from `start` as they were at `revision`, and whether more follow.
fn page_at(
    tx: &Transaction<'_>,
    start: &str,
    end: &str,
    revision: Revision,
    limit: usize,
) -> rusqlite::Result<(Vec<KeyValue>, bool)> {
    let mut changed_stmt = tx.prepare_cached(LIVE_AT_BEFORE_CHANGE)?;
    let changed = changed_stmt.query_map(rusqlite::params![start, end, revision], kv_from_row)?;
    let mut changed = changed
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .peekable();
    let mut unchanged_stmt = tx.prepare_cached(UNCHANGED_SINCE)?;
    let mut unchanged =
        unchanged_stmt.query_map(rusqlite::params![start, end, revision], kv_from_row)?;
    // Both sources are in key order and disjoint: merge them.
    let mut items = Vec::new();
    let mut pending = unchanged.next().transpose()?;
    loop {
        let take_changed = match (&pending, changed.peek()) {
            (None, None) => break,
            (Some(u), Some(c)) => c.key < u.key,
            (None, Some(_)) => true,
            (Some(_), None) => false,
        };
        if items.len() == limit {
            return Ok((items, true));
        }
        if take_changed {
            items.extend(changed.next());
        } else {
            items.extend(pending.take());
            pending = unchanged.next().transpose()?;
        }
    }
    Ok((items, false))
}

/// How many keys at or after `from` (and before `end`) existed at `revision`.
fn count_from(
    tx: &Transaction<'_>,
    from: &str,
    end: &str,
    revision: Revision,
    head: Revision,
) -> rusqlite::Result<u64> {
    let unchanged: i64 = tx
        .prepare_cached(COUNT_UNCHANGED)?
        .query_row(rusqlite::params![from, end, revision], |r| r.get(0))?;
    let changed = if revision == head {
        0
    } else {
        let mut stmt = tx.prepare_cached(LIVE_AT_BEFORE_CHANGE)?;
        let rows = stmt.query_map(rusqlite::params![from, end, revision], |_| Ok(()))?;
        rows.count()
    };
    Ok(u64::try_from(unchanged).unwrap_or(0) + changed as u64)
}

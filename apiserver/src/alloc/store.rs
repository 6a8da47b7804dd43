//! The stored truth of one range: a RangeAllocation-like object under
//! `/registry/ranges/<name>`, read and written with compare-and-swap on its revision.
//!
//! The object names the range it describes (`range`) and carries the taken offsets
//! (`data`, see [`Allocated::encode`]). A stored object for another range, or one that
//! cannot be read, is reported as not [`Loaded::usable`]: the caller rebuilds the set from
//! the stored Services (see `repair`).

use serde_json::{Value, json};

use super::set::Allocated;
use crate::storage::{Revision, Storage, StorageError};

/// Which range a stored object describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeSpec {
    /// The storage key, `/registry/ranges/serviceips` or `…/servicenodeports`.
    pub key: &'static str,
    /// The range as text (`10.96.0.0/12`, `30000-32767`); a stored object for another
    /// range is stale.
    pub range: String,
    /// How many offsets the range has.
    pub max: u32,
    /// The size of its static band.
    pub band: u32,
}

impl RangeSpec {
    /// An empty set over this range.
    pub(crate) fn empty(&self) -> Allocated {
        Allocated::new(self.max, self.band)
    }
}

/// The key of the service IP range.
pub(crate) const IPS_KEY: &str = "/registry/ranges/serviceips";
/// The key of the node port range.
pub(crate) const PORTS_KEY: &str = "/registry/ranges/servicenodeports";

/// A range as read from storage.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The taken offsets (empty when not usable).
    pub set: Allocated,
    /// The revision to compare against when writing back; `None` when the key is absent.
    pub revision: Option<Revision>,
    /// False when the stored object is unreadable or describes another range.
    pub usable: bool,
}

/// Reads the stored set of `spec`.
pub(crate) async fn load(storage: &dyn Storage, spec: &RangeSpec) -> Result<Loaded, StorageError> {
    let kv = match storage.get(spec.key).await {
        Ok(kv) => kv,
        Err(StorageError::NotFound { .. }) => {
            return Ok(Loaded {
                set: spec.empty(),
                revision: None,
                usable: true,
            });
        }
        Err(e) => return Err(e),
    };
    let decoded = serde_json::from_slice::<Value>(&kv.value)
        .ok()
        .filter(|v| v.get("range").and_then(Value::as_str) == Some(spec.range.as_str()))
        .and_then(|v| {
            let data = v.get("data").and_then(Value::as_str).unwrap_or("");
            Allocated::decode(spec.max, spec.band, data).ok()
        });
    if decoded.is_none() {
        tracing::warn!(
            key = spec.key,
            "stored range allocation is unreadable or stale"
        );
    }
    Ok(Loaded {
        usable: decoded.is_some(),
        set: decoded.unwrap_or_else(|| spec.empty()),
        revision: Some(kv.mod_revision),
    })
}

/// Writes `set` back: creates the key when `revision` is `None`, else compare-and-swap
/// against it. A concurrent writer shows as [`StorageError::Conflict`] or
/// [`StorageError::AlreadyExists`]; the caller reads again and retries.
pub(crate) async fn save(
    storage: &dyn Storage,
    spec: &RangeSpec,
    set: &Allocated,
    revision: Option<Revision>,
) -> Result<Revision, StorageError> {
    let bytes = serde_json::to_vec(&object(spec, set)).unwrap_or_default();
    match revision {
        None => storage.create(spec.key, bytes.into()).await,
        Some(rev) => storage.update(spec.key, rev, bytes.into()).await,
    }
}

/// True for the errors that mean "someone else wrote first".
pub(crate) fn lost_race(e: &StorageError) -> bool {
    matches!(
        e,
        StorageError::Conflict { .. } | StorageError::AlreadyExists { .. }
    )
}

/// The stored object, shaped like upstream's `RangeAllocation`.
fn object(spec: &RangeSpec, set: &Allocated) -> Value {
    let name = spec.key.rsplit('/').next().unwrap_or("");
    json!({
        "kind": "RangeAllocation",
        "apiVersion": "v1",
        "metadata": {"name": name},
        "range": spec.range,
        "data": set.encode(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::storage::sqlite::{SqliteConfig, SqliteStorage};

    fn spec(range: &str) -> RangeSpec {
        RangeSpec {
            key: IPS_KEY,
            range: range.into(),
            max: 100,
            band: 16,
        }
    }

    #[tokio::test]
    async fn round_trip_cas_and_stale_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(SqliteConfig::new(dir.path().join("s.db"))).unwrap();
        let s = spec("10.0.0.0/25");
        let first = load(&storage, &s).await.unwrap();
        assert!(first.usable && first.revision.is_none() && first.set.is_empty());
        let mut set = first.set;
        set.allocate(7);
        let rev = save(&storage, &s, &set, None).await.unwrap();
        // A second creator loses the race.
        let e = save(&storage, &s, &set, None).await.unwrap_err();
        assert!(lost_race(&e), "{e}");
        let again = load(&storage, &s).await.unwrap();
        assert_eq!((again.revision, again.usable), (Some(rev), true));
        assert_eq!(again.set.iter().collect::<Vec<_>>(), vec![7]);
        // A writer holding an old revision loses too.
        save(&storage, &s, &set, Some(rev)).await.unwrap();
        let e = save(&storage, &s, &set, Some(rev)).await.unwrap_err();
        assert!(lost_race(&e), "{e}");
        // The same key read for another range, or garbage, is not usable.
        let other = load(&storage, &spec("10.0.0.0/24")).await.unwrap();
        assert!(!other.usable && other.set.is_empty() && other.revision.is_some());
        let cur = storage.get(IPS_KEY).await.unwrap().mod_revision;
        storage
            .update(IPS_KEY, cur, b"not json".to_vec().into())
            .await
            .unwrap();
        assert!(!load(&storage, &s).await.unwrap().usable);
    }
}

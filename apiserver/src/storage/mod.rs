//! The storage layer: the contract kube-apiserver's storage gives, behind one trait.
//!
//! Everything above this module sees keys, opaque values and one cluster-wide revision
//! counter with etcd `mod_revision` semantics; revisions become `metadata.resourceVersion`.
//! Two backends implement [`Storage`]: [`etcd`] (etcd v3 over gRPC) and [`sqlite`] (the
//! embedded default, a revision log in the style of k3s's kine). [`open`] picks one from a
//! `--storage` URL.

mod compactor;
pub mod etcd;
pub mod keys;
mod metered;
pub mod sqlite;
mod url;

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

pub use compactor::{Compactor, CompactorConfig};
pub use metered::Metered;
pub use url::{Backend, DEFAULT_DB_FILE, StorageUrl, open};

/// A revision of the whole store: strictly increasing, one per successful write.
pub type Revision = i64;

/// One stored value with the revisions that describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key, e.g. `/registry/pods/default/web-0`.
    pub key: String,
    /// The opaque stored bytes (JSON objects for the apiserver).
    pub value: Bytes,
    /// The revision that created this key (etcd `create_revision`).
    pub create_revision: Revision,
    /// The revision of the last write to this key (etcd `mod_revision`).
    pub mod_revision: Revision,
}

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// The most items to return; 0 means no limit.
    pub limit: usize,
    /// A continue token from a previous page of the same prefix; the page is then read at
    /// the revision the token carries.
    pub continue_token: Option<String>,
    /// Read at this revision instead of the current one (ignored when `continue_token` is
    /// set). Older than the compacted revision → [`StorageError::Compacted`].
    pub at_revision: Option<Revision>,
}

/// One page of a list, read from one consistent snapshot.
#[derive(Debug, Clone)]
pub struct ListResult {
    /// Items in key order.
    pub items: Vec<KeyValue>,
    /// The revision the snapshot was read at; every page of one list has the same one.
    pub revision: Revision,
    /// Set when more items follow; pass it back in [`ListOptions::continue_token`].
    pub continue_token: Option<String>,
    /// How many items follow this page in the snapshot, when more follow.
    pub remaining: Option<u64>,
}

/// Conditions a delete must meet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeletePreconditions {
    /// The key's `mod_revision` must equal this, otherwise [`StorageError::Conflict`].
    pub revision: Option<Revision>,
}

/// The kind of a change seen by a watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The key did not exist before this revision.
    Added,
    /// The key existed and was overwritten.
    Modified,
    /// The key was deleted.
    Deleted,
}

/// One change, in revision order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// What happened.
    pub kind: EventKind,
    /// The revision of the change.
    pub revision: Revision,
    /// For Added/Modified the new value; for Deleted the last value the key had, with
    /// `mod_revision` set to the deletion's revision (as kube-apiserver reports it).
    pub kv: KeyValue,
    /// The value before the change (None for Added).
    pub prev: Option<KeyValue>,
}

/// The stream a watch returns. It ends only when dropped or after an error; errors are
/// terminal (a [`StorageError::Compacted`] first item means `from_revision` was too old).
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchEvent, StorageError>> + Send>>;

/// What can go wrong in storage. Each variant maps to one Kubernetes status reason.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key does not exist (404 NotFound).
    #[error("key {key} not found")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// Create found the key already present (409 AlreadyExists).
    #[error("key {key} already exists")]
    AlreadyExists {
        /// The key asked for.
        key: String,
    },
    /// A compare-and-swap saw another revision (409 Conflict).
    #[error("key {key} is at revision {actual}, not the expected {expected}")]
    Conflict {
        /// The key asked for.
        key: String,
        /// The revision the caller expected.
        expected: Revision,
        /// The revision the key has now.
        actual: Revision,
    },
    /// The requested revision has been compacted away (410 Gone / "too old resource version").
    #[error("revision {requested} has been compacted; the oldest available is {compacted}")]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The compacted revision: history before it is gone.
        compacted: Revision,
    },
    /// A revision in the future was asked for (504 in upstream: "too large resource version").
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The current revision.
        current: Revision,
    },
    /// A continue token that this store did not issue, or for another prefix (400).
    #[error("invalid continue token: {reason}")]
    InvalidContinue {
        /// Why it was refused.
        reason: String,
    },
    /// A key that the layout does not allow (400).
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key given.
        key: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The backend cannot be reached or is shutting down (503 ServiceUnavailable).
    #[error("storage unavailable: {reason}")]
    Unavailable {
        /// What failed, for the log and the Status message.
        reason: String,
    },
    /// The backend did not answer in time (504 / 503 with retry).
    #[error("storage operation timed out after {0:?}")]
    Timeout(Duration),
    /// The database file is damaged or not a Keelson database.
    #[error("database file {path} is unusable: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A storage URL that names no backend or has bad parameters.
    #[error("invalid storage URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An unexpected backend failure (500).
    #[error("storage internal error: {0}")]
    Internal(String),
}

impl StorageError {
    /// True when retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Timeout(_))
    }
}

/// Result alias for storage calls.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// The storage contract. Implementations are cheap to share (`Arc<dyn Storage>`).
#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// The current value of `key`, or [`StorageError::NotFound`].
    async fn get(&self, key: &str) -> Result<KeyValue>;

    /// Keys under `prefix` (which must end in `/`), in key order, from one snapshot.
    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult>;

    /// Stores `value` under a new key; [`StorageError::AlreadyExists`] if present.
    /// Returns the new revision.
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision>;

    /// Overwrites `key` if its `mod_revision` is `expected_revision` (compare-and-swap);
    /// [`StorageError::Conflict`] otherwise, [`StorageError::NotFound`] if absent.
    /// Returns the new revision.
    async fn update(
        &self,
        key: &str,
        expected_revision: Revision,
        value: Bytes,
    ) -> Result<Revision>;

    /// Deletes `key` if the preconditions hold and returns the value it had, with
    /// `mod_revision` set to the deletion's revision.
    async fn delete(&self, key: &str, preconditions: DeletePreconditions) -> Result<KeyValue>;

    /// Every change under `prefix` with a revision strictly greater than `from_revision`
    /// (resourceVersion semantics), in order, exactly once; `0` means "from now".
    async fn watch(&self, prefix: &str, from_revision: Revision) -> Result<WatchStream>;

    /// The revision of the last write to the store.
    async fn current_revision(&self) -> Result<Revision>;

    /// How many keys exist under `prefix`.
    async fn count(&self, prefix: &str) -> Result<u64>;

    /// Forgets history older than `revision`: reads and watches before it then fail with
    /// [`StorageError::Compacted`]. Compacting to an already compacted revision is a no-op.
    async fn compact(&self, revision: Revision) -> Result<()>;

    /// The revision history was last compacted to (0 if never).
    async fn compacted_revision(&self) -> Result<Revision>;
}

//! The etcd v3 backend, through etcd-client.
//!
//! Compare-and-swap is a transaction on `mod_revision`; create compares `create_revision`
//! with 0; watches ask for `prev_kv`. Every call runs under a per-attempt timeout and is
//! retried a bounded number of times with exponential backoff while etcd is unreachable;
//! then the caller gets [`StorageError::Unavailable`] (a 503), never a hang. Retried writes
//! are safe because each is guarded by its compare: a write that did land before the
//! connection broke is reported as AlreadyExists/Conflict, never applied twice.
//!
//! The compacted revision is recorded under `compact_rev_key`, as kube-apiserver does, so
//! every apiserver sharing the etcd knows it.

mod watch;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions,
    KvClient, Txn, TxnOp, TxnOpResponse, WatchClient,
};

use super::keys::{
    self, decode_continue, encode_continue, prefix_end, validate_key, validate_prefix,
};
use super::{
    DeletePreconditions, KeyValue, ListOptions, ListResult, Result, Revision, Storage,
    StorageError, WatchStream,
};

/// The key kube-apiserver records the compacted revision under.
const COMPACT_REV_KEY: &str = "compact_rev_key";

/// The largest gRPC answer accepted (etcd's own limit applies on its side).
const MAX_MESSAGE: usize = i32::MAX as usize;

/// Settings of the etcd backend.
#[derive(Debug, Clone)]
pub struct EtcdConfig {
    /// `host:port` endpoints (plain HTTP).
    pub endpoints: Vec<String>,
    /// The most one attempt of one call may take.
    pub attempt_timeout: Duration,
    /// Further attempts after a failure to reach etcd.
    pub retries: u32,
    /// The wait before the first retry; it doubles each time.
    pub backoff: Duration,
}

impl EtcdConfig {
    /// Defaults: 5 s per attempt, 4 retries from 200 ms backoff (about 20 s in the worst
    /// case before a caller sees Unavailable).
    pub fn new(endpoints: Vec<String>) -> Self {
        Self {
            endpoints,
            attempt_timeout: Duration::from_secs(5),
            retries: 4,
            backoff: Duration::from_millis(200),
        }
    }
}

/// The etcd-backed store. Cloning shares the connection.
#[derive(Clone)]
pub struct EtcdStorage {
    kv: KvClient,
    watch: WatchClient,
    config: Arc<EtcdConfig>,
    compacted: Arc<AtomicI64>,
}

impl std::fmt::Debug for EtcdStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStorage")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Whether an etcd-client error means "etcd could not be reached" (worth a retry).
fn is_unreachable(err: &etcd_client::Error) -> bool {
    match err {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::GRpcStatus(status) => match status.code() {
            tonic::Code::Unavailable => true,
            tonic::Code::Unknown => status.message().contains("transport"),
            _ => false,
        },
        _ => false,
    }
}

/// Maps an etcd-client error that was not retried.
fn map_error(err: etcd_client::Error) -> StorageError {
    if let etcd_client::Error::GRpcStatus(status) = &err {
        let message = status.message();
        if message.contains("required revision has been compacted") {
            return StorageError::Compacted {
                requested: 0,
                compacted: 0,
            };
        }
        if message.contains("required revision is a future revision") {
            return StorageError::FutureRevision {
                requested: 0,
                current: 0,
            };
        }
        if status.code() == tonic::Code::DeadlineExceeded {
            return StorageError::Unavailable {
                reason: format!("etcd deadline exceeded: {message}"),
            };
        }
    }
    if is_unreachable(&err) {
        return StorageError::Unavailable {
            reason: format!("etcd unreachable: {err}"),
        };
    }
    StorageError::Internal(format!("etcd: {err}"))
}

fn kv_from(kv: &etcd_client::KeyValue) -> Result<KeyValue> {
    let key = kv
        .key_str()
        .map_err(|e| StorageError::Internal(format!("etcd returned a non-UTF-8 key: {e}")))?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

impl EtcdStorage {
    /// Builds the client. Connecting is lazy: an unreachable etcd shows up as
    /// [`StorageError::Unavailable`] on the first calls, after the bounded retries.
    pub async fn connect(config: EtcdConfig) -> Result<Self> {
        let endpoints: Vec<String> = config
            .endpoints
            .iter()
            .map(|e| format!("http://{e}"))
            .collect();
        let options = ConnectOptions::new()
            .with_connect_timeout(config.attempt_timeout)
            .with_timeout(config.attempt_timeout)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        let client = Client::connect(&endpoints, Some(options))
            .await
            .map_err(|e| StorageError::InvalidUrl {
                url: endpoints.join(","),
                reason: e.to_string(),
            })?;
        // Like kube-apiserver, accept answers of any size: a list of 100k objects is big.
        let kv = client.kv_client().max_decoding_message_size(MAX_MESSAGE);
        let watch = client.watch_client().max_decoding_message_size(MAX_MESSAGE);
        Ok(Self {
            kv,
            watch,
            config: Arc::new(config),
            compacted: Arc::new(AtomicI64::new(0)),
        })
    }

    /// Runs `call` with a per-attempt timeout, retrying while etcd is unreachable.
    async fn call<T, F, Fut>(&self, what: &'static str, mut call: F) -> Result<T>
    where
        F: FnMut(KvClient) -> Fut,
        Fut: Future<Output = std::result::Result<T, etcd_client::Error>>,
    {
        let mut delay = self.config.backoff;
        let mut attempt = 0;
        loop {
            let failure = match tokio::time::timeout(
                self.config.attempt_timeout,
                call(self.kv.clone()),
            )
            .await
            {
                Ok(Ok(value)) => {
                    if attempt > 0 {
                        tracing::info!(
                            operation = what,
                            attempts = attempt + 1,
                            "etcd reachable again"
                        );
                    }
                    return Ok(value);
                }
                Ok(Err(err)) if is_unreachable(&err) => err.to_string(),
                Ok(Err(err)) => return Err(map_error(err)),
                Err(_) => format!("no answer within {:?}", self.config.attempt_timeout),
            };
            if attempt >= self.config.retries {
                tracing::error!(
                    operation = what,
                    endpoints = ?self.config.endpoints,
                    attempts = attempt + 1,
                    error = %failure,
                    "etcd unreachable; giving up"
                );
                return Err(StorageError::Unavailable {
                    reason: format!(
                        "etcd at {} unreachable after {} attempts: {failure}",
                        self.config.endpoints.join(","),
                        attempt + 1
                    ),
                });
            }
            tracing::warn!(operation = what, error = %failure, retry_in = ?delay, "etcd unreachable; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
            attempt += 1;
        }
    }

    /// Reads the compacted revision recorded in etcd, caching the highest seen.
    async fn read_compacted(&self) -> Result<Revision> {
        let resp = self
            .call(
                "get",
                |mut c| async move { c.get(COMPACT_REV_KEY, None).await },
            )
            .await?;
        let stored = resp
            .kvs()
            .first()
            .and_then(|kv| kv.value_str().ok()?.parse::<Revision>().ok())
            .unwrap_or(0);
        Ok(self
            .compacted
            .fetch_max(stored, Ordering::AcqRel)
            .max(stored))
    }

    /// Fills in the revisions a compacted/future error lacks (etcd's message carries none).
    async fn explain(&self, err: StorageError, requested: Revision) -> StorageError {
        match err {
            StorageError::Compacted { .. } => StorageError::Compacted {
                requested,
                compacted: self.read_compacted().await.unwrap_or(0),
            },
            StorageError::FutureRevision { .. } => StorageError::FutureRevision {
                requested,
                current: self.current_revision().await.unwrap_or(0),
            },
            other => other,
        }
    }

    /// After a failed guarded transaction: the key's current state explains why.
    fn refusal(
        key: &str,
        expected: Option<Revision>,
        resp: &etcd_client::TxnResponse,
    ) -> StorageError {
        let current = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.mod_revision()),
            _ => None,
        });
        match (current, expected) {
            (None, _) => StorageError::NotFound {
                key: key.to_owned(),
            },
            (Some(actual), expected) => StorageError::Conflict {
                key: key.to_owned(),
                expected: expected.unwrap_or_default(),
                actual,
            },
        }
    }
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Revision {
    header.map(|h| h.revision()).unwrap_or_default()
}

#[async_trait]
impl Storage for EtcdStorage {
    async fn get(&self, key: &str) -> Result<KeyValue> {
        validate_key(key)?;
        let resp = self
            .call("get", |mut c| async move { c.get(key, None).await })
            .await?;
        match resp.kvs().first() {
            Some(kv) => kv_from(kv),
            None => Err(StorageError::NotFound {
                key: key.to_owned(),
            }),
        }
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult> {
        validate_prefix(prefix)?;
        let (start, at) = match &options.continue_token {
            Some(token) => {
                let (start, rev) = decode_continue(prefix, token)?;
                (start, rev)
            }
            None => (prefix.to_owned(), options.at_revision.unwrap_or(0).max(0)),
        };
        let end = prefix_end(prefix);
        let limit = options.limit as i64;
        let result = self
            .call("list", |mut c| {
                let (start, end) = (start.clone(), end.clone());
                async move {
                    let opts = GetOptions::new()
                        .with_range(end)
                        .with_limit(limit)
                        .with_revision(at);
                    c.get(start, Some(opts)).await
                }
            })
            .await;
        let resp = match result {
            Ok(resp) => resp,
            Err(err) => return Err(self.explain(err, at).await),
        };
        let revision = if at > 0 {
            at
        } else {
            header_revision(resp.header())
        };
        let items = resp.kvs().iter().map(kv_from).collect::<Result<Vec<_>>>()?;
        let (mut continue_token, mut remaining) = (None, None);
        if let Some(last) = items.last().filter(|_| resp.more()) {
            continue_token = Some(encode_continue(prefix, &last.key, revision));
            let total = u64::try_from(resp.count()).unwrap_or(0);
            remaining = Some(total.saturating_sub(items.len() as u64));
        }
        Ok(ListResult {
            items,
            revision,
            continue_token,
            remaining,
        })
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        validate_key(key)?;
        let resp = self
            .call("create", |mut c| {
                let value = value.to_vec();
                async move {
                    let txn = Txn::new()
                        .when([Compare::create_revision(key, CompareOp::Equal, 0)])
                        .and_then([TxnOp::put(key, value, None)]);
                    c.txn(txn).await
                }
            })
            .await?;
        if !resp.succeeded() {
            return Err(StorageError::AlreadyExists {
                key: key.to_owned(),
            });
        }
        Ok(header_revision(resp.header()))
    }

    async fn update(&self, key: &str, expected: Revision, value: Bytes) -> Result<Revision> {
        validate_key(key)?;
        let resp = self
            .call("update", |mut c| {
                let value = value.to_vec();
                async move {
                    let txn = Txn::new()
                        .when([
                            Compare::create_revision(key, CompareOp::Greater, 0),
                            Compare::mod_revision(key, CompareOp::Equal, expected),
                        ])
                        .and_then([TxnOp::put(key, value, None)])
                        .or_else([TxnOp::get(key, None)]);
                    c.txn(txn).await
                }
            })
            .await?;
        if !resp.succeeded() {
            return Err(Self::refusal(key, Some(expected), &resp));
        }
        Ok(header_revision(resp.header()))
    }

    async fn delete(&self, key: &str, preconditions: DeletePreconditions) -> Result<KeyValue> {
        validate_key(key)?;
        let resp = self
            .call("delete", |mut c| async move {
                let mut compares = vec![Compare::create_revision(key, CompareOp::Greater, 0)];
                if let Some(rev) = preconditions.revision {
                    compares.push(Compare::mod_revision(key, CompareOp::Equal, rev));
                }
                let txn = Txn::new()
                    .when(compares)
                    .and_then([TxnOp::delete(
                        key,
                        Some(DeleteOptions::new().with_prev_key()),
                    )])
                    .or_else([TxnOp::get(key, None)]);
                c.txn(txn).await
            })
            .await?;
        if !resp.succeeded() {
            return Err(Self::refusal(key, preconditions.revision, &resp));
        }
        let revision = header_revision(resp.header());
        let deleted = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Delete(del) => del.prev_kvs().first().map(kv_from),
            _ => None,
        });
        match deleted {
            Some(kv) => Ok(KeyValue {
                mod_revision: revision,
                ..kv?
            }),
            None => Err(StorageError::NotFound {
                key: key.to_owned(),
            }),
        }
    }

    async fn watch(&self, prefix: &str, from_revision: Revision) -> Result<WatchStream> {
        validate_prefix(prefix)?;
        let from = if from_revision > 0 {
            from_revision
        } else {
            self.current_revision().await?
        };
        Ok(watch::spawn(self.clone(), prefix.to_owned(), from))
    }

    async fn current_revision(&self) -> Result<Revision> {
        let resp = self
            .call("revision", |mut c| async move {
                c.get(keys::ROOT, Some(GetOptions::new().with_count_only()))
                    .await
            })
            .await?;
        Ok(header_revision(resp.header()))
    }

    async fn count(&self, prefix: &str) -> Result<u64> {
        validate_prefix(prefix)?;
        let end = prefix_end(prefix);
        let resp = self
            .call("count", |mut c| {
                let end = end.clone();
                async move {
                    c.get(
                        prefix,
                        Some(GetOptions::new().with_range(end).with_count_only()),
                    )
                    .await
                }
            })
            .await?;
        Ok(u64::try_from(resp.count()).unwrap_or(0))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        if revision <= self.read_compacted().await? {
            return Ok(());
        }
        let result = self
            .call("compact", |mut c| async move {
                c.compact(revision, Some(CompactionOptions::new().with_physical()))
                    .await
            })
            .await;
        match result {
            Ok(_) | Err(StorageError::Compacted { .. }) => {}
            Err(err) => return Err(self.explain(err, revision).await),
        }
        self.compacted.fetch_max(revision, Ordering::AcqRel);
        // Record it for every apiserver sharing this etcd; only ever move it forward.
        let recorded = self.read_compacted().await?;
        if revision > recorded {
            self.call("compact", |mut c| async move {
                c.put(COMPACT_REV_KEY, revision.to_string(), None).await
            })
            .await?;
        }
        Ok(())
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.read_compacted().await
    }
}

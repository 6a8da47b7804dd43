//! A [`Storage`] decorator that records every operation's latency in the metrics
//! (`etcd_request_duration_seconds{operation,type}`, named as kube-apiserver names them).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    DeletePreconditions, KeyValue, ListOptions, ListResult, Result, Revision, Storage, WatchStream,
};

/// Wraps a store; every call is timed and recorded by operation and resource.
#[derive(Debug)]
pub struct Metered(pub Arc<dyn Storage>);

/// The resource segment of a key or prefix (`/registry/pods/…` → `pods`).
fn resource(key: &str) -> &str {
    key.trim_start_matches('/').split('/').nth(1).unwrap_or("")
}

async fn timed<T>(op: &str, key: &str, fut: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = fut.await;
    crate::metrics::record_storage(op, resource(key), started.elapsed());
    out
}

#[async_trait]
impl Storage for Metered {
    async fn get(&self, key: &str) -> Result<KeyValue> {
        timed("get", key, self.0.get(key)).await
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult> {
        timed("list", prefix, self.0.list(prefix, options)).await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        timed("create", key, self.0.create(key, value)).await
    }

    async fn update(
        &self,
        key: &str,
        expected_revision: Revision,
        value: Bytes,
    ) -> Result<Revision> {
        timed("update", key, self.0.update(key, expected_revision, value)).await
    }

    async fn delete(&self, key: &str, preconditions: DeletePreconditions) -> Result<KeyValue> {
        timed("delete", key, self.0.delete(key, preconditions)).await
    }

    async fn watch(&self, prefix: &str, from_revision: Revision) -> Result<WatchStream> {
        timed("watch", prefix, self.0.watch(prefix, from_revision)).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        timed("currentRevision", "", self.0.current_revision()).await
    }

    async fn count(&self, prefix: &str) -> Result<u64> {
        timed("count", prefix, self.0.count(prefix)).await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        timed("compact", "", self.0.compact(revision)).await
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.0.compacted_revision().await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn resources_come_from_the_key() {
        assert_eq!(super::resource("/registry/pods/default/x"), "pods");
        assert_eq!(super::resource("/registry/"), "");
        assert_eq!(super::resource("/registry/services/specs/"), "services");
    }
}

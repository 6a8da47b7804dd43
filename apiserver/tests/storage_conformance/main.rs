//! One conformance suite, run against every storage backend: the embedded SQLite store and
//! a real etcd started from Debian's etcd-server on a free loopback port.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod cases;
mod etcd_only;
mod sqlite_only;

use std::sync::Arc;

use keelson_apiserver::storage::{self, Storage, StorageUrl};
use keelson_e2e::{EtcdOptions, EtcdProcess};

/// A store plus whatever keeps it alive (a temp dir, an etcd process).
#[allow(missing_debug_implementations)]
pub(crate) struct Backend {
    pub(crate) store: Arc<dyn Storage>,
    _guard: Box<dyn std::any::Any + Send>,
}

pub(crate) async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = StorageUrl::parse(&format!(
        "sqlite://{}",
        dir.path().join("state.db").display()
    ))
    .unwrap();
    Backend {
        store: storage::open(&url).await.unwrap(),
        _guard: Box::new(dir),
    }
}

pub(crate) async fn etcd() -> Backend {
    let etcd = EtcdProcess::start(EtcdOptions {
        unsafe_no_fsync: true,
    })
    .unwrap();
    let url = StorageUrl::parse(&etcd.storage_url()).unwrap();
    Backend {
        store: storage::open(&url).await.unwrap(),
        _guard: Box::new(etcd),
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::sqlite().await;
                    super::cases::$case(backend.store.clone()).await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::etcd().await;
                    super::cases::$case(backend.store.clone()).await;
                }
            )*
        }
    };
}

conformance!(
    crud,
    refusals,
    delete_preconditions,
    concurrent_counter,
    list_prefix_and_count,
    paginated_list_is_one_snapshot,
    list_at_revision,
    watch_from_any_revision,
    watch_live_and_resume,
    long_catch_up,
    compaction,
    empty_store_revision_is_watchable,
);

//! What only the etcd backend has: a server that can go away and come back.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use keelson_apiserver::storage::{self, ListOptions, StorageError, StorageUrl};
use keelson_e2e::{EtcdOptions, EtcdProcess, free_port};

use crate::cases::collect_until;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_everything_and_watch_resumes() {
    let mut etcd = EtcdProcess::start(EtcdOptions::default()).unwrap();
    let url = StorageUrl::parse(&format!("{}?timeout=2s&retries=10", etcd.storage_url())).unwrap();
    let s = storage::open(&url).await.unwrap();
    let prefix = "/registry/nodes/";
    let mut watch = s.watch(prefix, 0).await.unwrap();
    let mut revs = Vec::new();
    for i in 0..5 {
        revs.push(
            s.create(&format!("{prefix}n{i}"), Bytes::from(format!("{i}")))
                .await
                .unwrap(),
        );
    }
    let before = collect_until(&mut watch, revs[4]).await;
    assert_eq!(before.len(), 5);

    etcd.restart().unwrap();

    // Calls made while etcd comes back are retried; data written before is all there.
    let list = s.list(prefix, ListOptions::default()).await.unwrap();
    assert_eq!(list.items.len(), 5);
    let after = s
        .create(&format!("{prefix}n5"), Bytes::from("5"))
        .await
        .unwrap();
    // The same watch stream picks up exactly where it was.
    let got = collect_until(&mut watch, after).await;
    assert_eq!(got.iter().map(|e| e.revision).collect::<Vec<_>>(), [after]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_etcd_is_a_bounded_unavailable_error() {
    let port = free_port().unwrap(); // nothing listens there
    let url =
        StorageUrl::parse(&format!("etcd://127.0.0.1:{port}?timeout=500ms&retries=2")).unwrap();
    let s = storage::open(&url).await.unwrap();
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(30), s.get("/registry/pods/a/b"))
        .await
        .expect("a call to an unreachable etcd must not hang");
    match result {
        Err(err @ StorageError::Unavailable { .. }) => {
            assert!(
                err.to_string().contains(&format!("127.0.0.1:{port}")),
                "{err}"
            );
            assert!(err.is_transient());
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let write = tokio::time::timeout(
        Duration::from_secs(30),
        s.create("/registry/pods/a/b", Bytes::new()),
    )
    .await
    .expect("a write to an unreachable etcd must not hang");
    assert!(
        matches!(write, Err(StorageError::Unavailable { .. })),
        "{write:?}"
    );
    eprintln!("gave up after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_on_a_compacted_revision_reports_etcd_compaction() {
    // Compaction done by another client (etcdctl, another apiserver) is noticed too.
    let etcd = EtcdProcess::start(EtcdOptions {
        unsafe_no_fsync: true,
    })
    .unwrap();
    let s = storage::open(&StorageUrl::parse(&etcd.storage_url()).unwrap())
        .await
        .unwrap();
    let first = s
        .create("/registry/pods/a/x", Bytes::from("1"))
        .await
        .unwrap();
    let mut rev = first;
    for i in 0..5 {
        rev = s
            .update("/registry/pods/a/x", rev, Bytes::from(format!("{i}")))
            .await
            .unwrap();
    }
    let mut raw = etcd_client::Client::connect([etcd.endpoint()], None)
        .await
        .unwrap();
    raw.compact(rev, None).await.unwrap();
    let mut watch = s.watch("/registry/pods/", first).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .unwrap()
    {
        Some(Err(StorageError::Compacted { compacted, .. })) => assert_eq!(compacted, rev),
        other => panic!("expected a compacted error, got {other:?}"),
    }
}

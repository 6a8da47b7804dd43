//! The storage contract, as test cases any backend must pass.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use keelson_apiserver::storage::{
    DeletePreconditions, EventKind, KeyValue, ListOptions, Revision, Storage, StorageError,
    WatchEvent, WatchStream,
};

const WAIT: Duration = Duration::from_secs(20);

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Reads events until one at `until` or later arrives (bounded in time).
pub(crate) async fn collect_until(stream: &mut WatchStream, until: Revision) -> Vec<WatchEvent> {
    let mut out = Vec::new();
    if until <= 0 {
        return out;
    }
    loop {
        let next = tokio::time::timeout(WAIT, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no event within {WAIT:?}; got {} so far", out.len()));
        let event = next.expect("watch ended early").expect("watch error");
        let rev = event.revision;
        out.push(event);
        if rev >= until {
            return out;
        }
    }
}

/// The next item of a watch, which must arrive within the wait.
async fn next_item(stream: &mut WatchStream) -> Option<Result<WatchEvent, StorageError>> {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("watch went silent")
}

pub(crate) async fn crud(s: Arc<dyn Storage>) {
    let key = "/registry/configmaps/default/a";
    let r1 = s.create(key, b("one")).await.unwrap();
    let got = s.get(key).await.unwrap();
    assert_eq!(
        got,
        KeyValue {
            key: key.into(),
            value: b("one"),
            create_revision: r1,
            mod_revision: r1
        }
    );
    assert_eq!(s.current_revision().await.unwrap(), r1);

    let r2 = s.update(key, r1, b("two")).await.unwrap();
    assert!(r2 > r1, "revisions strictly increase");
    let got = s.get(key).await.unwrap();
    assert_eq!(
        (got.value, got.create_revision, got.mod_revision),
        (b("two"), r1, r2)
    );

    let deleted = s.delete(key, DeletePreconditions::default()).await.unwrap();
    assert_eq!(deleted.value, b("two"), "delete returns the last value");
    assert_eq!(deleted.create_revision, r1);
    assert!(
        deleted.mod_revision > r2,
        "the deleted value carries the deletion's revision"
    );
    assert_eq!(s.current_revision().await.unwrap(), deleted.mod_revision);
    assert!(matches!(
        s.get(key).await,
        Err(StorageError::NotFound { .. })
    ));

    // The key can be created again, with a new create revision.
    let r4 = s.create(key, b("again")).await.unwrap();
    assert_eq!(s.get(key).await.unwrap().create_revision, r4);
}

pub(crate) async fn refusals(s: Arc<dyn Storage>) {
    let key = "/registry/secrets/ns/x";
    let r1 = s.create(key, b("v1")).await.unwrap();
    assert!(matches!(
        s.create(key, b("v2")).await,
        Err(StorageError::AlreadyExists { .. })
    ));
    let r2 = s.update(key, r1, b("v2")).await.unwrap();
    match s.update(key, r1, b("stale")).await {
        Err(StorageError::Conflict {
            expected, actual, ..
        }) => {
            assert_eq!((expected, actual), (r1, r2));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        s.get(key).await.unwrap().value,
        b("v2"),
        "a refused write changes nothing"
    );
    let missing = "/registry/secrets/ns/missing";
    assert!(matches!(
        s.update(missing, 1, b("x")).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete(missing, DeletePreconditions::default()).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.get(missing).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.get("no-slash").await,
        Err(StorageError::InvalidKey { .. })
    ));
    assert!(matches!(
        s.list("/registry/pods", ListOptions::default()).await,
        Err(StorageError::InvalidKey { .. })
    ));
}

pub(crate) async fn delete_preconditions(s: Arc<dyn Storage>) {
    let key = "/registry/pods/ns/p";
    let r1 = s.create(key, b("v1")).await.unwrap();
    let r2 = s.update(key, r1, b("v2")).await.unwrap();
    let stale = DeletePreconditions { revision: Some(r1) };
    match s.delete(key, stale).await {
        Err(StorageError::Conflict { actual, .. }) => assert_eq!(actual, r2),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        s.get(key).await.unwrap().value,
        b("v2"),
        "a refused delete keeps the key"
    );
    let fresh = DeletePreconditions { revision: Some(r2) };
    assert_eq!(s.delete(key, fresh).await.unwrap().value, b("v2"));
}

pub(crate) async fn concurrent_counter(s: Arc<dyn Storage>) {
    const WRITERS: u64 = 50;
    const EACH: u64 = 10;
    let key = "/registry/leases/kube-system/counter";
    s.create(key, b("0")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u64;
            for _ in 0..EACH {
                loop {
                    let cur = s.get(key).await.unwrap();
                    let n: u64 = std::str::from_utf8(&cur.value).unwrap().parse().unwrap();
                    match s
                        .update(key, cur.mod_revision, b(&(n + 1).to_string()))
                        .await
                    {
                        Ok(_) => break,
                        Err(StorageError::Conflict { .. }) => conflicts += 1,
                        Err(other) => panic!("unexpected error {other}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    let value = s.get(key).await.unwrap().value;
    assert_eq!(
        value,
        b(&(WRITERS * EACH).to_string()),
        "no increment was lost"
    );
    assert!(
        conflicts > 0,
        "50 concurrent writers must have collided at least once"
    );
}

pub(crate) async fn list_prefix_and_count(s: Arc<dyn Storage>) {
    for key in [
        "/registry/pods/a/1",
        "/registry/pods/a/2",
        "/registry/pods/b/1",
        "/registry/podsecurity/x",
        "/registry/pod/y",
    ] {
        s.create(key, b(key)).await.unwrap();
    }
    let all = s
        .list("/registry/pods/", ListOptions::default())
        .await
        .unwrap();
    let keys: Vec<&str> = all.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "/registry/pods/a/1",
            "/registry/pods/a/2",
            "/registry/pods/b/1"
        ]
    );
    assert_eq!(all.revision, s.current_revision().await.unwrap());
    assert!(all.continue_token.is_none());
    let ns = s
        .list("/registry/pods/a/", ListOptions::default())
        .await
        .unwrap();
    assert_eq!(ns.items.len(), 2);
    assert_eq!(s.count("/registry/pods/").await.unwrap(), 3);
    assert_eq!(s.count("/registry/pods/b/").await.unwrap(), 1);
    assert_eq!(s.count("/registry/nothing/").await.unwrap(), 0);
    assert!(
        s.list("/registry/nothing/", ListOptions::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub(crate) async fn paginated_list_is_one_snapshot(s: Arc<dyn Storage>) {
    let prefix = "/registry/configmaps/";
    let mut snapshot = BTreeMap::new();
    for i in 0..100 {
        let key = format!("{prefix}ns/cm-{i:03}");
        s.create(&key, b(&format!("v{i}"))).await.unwrap();
        snapshot.insert(key, b(&format!("v{i}")));
    }
    let mut seen = BTreeMap::new();
    let mut options = ListOptions {
        limit: 7,
        ..Default::default()
    };
    let mut revision = None;
    let mut pages = 0;
    loop {
        let page = s.list(prefix, options.clone()).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        assert_eq!(
            *revision.get_or_insert(page.revision),
            page.revision,
            "one snapshot"
        );
        for kv in page.items {
            assert!(seen.insert(kv.key, kv.value).is_none(), "no key twice");
        }
        if let Some(remaining) = page.remaining {
            assert_eq!(remaining as usize, snapshot.len() - seen.len());
        }
        // Writes between pages must not show up in later pages.
        let i = pages * 3;
        let victim = format!("{prefix}ns/cm-{i:03}");
        let cur = s.get(&victim).await.unwrap();
        s.update(&victim, cur.mod_revision, b("changed"))
            .await
            .unwrap();
        s.delete(
            &format!("{prefix}ns/cm-{:03}", i + 1),
            DeletePreconditions::default(),
        )
        .await
        .unwrap();
        s.create(&format!("{prefix}ns/cm-{i:03}x"), b("new"))
            .await
            .unwrap();
        match page.continue_token {
            Some(token) => options.continue_token = Some(token),
            None => break,
        }
    }
    assert_eq!(pages, 15);
    assert_eq!(
        seen, snapshot,
        "the pages together are exactly the first snapshot"
    );
}

pub(crate) async fn list_at_revision(s: Arc<dyn Storage>) {
    let prefix = "/registry/services/specs/";
    let r1 = s.create(&format!("{prefix}ns/a"), b("a1")).await.unwrap();
    s.create(&format!("{prefix}ns/b"), b("b1")).await.unwrap();
    s.update(&format!("{prefix}ns/a"), r1, b("a2"))
        .await
        .unwrap();
    s.delete(&format!("{prefix}ns/b"), DeletePreconditions::default())
        .await
        .unwrap();
    let old = s
        .list(
            prefix,
            ListOptions {
                at_revision: Some(r1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(old.revision, r1);
    let values: Vec<&[u8]> = old.items.iter().map(|kv| &kv.value[..]).collect();
    assert_eq!(values, [b"a1"]);
    let now = s.list(prefix, ListOptions::default()).await.unwrap();
    let values: Vec<&[u8]> = now.items.iter().map(|kv| &kv.value[..]).collect();
    assert_eq!(values, [b"a2"]);
    let future = now.revision + 100;
    let err = s
        .list(
            prefix,
            ListOptions {
                at_revision: Some(future),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(err, Err(StorageError::FutureRevision { .. })),
        "{err:?}"
    );
    let token = s
        .list(
            prefix,
            ListOptions {
                continue_token: Some("garbage".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(token, Err(StorageError::InvalidContinue { .. })),
        "{token:?}"
    );
}

/// A scripted history under one prefix, with noise under another. Returns the expected
/// events under `/registry/deployments/`.
async fn write_history(s: &Arc<dyn Storage>) -> Vec<(EventKind, String, Bytes, Option<Bytes>)> {
    let mut expected = Vec::new();
    for round in 0..4 {
        for k in 0..3 {
            let key = format!("/registry/deployments/ns/d{k}");
            let value = b(&format!("r{round}k{k}"));
            match s.get(&key).await {
                Err(StorageError::NotFound { .. }) => {
                    s.create(&key, value.clone()).await.unwrap();
                    expected.push((EventKind::Added, key, value, None));
                }
                Ok(cur) if (round + k) % 3 == 0 => {
                    s.delete(&key, DeletePreconditions::default())
                        .await
                        .unwrap();
                    expected.push((EventKind::Deleted, key, cur.value.clone(), Some(cur.value)));
                }
                Ok(cur) => {
                    s.update(&key, cur.mod_revision, value.clone())
                        .await
                        .unwrap();
                    expected.push((EventKind::Modified, key, value, Some(cur.value)));
                }
                Err(other) => panic!("{other}"),
            }
            s.create(
                &format!("/registry/replicasets/ns/noise-{round}-{k}"),
                b("noise"),
            )
            .await
            .unwrap();
        }
    }
    expected
}

pub(crate) async fn watch_from_any_revision(s: Arc<dyn Storage>) {
    // Revision 0 means "from now"; start from a real revision.
    let before = s.create("/registry/seed/x", b("seed")).await.unwrap();
    let expected = write_history(&s).await;
    let end = s.current_revision().await.unwrap();
    let mut full = s.watch("/registry/deployments/", before).await.unwrap();
    let all = collect_until(&mut full, end - 1).await;
    let got: Vec<_> = all
        .iter()
        .map(|e| {
            (
                e.kind,
                e.kv.key.clone(),
                e.kv.value.clone(),
                e.prev.as_ref().map(|p| p.value.clone()),
            )
        })
        .collect();
    assert_eq!(got, expected, "every event, in order, with previous values");
    for pair in all.windows(2) {
        assert!(pair[0].revision < pair[1].revision);
    }
    // From every revision in between: exactly the events after it.
    for from in before..end {
        let mut stream = s.watch("/registry/deployments/", from).await.unwrap();
        let want: Vec<&WatchEvent> = all.iter().filter(|e| e.revision > from).collect();
        let Some(last) = want.last() else { continue };
        let got = collect_until(&mut stream, last.revision).await;
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "watch from {from}");
    }
}

pub(crate) async fn watch_live_and_resume(s: Arc<dyn Storage>) {
    let prefix = "/registry/endpoints/";
    let mut stream = s.watch(prefix, 0).await.unwrap();
    let r1 = s.create(&format!("{prefix}ns/e"), b("1")).await.unwrap();
    let r2 = s
        .update(&format!("{prefix}ns/e"), r1, b("2"))
        .await
        .unwrap();
    let got = collect_until(&mut stream, r2).await;
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].kind, got[0].revision), (EventKind::Added, r1));
    assert_eq!((got[1].kind, got[1].revision), (EventKind::Modified, r2));
    assert_eq!(got[1].prev.as_ref().map(|p| p.mod_revision), Some(r1));
    drop(stream);

    // Writes while nobody watches; then resume from the last revision seen.
    let r3 = s
        .update(&format!("{prefix}ns/e"), r2, b("3"))
        .await
        .unwrap();
    let r4 = s.create(&format!("{prefix}ns/f"), b("f")).await.unwrap();
    let mut resumed = s.watch(prefix, r2).await.unwrap();
    let r5 = s
        .delete(&format!("{prefix}ns/f"), DeletePreconditions::default())
        .await
        .unwrap()
        .mod_revision;
    let got = collect_until(&mut resumed, r5).await;
    let revs: Vec<Revision> = got.iter().map(|e| e.revision).collect();
    assert_eq!(
        revs,
        [r3, r4, r5],
        "resumed exactly after the last event seen"
    );
    assert_eq!(got[2].kind, EventKind::Deleted);
    assert_eq!(
        got[2].kv.value,
        b("f"),
        "a delete event carries the last value"
    );
}

pub(crate) async fn long_catch_up(s: Arc<dyn Storage>) {
    let prefix = "/registry/events/";
    // Revision 0 means "from now"; start from a real revision.
    let start = s.create("/registry/seed/x", b("seed")).await.unwrap();
    let mut writers = Vec::new();
    for w in 0..10 {
        let s = s.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..250 {
                s.create(&format!("{prefix}ns/w{w}-{i}"), b("x"))
                    .await
                    .unwrap();
            }
        }));
    }
    // A watcher started mid-stream from the beginning must still see all 2,500 in order.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut stream = s.watch(prefix, start).await.unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let end = s.current_revision().await.unwrap();
    let got = collect_until(&mut stream, end).await;
    let seen: std::collections::BTreeSet<Revision> = got.iter().map(|e| e.revision).collect();
    let missing: Vec<Revision> = ((start + 1)..=end).filter(|r| !seen.contains(r)).collect();
    assert!(
        missing.is_empty(),
        "missing revisions {missing:?} (start {start}, end {end})"
    );
    assert_eq!(got.len(), 2_500);
    let revs: Vec<Revision> = got.iter().map(|e| e.revision).collect();
    let expected: Vec<Revision> = ((start + 1)..=end).collect();
    assert_eq!(revs, expected, "every revision once, in order");
}

pub(crate) async fn compaction(s: Arc<dyn Storage>) {
    let prefix = "/registry/persistentvolumes/";
    let key = format!("{prefix}pv");
    let mut rev = s.create(&key, b("0")).await.unwrap();
    let first = rev;
    for i in 1..=10 {
        rev = s.update(&key, rev, b(&i.to_string())).await.unwrap();
    }
    let other = format!("{prefix}gone");
    s.create(&other, b("x")).await.unwrap();
    let gone_at = s
        .delete(&other, DeletePreconditions::default())
        .await
        .unwrap()
        .mod_revision;
    let target = s.current_revision().await.unwrap();
    s.compact(target).await.unwrap();
    s.compact(first).await.unwrap(); // older than the compacted revision: a no-op
    assert_eq!(s.compacted_revision().await.unwrap(), target);

    // The latest state survives compaction.
    assert_eq!(s.get(&key).await.unwrap().value, b("10"));
    assert_eq!(
        s.list(prefix, ListOptions::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // History before it is gone, with the distinct error.
    let mut stream = s.watch(prefix, first).await.unwrap();
    match next_item(&mut stream).await {
        Some(Err(StorageError::Compacted { compacted, .. })) => assert_eq!(compacted, target),
        other => panic!("expected a compacted error, got {other:?}"),
    }
    let old = s
        .list(
            prefix,
            ListOptions {
                at_revision: Some(gone_at - 1),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(old, Err(StorageError::Compacted { .. })),
        "{old:?}"
    );

    // Watching from the compacted revision itself still works.
    let mut stream = s.watch(prefix, target).await.unwrap();
    let next = s.update(&key, rev, b("11")).await.unwrap();
    let got = collect_until(&mut stream, next).await;
    assert_eq!(got.iter().map(|e| e.revision).collect::<Vec<_>>(), [next]);
}

/// A list of an empty store followed by a watch from its revision sees the first write:
/// the revision of an empty store is never 0 (which a watch reads as "from now").
pub(crate) async fn empty_store_revision_is_watchable(s: Arc<dyn Storage>) {
    let list = s
        .list("/registry/pods/", ListOptions::default())
        .await
        .unwrap();
    assert!(list.items.is_empty());
    assert!(
        list.revision > 0,
        "an empty store reports revision {}",
        list.revision
    );
    let first = s.create("/registry/pods/ns/first", b("1")).await.unwrap();
    let mut watch = s.watch("/registry/pods/", list.revision).await.unwrap();
    let got = collect_until(&mut watch, first).await;
    assert_eq!(got.iter().map(|e| e.revision).collect::<Vec<_>>(), [first]);
}

//! What only the embedded store has: a file that must survive crashes, refuse damage and
//! stay bounded.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use bytes::Bytes;
use keelson_apiserver::storage::sqlite::{Durability, SqliteConfig, SqliteStorage};
use keelson_apiserver::storage::{DeletePreconditions, ListOptions, Storage, StorageError};

const CRASH_ENV: &str = "KEELSON_CRASH_WRITER_DB";

fn open(path: &Path) -> SqliteStorage {
    SqliteStorage::open(SqliteConfig::new(path)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let (rev, compacted) = {
        let s = open(&path);
        for i in 0..50 {
            s.create(
                &format!("/registry/pods/ns/p{i}"),
                Bytes::from(format!("v{i}")),
            )
            .await
            .unwrap();
        }
        s.delete("/registry/pods/ns/p7", DeletePreconditions::default())
            .await
            .unwrap();
        let rev = s.current_revision().await.unwrap();
        s.compact(rev - 10).await.unwrap();
        (rev, rev - 10)
    };
    let s = open(&path);
    assert_eq!(s.current_revision().await.unwrap(), rev);
    assert_eq!(s.compacted_revision().await.unwrap(), compacted);
    let list = s
        .list("/registry/pods/", ListOptions::default())
        .await
        .unwrap();
    assert_eq!(list.items.len(), 49);
    assert_eq!(
        s.get("/registry/pods/ns/p3").await.unwrap().value,
        Bytes::from("v3")
    );
    let next = s
        .create("/registry/pods/ns/new", Bytes::from("n"))
        .await
        .unwrap();
    assert_eq!(next, rev + 1, "revisions continue where they stopped");
}

/// The child half of [`kill_dash_nine_loses_no_acknowledged_write`]: writes with 8
/// concurrent writers and prints each acknowledged write. Ignored: only that test runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the writer process that kill_dash_nine_loses_no_acknowledged_write kills"]
async fn crash_writer_child() {
    let db = std::env::var(CRASH_ENV).expect("started by the kill -9 test, which sets the DB path");
    let s = open(Path::new(&db));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for w in 0..8 {
        let (s, tx) = (s.clone(), tx.clone());
        tokio::spawn(async move {
            for i in 0.. {
                let key = format!("/registry/configmaps/crash/w{w}-{i}");
                let rev = s
                    .create(&key, Bytes::from(format!("value-{w}-{i}")))
                    .await
                    .unwrap();
                if tx.send(format!("ack {key} {rev} value-{w}-{i}")).is_err() {
                    return;
                }
            }
        });
    }
    let mut out = std::io::stdout().lock();
    while let Some(line) = rx.recv().await {
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_dash_nine_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let exe = std::env::current_exe().unwrap();
    #[allow(clippy::disallowed_methods)] // a test that must kill a real writer process
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "sqlite_only::crash_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let reader = BufReader::new(child.stdout.take().unwrap());
    for line in reader.lines() {
        let line = line.unwrap();
        let mut parts = line.split(' ');
        if parts.next() != Some("ack") {
            continue;
        }
        let key = parts.next().unwrap().to_owned();
        let rev: i64 = parts.next().unwrap().parse().unwrap();
        let value = parts.next().unwrap().to_owned();
        acked.push((key, rev, value));
        if acked.len() == 3_000 {
            // SIGKILL in the middle of the stream: writers are still busy.
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    assert_eq!(
        acked.len(),
        3_000,
        "the child acknowledged writes before it was killed"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = open(&db);
        let head = s.current_revision().await.unwrap();
        for (key, rev, value) in &acked {
            let kv = s
                .get(key)
                .await
                .unwrap_or_else(|e| panic!("acknowledged {key} lost: {e}"));
            assert_eq!((kv.mod_revision, &kv.value[..]), (*rev, value.as_bytes()));
            assert!(*rev <= head);
        }
        // And the store still works after the crash.
        s.create("/registry/configmaps/crash/after", Bytes::from("ok"))
            .await
            .unwrap();
    });
}

#[test]
fn corrupt_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, vec![0x5au8; 64 * 1024]).unwrap();
    let err = SqliteStorage::open(SqliteConfig::new(&path)).unwrap_err();
    assert!(matches!(err, StorageError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // Nothing was reset: the garbage is still there for the operator to inspect.
    assert_eq!(std::fs::read(&path).unwrap(), vec![0x5au8; 64 * 1024]);
}

#[test]
fn truncated_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = open(&path);
        for i in 0..2_000 {
            let value = Bytes::from(vec![b'x'; 512]);
            s.create(&format!("/registry/secrets/ns/s{i}"), value)
                .await
                .unwrap();
        }
    });
    // Give the WAL back to the main file, then cut the file in half.
    let full = std::fs::read(&path).unwrap();
    let wal = dir.path().join("state.db-wal");
    let _ = std::fs::remove_file(&wal);
    let _ = std::fs::remove_file(dir.path().join("state.db-shm"));
    std::fs::write(&path, &full[..full.len() / 2]).unwrap();
    let result = SqliteStorage::open(SqliteConfig::new(&path));
    match result {
        Err(err @ StorageError::Corrupt { .. }) => {
            assert!(err.to_string().contains("state.db"), "{err}");
        }
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok(s) => {
            // Damage may sit in pages the open did not read: reads must then fail loudly.
            let read = rt.block_on(s.list("/registry/secrets/", ListOptions::default()));
            assert!(
                matches!(read, Err(StorageError::Corrupt { .. })),
                "{read:?}"
            );
        }
    }
}

#[test]
fn foreign_database_and_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("other.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let err = SqliteStorage::open(SqliteConfig::new(&foreign)).unwrap_err();
    assert!(err.to_string().contains("not a Keelson one"), "{err}");
    let err = SqliteStorage::open(SqliteConfig::new(dir.path())).unwrap_err();
    assert!(matches!(err, StorageError::Corrupt { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_the_file_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let s = SqliteStorage::open(SqliteConfig::new(&path).durability(Durability::Normal)).unwrap();
    let value = Bytes::from(vec![b'v'; 4096]);
    // 16 keys rewritten over and over: the live data is 64 KiB, the history is not.
    let mut revs = Vec::new();
    for k in 0..16 {
        revs.push(
            s.create(&format!("/registry/leases/ns/l{k}"), value.clone())
                .await
                .unwrap(),
        );
    }
    let mut sizes = Vec::new();
    for _round in 0..3 {
        let mut tasks = Vec::new();
        for (k, rev) in revs.iter().copied().enumerate() {
            let (s, value) = (s.clone(), value.clone());
            tasks.push(tokio::spawn(async move {
                let mut rev = rev;
                for _ in 0..150 {
                    rev = s
                        .update(&format!("/registry/leases/ns/l{k}"), rev, value.clone())
                        .await
                        .unwrap();
                }
                rev
            }));
        }
        revs.clear();
        for t in tasks {
            revs.push(t.await.unwrap());
        }
        s.compact(s.current_revision().await.unwrap())
            .await
            .unwrap();
        sizes.push(std::fs::metadata(&path).unwrap().len());
    }
    // Each round writes ~10 MB of history; after compaction the space is reused.
    assert!(
        sizes[2] <= sizes[0] + sizes[0] / 4,
        "file grew across compacted rounds: {sizes:?}"
    );
    assert!(
        sizes[2] < 12 * 1024 * 1024,
        "file larger than one round of history: {sizes:?}"
    );
}

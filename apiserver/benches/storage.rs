//! Storage benchmark: create throughput and latency (1 and 64 concurrent writers), watch
//! delivery latency, and listing 100k keys — for the embedded store and the etcd backend —
//! plus raw etcd puts through the same client library for the ratio.
//!
//! `cargo bench -p keelson-apiserver --bench storage [-- --short] [--backend sqlite|etcd]`
//! `--short` runs small counts (CI), the default runs the full sizes.
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a harness that prints figures

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use keelson_apiserver::storage::{self, ListOptions, Storage, StorageUrl};
use keelson_e2e::{EtcdOptions, EtcdProcess};
use tokio::sync::Mutex;

#[derive(Debug, Clone, Copy)]
struct Sizes {
    serial_creates: usize,
    concurrent_creates: usize,
    watch_events: usize,
    list_keys: usize,
}

const FULL: Sizes = Sizes {
    serial_creates: 5_000,
    concurrent_creates: 100_000,
    watch_events: 5_000,
    list_keys: 100_000,
};
const SHORT: Sizes = Sizes {
    serial_creates: 300,
    concurrent_creates: 5_000,
    watch_events: 500,
    list_keys: 5_000,
};

const WRITERS: usize = 64;
const VALUE_SIZE: usize = 1_024;

fn value() -> Bytes {
    // About the size of a small Pod in JSON.
    let mut v = br#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"},"spec":"#.to_vec();
    v.resize(VALUE_SIZE, b'a');
    Bytes::from(v)
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn percentile(&mut self, p: f64) -> Duration {
        self.0.sort_unstable();
        let idx = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0.get(idx).copied().unwrap_or_default()
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Runs `total` operations with `writers` concurrent tasks; returns (ops/s, latencies).
async fn drive<F, Fut>(total: usize, writers: usize, op: F) -> (f64, Latencies)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let per = total / writers;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let t = Instant::now();
                op(w * per + i).await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    (all.len() as f64 / elapsed.as_secs_f64(), Latencies(all))
}

async fn creates(
    s: &Arc<dyn Storage>,
    prefix: &str,
    total: usize,
    writers: usize,
) -> (f64, Latencies) {
    let (s, prefix, v) = (s.clone(), prefix.to_owned(), value());
    drive(total, writers, move |i| {
        let (s, key, v) = (s.clone(), format!("{prefix}ns/obj-{i:07}"), v.clone());
        async move {
            s.create(&key, v).await.unwrap();
        }
    })
    .await
}

/// Delivery latency: time from the start of a create to the watcher receiving its event,
/// at a steady rate of writes.
async fn watch_latency(s: &Arc<dyn Storage>, events: usize) -> Latencies {
    let prefix = "/registry/bench-watch/";
    let start = s.create("/registry/bench-seed/x", value()).await.unwrap();
    let mut stream = s.watch(prefix, start).await.unwrap();
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let writer = {
        let (s, sent) = (s.clone(), sent.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(1_000));
            for i in 0..events {
                tick.tick().await;
                let key = format!("{prefix}ns/w-{i}");
                sent.lock().await.insert(key.clone(), Instant::now());
                s.create(&key, value()).await.unwrap();
            }
        })
    };
    let mut lat = Vec::with_capacity(events);
    while lat.len() < events {
        let event = stream.next().await.unwrap().unwrap();
        let now = Instant::now();
        if let Some(t) = sent.lock().await.remove(&event.kv.key) {
            lat.push(now - t);
        }
    }
    writer.await.unwrap();
    Latencies(lat)
}

async fn list_timing(s: &Arc<dyn Storage>, keys: usize) -> (Duration, Duration) {
    let prefix = "/registry/bench-list/";
    creates(s, prefix, keys, WRITERS).await;
    let t = Instant::now();
    let all = s.list(prefix, ListOptions::default()).await.unwrap();
    let whole = t.elapsed();
    assert_eq!(all.items.len(), keys / WRITERS * WRITERS);
    let t = Instant::now();
    let mut options = ListOptions {
        limit: 500,
        ..Default::default()
    };
    let mut n = 0;
    loop {
        let page = s.list(prefix, options.clone()).await.unwrap();
        n += page.items.len();
        match page.continue_token {
            Some(token) => options.continue_token = Some(token),
            None => break,
        }
    }
    assert_eq!(n, all.items.len());
    (whole, t.elapsed())
}

async fn bench_backend(name: &str, s: Arc<dyn Storage>, sizes: Sizes) -> f64 {
    println!("\n## {name}");
    let (rate, mut lat) = creates(&s, "/registry/bench-serial/", sizes.serial_creates, 1).await;
    println!(
        "create, 1 writer:    {rate:>9.0} ops/s   p50 {}   p99 {}",
        ms(lat.percentile(0.50)),
        ms(lat.percentile(0.99))
    );
    let (rate64, mut lat) = creates(
        &s,
        "/registry/bench-concurrent/",
        sizes.concurrent_creates,
        WRITERS,
    )
    .await;
    println!(
        "create, {WRITERS} writers:  {rate64:>9.0} ops/s   p50 {}   p99 {}",
        ms(lat.percentile(0.50)),
        ms(lat.percentile(0.99))
    );
    let mut lat = watch_latency(&s, sizes.watch_events).await;
    println!(
        "watch delivery (1,000 writes/s): p50 {}   p99 {}",
        ms(lat.percentile(0.50)),
        ms(lat.percentile(0.99))
    );
    let (whole, paged) = list_timing(&s, sizes.list_keys).await;
    println!(
        "list {} keys: one call {}   pages of 500 {}",
        sizes.list_keys,
        ms(whole),
        ms(paged)
    );
    rate64
}

/// Raw etcd through etcd-client, same value and concurrency, on a fresh etcd: plain puts,
/// and the guarded transaction a create is (`create_revision == 0` → put).
async fn raw_etcd(sizes: Sizes, guarded: bool) -> f64 {
    let etcd = EtcdProcess::start(EtcdOptions::default()).unwrap();
    let client = etcd_client::Client::connect([etcd.endpoint()], None)
        .await
        .unwrap();
    let v = value();
    let (rate, mut lat) = drive(sizes.concurrent_creates, WRITERS, move |i| {
        let (mut c, v) = (client.clone(), v.clone());
        async move {
            let key = format!("/raw/obj-{i:07}");
            if guarded {
                use etcd_client::{Compare, CompareOp, Txn, TxnOp};
                let txn = Txn::new()
                    .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                    .and_then([TxnOp::put(key, v.to_vec(), None)]);
                assert!(c.txn(txn).await.unwrap().succeeded());
            } else {
                c.put(key, v.to_vec(), None).await.unwrap();
            }
        }
    })
    .await;
    let what = if guarded {
        "raw etcd guarded txn"
    } else {
        "raw etcd put"
    };
    println!(
        "{what}, {WRITERS} writers: {rate:>9.0} ops/s   p50 {}   p99 {}",
        ms(lat.percentile(0.50)),
        ms(lat.percentile(0.99))
    );
    rate
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let short = args.iter().any(|a| a == "--short");
    let backend = args
        .iter()
        .position(|a| a == "--backend")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "all".into());
    let sizes = if short { SHORT } else { FULL };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "# storage benchmark ({} mode, {VALUE_SIZE}-byte values)",
        if short { "short" } else { "full" }
    );
    rt.block_on(async {
        if backend == "all" || backend == "sqlite" {
            let dir = tempfile::tempdir().unwrap();
            let url = StorageUrl::parse(&format!(
                "sqlite://{}",
                dir.path().join("state.db").display()
            ))
            .unwrap();
            let s = storage::open(&url).await.unwrap();
            bench_backend("embedded (sqlite, sync=full)", s, sizes).await;
        }
        if backend == "all" || backend == "etcd" {
            let etcd = EtcdProcess::start(EtcdOptions::default()).unwrap();
            let s = storage::open(&StorageUrl::parse(&etcd.storage_url()).unwrap())
                .await
                .unwrap();
            let ours = bench_backend("etcd backend", s, sizes).await;
            drop(etcd);
            let put = raw_etcd(sizes, false).await;
            let txn = raw_etcd(sizes, true).await;
            println!(
                "etcd backend creates / raw ({WRITERS} writers): {:.2}x guarded txns, {:.2}x plain puts",
                ours / txn,
                ours / put
            );
        }
    });
}

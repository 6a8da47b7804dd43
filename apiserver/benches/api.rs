//! API server benchmark: pod creates with 100 concurrent clients, watch fan-out, LIST of
//! many pods from the cache, and the server's RSS idle and loaded.
//!
//! The server runs in a child process (this binary re-executed with `--serve`), so the RSS
//! figures are the server's alone; the load comes from this process over loopback.
//!
//! `cargo bench -p keelson-apiserver --bench api [-- [--short] [--only creates|fanout|list]]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a harness that prints figures

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use parking_lot::Mutex;
use serde_json::json;

#[derive(Debug, Clone, Copy)]
struct Sizes {
    creates: usize,
    clients: usize,
    watchers: usize,
    fanout_seconds: u64,
    list_pods: usize,
    list_rounds: usize,
}

const FULL: Sizes = Sizes {
    creates: 20_000,
    clients: 100,
    watchers: 1_000,
    fanout_seconds: 10,
    list_pods: 100_000,
    list_rounds: 10,
};
const SHORT: Sizes = Sizes {
    creates: 2_000,
    clients: 100,
    watchers: 100,
    fanout_seconds: 2,
    list_pods: 5_000,
    list_rounds: 3,
};

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{
            "name": "c", "image": "busybox",
            "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}
        }]}
    }))
    .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Child {
    child: tokio::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Child {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = keelson_e2e::free_port().unwrap();
        let exe = std::env::current_exe().unwrap();
        #[allow(clippy::disallowed_methods)] // the harness starts its own server process
        let child = tokio::process::Command::new(exe)
            .args(["--serve", dir.path().to_str().unwrap(), &port.to_string()])
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let client = client(&url);
        for _ in 0..200 {
            if client.apiserver_version().await.is_ok() {
                return Self {
                    child,
                    url,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start");
    }

    fn rss(&self) -> f64 {
        self.child.id().map_or(0.0, rss_mb)
    }

    /// User + system CPU time the server has used so far.
    fn cpu_seconds(&self) -> f64 {
        self.child.id().map_or(0.0, |pid| {
            keelson_e2e::procfs::cpu_seconds(&pid.to_string())
        })
    }
}

fn client(url: &str) -> kube::Client {
    kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap()
}

async fn serve(dir: &str, port: u16) {
    let mut config = keelson_apiserver::server::ServerConfig {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        storage: keelson_apiserver::storage::StorageUrl::default_for(std::path::Path::new(dir)),
        api: keelson_apiserver::api::ApiConfig::default(),
        cache: keelson_apiserver::cache::CacheConfig::default(),
        drain_timeout: Duration::from_secs(1),
    };
    config.api.max_inflight_mutating = 1_000;
    config.api.max_inflight_readonly = 2_000;
    let server = keelson_apiserver::server::start(config).await.unwrap();
    tokio::signal::ctrl_c().await.ok();
    server.stop().await.ok();
}

async fn creates(url: &str, sizes: Sizes) {
    let api: Api<Pod> = Api::namespaced(client(url), "default");
    let per = sizes.creates / sizes.clients;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..sizes.clients {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let p = pod(&format!("c{c}-{i}"));
                let t = Instant::now();
                api.create(&PostParams::default(), &p).await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    println!(
        "pod create, {} clients: {:.0}/s  p50 {}  p99 {}  ({} pods)",
        sizes.clients,
        all.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        all.len()
    );
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

async fn fanout(url: &str, sizes: Sizes) {
    let c = client(url);
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "kube-public");
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let rv = api
        .list(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut watchers = Vec::new();
    for _ in 0..sizes.watchers {
        let api = api.clone();
        let rv = rv.clone();
        let latencies = latencies.clone();
        watchers.push(tokio::spawn(async move {
            let wp = WatchParams::default().timeout(sizes.fanout_seconds as u32 + 30);
            let mut stream = api.watch(&wp, &rv).await.unwrap().boxed();
            while let Ok(Some(ev)) = stream.try_next().await {
                if let WatchEvent::Added(cm) = ev {
                    if cm.metadata.name.as_deref() == Some("stop") {
                        break;
                    }
                    let sent: u128 = cm.data.unwrap()["sent"].parse().unwrap();
                    let lat = Duration::from_micros(now_micros().saturating_sub(sent) as u64);
                    latencies.lock().push(lat);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let writes = sizes.fanout_seconds * 100;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for i in 0..writes {
        tick.tick().await;
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": format!("f{i}")}, "data": {"sent": now_micros().to_string()}
        }))
        .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let stop: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "stop"}})).unwrap();
    api.create(&PostParams::default(), &stop).await.unwrap();
    for w in watchers {
        let _ = tokio::time::timeout(Duration::from_secs(60), w).await;
    }
    let mut all = std::mem::take(&mut *latencies.lock());
    all.sort_unstable();
    println!(
        "watch fan-out, {} watchers, 100 writes/s for {} s: {} deliveries  p50 {}  p99 {}",
        sizes.watchers,
        sizes.fanout_seconds,
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );
}

async fn list(url: &str, sizes: Sizes, already: usize) {
    let c = client(url);
    let api: Api<Pod> = Api::namespaced(c.clone(), "default");
    let missing = sizes.list_pods.saturating_sub(already);
    let per = missing.div_ceil(100);
    let mut tasks = Vec::new();
    for w in 0..100 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per {
                api.create(&PostParams::default(), &pod(&format!("l{w}-{i}")))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all: Api<Pod> = Api::all(c.clone());
    let mut lat = Vec::new();
    let mut count = 0;
    for _ in 0..sizes.list_rounds {
        let t = Instant::now();
        let req = http::Request::get("/api/v1/pods?resourceVersion=0")
            .body(Vec::new())
            .unwrap();
        let text = c.request_text(req).await.unwrap();
        lat.push(t.elapsed());
        count = text.matches("\"kind\":\"Pod\"").count();
    }
    lat.sort_unstable();
    println!(
        "LIST all pods from cache ({count} pods, raw JSON): p50 {}  p99 {}",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );
    let t = Instant::now();
    let decoded = all.list(&ListParams::default()).await.unwrap().items.len();
    println!(
        "LIST all pods, consistent read, decoded by kube-rs: {} ({decoded} pods)",
        ms(t.elapsed())
    );
    let t = Instant::now();
    let mut pages = 0;
    let mut lp = ListParams::default().limit(500);
    loop {
        let page = all.list(&lp).await.unwrap();
        pages += 1;
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => lp = lp.continue_token(&token),
            _ => break,
        }
    }
    println!(
        "LIST all pods in pages of 500: {} ({pages} pages)",
        ms(t.elapsed())
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let dir = args.get(i + 1).expect("--serve DIR PORT");
        let port: u16 = args
            .get(i + 2)
            .and_then(|p| p.parse().ok())
            .expect("--serve DIR PORT");
        serve(dir, port).await;
        return;
    }
    let sizes = if args.iter().any(|a| a == "--short") {
        SHORT
    } else {
        FULL
    };
    println!(
        "API server benchmark ({} mode)",
        if args.iter().any(|a| a == "--short") {
            "short"
        } else {
            "full"
        }
    );
    // `--only creates|fanout|list` runs one phase (list still creates its pods first).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    let wanted = |phase: &str| only.is_none_or(|o| o == phase);
    let server = Child::start().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("server RSS idle: {:.1} MB", server.rss());
    let mut created = 0;
    if wanted("creates") {
        let cpu = server.cpu_seconds();
        creates(&server.url, sizes).await;
        created = sizes.creates;
        println!("  server CPU: {:.2} s", server.cpu_seconds() - cpu);
    }
    if wanted("fanout") {
        let cpu = server.cpu_seconds();
        fanout(&server.url, sizes).await;
        println!("  server CPU: {:.2} s", server.cpu_seconds() - cpu);
    }
    if wanted("list") {
        list(&server.url, sizes, created).await;
    }
    println!(
        "server RSS with {} pods: {:.1} MB",
        sizes.list_pods,
        server.rss()
    );
}

//! Controller benchmark: an in-process apiserver (embedded store), the ReplicaSet and
//! Deployment controllers, and a kubelet stand-in that marks every new pod Running and
//! Ready through `/status` (as simulated kubelets do). One Deployment of N replicas:
//! time until all pods exist (the rate the ReplicaSet controller creates them, sampled
//! each second), until the Deployment reports all Available, and a rolling update of it
//! (a template change) to completion.
//!
//! `cargo bench -p keelson-controllers --bench controllers [-- [--short] [--replicas N]]`
//! (N = 10,000 by default, 1,000 with `--short`).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a harness that prints figures

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use keelson_apiserver::api::ApiConfig;
use keelson_apiserver::cache::CacheConfig;
use keelson_apiserver::server::{self, RunningServer, ServerConfig};
use keelson_apiserver::storage::StorageUrl;
use keelson_controllers::Settings;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::{mpsc, watch};

const NAMESPACE: &str = "bench";
/// Status writes the kubelet stand-in keeps in flight.
const KUBELET_CONCURRENCY: usize = 64;

struct Cluster {
    _server: RunningServer,
    client: kube::Client,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let api = ApiConfig {
            max_inflight_mutating: 1_000,
            max_inflight_readonly: 2_000,
            ..ApiConfig::default()
        };
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            storage: StorageUrl::default_for(dir.path()),
            api,
            cache: CacheConfig::default(),
            drain_timeout: Duration::from_secs(2),
        };
        let server = server::start(config).await.unwrap();
        let client =
            kube::Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace =
            serde_json::from_value(json!({ "metadata": { "name": NAMESPACE } })).unwrap();
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
        Self {
            _server: server,
            client,
            _dir: dir,
        }
    }
}

/// Counts pods as they appear and marks each Running and Ready, as kubelets would.
fn kubelet_stand_in(
    client: kube::Client,
    created: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    let pods: Api<Pod> = Api::namespaced(client, NAMESPACE);
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let writer = {
        let pods = pods.clone();
        tokio::spawn(
            tokio_stream::wrappers::UnboundedReceiverStream::new(rx)
                .for_each_concurrent(KUBELET_CONCURRENCY, move |name| {
                    let pods = pods.clone();
                    async move {
                        let now = jiff::Timestamp::now().to_string();
                        let status = json!({ "status": {
                            "phase": "Running",
                            "podIP": "10.244.0.1",
                            "startTime": now,
                            "conditions": [
                                { "type": "Initialized", "status": "True", "lastTransitionTime": now },
                                { "type": "ContainersReady", "status": "True", "lastTransitionTime": now },
                                { "type": "Ready", "status": "True", "lastTransitionTime": now },
                            ],
                        }});
                        // A pod deleted meanwhile is fine to miss.
                        let _ = pods
                            .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
                            .await;
                    }
                }),
        )
    };
    tokio::spawn(async move {
        let mut events = std::pin::pin!(watcher(pods, watcher::Config::default()));
        let mut seen = std::collections::HashSet::new();
        while let Some(event) = events.next().await {
            let pod = match event {
                Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                _ => continue,
            };
            let Some(name) = pod.metadata.name.clone() else {
                continue;
            };
            if pod.metadata.deletion_timestamp.is_none() && seen.insert(name.clone()) {
                created.fetch_add(1, Ordering::Relaxed);
                let _ = tx.send(name);
            }
        }
        writer.abort();
    })
}

fn deployment(replicas: usize) -> Deployment {
    serde_json::from_value(json!({
        "metadata": { "name": "web", "namespace": NAMESPACE },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": "web" } },
            "strategy": { "rollingUpdate": { "maxSurge": "25%", "maxUnavailable": "25%" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": { "containers": [{ "name": "c", "image": "busybox:1" }] },
            },
        },
    }))
    .unwrap()
}

/// Polls the Deployment until `done` holds; the time it took.
async fn until(
    api: &Api<Deployment>,
    limit: Duration,
    done: impl Fn(&Deployment) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(d) = api.get("web").await
            && done(&d)
        {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

fn complete(d: &Deployment, replicas: i32) -> bool {
    let Some(status) = d.status.as_ref() else {
        return false;
    };
    status.observed_generation >= d.metadata.generation
        && status.replicas == Some(replicas)
        && status.updated_replicas == Some(replicas)
        && status.available_replicas == Some(replicas)
}

/// Per-second creation rates while pods are being created until `target`.
async fn sample_creation(
    created: &AtomicUsize,
    target: usize,
    limit: Duration,
) -> (Option<Duration>, Vec<f64>) {
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut last = created.load(Ordering::Relaxed);
    let mut last_at = Instant::now();
    while start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = created.load(Ordering::Relaxed);
        if now >= target {
            return (Some(start.elapsed()), samples);
        }
        if last_at.elapsed() >= Duration::from_secs(1) {
            samples.push((now - last) as f64 / last_at.elapsed().as_secs_f64());
            last = now;
            last_at = Instant::now();
        }
    }
    (None, samples)
}

fn describe(samples: &[f64]) -> String {
    if samples.is_empty() {
        return "no full second".to_owned();
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pick = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    format!(
        "per-second p50 {:.0}, p99 {:.0}, max {:.0}",
        pick(0.5),
        pick(0.99),
        pick(1.0)
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let short = args.iter().any(|a| a == "--short");
    let replicas = args
        .iter()
        .position(|a| a == "--replicas")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(if short { 1_000 } else { 10_000 });
    let limit = Duration::from_secs(if short { 120 } else { 600 });

    let cluster = Cluster::start().await;
    let created = Arc::new(AtomicUsize::new(0));
    let kubelet = kubelet_stand_in(cluster.client.clone(), created.clone());
    let settings = Settings::new("bench".to_owned())
        .only(&["replicaset", "deployment"])
        .unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let manager = tokio::spawn(keelson_controllers::run(
        cluster.client.clone(),
        settings,
        stop_rx,
    ));

    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let count = i32::try_from(replicas).unwrap();
    let start = Instant::now();
    api.create(&PostParams::default(), &deployment(replicas))
        .await
        .unwrap();
    let (all_exist, samples) = sample_creation(&created, replicas, limit).await;
    match all_exist {
        Some(took) => println!(
            "Deployment of {replicas}: all pods exist after {:.2} s, {:.0} pods/s ({})",
            took.as_secs_f64(),
            replicas as f64 / took.as_secs_f64(),
            describe(&samples)
        ),
        None => println!(
            "Deployment of {replicas}: only {} pods after {} s",
            created.load(Ordering::Relaxed),
            limit.as_secs()
        ),
    }
    match until(&api, limit, |d| complete(d, count)).await {
        Some(_) => println!(
            "Deployment of {replicas}: all Available after {:.2} s",
            start.elapsed().as_secs_f64()
        ),
        None => println!(
            "Deployment of {replicas}: not Available after {} s",
            limit.as_secs()
        ),
    }

    let update = json!({ "spec": { "template": { "metadata": { "annotations": { "bench/restartedAt": "1" } } } } });
    let started = Instant::now();
    api.patch("web", &PatchParams::default(), &Patch::Merge(update))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    match until(&api, limit, |d| complete(d, count)).await {
        Some(_) => println!(
            "Rolling update of {replicas}: complete after {:.2} s ({:.0} pods replaced per second)",
            started.elapsed().as_secs_f64(),
            replicas as f64 / started.elapsed().as_secs_f64()
        ),
        None => println!(
            "Rolling update of {replicas}: not complete after {} s",
            limit.as_secs()
        ),
    }

    stop.send_replace(true);
    let _ = manager.await;
    kubelet.abort();
}

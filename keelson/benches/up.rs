//! `keelson up` benchmark: the release `keelson up` binary as a child process on a temp
//! data dir, observed only through the API (a kube-rs client from the kubeconfig it
//! writes) and /proc.
//!
//! Cases:
//! - `ready`: time from spawning `keelson up --nodes 1` to the kubeconfig, to the API
//!   answering, and to the Node's Ready condition True (5 runs; 3 with `--short`).
//! - `pods`: one Deployment of 10,000 replicas on 100 nodes (1,000 on 10 with `--short`):
//!   time from the create to all pods created, bound, Running and Ready.
//! - `rss`: the child's VmRSS / VmHWM idle with 1 node, and idle after a Deployment of
//!   30,000 pods on 1,000 nodes is all Running (3,000 on 100 with `--short`).
//! - `huge` (only with `--huge`): 5,000 nodes and 150,000 pods.
//!
//! `cargo bench -p keelson --bench up [-- [--short] [--huge] [--only <case>]]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a harness that prints figures

#[path = "up/child.rs"]
mod child;
#[path = "up/requests.rs"]
mod requests;
#[path = "up/watch.rs"]
mod watch;

use std::time::{Duration, Instant};

use child::Up;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use serde_json::json;

const NAMESPACE: &str = "bench";
const STARTUP_LIMIT: Duration = Duration::from_secs(60);
const STOP_LIMIT: Duration = Duration::from_secs(60);

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// CPU spent while idle, as a share of one core: heartbeats, leases and resyncs only.
fn idle_cpu(cpu_seconds: f64, over: Duration) -> String {
    format!(
        "CPU {:.1}% of one core",
        cpu_seconds / over.as_secs_f64() * 100.0
    )
}

/// Median and max of some durations.
fn median_max(mut runs: Vec<Duration>) -> String {
    runs.sort();
    let median = runs[runs.len() / 2];
    let max = runs[runs.len() - 1];
    format!("median {:>8}  max {:>8}", secs(median), secs(max))
}

/// Spawns `up`, waits for its kubeconfig, API and `nodes` Ready nodes; prints the times.
async fn start(nodes: u32, extra: &[&str]) -> (Up, kube::Client, [Duration; 3]) {
    let mut up = Up::spawn(nodes, extra);
    let kubeconfig = up.kubeconfig(STARTUP_LIMIT).await;
    let (client, api) = up.client(STARTUP_LIMIT).await;
    let mut ready = watch::track_nodes(&client);
    let limit = STARTUP_LIMIT + Duration::from_millis(20) * nodes;
    let wanted = nodes as usize;
    let Some(all_ready) =
        watch::wait_until(&mut ready.rx, up.spawned, limit, |n| *n >= wanted).await
    else {
        panic!(
            "{} of {nodes} nodes Ready after {limit:?}; log:\n{}",
            *ready.rx.borrow(),
            up.log_tail()
        );
    };
    (up, client, [kubeconfig, api, all_ready])
}

/// Case `ready`: startup to a Ready node, several runs.
async fn ready_case(runs: usize) {
    let mut phases: [Vec<Duration>; 3] = Default::default();
    let mut stops = Vec::new();
    for _ in 0..runs {
        let (up, _client, times) = start(1, &[]).await;
        for (phase, time) in phases.iter_mut().zip(times) {
            phase.push(time);
        }
        stops.push(up.stop(STOP_LIMIT).await);
    }
    println!("ready: `keelson up --nodes 1`, {runs} runs, from spawn:");
    for (name, runs) in ["kubeconfig", "API answering", "Node Ready"]
        .iter()
        .zip(phases)
    {
        println!("  {name:<16} {}", median_max(runs));
    }
    println!("  {:<16} {}", "stop (SIGTERM)", median_max(stops));
}

/// Idle memory with one node, `settle` after it is Ready.
async fn idle_one_node(settle: Duration) {
    let (up, _client, _) = start(1, &[]).await;
    let cpu = up.cpu_seconds();
    tokio::time::sleep(settle).await;
    println!(
        "rss: 1 node, idle {} s after Ready: {}; {} open files; {}",
        settle.as_secs(),
        up.memory(),
        up.open_files(),
        idle_cpu(up.cpu_seconds() - cpu, settle)
    );
    up.stop(STOP_LIMIT).await;
}

async fn create_deployment(client: &kube::Client, replicas: usize) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({ "metadata": { "name": NAMESPACE } })).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "bench" },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": "bench" } },
            "template": {
                "metadata": { "labels": { "app": "bench" } },
                "spec": { "containers": [{ "name": "pause", "image": "registry.k8s.io/pause:3.10" }] }
            }
        }
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), NAMESPACE)
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
}

/// Cases `pods`, `rss` (the loaded half) and `huge`: `pods` replicas on `nodes` nodes,
/// from the Deployment's create to all Running and Ready; then idle memory after `settle`.
async fn scale_case(label: &str, nodes: u32, pods: usize, limit: Duration, settle: Duration) {
    let per_node = pods.div_ceil(nodes as usize) * 2;
    let node_pods = per_node.max(110).to_string();
    let extra = [
        "--node-pods",
        &node_pods,
        "--node-cpu",
        "64",
        "--node-memory",
        "256Gi",
    ];
    let (up, client, [.., nodes_ready]) = start(nodes, &extra).await;
    println!(
        "{label}: {nodes} nodes Ready {} after spawn; {}; {} open files",
        secs(nodes_ready),
        up.memory(),
        up.open_files()
    );
    let mut counts = watch::track_pods(&client, NAMESPACE);
    let cpu = up.cpu_seconds();
    let writes_before = requests::writes(&client).await;
    let t = Instant::now();
    create_deployment(&client, pods).await;
    let mut at: [Option<Duration>; 3] = [None; 3];
    let done = watch::wait_until(&mut counts.rx, t, limit, |c| {
        let reached = [c.created, c.bound, c.running.min(c.ready)];
        for (at, reached) in at.iter_mut().zip(reached) {
            if at.is_none() && reached >= pods {
                *at = Some(t.elapsed());
            }
        }
        at[2].is_some()
    })
    .await;
    let cpu = up.cpu_seconds() - cpu;
    let show = |d: Option<Duration>| d.map_or("—".to_owned(), secs);
    println!(
        "  {pods} pods: all created {}, all bound {}, all Running+Ready {}",
        show(at[0]),
        show(at[1]),
        show(at[2])
    );
    match done {
        Some(took) => println!(
            "  {:.0} pods/s; child CPU {cpu:.1} s ({:.0}% of one core); {}",
            pods as f64 / took.as_secs_f64(),
            cpu / took.as_secs_f64() * 100.0,
            up.memory()
        ),
        None => println!(
            "  TIMED OUT after {limit:?}: {:?}; child CPU {cpu:.1} s; {}",
            *counts.rx.borrow(),
            up.memory()
        ),
    }
    if done.is_some() {
        let writes = requests::writes(&client).await;
        println!("  {}", requests::per_pod(&writes_before, &writes, pods));
    }
    if done.is_some() && !settle.is_zero() {
        let cpu = up.cpu_seconds();
        tokio::time::sleep(settle).await;
        println!(
            "  idle {} s after all Running: {}; {} open files; {}",
            settle.as_secs(),
            up.memory(),
            up.open_files(),
            idle_cpu(up.cpu_seconds() - cpu, settle)
        );
    }
    drop(counts);
    let stop = up.stop(STOP_LIMIT).await;
    println!("  stop (SIGTERM) {}", secs(stop));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let short = args.iter().any(|a| a == "--short");
    let huge = args.iter().any(|a| a == "--huge");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let run = |case: &str| only.as_deref().is_none_or(|o| o == case);
    let nofile = child::raise_nofile_limit();
    println!(
        "open-files limit {nofile}; {}",
        env!("CARGO_BIN_EXE_keelson")
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let settle = Duration::from_secs(5);
        if run("ready") {
            ready_case(if short { 3 } else { 5 }).await;
        }
        if run("pods") {
            let (nodes, pods) = if short { (10, 1_000) } else { (100, 10_000) };
            scale_case(
                "pods",
                nodes,
                pods,
                Duration::from_secs(300),
                Duration::ZERO,
            )
            .await;
        }
        if run("rss") {
            idle_one_node(settle).await;
            let (nodes, pods) = if short { (100, 3_000) } else { (1_000, 30_000) };
            let limit = Duration::from_secs(900);
            scale_case("rss", nodes, pods, limit, Duration::from_secs(10)).await;
        }
        if huge && run("huge") {
            let limit = Duration::from_secs(3_600);
            scale_case("huge", 5_000, 150_000, limit, Duration::from_secs(10)).await;
        }
    });
}

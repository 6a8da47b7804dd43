//! Scheduler benchmark in the shape of upstream scheduler_perf: an in-process apiserver
//! (embedded store), N nodes created through the API, init pods scheduled first, then
//! measured pods (100m / 500Mi) whose binding rate is sampled every second from a watch.
//!
//! Cases: Basic, PodAntiAffinity, NodeAffinity, TopologySpreading on 5000 and 500 nodes
//! (full) or 500 nodes (`--short`, for CI); Preemption (upstream `PreemptionBasic`: the
//! measured pods each preempt three low-priority init pods) on 1000 nodes, or 50.
//! Measured pods are created by 100 concurrent clients while the scheduler runs (as
//! upstream does); `--precreate` creates them first and starts the scheduler afterwards
//! instead. The scheduler reaches the API server in-process, as inside `keelson up`;
//! `--tcp` sends it over the loopback listener instead, as the `keelson scheduler` daemon.
//! The creating and counting clients always use the listener. They spend as little as a
//! client can: pod bodies are encoded once with only the name changing, replies are not
//! decoded, and bound pods are counted from a metadata-only watch of `spec.nodeName!=`
//! (upstream's clients speak protobuf; what is measured is the server and the scheduler).
//!
//! `cargo bench -p keelson-scheduler --bench scheduler [-- [--short] [--precreate] [--tcp] [--only <case>]]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a harness that prints figures

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "scheduler/cluster.rs"]
mod cluster;
#[path = "scheduler/diagnose.rs"]
mod diagnose;
#[path = "scheduler/stats.rs"]
mod stats;
#[path = "scheduler/workload.rs"]
mod workload;

use std::time::{Duration, Instant};

use cluster::{BoundCounter, Cluster, Scheduler, Transport};
use workload::{Case, Kind, SETUP_NAMESPACE, TEST_NAMESPACE};

/// How measured pods reach the apiserver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creation {
    /// Created by concurrent clients while the scheduler runs (upstream's way).
    WhileScheduling,
    /// All created with the scheduler stopped; the clock starts with the scheduler.
    BeforeScheduler,
}

/// Bounds for each waiting phase.
#[derive(Debug, Clone, Copy)]
struct Limits {
    init: Duration,
    measured: Duration,
}

/// User + system CPU seconds of this process so far (apiserver, scheduler and clients).
fn cpu_seconds() -> f64 {
    keelson_e2e::procfs::cpu_seconds("self")
}

async fn run_case(case: Case, creation: Creation, transport: Transport, limits: Limits) {
    let label = case.label();
    let cluster = Cluster::start(transport).await;
    if case.kind == Kind::Preemption {
        cluster.priority_classes().await;
    }
    let t = Instant::now();
    cluster.nodes(case.nodes).await;
    let nodes_took = t.elapsed();

    let init = BoundCounter::start(&cluster.client, SETUP_NAMESPACE);
    let measured = BoundCounter::start(&cluster.client, TEST_NAMESPACE);
    let mut scheduler = Scheduler::start(&cluster.scheduler_client);
    let t = Instant::now();
    cluster
        .pods(case.kind, SETUP_NAMESPACE, "init", case.init_pods)
        .await;
    let placed = init.wait(case.init_pods, limits.init).await;
    let init_took = t.elapsed();
    if placed < case.init_pods {
        println!(
            "{label}: only {placed}/{} init pods bound after {:.1} s; skipped",
            case.init_pods,
            init_took.as_secs_f64()
        );
        scheduler.stop().await;
        cluster.stop().await;
        return;
    }

    let mut create_took = None;
    if creation == Creation::BeforeScheduler {
        scheduler.stop().await;
        let t = Instant::now();
        cluster
            .pods(case.kind, TEST_NAMESPACE, "pod", case.measured_pods)
            .await;
        create_took = Some(t.elapsed());
        scheduler = Scheduler::start(&cluster.scheduler_client);
    }
    let cpu = cpu_seconds();
    let started = Instant::now();
    let creator = (creation == Creation::WhileScheduling).then(|| {
        let client = cluster.client.clone();
        let kind = case.kind;
        let count = case.measured_pods;
        tokio::spawn(async move {
            let t = Instant::now();
            cluster::create_pods(client, kind, TEST_NAMESPACE, "pod", count).await;
            t.elapsed()
        })
    });

    let mut samples = Vec::new();
    let mut last = 0;
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let mut done_at = None;
    while started.elapsed() < limits.measured {
        tokio::select! {
            _ = tick.tick() => {
                let now = measured.get();
                samples.push(now - last);
                last = now;
            }
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        if measured.get() >= case.measured_pods {
            done_at = Some(started.elapsed());
            break;
        }
    }
    let took = done_at.unwrap_or_else(|| started.elapsed());
    let bound = measured.get();
    let cpu = cpu_seconds() - cpu;
    if let Some(creator) = creator {
        create_took = Some(creator.await.unwrap());
    }
    let summary = stats::summarise(&samples, bound, took.as_secs_f64());
    let incomplete = if bound < case.measured_pods {
        format!(" (TIMED OUT: {bound}/{} bound)", case.measured_pods)
    } else {
        String::new()
    };
    println!(
        "{label}: {bound} pods in {:.1} s — avg {:.0} pods/s  p50 {:.0}  p99 {:.0} ({} per-second samples){incomplete}",
        took.as_secs_f64(),
        summary.average,
        summary.p50,
        summary.p99,
        summary.samples,
    );
    let create_rate = create_took.map_or(String::new(), |d| {
        format!(
            "; measured pods created in {:.1} s ({:.0}/s)",
            d.as_secs_f64(),
            case.measured_pods as f64 / d.as_secs_f64()
        )
    });
    println!(
        "  setup: {} nodes in {:.1} s, {} init pods bound in {:.1} s{create_rate}; process CPU while measuring {:.1} s",
        case.nodes,
        nodes_took.as_secs_f64(),
        case.init_pods,
        init_took.as_secs_f64(),
        cpu
    );
    if case.kind == Kind::Preemption {
        diagnose::victims(&cluster.client, case.init_pods).await;
    }
    if bound < case.measured_pods {
        diagnose::report(&cluster.client).await;
    }
    scheduler.stop().await;
    drop((init, measured));
    cluster.stop().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let short = args.iter().any(|a| a == "--short");
    let creation = if args.iter().any(|a| a == "--precreate") {
        Creation::BeforeScheduler
    } else {
        Creation::WhileScheduling
    };
    let transport = if args.iter().any(|a| a == "--tcp") {
        Transport::Tcp
    } else {
        Transport::InProcess
    };
    // `--only <name>` runs the cases whose kind matches (case-insensitive), e.g. `basic`.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.to_lowercase());
    let limits = if short {
        Limits {
            init: Duration::from_secs(60),
            measured: Duration::from_secs(60),
        }
    } else {
        Limits {
            init: Duration::from_secs(300),
            measured: Duration::from_secs(600),
        }
    };
    println!(
        "Scheduler benchmark ({} mode; scheduler {}; measured pods {}; p50/p99 of per-second throughput samples sorted ascending, as upstream)",
        if short { "short" } else { "full" },
        match transport {
            Transport::InProcess => "in-process, as in `keelson up`",
            Transport::Tcp => "over the loopback listener, as `keelson scheduler`",
        },
        match creation {
            Creation::WhileScheduling =>
                "created by 100 concurrent clients while the scheduler runs",
            Creation::BeforeScheduler => "pre-created, scheduler started afterwards",
        }
    );
    for case in workload::cases(short) {
        if only
            .as_deref()
            .is_some_and(|o| o != case.kind.name().to_lowercase())
        {
            continue;
        }
        run_case(case, creation, transport, limits).await;
    }
}

//! Running the cluster `up` configured: start everything, then supervise it.

use std::sync::Arc;

use anyhow::Context as _;
use keelson_apiserver::server::{self, RunningServer};
use keelson_kubelet::KubeletConfig;
use keelson_kubelet::runtime::simulated::Simulated;
use keelson_scheduler::config::SchedulerConfig;
use keelson_scheduler::daemon::{self, DaemonConfig};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::supervise::{Component, run_group, supervise};
use super::{UpConfig, local, write_kubeconfig};

/// Runs the cluster until SIGTERM or SIGINT, then stops kubelets, controllers, scheduler
/// and API server in that order; a component that fails stops the rest the same way.
pub(crate) async fn run(config: UpConfig) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data dir {}", dir.display()))?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let server = server::start(config.server.clone())
        .await
        .context("starting the API server")?;
    let url = server.url();
    // The components run in this process, so they reach the API in-process (`local`).
    let client = || local::client(server.local_service());
    let scheduler_client = client();
    let controllers_client = client();
    let kubelets_service = server.local_service();
    let server = Component::spawn("API server", |stop| serve(server, stop));
    let kubeconfig = dir.join("kubeconfig");
    write_kubeconfig(&kubeconfig, &url)?;

    let scheduler = Component::spawn("scheduler", |stop| {
        let mut scheduler = SchedulerConfig::default();
        scheduler.leader_election.leader_elect = false;
        let config = DaemonConfig {
            scheduler,
            identity: keelson_client::identity(),
            drain_timeout: config.drain_timeout,
        };
        async move {
            daemon::run(scheduler_client, config, stop)
                .await
                .context("the scheduler")
        }
    });
    let mut settings = keelson_controllers::Settings::new(keelson_client::identity());
    settings.local_path_root = dir.join("local-path");
    settings.node_monitor_grace_period = config.node_monitor_grace_period;
    let (cluster_cidr, node_mask) = config.pod_network.clone();
    settings.cluster_cidr = Some(cluster_cidr);
    settings.node_cidr_mask_size = node_mask;
    settings.drain_timeout = config.drain_timeout;
    let controllers = Component::spawn("controllers", |stop| async move {
        keelson_controllers::run(controllers_client, settings, stop)
            .await
            .context("the controllers")
    });
    let count = config.nodes.len();
    let kubelets = Component::spawn("kubelets", |stop| {
        let (members, stop_members) = start_kubelets(&kubelets_service, config.nodes);
        run_group(members, stop_members, stop)
    });
    eprintln!(
        "keelson up: cluster running at {url} with {count} node{}; export KUBECONFIG={}",
        if count == 1 { "" } else { "s" },
        kubeconfig.display()
    );
    let shutdown = async {
        tokio::select! {
            _ = sigint.recv() => tracing::info!("SIGINT: shutting down"),
            _ = sigterm.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    };
    supervise(vec![kubelets, controllers, scheduler, server], shutdown).await
}

/// Serves until `stop`, then drains.
async fn serve(mut server: RunningServer, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let ended = tokio::select! {
        r = server.wait() => Some(r),
        _ = stop.wait_for(|s| *s) => None,
    };
    match ended {
        Some(r) => r.context("the API server stopped"),
        None => server.stop().await.context("draining the API server"),
    }
}

/// Spawns every kubelet at once, all watching one stop channel. Each has a client of its
/// own, as a kubelet process does: one client shared by 5,000 kubelets queued their Lease
/// renewals behind each other's requests until the nodes went Unknown.
fn start_kubelets(
    service: &keelson_apiserver::local::LocalService,
    nodes: Vec<KubeletConfig>,
) -> (JoinSet<anyhow::Result<()>>, watch::Sender<bool>) {
    let (stop, stop_rx) = watch::channel(false);
    let mut set = JoinSet::new();
    for node in nodes {
        let name = node.node_name.clone();
        let runtime = Arc::new(Simulated::new(&name));
        let client = local::client(service.clone());
        let kubelet = keelson_kubelet::run(client, node, runtime, stop_rx.clone());
        set.spawn(async move {
            kubelet
                .await
                .with_context(|| format!("the kubelet of node {name}"))
        });
    }
    (set, stop)
}

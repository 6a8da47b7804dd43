//! `keelson controllers`: run the controllers until SIGTERM or SIGINT, then drain (workers
//! finish the keys they hold).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use keelson_client::duration::parse_go_duration;
use keelson_client::leader::LeaseSettings;
use keelson_controllers::{Settings, config};

/// Arguments of `keelson controllers`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Kubeconfig file of the cluster to control.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Run only while holding the kube-system/kube-controller-manager Lease.
    #[arg(long)]
    leader_elect: bool,
    /// Controllers to run: `*` (all on by default), `name` turns one on, `-name` off;
    /// upstream names (`replicaset-controller`) or aliases (`replicaset`).
    #[arg(long, value_delimiter = ',', default_value = "*")]
    controllers: Vec<String>,
    /// How long a node may go without renewing its Lease before it is marked Unknown.
    #[arg(long, default_value = "40s", value_parser = go_duration)]
    node_monitor_grace_period: Duration,
    /// How often node health is checked.
    #[arg(long, default_value = "5s", value_parser = go_duration)]
    node_monitor_period: Duration,
    /// How long a node that never posted status may take before it is marked Unknown.
    #[arg(long, default_value = "1m", value_parser = go_duration)]
    node_startup_grace_period: Duration,
    /// The cluster's pod CIDR, split into one range per node; empty turns allocation off.
    #[arg(long, default_value = "10.244.0.0/16")]
    cluster_cidr: String,
    /// Prefix length of each node's IPv4 pod CIDR.
    #[arg(long, default_value_t = 24)]
    node_cidr_mask_size: u8,
    /// Prefix length of each node's IPv6 pod CIDR (dual-stack cluster CIDRs).
    #[arg(long = "node-cidr-mask-size-ipv6", default_value_t = 64)]
    node_cidr_mask_size_ipv6: u8,
    /// Where the built-in local-path provisioner makes volume directories.
    #[arg(long, default_value = "/var/lib/keelson/local-path")]
    local_path_root: PathBuf,
    /// Seconds a shutdown waits for work in flight.
    #[arg(long, default_value_t = 10)]
    shutdown_grace_seconds: u64,
}

fn go_duration(text: &str) -> Result<Duration, String> {
    parse_go_duration(text).ok_or_else(|| format!("{text:?} is not a duration like 40s or 1m30s"))
}

impl Args {
    /// The manager's settings, or a usage error.
    pub(crate) fn settings(&self) -> anyhow::Result<Settings> {
        if !self.kubeconfig.is_file() {
            anyhow::bail!("--kubeconfig {}: no such file", self.kubeconfig.display());
        }
        let mut settings = Settings::new(keelson_client::identity());
        settings.enabled = config::resolve(&self.controllers)?;
        settings.leader_election = self
            .leader_elect
            .then(|| LeaseSettings::named("kube-controller-manager"));
        settings.node_monitor_grace_period = self.node_monitor_grace_period;
        settings.node_monitor_period = self.node_monitor_period;
        settings.node_startup_grace_period = self.node_startup_grace_period;
        settings.cluster_cidr = Some(self.cluster_cidr.clone()).filter(|c| !c.is_empty());
        settings.node_cidr_mask_size = self.node_cidr_mask_size;
        settings.node_cidr_mask_size_ipv6 = self.node_cidr_mask_size_ipv6;
        settings.local_path_root = self.local_path_root.clone();
        settings.drain_timeout = Duration::from_secs(self.shutdown_grace_seconds);
        Ok(settings)
    }
}

/// Runs the controllers until a signal, then drains.
pub(crate) async fn run(args: Args, settings: Settings) -> anyhow::Result<()> {
    let client = keelson_client::from_kubeconfig(&args.kubeconfig)
        .await
        .context("connecting to the API server")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let mut task = tokio::spawn(keelson_controllers::run(client, settings, stop_rx));
    tokio::select! {
        r = &mut task => return r.context("the controller manager failed")?.map_err(Into::into),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        _ = sigterm.recv() => tracing::info!("SIGTERM: shutting down"),
    }
    stop_tx.send_replace(true);
    task.await.context("the controller manager failed")??;
    Ok(())
}

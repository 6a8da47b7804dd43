//! `keelson kubelet`: run one node's kubelet (today over the simulated runtime) until
//! SIGTERM or SIGINT, then drain (work in flight finishes; pods keep running, as upstream's
//! kubelet leaves containers running when it stops).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use keelson_kubelet::KubeletConfig;
use keelson_kubelet::runtime::simulated::Simulated;

use crate::node_flags;

/// Arguments of `keelson kubelet`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Kubeconfig file of the cluster to join.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The Node's name (an RFC 1123 subdomain).
    #[arg(long)]
    node_name: String,
    /// Container runtime: `simulated` (containers are simulated; nothing is executed).
    #[arg(long)]
    runtime: String,
    /// The node's IP (its InternalIP address).
    #[arg(long, default_value = "127.0.0.1")]
    node_ip: IpAddr,
    /// CPU capacity, as a quantity (`4`, `3500m`).
    #[arg(long, default_value = "4")]
    cpu: String,
    /// Memory capacity, as a quantity (`32Gi`).
    #[arg(long, default_value = "32Gi")]
    memory: String,
    /// How many pods the node runs at most.
    #[arg(long, default_value_t = 110)]
    pods: u32,
    /// Labels to add at registration: `key=value,key2=value2`.
    #[arg(long, value_delimiter = ',')]
    labels: Vec<String>,
    /// Taints to register with: `key=value:Effect,key2:Effect`.
    #[arg(long, value_delimiter = ',')]
    register_with_taints: Vec<String>,
    /// Seconds a shutdown waits for work in flight.
    #[arg(long, default_value_t = 10)]
    shutdown_grace_seconds: u64,
}

/// The one runtime built so far.
const SIMULATED: &str = "simulated";

impl Args {
    /// The kubelet's configuration, or a usage error.
    pub(crate) fn config(&self) -> anyhow::Result<KubeletConfig> {
        if self.runtime != SIMULATED {
            anyhow::bail!(
                "--runtime {:?}: only the simulated runtime is built (--runtime simulated); the \
                 containerd CRI runtime arrives with a later issue",
                self.runtime
            );
        }
        if !self.kubeconfig.is_file() {
            anyhow::bail!("--kubeconfig {}: no such file", self.kubeconfig.display());
        }
        if !node_flags::is_dns_subdomain(&self.node_name) {
            anyhow::bail!(
                "--node-name {:?}: a node name must be a lowercase RFC 1123 subdomain \
                 (lowercase alphanumerics, '-' and '.', e.g. 'node-1')",
                self.node_name
            );
        }
        if self.pods == 0 {
            anyhow::bail!("--pods 0: a node must be able to run at least one pod");
        }
        let mut config = KubeletConfig::new(&self.node_name);
        config.node_ip = self.node_ip.to_string();
        config.cpu = node_flags::positive_quantity("--cpu", &self.cpu)?;
        config.memory = node_flags::positive_quantity("--memory", &self.memory)?;
        config.pods = self.pods;
        config.labels = node_flags::parse_labels(&self.labels)?;
        config.taints = node_flags::parse_taints(&self.register_with_taints)?;
        config.drain_timeout = Duration::from_secs(self.shutdown_grace_seconds);
        Ok(config)
    }
}

/// Runs the kubelet until a signal, then drains.
pub(crate) async fn run(args: Args, config: KubeletConfig) -> anyhow::Result<()> {
    let client = keelson_client::from_kubeconfig(&args.kubeconfig)
        .await
        .context("connecting to the API server")?;
    let runtime = Arc::new(Simulated::new(&config.node_name));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let node = config.node_name.clone();
    let mut task = tokio::spawn(keelson_kubelet::run(client, config, runtime, stop_rx));
    tokio::select! {
        r = &mut task => {
            r.context("the kubelet task failed")?
                .with_context(|| format!("kubelet of node {node}"))?;
            anyhow::bail!("the kubelet of node {node} stopped by itself");
        }
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        _ = sigterm.recv() => tracing::info!("SIGTERM: shutting down"),
    }
    stop_tx.send_replace(true);
    task.await
        .context("the kubelet task failed")?
        .with_context(|| format!("kubelet of node {node}"))?;
    Ok(())
}

//! `keelson scheduler`: bind pending pods to nodes until SIGTERM or SIGINT, then drain
//! (stop scheduling, let bindings in flight finish).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use keelson_scheduler::config::{self, SchedulerConfig};
use keelson_scheduler::daemon::{self, DaemonConfig};

/// Arguments of `keelson scheduler`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Kubeconfig file of the cluster to schedule for.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// KubeSchedulerConfiguration file (YAML or JSON). Default: upstream's defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Schedule only while holding the kube-system/kube-scheduler Lease.
    #[arg(long)]
    leader_elect: bool,
    /// Seconds a shutdown waits for bindings in flight.
    #[arg(long, default_value_t = 10)]
    shutdown_grace_seconds: u64,
}

impl Args {
    /// The scheduler configuration, or a usage error.
    pub(crate) fn config(&self) -> anyhow::Result<SchedulerConfig> {
        if !self.kubeconfig.is_file() {
            anyhow::bail!("--kubeconfig {}: no such file", self.kubeconfig.display());
        }
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading --config {}", path.display()))?;
                config::parse_yaml(&text).with_context(|| format!("--config {}", path.display()))?
            }
            None => SchedulerConfig::default(),
        };
        if self.leader_elect {
            config.leader_election.leader_elect = true;
        }
        Ok(config)
    }
}

/// Runs the scheduler until a signal, then drains.
pub(crate) async fn run(args: Args, config: SchedulerConfig) -> anyhow::Result<()> {
    let client = keelson_client::from_kubeconfig(&args.kubeconfig)
        .await
        .context("connecting to the API server")?;
    let daemon_config = DaemonConfig {
        scheduler: config,
        identity: keelson_client::identity(),
        drain_timeout: Duration::from_secs(args.shutdown_grace_seconds),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let mut task = tokio::spawn(daemon::run(client, daemon_config, stop_rx));
    tokio::select! {
        r = &mut task => return r.context("the scheduler task failed")?.map_err(Into::into),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        _ = sigterm.recv() => tracing::info!("SIGTERM: shutting down"),
    }
    stop_tx.send_replace(true);
    task.await.context("the scheduler task failed")??;
    Ok(())
}

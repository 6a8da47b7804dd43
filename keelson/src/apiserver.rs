//! `keelson apiserver`: serve the Kubernetes API over a storage backend until SIGTERM or
//! SIGINT, then drain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use keelson_apiserver::alloc::{PortRange, ServiceCidr};
use keelson_apiserver::api::ApiConfig;
use keelson_apiserver::cache::CacheConfig;
use keelson_apiserver::server::{self, ServerConfig};
use keelson_apiserver::storage::StorageUrl;

/// Arguments of `keelson apiserver`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to serve plain HTTP on; loopback only until TLS and authentication exist.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Storage backend URL: sqlite://PATH[?sync=full|normal] or etcd://HOST:PORT[,…].
    /// Default: the embedded store in --data-dir.
    #[arg(long)]
    storage: Option<String>,
    /// Directory for the embedded store (and other state).
    #[arg(long, default_value = ".data")]
    data_dir: PathBuf,
    /// Requests served at once before 429 (read-only).
    #[arg(long, default_value_t = 400)]
    max_requests_inflight: usize,
    /// Mutating requests served at once before 429.
    #[arg(long, default_value_t = 200)]
    max_mutating_requests_inflight: usize,
    /// Seconds a shutdown waits for in-flight requests.
    #[arg(long, default_value_t = 10)]
    shutdown_grace_seconds: u64,
    /// CIDR Service cluster IPs are allocated from (its first address is the
    /// `kubernetes` Service's).
    #[arg(long, default_value = "10.96.0.0/12")]
    service_cluster_ip_range: ServiceCidr,
    /// Port range NodePort and LoadBalancer Services get node ports from.
    #[arg(long, default_value = "30000-32767")]
    service_node_port_range: PortRange,
    /// Seconds a pod tolerates its node being not ready, unless it says otherwise.
    #[arg(long, default_value_t = 300)]
    default_not_ready_toleration_seconds: i64,
    /// Seconds a pod tolerates its node being unreachable, unless it says otherwise.
    #[arg(long, default_value_t = 300)]
    default_unreachable_toleration_seconds: i64,
}

impl Args {
    /// The server configuration, or a usage error.
    pub(crate) fn config(&self) -> anyhow::Result<ServerConfig> {
        if !self.listen.ip().is_loopback() {
            anyhow::bail!(server::ServerError::NotLoopback(self.listen));
        }
        let storage = match &self.storage {
            Some(url) => StorageUrl::parse(url).context("--storage")?,
            None => StorageUrl::default_for(&self.data_dir),
        };
        Ok(ServerConfig {
            listen: self.listen,
            storage,
            api: ApiConfig {
                max_inflight_readonly: self.max_requests_inflight,
                max_inflight_mutating: self.max_mutating_requests_inflight,
                service_cidr: self.service_cluster_ip_range,
                node_port_range: self.service_node_port_range,
                default_not_ready_toleration_seconds: self.default_not_ready_toleration_seconds,
                default_unreachable_toleration_seconds: self.default_unreachable_toleration_seconds,
                ..ApiConfig::default()
            },
            cache: CacheConfig::default(),
            drain_timeout: Duration::from_secs(self.shutdown_grace_seconds),
        })
    }
}

/// Runs the server until a signal, then drains.
pub(crate) async fn run(config: ServerConfig) -> anyhow::Result<()> {
    let mut running = server::start(config)
        .await
        .context("starting the API server")?;
    eprintln!(
        "keelson apiserver: serving the Kubernetes API at {}",
        running.url()
    );
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = running.wait() => return r.context("the API server stopped"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        _ = sigterm.recv() => tracing::info!("SIGTERM: shutting down"),
    }
    running.stop().await.context("draining the API server")?;
    Ok(())
}

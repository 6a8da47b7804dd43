//! `keelson up`: a whole cluster in one process — the API server over its store, then,
//! each as an API client of the server's in-process service (`local`), the scheduler, the
//! controllers and N simulated kubelets, and a kubeconfig in the data dir for users —
//! until SIGTERM or SIGINT; then kubelets, controllers, scheduler and API server stop in
//! that order, each draining.

mod cluster;
mod local;
mod supervise;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use keelson_apiserver::api::ApiConfig;
use keelson_apiserver::cache::CacheConfig;
use keelson_apiserver::server::{ServerConfig, ServerError};
use keelson_apiserver::storage::StorageUrl;
use keelson_client::duration::parse_go_duration;
use keelson_kubelet::KubeletConfig;

pub(crate) use cluster::run;

use crate::node_flags;

/// Most nodes `up` runs: each gets a distinct address in 127.1.0.0/16.
const MAX_NODES: u32 = 65_535;

/// Arguments of `keelson up`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Directory for the embedded store, the kubeconfig and local-path volumes (created if
    /// missing).
    #[arg(long, default_value = ".data")]
    data_dir: PathBuf,
    /// Address the API serves plain HTTP on (loopback only); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Storage backend URL: sqlite://PATH[?sync=full|normal] or etcd://HOST:PORT[,…].
    /// Default: the embedded store in --data-dir.
    #[arg(long)]
    storage: Option<String>,
    /// How many simulated nodes to run (`keelson-node-1` …).
    #[arg(long, default_value_t = 1)]
    nodes: u32,
    /// CPU capacity of each node, as a quantity.
    #[arg(long, default_value = "4")]
    node_cpu: String,
    /// Memory capacity of each node, as a quantity.
    #[arg(long, default_value = "32Gi")]
    node_memory: String,
    /// Pod capacity of each node.
    #[arg(long, default_value_t = 110)]
    node_pods: u32,
    /// How long a node may go without renewing its Lease before it is marked Unknown.
    #[arg(long, default_value = "40s", value_parser = go_duration)]
    node_monitor_grace_period: Duration,
    /// Seconds a pod tolerates its node being not ready, unless it says otherwise.
    #[arg(long, default_value_t = 300)]
    default_not_ready_toleration_seconds: i64,
    /// Seconds a pod tolerates its node being unreachable, unless it says otherwise.
    #[arg(long, default_value_t = 300)]
    default_unreachable_toleration_seconds: i64,
    /// Seconds each component's shutdown waits for work in flight.
    #[arg(long, default_value_t = 10)]
    shutdown_grace_seconds: u64,
}

fn go_duration(text: &str) -> Result<Duration, String> {
    parse_go_duration(text).ok_or_else(|| format!("{text:?} is not a duration like 40s or 1m30s"))
}

/// Everything `up` runs, checked.
#[derive(Debug)]
pub(crate) struct UpConfig {
    /// The API server.
    pub(crate) server: ServerConfig,
    /// The data dir, absolute.
    pub(crate) data_dir: PathBuf,
    /// One configuration per node.
    pub(crate) nodes: Vec<KubeletConfig>,
    /// For the node lifecycle controller.
    pub(crate) node_monitor_grace_period: Duration,
    /// How long each component drains.
    pub(crate) drain_timeout: Duration,
    /// The pod network node IPAM hands out: cluster CIDR and per-node mask.
    pub(crate) pod_network: (String, u8),
}

impl Args {
    /// The cluster's configuration, or a usage error.
    pub(crate) fn config(&self) -> anyhow::Result<UpConfig> {
        if !self.listen.ip().is_loopback() {
            anyhow::bail!(ServerError::NotLoopback(self.listen));
        }
        if self.nodes > MAX_NODES {
            anyhow::bail!("--nodes {}: at most {MAX_NODES} nodes", self.nodes);
        }
        if self.node_pods == 0 {
            anyhow::bail!("--node-pods 0: a node must be able to run at least one pod");
        }
        let cpu = node_flags::positive_quantity("--node-cpu", &self.node_cpu)?;
        let memory = node_flags::positive_quantity("--node-memory", &self.node_memory)?;
        let data_dir = std::path::absolute(&self.data_dir)
            .with_context(|| format!("--data-dir {}", self.data_dir.display()))?;
        let storage = match &self.storage {
            Some(url) => StorageUrl::parse(url).context("--storage")?,
            None => StorageUrl::default_for(&data_dir),
        };
        let drain_timeout = Duration::from_secs(self.shutdown_grace_seconds);
        let nodes = (1..=self.nodes)
            .map(|index| {
                let mut node = KubeletConfig::new(&node_name(index));
                node.node_ip = node_ip(index).to_string();
                node.cpu.clone_from(&cpu);
                node.memory.clone_from(&memory);
                node.pods = self.node_pods;
                node.drain_timeout = drain_timeout;
                node
            })
            .collect();
        Ok(UpConfig {
            server: ServerConfig {
                listen: self.listen,
                storage,
                api: ApiConfig {
                    default_not_ready_toleration_seconds: self.default_not_ready_toleration_seconds,
                    default_unreachable_toleration_seconds: self
                        .default_unreachable_toleration_seconds,
                    ..ApiConfig::default()
                },
                cache: CacheConfig::default(),
                drain_timeout,
            },
            data_dir,
            nodes,
            node_monitor_grace_period: self.node_monitor_grace_period,
            drain_timeout,
            pod_network: pod_network(self.nodes),
        })
    }
}

/// The cluster CIDR and per-node mask for `nodes` nodes: kind's 10.244.0.0/16 in /24s (256
/// nodes) when that is enough, else the smallest block at the top of 10/8 whose /24s go
/// round — 10.240.0.0/12 for up to 4,096 nodes, down to 10.128.0.0/9 — and past 32,768
/// nodes that /9 in /25s (128 addresses, room for 110 pods). None of these meets the
/// Service range, 10.96.0.0/12. A cluster too small for its nodes would leave most of them
/// without a range, each retried with a `CIDRNotAvailable` event.
fn pod_network(nodes: u32) -> (String, u8) {
    if nodes <= 256 {
        return ("10.244.0.0/16".to_owned(), 24);
    }
    let bits = nodes.next_power_of_two().trailing_zeros();
    if bits > 15 {
        return ("10.128.0.0/9".to_owned(), 25);
    }
    let prefix = 24 - bits;
    let second = 256 - (1u32 << (16 - prefix));
    (format!("10.{second}.0.0/{prefix}"), 24)
}

/// The name of node `index` (from 1).
pub(crate) fn node_name(index: u32) -> String {
    format!("keelson-node-{index}")
}

/// The address of node `index` (1 ..= 65535): 127.1.x.y, distinct for each index.
pub(crate) fn node_ip(index: u32) -> Ipv4Addr {
    let [_, _, x, y] = index.to_be_bytes();
    Ipv4Addr::new(127, 1, x, y)
}

/// A kubeconfig for `server` with one cluster and context named `keelson` and no user.
pub(crate) fn kubeconfig_yaml(server: &str) -> anyhow::Result<String> {
    use kube::config::{Cluster, Context, Kubeconfig, NamedCluster, NamedContext};
    let config = Kubeconfig {
        api_version: Some("v1".to_owned()),
        kind: Some("Config".to_owned()),
        clusters: vec![NamedCluster {
            name: "keelson".to_owned(),
            cluster: Some(Cluster {
                server: Some(server.to_owned()),
                ..Cluster::default()
            }),
            ..NamedCluster::default()
        }],
        contexts: vec![NamedContext {
            name: "keelson".to_owned(),
            context: Some(Context {
                cluster: "keelson".to_owned(),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some("keelson".to_owned()),
        ..Kubeconfig::default()
    };
    serde_saphyr::to_string(&config).context("writing the kubeconfig as YAML")
}

/// Writes the kubeconfig at `path` atomically (a temporary file in the same directory,
/// renamed over it), so a reader never sees half a file.
pub(crate) fn write_kubeconfig(path: &Path, server: &str) -> anyhow::Result<()> {
    let yaml = kubeconfig_yaml(server)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    std::io::Write::write_all(&mut file, yaml.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("writing {}", file.path().display()))?;
    file.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nodes_get_distinct_names_and_loopback_addresses() {
        for (index, name, ip) in [
            (1, "keelson-node-1", "127.1.0.1"),
            (2, "keelson-node-2", "127.1.0.2"),
            (255, "keelson-node-255", "127.1.0.255"),
            (256, "keelson-node-256", "127.1.1.0"),
            (65_535, "keelson-node-65535", "127.1.255.255"),
        ] {
            assert_eq!(node_name(index), name);
            assert_eq!(node_ip(index).to_string(), ip);
            assert!(node_ip(index).is_loopback());
        }
        let ips: std::collections::BTreeSet<_> = (1..=MAX_NODES).map(node_ip).collect();
        assert_eq!(ips.len(), MAX_NODES as usize);
    }

    #[tokio::test]
    async fn the_kubeconfig_reads_back_as_the_server_and_context_keelson() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, "stale").unwrap();
        write_kubeconfig(&path, "http://127.0.0.1:4321").unwrap();
        let back = kube::config::Kubeconfig::read_from(&path).unwrap();
        assert_eq!(back.current_context.as_deref(), Some("keelson"));
        assert_eq!(back.clusters[0].name, "keelson");
        let cluster = back.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("http://127.0.0.1:4321"));
        let options = kube::config::KubeConfigOptions::default();
        let config = kube::Config::from_custom_kubeconfig(back, &options)
            .await
            .unwrap();
        assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:4321/");
        // Only the kubeconfig is left: the temporary file was renamed over it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_pod_network_gives_every_node_a_range() {
        let blocks = |(cidr, mask): (String, u8)| {
            let prefix: u32 = cidr.rsplit_once('/').unwrap().1.parse().unwrap();
            1u64 << (u32::from(mask) - prefix)
        };
        assert_eq!(pod_network(1), ("10.244.0.0/16".to_owned(), 24));
        assert_eq!(pod_network(256), ("10.244.0.0/16".to_owned(), 24));
        assert_eq!(pod_network(257), ("10.254.0.0/15".to_owned(), 24));
        assert_eq!(pod_network(5_000), ("10.224.0.0/11".to_owned(), 24));
        assert_eq!(pod_network(32_768), ("10.128.0.0/9".to_owned(), 24));
        assert_eq!(pod_network(MAX_NODES), ("10.128.0.0/9".to_owned(), 25));
        for nodes in [
            1, 255, 256, 257, 1_000, 4_096, 4_097, 30_000, 32_769, MAX_NODES,
        ] {
            assert!(
                blocks(pod_network(nodes)) >= u64::from(nodes),
                "{nodes} nodes"
            );
        }
    }

    fn parse(args: &[&str]) -> Result<UpConfig, String> {
        use clap::Parser as _;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            up: Args,
        }
        let cli = Cli::try_parse_from(std::iter::once("up").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.up.config().map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn config_builds_one_kubelet_per_node_and_rejects_bad_flags() {
        let config = parse(&["--nodes", "3", "--node-cpu", "8", "--data-dir", "d"]).unwrap();
        assert!(config.data_dir.is_absolute() && config.data_dir.ends_with("d"));
        let names: Vec<_> = config.nodes.iter().map(|n| n.node_name.as_str()).collect();
        assert_eq!(
            names,
            ["keelson-node-1", "keelson-node-2", "keelson-node-3"]
        );
        assert_eq!(config.nodes[2].node_ip, "127.1.0.3");
        assert_eq!(config.nodes[0].cpu, "8");
        assert_eq!(config.nodes[0].memory, "32Gi");
        assert!(parse(&["--nodes", "0"]).unwrap().nodes.is_empty());
        for (args, says) in [
            (
                &["--listen", "0.0.0.0:1"][..],
                "refusing to serve plain HTTP",
            ),
            (&["--node-memory", "much"], "--node-memory"),
            (&["--node-cpu", "0"], "greater than zero"),
            (&["--nodes", "70000"], "at most 65535"),
            (&["--node-pods", "0"], "--node-pods"),
            (&["--storage", "bogus://x"], "--storage"),
            (&["--node-monitor-grace-period", "soon"], "not a duration"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(err.contains(says), "{args:?}: {err}");
        }
    }
}

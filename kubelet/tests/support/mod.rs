//! An in-process apiserver per test, a kubelet configuration with short intervals, and
//! waiting for what the kubelet does.
#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::time::Duration;

use keelson_apiserver::api::ApiConfig;
use keelson_apiserver::cache::CacheConfig;
use keelson_apiserver::server::{self, RunningServer, ServerConfig};
use keelson_apiserver::storage::StorageUrl;
use keelson_kubelet::KubeletConfig;

/// Generous bound for anything the tests wait for.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// An apiserver on a random local port, with its storage in a temporary directory.
pub(crate) struct Cluster {
    pub(crate) server: RunningServer,
    pub(crate) client: kube::Client,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            storage: StorageUrl::default_for(dir.path()),
            api: ApiConfig::default(),
            cache: CacheConfig::default(),
            drain_timeout: Duration::from_secs(2),
        };
        let server = server::start(config).await.unwrap();
        let client =
            kube::Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
        Self {
            server,
            client,
            _dir: dir,
        }
    }
}

/// A kubelet configuration for node `name` with intervals short enough for tests: Lease
/// renewed every 200 ms, status computed every 100 ms, reported unchanged only hourly,
/// sync errors retried after 200 ms.
pub(crate) fn fast_config(name: &str) -> KubeletConfig {
    let mut config = KubeletConfig::new(name);
    config.lease_renew_interval = Duration::from_millis(200);
    config.node_status_update_frequency = Duration::from_millis(100);
    config.node_status_report_frequency = Duration::from_secs(3600);
    config.housekeeping_interval = Duration::from_millis(200);
    config.sync_error_backoff = Duration::from_millis(200);
    config
}

/// Polls `check` every 50 ms until it returns `Some`, failing after [`WAIT`] with `what`.
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

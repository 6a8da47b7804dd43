//! An in-process apiserver per test, the controller manager against it, and helpers to
//! wait for what the controllers do.
#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::time::Duration;

use keelson_apiserver::api::ApiConfig;
use keelson_apiserver::cache::CacheConfig;
use keelson_apiserver::server::{self, RunningServer, ServerConfig};
use keelson_apiserver::storage::StorageUrl;
use keelson_controllers::Settings;
use tokio::sync::watch;

/// Generous bound for anything the tests wait for.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

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

    /// Settings running only `names` (upstream names or aliases), to adjust before
    /// [`Self::run`].
    pub(crate) fn settings(&self, names: &[&str]) -> Settings {
        Settings::new("test-manager".to_owned())
            .only(names)
            .unwrap()
    }

    /// Starts the controller manager with `settings`; it stops when the handle drops.
    pub(crate) fn run(&self, settings: Settings) -> Manager {
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(keelson_controllers::run(self.client.clone(), settings, rx));
        Manager {
            stop,
            task: Some(task),
        }
    }

    /// Starts only the controllers `names` with default settings.
    pub(crate) fn controllers(&self, names: &[&str]) -> Manager {
        self.run(self.settings(names))
    }
}

/// A running controller manager.
pub(crate) struct Manager {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<Result<(), keelson_controllers::ManagerError>>>,
}

impl Manager {
    /// Stops and drains, failing the test if the manager failed.
    pub(crate) async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
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

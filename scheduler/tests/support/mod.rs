//! An in-process apiserver per test, scheduler daemons against it, and object builders.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use keelson_apiserver::api::ApiConfig;
use keelson_apiserver::cache::CacheConfig;
use keelson_apiserver::server::{self, RunningServer, ServerConfig};
use keelson_apiserver::storage::StorageUrl;
use keelson_scheduler::config::SchedulerConfig;
use keelson_scheduler::daemon::{self, DaemonConfig, DaemonError};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
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

    /// Creates a node with the given allocatable cpu and optional NoSchedule taint.
    pub(crate) async fn node(&self, name: &str, cpu: &str, taint: Option<&str>) {
        let api: Api<Node> = Api::all(self.client.clone());
        let taints = taint.map(|k| json!([{ "key": k, "value": "x", "effect": "NoSchedule" }]));
        let node: Node = serde_json::from_value(json!({
            "metadata": { "name": name, "labels": { "kubernetes.io/hostname": name } },
            "spec": { "taints": taints },
        }))
        .unwrap();
        api.create(&PostParams::default(), &node).await.unwrap();
        let resources = json!({ "cpu": cpu, "memory": "32Gi", "pods": "110" });
        let status = json!({ "status": {
            "capacity": resources, "allocatable": resources,
            "conditions": [{ "type": "Ready", "status": "True" }],
        }});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
            .await
            .unwrap();
    }

    /// Creates a pending pod in `default` requesting `cpu`.
    pub(crate) async fn pod(&self, name: &str, cpu: &str) {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": { "name": name, "namespace": "default" },
            "spec": { "containers": [{
                "name": "c", "image": "busybox",
                "resources": { "requests": { "cpu": cpu } },
            }]},
        }))
        .unwrap();
        self.pods()
            .create(&PostParams::default(), &pod)
            .await
            .unwrap();
    }

    pub(crate) fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// Polls `check` until it yields a value (or panics after [`WAIT`]).
    pub(crate) async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let poll = async {
            loop {
                if let Some(v) = check().await {
                    return v;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(WAIT, poll)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Waits until the pod is bound; its node.
    pub(crate) async fn bound(&self, name: &str) -> String {
        let pods = self.pods();
        self.until(&format!("{name} bound"), || {
            let pods = pods.clone();
            async move {
                let p = pods.get(name).await.ok()?;
                p.spec?.node_name
            }
        })
        .await
    }
}

/// A running scheduler daemon.
pub(crate) struct Scheduler {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), DaemonError>>,
}

impl Scheduler {
    pub(crate) fn start(cluster: &Cluster, identity: &str, leader_elect: bool) -> Self {
        let mut scheduler = SchedulerConfig::default();
        scheduler.leader_election.leader_elect = leader_elect;
        let config = DaemonConfig {
            scheduler,
            identity: identity.to_owned(),
            drain_timeout: Duration::from_secs(5),
        };
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(daemon::run(cluster.client.clone(), config, rx));
        Self { stop, task }
    }

    pub(crate) async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.unwrap().unwrap();
    }
}

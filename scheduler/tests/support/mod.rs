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

// ---- Builders from `json!` specs, for the plugin-by-plugin tests ----

/// Allocatable of the nodes made by [`Cluster::labeled_node`].
pub(crate) fn default_allocatable() -> serde_json::Value {
    json!({ "cpu": "4", "memory": "32Gi", "pods": "110" })
}

impl Cluster {
    /// Creates a Ready node with `labels` (plus `kubernetes.io/hostname`), `taints` (a
    /// JSON array or null) and `allocatable` (also its capacity).
    pub(crate) async fn node_from(
        &self,
        name: &str,
        labels: serde_json::Value,
        taints: serde_json::Value,
        allocatable: serde_json::Value,
    ) {
        let mut labels = labels.as_object().cloned().unwrap_or_default();
        labels.insert("kubernetes.io/hostname".into(), json!(name));
        let node: Node = serde_json::from_value(json!({
            "metadata": { "name": name, "labels": labels },
            "spec": { "taints": taints },
        }))
        .unwrap();
        let api: Api<Node> = Api::all(self.client.clone());
        api.create(&PostParams::default(), &node).await.unwrap();
        let status = json!({ "status": {
            "capacity": allocatable, "allocatable": allocatable,
            "conditions": [{ "type": "Ready", "status": "True" }],
        }});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
            .await
            .unwrap();
    }

    /// A node of [`default_allocatable`] with labels and no taints.
    pub(crate) async fn labeled_node(&self, name: &str, labels: serde_json::Value) {
        self.node_from(name, labels, json!(null), default_allocatable())
            .await;
    }

    /// A namespace with labels.
    pub(crate) async fn namespace(&self, name: &str, labels: serde_json::Value) {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        let ns = serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}));
        api.create(&PostParams::default(), &ns.unwrap())
            .await
            .unwrap();
    }

    /// Creates pod `name` in `namespace` with `labels` and `spec`; a spec without
    /// containers gets one `busybox` container requesting 100m cpu.
    pub(crate) async fn pod_in(
        &self,
        namespace: &str,
        name: &str,
        labels: serde_json::Value,
        spec: serde_json::Value,
    ) {
        let mut spec = spec.as_object().cloned().unwrap_or_default();
        spec.entry("containers").or_insert_with(|| {
            json!([{ "name": "c", "image": "busybox",
                     "resources": { "requests": { "cpu": "100m" } } }])
        });
        let pod: Pod = serde_json::from_value(json!({
            "metadata": { "name": name, "namespace": namespace, "labels": labels },
            "spec": spec,
        }))
        .unwrap();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        api.create(&PostParams::default(), &pod).await.unwrap();
    }

    /// [`Cluster::pod_in`] in `default`.
    pub(crate) async fn pod_with(
        &self,
        name: &str,
        labels: serde_json::Value,
        spec: serde_json::Value,
    ) {
        self.pod_in("default", name, labels, spec).await;
    }

    /// Waits until pod `namespace/name` is bound; its node.
    pub(crate) async fn bound_in(&self, namespace: &str, name: &str) -> String {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        self.until(&format!("{namespace}/{name} bound"), || {
            let pods = pods.clone();
            async move { pods.get(name).await.ok()?.spec?.node_name }
        })
        .await
    }

    /// Waits for the first FailedScheduling event about pod `default/name`; its note.
    pub(crate) async fn failed_scheduling(&self, name: &str) -> String {
        self.failed_scheduling_notes(name, |_| true).await
    }

    /// Waits for a FailedScheduling event about pod `default/name` whose note passes
    /// `accept`; that note.
    pub(crate) async fn failed_scheduling_notes(
        &self,
        name: &str,
        accept: impl Fn(&str) -> bool,
    ) -> String {
        let events: Api<k8s_openapi::api::events::v1::Event> =
            Api::namespaced(self.client.clone(), "default");
        let accept = &accept;
        self.until(&format!("FailedScheduling of {name}"), || {
            let events = events.clone();
            async move {
                let list = events.list(&Default::default()).await.ok()?;
                list.items.into_iter().find_map(|e| {
                    let about = e.regarding.as_ref()?.name.as_deref()? == name;
                    let failed = e.reason.as_deref() == Some("FailedScheduling");
                    let note = e.note?;
                    (about && failed && accept(&note)).then_some(note)
                })
            }
        })
        .await
    }

    /// Whether any FailedScheduling event names pod `default/name` (no waiting).
    pub(crate) async fn has_failed_scheduling(&self, name: &str) -> bool {
        let events: Api<k8s_openapi::api::events::v1::Event> =
            Api::namespaced(self.client.clone(), "default");
        let list = events.list(&Default::default()).await.unwrap();
        list.items.iter().any(|e| {
            e.reason.as_deref() == Some("FailedScheduling")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
        })
    }

    /// The node of pod `default/name` right now, if bound.
    pub(crate) async fn node_of(&self, name: &str) -> Option<String> {
        self.pods().get(name).await.unwrap().spec?.node_name
    }

    /// Merge-patches node `name` (labels, taints, …).
    pub(crate) async fn patch_node(&self, name: &str, patch: serde_json::Value) {
        let api: Api<Node> = Api::all(self.client.clone());
        api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }
}

impl Scheduler {
    /// A scheduler without leader election running `config` with every node scored
    /// (`percentageOfNodesToScore: 100`, for deterministic placements).
    pub(crate) fn start_with(cluster: &Cluster, mut config: SchedulerConfig) -> Self {
        config.percentage_of_nodes_to_score = 100;
        config.leader_election.leader_elect = false;
        let config = DaemonConfig {
            scheduler: config,
            identity: "s1".to_owned(),
            drain_timeout: Duration::from_secs(5),
        };
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(daemon::run(cluster.client.clone(), config, rx));
        Self { stop, task }
    }

    /// [`Scheduler::start_with`] the default configuration.
    pub(crate) fn scoring_all(cluster: &Cluster) -> Self {
        Self::start_with(cluster, SchedulerConfig::default())
    }
}

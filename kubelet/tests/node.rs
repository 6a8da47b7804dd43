//! The node agent against an in-process apiserver: registration, the Lease, restarts,
//! status posts, and the power switch of simulated nodes.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use keelson_kubelet::KubeletConfig;
use keelson_kubelet::node::{self, NodeHandle};
use keelson_kubelet::runtime::*;
use kube::Api;
use kube::api::{Patch, PatchParams};
use parking_lot::Mutex;
use serde_json::json;
use support::{Cluster, eventually, fast_config};
use tokio::sync::watch;

/// A runtime with a name and a list of images, and nothing else.
#[derive(Debug)]
struct FakeRuntime {
    name: &'static str,
    images: Mutex<Vec<ImageInfo>>,
}

impl FakeRuntime {
    fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Self {
            name,
            images: Mutex::new(Vec::new()),
        })
    }
}

fn unavailable<T>() -> Result<T, RuntimeError> {
    Err(RuntimeError::Unavailable("fake".to_owned()))
}

#[async_trait::async_trait]
impl Runtime for FakeRuntime {
    async fn version(&self) -> Result<RuntimeVersion, RuntimeError> {
        Ok(RuntimeVersion {
            runtime_name: self.name.to_owned(),
            runtime_version: "1.0".to_owned(),
        })
    }
    async fn run_pod_sandbox(&self, _: &SandboxConfig) -> Result<String, RuntimeError> {
        unavailable()
    }
    async fn stop_pod_sandbox(&self, _: &str) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn remove_pod_sandbox(&self, _: &str) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn pod_sandbox_status(&self, _: &str) -> Result<SandboxStatus, RuntimeError> {
        unavailable()
    }
    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError> {
        Ok(Vec::new())
    }
    async fn pull_image(&self, _: &str, _: &SandboxConfig) -> Result<String, RuntimeError> {
        unavailable()
    }
    async fn image_status(&self, _: &str) -> Result<Option<ImageInfo>, RuntimeError> {
        Ok(None)
    }
    async fn list_images(&self) -> Result<Vec<ImageInfo>, RuntimeError> {
        Ok(self.images.lock().clone())
    }
    async fn create_container(
        &self,
        _: &str,
        _: &ContainerConfig,
        _: &SandboxConfig,
    ) -> Result<String, RuntimeError> {
        unavailable()
    }
    async fn start_container(&self, _: &str) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn stop_container(&self, _: &str, _: Duration) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn remove_container(&self, _: &str) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn container_status(&self, _: &str) -> Result<ContainerStatus, RuntimeError> {
        unavailable()
    }
    async fn list_containers(&self, _: Option<&str>) -> Result<Vec<ContainerStatus>, RuntimeError> {
        Ok(Vec::new())
    }
    async fn container_events(&self) -> Result<BoxStream<'static, ContainerEvent>, RuntimeError> {
        Ok(Box::pin(futures::stream::pending()))
    }
    async fn exec_sync(
        &self,
        _: &str,
        _: &[String],
        _: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        unavailable()
    }
}

/// A running node agent and the switch that stops it.
struct Agent {
    handle: NodeHandle,
    stop: watch::Sender<bool>,
}

impl Agent {
    async fn start(cluster: &Cluster, config: KubeletConfig, runtime: Arc<FakeRuntime>) -> Self {
        let (stop, rx) = watch::channel(false);
        let handle = node::start(cluster.client.clone(), Arc::new(config), runtime, rx)
            .await
            .unwrap();
        Self { handle, stop }
    }

    async fn stop(self) {
        self.stop.send_replace(true);
        self.handle.finished().await.unwrap();
    }
}

async fn renew_time(leases: &Api<Lease>, name: &str) -> Option<MicroTime> {
    leases.get_opt(name).await.unwrap()?.spec?.renew_time
}

/// Waits until the Lease was renewed after `after` and returns the new time.
async fn renewed_after(leases: &Api<Lease>, name: &str, after: Option<MicroTime>) -> MicroTime {
    eventually("a lease renewal", || async {
        renew_time(leases, name)
            .await
            .filter(|t| Some(t) > after.as_ref())
    })
    .await
}

fn label<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

#[tokio::test]
async fn registers_a_ready_node_and_keeps_its_lease() {
    let cluster = Cluster::start().await;
    let mut config = fast_config("n1");
    config.labels.insert("tier".to_owned(), "edge".to_owned());
    let agent = Agent::start(&cluster, config, FakeRuntime::new("fake")).await;

    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let node = nodes.get("n1").await.unwrap();
    let events: Api<k8s_openapi::api::core::v1::Event> =
        Api::namespaced(cluster.client.clone(), "default");
    let reasons = eventually("the kubelet's node events", || async {
        let list = events
            .list(&kube::api::ListParams::default().fields("involvedObject.name=n1"))
            .await
            .unwrap();
        let reasons: Vec<String> = list.items.into_iter().filter_map(|e| e.reason).collect();
        (reasons.len() >= 6).then_some(reasons)
    })
    .await;
    for reason in [
        "Starting",
        "NodeAllocatableEnforced",
        "NodeReady",
        "NodeHasSufficientMemory",
        "NodeHasNoDiskPressure",
        "NodeHasSufficientPID",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    for (key, value) in [
        ("kubernetes.io/hostname", "n1"),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", arch),
        ("beta.kubernetes.io/arch", arch),
        ("tier", "edge"),
    ] {
        assert_eq!(label(&node, key), Some(value), "label {key}");
    }
    let status = node.status.as_ref().unwrap();
    assert_eq!(status.capacity.as_ref().unwrap()["cpu"].0, "4");
    assert_eq!(status.allocatable.as_ref().unwrap()["pods"].0, "110");
    let ready = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_deref()),
        ("True", Some("KubeletReady"))
    );
    let info = status.node_info.as_ref().unwrap();
    assert_eq!(info.container_runtime_version, "fake://1.0");
    assert!(
        info.kubelet_version.starts_with("v1.33.0"),
        "{}",
        info.kubelet_version
    );
    assert_eq!(info.architecture, arch);
    assert_eq!(status.addresses.as_ref().unwrap()[0].address, "127.0.0.1");
    assert_eq!(
        agent.handle.view().borrow().node.metadata.name.as_deref(),
        Some("n1")
    );
    assert!(agent.handle.view().borrow().powered);

    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "kube-node-lease");
    let first = renewed_after(&leases, "n1", None).await;
    let lease = leases.get("n1").await.unwrap();
    let owner = &lease.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("Node", "n1"));
    assert_eq!(Some(&owner.uid), node.metadata.uid.as_ref());
    assert_eq!(
        lease.spec.as_ref().unwrap().holder_identity.as_deref(),
        Some("n1")
    );
    renewed_after(&leases, "n1", Some(first)).await;
    agent.stop().await;
}

#[tokio::test]
async fn restart_keeps_user_labels_and_taints_and_restores_its_own() {
    let cluster = Cluster::start().await;
    let agent = Agent::start(&cluster, fast_config("n1"), FakeRuntime::new("fake")).await;
    agent.stop().await;

    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let patch = json!({
        "metadata": {"labels": {"user": "x", "kubernetes.io/hostname": "wrong"}},
        "spec": {"taints": [{"key": "maintenance", "effect": "NoSchedule"}]},
    });
    nodes
        .patch("n1", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();

    let agent = Agent::start(&cluster, fast_config("n1"), FakeRuntime::new("fake")).await;
    let node = nodes.get("n1").await.unwrap();
    assert_eq!(label(&node, "user"), Some("x"));
    assert_eq!(label(&node, "kubernetes.io/hostname"), Some("n1"));
    let taints = node.spec.as_ref().and_then(|s| s.taints.as_ref()).unwrap();
    assert_eq!(taints[0].key, "maintenance");
    // The view follows the Node as it changes.
    let mut view = agent.handle.view();
    nodes
        .patch(
            "n1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"later": "y"}}})),
        )
        .await
        .unwrap();
    view.wait_for(|v| label(&v.node, "later") == Some("y"))
        .await
        .unwrap();
    agent.stop().await;
}

#[tokio::test]
async fn posts_status_when_it_changes_and_not_otherwise() {
    let cluster = Cluster::start().await;
    let runtime = FakeRuntime::new("fake");
    let agent = Agent::start(&cluster, fast_config("n1"), runtime.clone()).await;
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "kube-node-lease");

    // Let the first post and a few status ticks pass (each renewal is two ticks).
    let mut renewed = None;
    for _ in 0..3 {
        renewed = Some(renewed_after(&leases, "n1", renewed).await);
    }
    let version = nodes.get("n1").await.unwrap().metadata.resource_version;
    for _ in 0..3 {
        renewed = Some(renewed_after(&leases, "n1", renewed).await);
    }
    assert_eq!(
        nodes.get("n1").await.unwrap().metadata.resource_version,
        version,
        "heartbeat-only changes are not posted"
    );

    runtime.images.lock().push(ImageInfo {
        id: "sha256:abc".to_owned(),
        repo_tags: vec!["registry.k8s.io/pause:3.10".to_owned()],
        repo_digests: Vec::new(),
        size: 700_000,
    });
    let images = eventually("the new image in the node status", || async {
        let node = nodes.get("n1").await.unwrap();
        node.status?.images.filter(|i| !i.is_empty())
    })
    .await;
    assert_eq!(
        images[0].names.as_deref().unwrap(),
        ["registry.k8s.io/pause:3.10"]
    );
    agent.stop().await;
}

#[tokio::test]
async fn power_switch_silences_and_revives_a_simulated_node() {
    let cluster = Cluster::start().await;
    let agent = Agent::start(&cluster, fast_config("n1"), FakeRuntime::new("simulated")).await;
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "kube-node-lease");
    renewed_after(&leases, "n1", None).await;

    let mut view = agent.handle.view();
    let off = json!({"metadata": {"annotations": {"sim.keelson.io/stopped": "true"}}});
    nodes
        .patch("n1", &PatchParams::default(), &Patch::Merge(off))
        .await
        .unwrap();
    view.wait_for(|v| !v.powered).await.unwrap();
    let silent_lease = renew_time(&leases, "n1").await;
    let silent_node = nodes.get("n1").await.unwrap().metadata.resource_version;
    // Five renewal intervals pass without a renewal or a status post.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(renew_time(&leases, "n1").await, silent_lease);
    assert_eq!(
        nodes.get("n1").await.unwrap().metadata.resource_version,
        silent_node
    );

    let on = json!({"metadata": {"annotations": {"sim.keelson.io/stopped": null}}});
    let switched = nodes
        .patch("n1", &PatchParams::default(), &Patch::Merge(on))
        .await
        .unwrap();
    view.wait_for(|v| v.powered).await.unwrap();
    renewed_after(&leases, "n1", silent_lease).await;
    eventually("a status post after switching on", || async {
        let node = nodes.get("n1").await.unwrap();
        (node.metadata.resource_version != switched.metadata.resource_version).then_some(())
    })
    .await;
    agent.stop().await;
}

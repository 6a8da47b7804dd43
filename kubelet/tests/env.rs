//! Container environments against an in-process apiserver and the simulated runtime: what
//! the kubelet resolves reaches the runtime, and a missing ConfigMap holds the container in
//! `CreateContainerConfigError` until it exists.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, ContainerStatus, Event, Pod, Secret, Service};
use keelson_kubelet::runtime::Runtime;
use keelson_kubelet::runtime::simulated::Simulated;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use support::{Cluster, eventually, fast_config};
use tokio::sync::watch;

struct Node {
    runtime: Arc<Simulated>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Node {
    fn start(cluster: &Cluster, name: &str) -> Self {
        let runtime = Arc::new(Simulated::new(name));
        let (stop, stop_rx) = watch::channel(false);
        let dyn_runtime: Arc<dyn Runtime> = runtime.clone();
        let client = cluster.client.clone();
        let config = fast_config(name);
        let task = tokio::spawn(async move {
            keelson_kubelet::run(client, config, dyn_runtime, stop_rx)
                .await
                .unwrap();
        });
        Self {
            runtime,
            stop,
            task,
        }
    }

    async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.unwrap();
    }

    /// The environment the runtime got for the container a status names.
    fn env_of(&self, status: &ContainerStatus) -> BTreeMap<String, String> {
        let id = status.container_id.as_deref().unwrap();
        let id = id.strip_prefix("simulated://").unwrap();
        self.runtime
            .container_env(id)
            .unwrap()
            .into_iter()
            .collect()
    }
}

fn pod(name: &str, container: serde_json::Value) -> Pod {
    let mut container = container;
    container["name"] = json!("app");
    container["image"] = json!("busybox:1.36");
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "n1", "containers": [container]},
    }))
    .unwrap()
}

fn app_status(pod: &Pod) -> Option<ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == "app")
        .cloned()
}

fn running(pod: &Pod) -> Option<ContainerStatus> {
    app_status(pod).filter(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
}

async fn wait_for<T>(
    pods: &Api<Pod>,
    name: &str,
    what: &str,
    check: impl Fn(&Pod) -> Option<T>,
) -> T {
    eventually(what, || async {
        pods.get_opt(name).await.unwrap().as_ref().and_then(&check)
    })
    .await
}

async fn config_map(cluster: &Cluster, name: &str, data: &[(&str, &str)]) {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    let data = data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let cm = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    };
    api.create(&PostParams::default(), &cm).await.unwrap();
}

#[tokio::test]
async fn config_map_secret_and_downward_values_reach_the_container() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1");
    config_map(
        &cluster,
        "settings",
        &[("LOG_LEVEL", "debug"), ("mode", "fast")],
    )
    .await;
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), "default");
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("creds".to_owned()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "password".to_owned(),
            ByteString(b"s3cret".to_vec()),
        )])),
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let spec = json!({
        "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "settings"}}],
        "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "GREETING", "value": "$(CFG_mode)-$(POD_NAME)-$(LATER)"},
            {"name": "LATER", "value": "later"},
            {"name": "CFG_LOG_LEVEL", "value": "info"},
        ],
    });
    pods.create(&PostParams::default(), &pod("env", spec))
        .await
        .unwrap();
    let (pod, app) = wait_for(&pods, "env", "a running container", |p| {
        running(p).map(|c| (p.clone(), c))
    })
    .await;
    let env = node.env_of(&app);
    let pod_ip = pod.status.unwrap().pod_ip.unwrap();
    let kubernetes: Api<Service> = Api::namespaced(cluster.client.clone(), "default");
    let master_ip = kubernetes
        .get("kubernetes")
        .await
        .unwrap()
        .spec
        .unwrap()
        .cluster_ip
        .unwrap();
    let expected = [
        ("CFG_LOG_LEVEL", "info"),
        ("CFG_mode", "fast"),
        ("PASSWORD", "s3cret"),
        ("POD_NAME", "env"),
        ("POD_IP", pod_ip.as_str()),
        ("NODE", "n1"),
        // No limit: the node's allocatable memory (32Gi by default).
        ("MEM_MI", "32768"),
        ("GREETING", "fast-env-$(LATER)"),
        ("LATER", "later"),
        ("KUBERNETES_SERVICE_HOST", master_ip.as_str()),
        ("KUBERNETES_SERVICE_PORT", "443"),
    ];
    for (name, value) in expected {
        assert_eq!(
            env.get(name).map(String::as_str),
            Some(value),
            "{name} in {env:?}"
        );
    }
    node.stop().await;
}

#[tokio::test]
async fn a_missing_config_map_holds_the_container_until_it_exists() {
    let cluster = Cluster::start().await;
    let node = Node::start(&cluster, "n1");
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let spec = json!({"env": [
        {"name": "FLAVOUR", "valueFrom": {"configMapKeyRef": {"name": "late", "key": "flavour"}}},
    ]});
    pods.create(&PostParams::default(), &pod("held", spec))
        .await
        .unwrap();
    let waiting = wait_for(&pods, "held", "CreateContainerConfigError", |p| {
        let waiting = app_status(p)?.state?.waiting?;
        (waiting.reason.as_deref() == Some("CreateContainerConfigError")).then_some(waiting)
    })
    .await;
    assert_eq!(
        waiting.message.as_deref(),
        Some("configmap \"late\" not found")
    );
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    eventually("the Failed event", || async {
        let list = events
            .list(&ListParams::default().fields("involvedObject.name=held"))
            .await
            .unwrap();
        list.items
            .into_iter()
            .find(|e| {
                e.reason.as_deref() == Some("Failed")
                    && e.message.as_deref() == Some("Error: configmap \"late\" not found")
            })
            .map(|e| assert_eq!(e.type_.as_deref(), Some("Warning")))
    })
    .await;
    config_map(&cluster, "late", &[("flavour", "mint")]).await;
    let app = wait_for(&pods, "held", "the container running", running).await;
    assert_eq!(
        node.env_of(&app).get("FLAVOUR").map(String::as_str),
        Some("mint")
    );
    node.stop().await;
}

//! Builders shared by the Endpoints and EndpointSlice tests: nodes, Services, pods with a
//! node (the tests play the scheduler) and pod status with an IP and readiness (the tests
//! play the kubelet).
#![allow(dead_code, clippy::unwrap_used)]

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

pub(crate) const NS: &str = "default";

pub(crate) async fn node(client: &kube::Client, name: &str, zone: &str) {
    let api: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &node).await.unwrap();
}

/// A Service `name` with `spec` (merged over a selector-less default).
pub(crate) async fn service(client: &kube::Client, name: &str, spec: Value) -> Service {
    let api: Api<Service> = Api::namespaced(client.clone(), NS);
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"team": "blue"}},
        "spec": spec,
    }))
    .unwrap();
    api.create(&PostParams::default(), &svc).await.unwrap()
}

/// A pod `name` labelled `app`, on `node`, whose one container has `ports`.
pub(crate) async fn pod(
    client: &kube::Client,
    name: &str,
    app: &str,
    node: &str,
    ports: Value,
) -> Pod {
    pod_with(client, name, app, node, ports, json!({})).await
}

/// As [`pod`], with `extra` merged into the spec.
pub(crate) async fn pod_with(
    client: &kube::Client,
    name: &str,
    app: &str,
    node: &str,
    ports: Value,
    extra: Value,
) -> Pod {
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let mut spec = json!({
        "nodeName": node,
        "containers": [{"name": "c", "image": "nginx", "ports": ports}],
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": spec,
    }))
    .unwrap();
    api.create(&PostParams::default(), &pod).await.unwrap()
}

/// Plays the kubelet: the pod runs with `ip`, Ready or not.
pub(crate) async fn run(client: &kube::Client, name: &str, ip: &str, ready: bool) {
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let status = if ready { "True" } else { "False" };
    let patch = json!({"status": {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": status,
                        "lastTransitionTime": jiff::Timestamp::now().to_string()}],
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// Marks the pod ready or not.
pub(crate) async fn set_ready(client: &kube::Client, name: &str, ready: bool) {
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let status = if ready { "True" } else { "False" };
    let patch = json!({"status": {"conditions": [{"type": "Ready", "status": status,
        "lastTransitionTime": jiff::Timestamp::now().to_string()}]}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// Starts deleting a pod that a finalizer keeps (so it stays terminating).
pub(crate) async fn terminate(client: &kube::Client, name: &str) {
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let patch = json!({"metadata": {"finalizers": ["test.keelson.io/keep"]}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    api.delete(name, &Default::default()).await.unwrap();
}

/// Deletes a pod at once.
pub(crate) async fn delete_pod(client: &kube::Client, name: &str) {
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    api.delete(name, &kube::api::DeleteParams::default().grace_period(0))
        .await
        .unwrap();
}

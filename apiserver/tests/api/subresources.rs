//! Scale, binding, eviction, Tables, discovery and OpenAPI.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, EvictParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::TestServer;

async fn deployment(t: &TestServer) -> Api<Deployment> {
    let api: Api<Deployment> = Api::namespaced(t.client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]},
            "template": {"metadata": {"labels": {"app": "web", "tier": "a"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        }
    }))
    .unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    api
}

#[tokio::test]
async fn scale_reads_and_writes_replicas() {
    let t = TestServer::start().await;
    let api = deployment(&t).await;
    let scale = api.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    assert_eq!(
        scale.status.unwrap().selector.as_deref(),
        Some("app=web,tier in (a,b)")
    );
    let out = api
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(out.spec.unwrap().replicas, Some(5));
    let d = api.get("web").await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(5));
    assert_eq!(d.metadata.generation, Some(2));
}

#[tokio::test]
async fn binding_assigns_once_and_eviction_deletes() {
    let t = TestServer::start().await;
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})).unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let path = "/api/v1/namespaces/default/pods/p/binding";
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}});
    let (s, v) = t
        .send_json("POST", path, "application/json", &binding)
        .await;
    assert_eq!(s, 201, "{v}");
    let bound = pods.get("p").await.unwrap();
    assert_eq!(bound.spec.unwrap().node_name.as_deref(), Some("n1"));
    let conds = bound.status.unwrap().conditions.unwrap();
    assert!(
        conds
            .iter()
            .any(|c| c.type_ == "PodScheduled" && c.status == "True")
    );
    let (s, v) = t
        .send_json("POST", path, "application/json", &binding)
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("already assigned to node \"n1\"")
    );
    // An eviction deletes with the pod's own grace: a bound pod then waits for its kubelet.
    pods.evict("p", &EvictParams::default()).await.unwrap();
    let evicted = pods.get("p").await.unwrap();
    assert_eq!(evicted.metadata.deletion_grace_period_seconds, Some(30));
    // (kube-rs 5 sends `delete_options`, which upstream ignores as we do; send the real field.)
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}, "deleteOptions": {"gracePeriodSeconds": 0}});
    let (s, v) = t
        .send_json(
            "POST",
            "/api/v1/namespaces/default/pods/p/eviction",
            "application/json",
            &eviction,
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(pods.get("p").await.is_err());
}

#[tokio::test]
async fn tables_carry_columns_rows_and_objects() {
    let t = TestServer::start().await;
    deployment(&t).await;
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (s, _, v) = t
        .raw(
            "GET",
            "/apis/apps/v1/namespaces/default/deployments?limit=500",
            None,
            Some(accept),
            vec![],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["kind"], "Table");
    assert_eq!(v["columnDefinitions"][0]["name"], "Name");
    assert!(v["columnDefinitions"].as_array().unwrap().len() > 2, "{v}");
    assert_eq!(v["rows"][0]["cells"][0], "web");
    assert_eq!(v["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let (_, _, v) = t
        .raw(
            "GET",
            "/apis/apps/v1/namespaces/default/deployments/web?includeObject=Object",
            None,
            Some(accept),
            vec![],
        )
        .await;
    assert_eq!(v["rows"][0]["object"]["kind"], "Deployment");
}

#[tokio::test]
async fn discovery_and_openapi_serve_every_resource() {
    let t = TestServer::start().await;
    let (s, v) = t.get_json("/api/v1").await;
    assert_eq!(s, 200);
    let names: Vec<&str> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for n in [
        "pods",
        "pods/status",
        "pods/binding",
        "pods/eviction",
        "pods/log",
        "nodes",
        "services",
        "namespaces",
    ] {
        assert!(names.contains(&n), "{n} missing");
    }
    let (_, v) = t.get_json("/apis/apps/v1").await;
    let scale = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "deployments/scale")
        .unwrap()
        .clone();
    assert_eq!(
        (scale["kind"].as_str(), scale["group"].as_str()),
        (Some("Scale"), Some("autoscaling"))
    );
    let groups = t.client.list_api_groups().await.unwrap();
    for g in [
        "apps",
        "discovery.k8s.io",
        "coordination.k8s.io",
        "storage.k8s.io",
        "events.k8s.io",
        "scheduling.k8s.io",
    ] {
        assert!(groups.groups.iter().any(|x| x.name == g), "{g}");
    }
    let (s, index) = t.get_json("/openapi/v3").await;
    assert_eq!(s, 200);
    let url = index["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, doc) = t.get_json(&url).await;
    assert_eq!(s, 200);
    assert!(doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"].is_object());
    let (s, v) = t.get_json("/version").await;
    assert_eq!((s, v["major"].as_str()), (200, Some("1")));
    let (s, _, body) = t.raw("GET", "/metrics", None, None, vec![]).await;
    assert_eq!(s, 200);
    assert!(body.as_str().unwrap().contains("apiserver_request_total"));
}

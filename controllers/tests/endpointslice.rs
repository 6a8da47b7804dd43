//! The EndpointSlice controller against the in-process apiserver.
#![allow(clippy::unwrap_used)]

mod service_support;
mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use service_support::{NS, delete_pod, node, pod, run, service, set_ready, terminate};
use support::{Cluster, eventually};

const MANAGED: &str = "endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io";

/// This controller's slices of Service `name`.
async fn slices(api: &Api<EndpointSlice>, name: &str) -> Vec<EndpointSlice> {
    let selector = format!("kubernetes.io/service-name={name},{MANAGED}");
    api.list(&ListParams::default().labels(&selector))
        .await
        .unwrap()
        .items
}

/// (pod name, ready, serving, terminating) of every endpoint, sorted.
fn endpoints(slices: &[EndpointSlice]) -> Vec<(String, bool, bool, bool)> {
    let mut v: Vec<_> = slices
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .map(|e| {
            let c = e.conditions.clone().unwrap_or_default();
            let name = e
                .target_ref
                .as_ref()
                .and_then(|r| r.name.clone())
                .unwrap_or_default();
            (
                name,
                c.ready == Some(true),
                c.serving == Some(true),
                c.terminating == Some(true),
            )
        })
        .collect();
    v.sort();
    v
}

fn ep(name: &str, ready: bool, serving: bool, terminating: bool) -> (String, bool, bool, bool) {
    (name.to_owned(), ready, serving, terminating)
}

/// Waits until Service `name`'s slices hold exactly `want`.
async fn wait_for(
    api: &Api<EndpointSlice>,
    name: &str,
    want: &[(String, bool, bool, bool)],
    what: &str,
) -> Vec<EndpointSlice> {
    eventually(what, || async {
        let got = slices(api, name).await;
        (endpoints(&got) == want).then_some(got)
    })
    .await
}

fn web_spec() -> serde_json::Value {
    json!({"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "web", "appProtocol": "http"}]})
}

fn web_port() -> serde_json::Value {
    json!([{"name": "web", "containerPort": 8080}])
}

#[tokio::test]
async fn slices_list_pods_with_conditions_and_follow_changes() {
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "zone-a").await;
    let _m = cluster.controllers(&["endpointslice"]);
    let svc = service(c, "web", web_spec()).await;
    for (name, app) in [("a", "web"), ("b", "web"), ("c", "web"), ("d", "other")] {
        pod(c, name, app, "n1", web_port()).await;
    }
    run(c, "a", "10.0.0.1", true).await;
    run(c, "b", "10.0.0.2", false).await;
    run(c, "d", "10.0.0.4", true).await;
    let api: Api<EndpointSlice> = Api::namespaced(c.clone(), NS);
    let got = wait_for(
        &api,
        "web",
        &[ep("a", true, true, false), ep("b", false, false, false)],
        "a and b",
    )
    .await;
    assert_eq!(got.len(), 1);
    let slice = &got[0];
    assert_eq!(slice.address_type, "IPv4");
    assert!(slice.metadata.name.as_deref().unwrap().starts_with("web-"));
    assert_eq!(slice.metadata.generate_name.as_deref(), Some("web-"));
    let labels = slice.metadata.labels.clone().unwrap();
    assert_eq!(labels.get("team").map(String::as_str), Some("blue"));
    assert!(!labels.contains_key("service.kubernetes.io/headless"));
    let owner = &slice.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("Service", "web", Some(true))
    );
    assert_eq!(Some(&owner.uid), svc.metadata.uid.as_ref());
    let port = &slice.ports.as_ref().unwrap()[0];
    assert_eq!(
        (
            port.name.as_deref(),
            port.port,
            port.protocol.as_deref(),
            port.app_protocol.as_deref()
        ),
        (Some("http"), Some(8080), Some("TCP"), Some("http"))
    );
    let a = slice
        .endpoints
        .iter()
        .find(|e| e.addresses == ["10.0.0.1"])
        .unwrap();
    assert_eq!(a.node_name.as_deref(), Some("n1"));
    assert_eq!(a.zone.as_deref(), Some("zone-a"));
    let target = a.target_ref.as_ref().unwrap();
    assert_eq!(
        (target.kind.as_deref(), target.namespace.as_deref()),
        (Some("Pod"), Some(NS))
    );
    let name = slice.metadata.name.clone().unwrap();

    set_ready(c, "b", true).await;
    wait_for(
        &api,
        "web",
        &[ep("a", true, true, false), ep("b", true, true, false)],
        "b ready",
    )
    .await;
    terminate(c, "a").await;
    wait_for(
        &api,
        "web",
        &[ep("a", false, true, true), ep("b", true, true, false)],
        "a terminating",
    )
    .await;
    set_ready(c, "b", false).await;
    delete_pod(c, "c").await;
    let got = wait_for(
        &api,
        "web",
        &[ep("a", false, true, true), ep("b", false, false, false)],
        "b unready",
    )
    .await;
    assert_eq!(
        got[0].metadata.name.as_deref(),
        Some(name.as_str()),
        "the slice is updated in place"
    );
}

#[tokio::test]
async fn publish_not_ready_and_selector_change() {
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "zone-a").await;
    let _m = cluster.controllers(&["endpointslice"]);
    let mut spec = web_spec();
    spec["publishNotReadyAddresses"] = json!(true);
    service(c, "web", spec).await;
    pod(c, "a", "web", "n1", web_port()).await;
    pod(c, "b", "api", "n1", web_port()).await;
    run(c, "a", "10.0.0.1", false).await;
    run(c, "b", "10.0.0.2", true).await;
    let api: Api<EndpointSlice> = Api::namespaced(c.clone(), NS);
    wait_for(
        &api,
        "web",
        &[ep("a", true, false, false)],
        "unready a published as ready",
    )
    .await;

    let services: Api<Service> = Api::namespaced(c.clone(), NS);
    let patch = json!({"spec": {"selector": {"app": "api"}}});
    services
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let got = wait_for(
        &api,
        "web",
        &[ep("b", true, true, false)],
        "the new selector's pods",
    )
    .await;
    assert_eq!(got.len(), 1);
}

#[tokio::test]
async fn two_hundred_fifty_pods_make_three_slices() {
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "zone-a").await;
    // Everything exists before the controller starts, so one sync sees all 250 (slices
    // filled as pods trickle in are never rebalanced, as upstream).
    service(c, "web", web_spec()).await;
    for i in 0..250 {
        let name = format!("p{i:03}");
        pod(c, &name, "web", "n1", web_port()).await;
        run(c, &name, &format!("10.0.{}.{}", i / 200, i % 200 + 1), true).await;
    }
    let _m = cluster.controllers(&["endpointslice"]);
    let api: Api<EndpointSlice> = Api::namespaced(c.clone(), NS);
    let want: Vec<_> = (0..250)
        .map(|i| ep(&format!("p{i:03}"), true, true, false))
        .collect();
    let got = wait_for(&api, "web", &want, "250 endpoints").await;
    let mut sizes: Vec<usize> = got.iter().map(|s| s.endpoints.len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [50, 100, 100]);

    // Pods going and coming reuse the slices: no new slice, none over 100.
    for i in 0..5 {
        delete_pod(c, &format!("p{i:03}")).await;
    }
    for i in 250..260 {
        let name = format!("p{i:03}");
        pod(c, &name, "web", "n1", web_port()).await;
        run(c, &name, &format!("10.0.2.{}", i - 249), true).await;
    }
    let want: Vec<_> = (5..260)
        .map(|i| ep(&format!("p{i:03}"), true, true, false))
        .collect();
    let got = wait_for(&api, "web", &want, "255 endpoints").await;
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|s| s.endpoints.len() <= 100));
}

#[tokio::test]
async fn hand_edits_are_repaired_and_service_deletion_removes_slices() {
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "zone-a").await;
    let _m = cluster.controllers(&["endpointslice"]);
    service(c, "web", web_spec()).await;
    pod(c, "a", "web", "n1", web_port()).await;
    run(c, "a", "10.0.0.1", true).await;
    let api: Api<EndpointSlice> = Api::namespaced(c.clone(), NS);
    let want = [ep("a", true, true, false)];
    let got = wait_for(&api, "web", &want, "a's endpoint").await;
    let name = got[0].metadata.name.clone().unwrap();

    // A Service change that changes no endpoint writes nothing.
    let services: Api<Service> = Api::namespaced(c.clone(), NS);
    let patch = json!({"metadata": {"annotations": {"note": "x"}}});
    services
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let same = api.get(&name).await.unwrap();
    assert_eq!(
        same.metadata.resource_version,
        got[0].metadata.resource_version
    );

    let mut edited = got[0].clone();
    edited.endpoints.clear();
    api.replace(&name, &PostParams::default(), &edited)
        .await
        .unwrap();
    wait_for(&api, "web", &want, "the edit repaired").await;
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    let got = wait_for(&api, "web", &want, "the slice recreated").await;
    assert_eq!(got.len(), 1);

    let services: Api<Service> = Api::namespaced(c.clone(), NS);
    services
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the slices deleted with the Service", || async {
        slices(&api, "web").await.is_empty().then_some(())
    })
    .await;
}

#[tokio::test]
async fn other_managers_slices_and_selectorless_services_are_left_alone() {
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "zone-a").await;
    let api: Api<EndpointSlice> = Api::namespaced(c.clone(), NS);
    let kubernetes = api.get("kubernetes").await.unwrap();
    service(c, "external", json!({"ports": [{"port": 5432}]})).await;
    let theirs: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"name": "external-1", "labels": {
            "kubernetes.io/service-name": "external",
            "endpointslice.kubernetes.io/managed-by": "someone-else"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["192.168.0.9"]}],
        "ports": [{"port": 5432}],
    }))
    .unwrap();
    let theirs = api.create(&PostParams::default(), &theirs).await.unwrap();
    // Ours, but its Service is gone: a leftover.
    let leftover: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"name": "gone-1", "labels": {
            "kubernetes.io/service-name": "gone",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
        "addressType": "IPv4",
        "endpoints": [],
    }))
    .unwrap();
    api.create(&PostParams::default(), &leftover).await.unwrap();

    let _m = cluster.controllers(&["endpointslice"]);
    // A headless Service with no pods gets one empty placeholder slice.
    service(
        c,
        "db",
        json!({"clusterIP": "None", "selector": {"app": "db"}}),
    )
    .await;
    let got = eventually("the placeholder slice", || async {
        let got = slices(&api, "db").await;
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(got.len(), 1);
    assert!(got[0].endpoints.is_empty());
    let labels = got[0].metadata.labels.clone().unwrap();
    assert_eq!(
        labels
            .get("service.kubernetes.io/headless")
            .map(String::as_str),
        Some("")
    );

    eventually("the leftover slice deleted", || async {
        api.get_opt("gone-1").await.unwrap().is_none().then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(slices(&api, "db").await.len(), 1, "no churn");
    assert!(slices(&api, "external").await.is_empty());
    let now = api.get("external-1").await.unwrap();
    assert_eq!(
        now.metadata.resource_version,
        theirs.metadata.resource_version
    );
    let now = api.get("kubernetes").await.unwrap();
    assert_eq!(
        now.metadata.resource_version,
        kubernetes.metadata.resource_version
    );
}

#[tokio::test]
async fn pods_on_unknown_nodes_wait_for_their_node_with_a_warning() {
    use k8s_openapi::api::core::v1::Event;
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "zone-a").await;
    let _m = cluster.controllers(&["endpointslice"]);
    service(c, "web", web_spec()).await;
    pod(c, "a", "web", "n1", web_port()).await;
    pod(c, "b", "web", "ghost", web_port()).await;
    run(c, "a", "10.0.0.1", true).await;
    run(c, "b", "10.0.0.2", true).await;
    let api: Api<EndpointSlice> = Api::namespaced(c.clone(), NS);
    wait_for(&api, "web", &[ep("a", true, true, false)], "a without b").await;
    let events: Api<Event> = Api::namespaced(c.clone(), NS);
    let event = eventually("a FailedToUpdateEndpointSlices event", || async {
        let list = events.list(&ListParams::default()).await.unwrap();
        list.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("FailedToUpdateEndpointSlices"))
    })
    .await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(event.involved_object.kind.as_deref(), Some("Service"));
    let message = event.message.unwrap_or_default();
    assert!(
        message.starts_with("Error updating Endpoint Slices for Service default/web:")
            && message.contains("skipping Pod b for Service default/web: Node ghost Not Found"),
        "{message}"
    );

    node(c, "ghost", "zone-b").await;
    let got = wait_for(
        &api,
        "web",
        &[ep("a", true, true, false), ep("b", true, true, false)],
        "b once its node exists",
    )
    .await;
    let b = got[0]
        .endpoints
        .iter()
        .find(|e| e.addresses == ["10.0.0.2"])
        .unwrap();
    assert_eq!(b.zone.as_deref(), Some("zone-b"));
}

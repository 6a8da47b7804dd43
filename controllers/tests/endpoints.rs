//! The Endpoints controller against the in-process apiserver.
#![allow(clippy::unwrap_used)]

mod service_support;
mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Service};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use service_support::{NS, delete_pod, node, pod, pod_with, run, service, set_ready, terminate};
use support::{Cluster, eventually};

/// (ready IPs, not-ready IPs, ports) of an Endpoints, sorted.
type View = (Vec<String>, Vec<String>, Vec<(String, i32)>);

/// (ready IPs, ports) of one subset.
type Group = (Vec<String>, Vec<(String, i32)>);

fn view(ep: &Endpoints) -> View {
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    let mut ports = Vec::new();
    for s in ep.subsets.iter().flatten() {
        ready.extend(s.addresses.iter().flatten().map(|a| a.ip.clone()));
        not_ready.extend(s.not_ready_addresses.iter().flatten().map(|a| a.ip.clone()));
        ports.extend(
            s.ports
                .iter()
                .flatten()
                .map(|p| (p.name.clone().unwrap_or_default(), p.port)),
        );
    }
    ready.sort();
    ready.dedup();
    not_ready.sort();
    not_ready.dedup();
    ports.sort();
    ports.dedup();
    (ready, not_ready, ports)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Waits until Endpoints `name` shows `want`, returning it.
async fn wait_for(
    api: &Api<Endpoints>,
    name: &str,
    want: (&[&str], &[&str]),
    what: &str,
) -> Endpoints {
    eventually(what, || async {
        let ep = api.get_opt(name).await.unwrap()?;
        let (ready, not_ready, _) = view(&ep);
        (ready == strings(want.0) && not_ready == strings(want.1)).then_some(ep)
    })
    .await
}

fn web_spec() -> serde_json::Value {
    json!({"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]})
}

#[tokio::test]
async fn pods_become_ready_and_not_ready_addresses_and_follow_changes() {
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "z1").await;
    let _m = cluster.controllers(&["endpoint"]);
    service(c, "web", web_spec()).await;
    for (name, app) in [("a", "web"), ("b", "web"), ("c", "web"), ("d", "other")] {
        pod(c, name, app, "n1", json!([])).await;
    }
    run(c, "a", "10.0.0.1", true).await;
    run(c, "b", "10.0.0.2", false).await;
    run(c, "d", "10.0.0.4", true).await; // not selected; c has no IP
    let api: Api<Endpoints> = Api::namespaced(c.clone(), NS);
    let ep = wait_for(
        &api,
        "web",
        (&["10.0.0.1"], &["10.0.0.2"]),
        "ready and not-ready addresses",
    )
    .await;
    assert_eq!(view(&ep).2, [("http".to_owned(), 8080)]);
    let addr = &ep.subsets.as_ref().unwrap()[0].addresses.as_ref().unwrap()[0];
    assert_eq!(addr.node_name.as_deref(), Some("n1"));
    let target = addr.target_ref.as_ref().unwrap();
    assert_eq!(
        (
            target.kind.as_deref(),
            target.name.as_deref(),
            target.namespace.as_deref()
        ),
        (Some("Pod"), Some("a"), Some(NS))
    );
    assert!(target.uid.is_some());
    let labels = ep.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("blue"));
    assert!(!labels.contains_key("service.kubernetes.io/headless"));
    let annotations = ep.metadata.annotations.clone().unwrap_or_default();
    assert!(annotations.contains_key("endpoints.kubernetes.io/last-change-trigger-time"));

    set_ready(c, "b", true).await;
    wait_for(
        &api,
        "web",
        (&["10.0.0.1", "10.0.0.2"], &[]),
        "b to become ready",
    )
    .await;
    delete_pod(c, "a").await;
    wait_for(&api, "web", (&["10.0.0.2"], &[]), "a to be gone").await;
    set_ready(c, "b", false).await;
    wait_for(&api, "web", (&[], &["10.0.0.2"]), "b to become not ready").await;
    terminate(c, "b").await;
    wait_for(&api, "web", (&[], &[]), "terminating b to be dropped").await;
}

#[tokio::test]
async fn publish_not_ready_addresses_and_named_ports_per_pod() {
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "z1").await;
    let _m = cluster.controllers(&["endpoint"]);
    service(c, "pub", json!({"selector": {"app": "web"}, "publishNotReadyAddresses": true,
        "ports": [{"name": "http", "port": 80, "targetPort": "web"}, {"name": "admin", "port": 81, "targetPort": 9000}]}))
    .await;
    pod(
        c,
        "a",
        "web",
        "n1",
        json!([{"name": "web", "containerPort": 8080}]),
    )
    .await;
    pod(
        c,
        "b",
        "web",
        "n1",
        json!([{"name": "web", "containerPort": 8081}]),
    )
    .await;
    pod(c, "c", "web", "n1", json!([])).await;
    run(c, "a", "10.0.0.1", false).await;
    run(c, "b", "10.0.0.2", true).await;
    run(c, "c", "10.0.0.3", false).await;
    let api: Api<Endpoints> = Api::namespaced(c.clone(), NS);
    let ep = wait_for(
        &api,
        "pub",
        (&["10.0.0.1", "10.0.0.2", "10.0.0.3"], &[]),
        "unready pods published",
    )
    .await;
    let mut seen: Vec<Group> = ep
        .subsets
        .iter()
        .flatten()
        .map(|s| {
            let mut ips: Vec<String> = s.addresses.iter().flatten().map(|a| a.ip.clone()).collect();
            ips.sort();
            let ports = s
                .ports
                .iter()
                .flatten()
                .map(|p| (p.name.clone().unwrap_or_default(), p.port))
                .collect();
            (ips, ports)
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (strings(&["10.0.0.1"]), vec![("http".to_owned(), 8080)]),
            (
                strings(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
                vec![("admin".to_owned(), 9000)]
            ),
            (strings(&["10.0.0.2"]), vec![("http".to_owned(), 8081)]),
        ]
    );
}

#[tokio::test]
async fn selector_changes_hand_edits_and_service_deletion() {
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "z1").await;
    let _m = cluster.controllers(&["endpoint"]);
    service(c, "web", web_spec()).await;
    pod(c, "a", "web", "n1", json!([])).await;
    pod(c, "b", "api", "n1", json!([])).await;
    run(c, "a", "10.0.0.1", true).await;
    run(c, "b", "10.0.0.2", true).await;
    let api: Api<Endpoints> = Api::namespaced(c.clone(), NS);
    let first = wait_for(&api, "web", (&["10.0.0.1"], &[]), "web's endpoints").await;

    // A Service change that changes no address writes nothing.
    let services: Api<Service> = Api::namespaced(c.clone(), NS);
    let patch = json!({"metadata": {"annotations": {"note": "x"}}});
    services
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let same = api.get("web").await.unwrap();
    assert_eq!(
        same.metadata.resource_version,
        first.metadata.resource_version
    );

    let patch = json!({"spec": {"selector": {"app": "api"}}});
    services
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    wait_for(&api, "web", (&["10.0.0.2"], &[]), "the new selector's pods").await;

    // A hand edit is repaired, a hand deletion undone.
    let mut edited = api.get("web").await.unwrap();
    edited.subsets = None;
    api.replace("web", &PostParams::default(), &edited)
        .await
        .unwrap();
    wait_for(&api, "web", (&["10.0.0.2"], &[]), "the edit repaired").await;
    api.delete("web", &DeleteParams::default()).await.unwrap();
    wait_for(&api, "web", (&["10.0.0.2"], &[]), "the Endpoints recreated").await;

    services
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the Endpoints deleted with the Service", || async {
        api.get_opt("web").await.unwrap().is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn services_without_selector_are_left_alone_and_leftovers_go() {
    let cluster = Cluster::start().await;
    let c = &cluster.client;
    node(c, "n1", "z1").await;
    let api: Api<Endpoints> = Api::namespaced(c.clone(), NS);
    let manual = |name: &str| -> Endpoints {
        serde_json::from_value(json!({"metadata": {"name": name},
            "subsets": [{"addresses": [{"ip": "192.168.0.9"}], "ports": [{"port": 5432}]}]}))
        .unwrap()
    };
    service(c, "external", json!({"ports": [{"port": 5432}]})).await;
    let kept = api
        .create(&PostParams::default(), &manual("external"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &manual("leftover"))
        .await
        .unwrap();

    let _m = cluster.controllers(&["endpoint"]);
    // A headless Service with hostnames, to know the controller has been at work.
    service(
        c,
        "db",
        json!({"clusterIP": "None", "selector": {"app": "db"}}),
    )
    .await;
    pod_with(
        c,
        "db-0",
        "db",
        "n1",
        json!([]),
        json!({"hostname": "db-0", "subdomain": "db"}),
    )
    .await;
    run(c, "db-0", "10.0.0.7", true).await;
    let ep = wait_for(
        &api,
        "db",
        (&["10.0.0.7"], &[]),
        "the headless Service's endpoints",
    )
    .await;
    let subset = &ep.subsets.as_ref().unwrap()[0];
    assert_eq!(
        subset.addresses.as_ref().unwrap()[0].hostname.as_deref(),
        Some("db-0")
    );
    assert_eq!(subset.ports, None);
    let labels = ep.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("service.kubernetes.io/headless")
            .map(String::as_str),
        Some("")
    );

    eventually("the leftover Endpoints deleted", || async {
        api.get_opt("leftover")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let now = api.get("external").await.unwrap();
    assert_eq!(
        now.metadata.resource_version,
        kept.metadata.resource_version
    );
    let kubernetes = api.get("kubernetes").await.unwrap();
    assert!(
        view(&kubernetes).0.len() == 1,
        "the apiserver's own Endpoints untouched"
    );
}

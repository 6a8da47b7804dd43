//! A kube-runtime Controller reconciling ConfigMaps through the server, and the same
//! surface over the etcd backend.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::support::{TestServer, client_for, config};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReconcileError(#[from] kube::Error);

/// Keeps `<name>-copy` equal to every ConfigMap labelled `copy=yes`, owned by it.
async fn reconcile(cm: Arc<ConfigMap>, api: Arc<Api<ConfigMap>>) -> Result<Action, ReconcileError> {
    let owner = cm
        .controller_owner_ref(&())
        .expect("configmaps have names and uids");
    let copy = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("{}-copy", cm.name_any()), "ownerReferences": [owner]},
        "data": cm.data,
    });
    let pp = PatchParams::default();
    match api.get_opt(&format!("{}-copy", cm.name_any())).await? {
        Some(_) => {
            api.patch(
                &format!("{}-copy", cm.name_any()),
                &pp,
                &Patch::Merge(&copy),
            )
            .await?;
        }
        None => {
            api.create(
                &PostParams::default(),
                &serde_json::from_value(copy).expect("a ConfigMap"),
            )
            .await?;
        }
    }
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn wait_for_copy(api: &Api<ConfigMap>, name: &str, value: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let cm = api.get_opt(name).await.unwrap();
        if cm
            .and_then(|c| c.data)
            .and_then(|d| d.get("k").cloned())
            .as_deref()
            == Some(value)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never got k={value}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_kube_runtime_controller_reconciles_configmaps() {
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let shared = Arc::new(api.clone());
    let controller = Controller::new(api.clone(), watcher::Config::default().labels("copy=yes"))
        .run(
            reconcile,
            |_obj, _err, _ctx| Action::requeue(Duration::from_millis(200)),
            shared,
        )
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);
    let source: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "src", "labels": {"copy": "yes"}}, "data": {"k": "1"}
    }))
    .unwrap();
    api.create(&PostParams::default(), &source).await.unwrap();
    wait_for_copy(&api, "src-copy", "1").await;
    api.patch(
        "src",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await
    .unwrap();
    wait_for_copy(&api, "src-copy", "2").await;
    let copy = api.get("src-copy").await.unwrap();
    assert_eq!(copy.owner_references()[0].name, "src");
    assert!(
        copy.meta().labels.is_none(),
        "the copy is not itself copied"
    );
    handle.abort();
}

#[tokio::test]
async fn the_same_surface_over_etcd() {
    let etcd = keelson_e2e::EtcdProcess::start(keelson_e2e::EtcdOptions {
        unsafe_no_fsync: true,
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.storage = keelson_apiserver::storage::StorageUrl::parse(&etcd.storage_url()).unwrap();
    let server = keelson_apiserver::server::start(cfg).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_for(&server.url()), "default");
    let mut stream = watcher::watcher(api.clone(), watcher::Config::default()).boxed();
    for i in 0..5 {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("e{i}")}, "data": {"k": "v"}}),
        )
        .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let page = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(
        (page.items.len(), page.metadata.remaining_item_count),
        (2, Some(3))
    );
    let mut applied = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while applied.len() < 5 {
        match tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("watcher stalled")
        {
            Some(Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o))) => {
                applied.insert(o.name_any());
            }
            Some(_) => {}
            None => panic!("watcher ended"),
        }
    }
    server.stop().await.unwrap();
}

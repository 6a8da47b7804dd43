//! The shared informers: what subscribers see of adds, updates and deletes.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use keelson_controllers::informers::{Change, Informers, Received};
use kube::Api;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use support::{Cluster, WAIT};

fn config_map(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        data: Some([("k".to_owned(), value.to_owned())].into()),
        ..ConfigMap::default()
    }
}

fn value(cm: &ConfigMap) -> &str {
    cm.data
        .as_ref()
        .and_then(|d| d.get("k"))
        .map_or("", String::as_str)
}

#[tokio::test]
async fn subscribers_see_adds_updates_with_the_old_object_and_deletes() {
    let cluster = Cluster::start().await;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    api.create(&PostParams::default(), &config_map("before", "0"))
        .await
        .unwrap();

    let informers = Informers::new(cluster.client.clone());
    let informer = informers.get::<ConfigMap>();
    let same = informers.get::<ConfigMap>();
    let mut changes = informer.subscribe();
    tokio::time::timeout(WAIT, informer.synced()).await.unwrap();
    assert!(same.get(Some("default"), "before").is_some());

    api.create(&PostParams::default(), &config_map("c", "1"))
        .await
        .unwrap();
    let mut updated = api.get("c").await.unwrap();
    updated.data = Some([("k".to_owned(), "2".to_owned())].into());
    api.replace("c", &PostParams::default(), &updated)
        .await
        .unwrap();
    api.delete("c", &DeleteParams::default()).await.unwrap();

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let received = tokio::time::timeout(WAIT, changes.recv())
            .await
            .unwrap()
            .unwrap();
        let Received::Change(change) = received else {
            panic!("unexpected resync");
        };
        if change.object().metadata.name.as_deref() != Some("c") {
            continue;
        }
        seen.push(match change {
            Change::Applied { old, new } => {
                format!(
                    "applied {}->{}",
                    old.as_deref().map_or("-", value),
                    value(&new)
                )
            }
            Change::Deleted(obj) => format!("deleted {}", value(&obj)),
        });
    }
    assert_eq!(seen, ["applied -->1", "applied 1->2", "deleted 2"]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(informer.get(Some("default"), "c").is_none());
}

//! The garbage collector against an in-process apiserver: background, foreground and
//! orphan propagation, dangling references, several owners, namespace rules.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, Pod, PodSpec, PodTemplateSpec, Secret,
};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::{Resource, ResourceExt};
use serde_json::json;
use support::{Cluster, Manager, eventually};

const NS: &str = "default";

fn reference<K: Resource<DynamicType = ()>>(owner: &K, block: bool) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: owner.name_any(),
        uid: owner.uid().unwrap(),
        block_owner_deletion: Some(block),
        controller: None,
    }
}

fn meta(name: &str, owners: Vec<OwnerReference>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        owner_references: Some(owners),
        ..ObjectMeta::default()
    }
}

async fn config_map(api: &Api<ConfigMap>, name: &str, owners: Vec<OwnerReference>) -> ConfigMap {
    let cm = ConfigMap {
        metadata: meta(name, owners),
        ..ConfigMap::default()
    };
    api.create(&PostParams::default(), &cm).await.unwrap()
}

async fn start() -> (Cluster, Manager, Api<ConfigMap>) {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["garbagecollector"]);
    let cms = Api::namespaced(cluster.client.clone(), NS);
    (cluster, manager, cms)
}

async fn gone<K>(api: &Api<K>, name: &str)
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    eventually(&format!("{name} to be deleted"), || async {
        api.get_opt(name).await.unwrap().is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn background_deletion_collects_dependents_of_every_kind() {
    let (cluster, manager, cms) = start().await;
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);
    let rss: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let owner = config_map(&cms, "owner", vec![]).await;
    config_map(&cms, "child", vec![reference(&owner, false)]).await;
    config_map(&cms, "bystander", vec![]).await;
    let secret = Secret {
        metadata: meta("child-secret", vec![reference(&owner, true)]),
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
    let rs = ReplicaSet {
        metadata: meta("rs", vec![]),
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            template: Some(PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec()),
            }),
            ..ReplicaSetSpec::default()
        }),
        ..ReplicaSet::default()
    };
    let rs = rss.create(&PostParams::default(), &rs).await.unwrap();
    let pod = Pod {
        metadata: ObjectMeta {
            labels: Some(labels),
            ..meta("rs-pod", vec![reference(&rs, true)])
        },
        spec: Some(pod_spec()),
        ..Pod::default()
    };
    pods.create(&PostParams::default(), &pod).await.unwrap();

    cms.delete("owner", &DeleteParams::default()).await.unwrap();
    rss.delete("rs", &DeleteParams::background()).await.unwrap();
    gone(&cms, "child").await;
    gone(&secrets, "child-secret").await;
    gone(&pods, "rs-pod").await;
    assert!(cms.get_opt("bystander").await.unwrap().is_some());
    manager.stop().await;
}

fn pod_spec() -> PodSpec {
    PodSpec {
        containers: vec![Container {
            name: "c".into(),
            image: Some("busybox".into()),
            ..Container::default()
        }],
        ..PodSpec::default()
    }
}

#[tokio::test]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let (_cluster, manager, cms) = start().await;
    let owner = config_map(&cms, "owner", vec![]).await;
    let held = ConfigMap {
        metadata: ObjectMeta {
            finalizers: Some(vec!["example.com/hold".into()]),
            ..meta("held", vec![reference(&owner, true)])
        },
        ..ConfigMap::default()
    };
    cms.create(&PostParams::default(), &held).await.unwrap();
    let blocking = config_map(&cms, "blocking", vec![reference(&owner, true)]).await;
    // Recursively: the blocking dependent is itself deleted in the foreground.
    config_map(&cms, "grandchild", vec![reference(&blocking, true)]).await;
    config_map(&cms, "nonblocking", vec![reference(&owner, false)]).await;

    cms.delete("owner", &DeleteParams::foreground())
        .await
        .unwrap();
    gone(&cms, "grandchild").await;
    gone(&cms, "blocking").await;
    gone(&cms, "nonblocking").await;
    eventually("the held dependent to be deleting", || async {
        let held = cms.get("held").await.unwrap();
        held.metadata.deletion_timestamp.map(|_| ())
    })
    .await;
    // The held dependent still blocks its owner.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting = cms.get("owner").await.unwrap();
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert!(
        waiting
            .finalizers()
            .contains(&"foregroundDeletion".to_owned())
    );

    let release = json!({"metadata": {"finalizers": null}});
    cms.patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .unwrap();
    gone(&cms, "held").await;
    gone(&cms, "owner").await;
    manager.stop().await;
}

#[tokio::test]
async fn orphan_deletion_leaves_dependents_without_the_reference() {
    let (_cluster, manager, cms) = start().await;
    let owner = config_map(&cms, "owner", vec![]).await;
    let other = config_map(&cms, "other", vec![]).await;
    config_map(&cms, "a", vec![reference(&owner, true)]).await;
    config_map(
        &cms,
        "b",
        vec![reference(&owner, false), reference(&other, false)],
    )
    .await;
    let orphan = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..DeleteParams::default()
    };
    cms.delete("owner", &orphan).await.unwrap();
    gone(&cms, "owner").await;
    let a = cms.get("a").await.unwrap();
    assert!(a.owner_references().is_empty(), "{a:?}");
    let b = cms.get("b").await.unwrap();
    let uids: Vec<_> = b.owner_references().iter().map(|r| r.uid.clone()).collect();
    assert_eq!(uids, [other.uid().unwrap()]);
    // Still there later: nothing collects an orphan.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(cms.get_opt("a").await.unwrap().is_some());
    manager.stop().await;
}

#[tokio::test]
async fn dangling_references_are_collected() {
    let (_cluster, manager, cms) = start().await;
    let ghost = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "ghost".into(),
        uid: "00000000-0000-0000-0000-000000000001".into(),
        ..OwnerReference::default()
    };
    config_map(&cms, "of-ghost", vec![ghost]).await;
    // An owner of the same name but another uid (it was replaced) counts as absent too.
    let replaced = config_map(&cms, "replaced", vec![]).await;
    let mut stale = reference(&replaced, false);
    stale.uid = "00000000-0000-0000-0000-000000000002".into();
    config_map(&cms, "of-replaced", vec![stale]).await;
    gone(&cms, "of-ghost").await;
    gone(&cms, "of-replaced").await;
    assert!(cms.get_opt("replaced").await.unwrap().is_some());
    manager.stop().await;
}

#[tokio::test]
async fn a_dependent_with_a_live_owner_stays_and_loses_the_dead_reference() {
    let (_cluster, manager, cms) = start().await;
    let live = config_map(&cms, "live", vec![]).await;
    let dead = config_map(&cms, "dead", vec![]).await;
    config_map(
        &cms,
        "shared",
        vec![reference(&live, false), reference(&dead, false)],
    )
    .await;
    cms.delete("dead", &DeleteParams::default()).await.unwrap();
    let live_uid = live.uid().unwrap();
    eventually("the dead owner's reference to be removed", || async {
        let shared = cms.get("shared").await.unwrap();
        let uids: Vec<_> = shared
            .owner_references()
            .iter()
            .map(|r| r.uid.clone())
            .collect();
        (uids == [live_uid.clone()]).then_some(())
    })
    .await;
    assert!(cms.get_opt("shared").await.unwrap().is_some());
    manager.stop().await;
}

async fn invalid_namespace_event(events: &Api<Event>, name: &str) -> Option<Event> {
    events
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|e| {
            e.reason.as_deref() == Some("OwnerRefInvalidNamespace")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
        })
}

#[tokio::test]
async fn owners_are_looked_up_in_the_dependents_namespace() {
    let (cluster, manager, _) = start().await;
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    for name in ["a", "b"] {
        let ns = Namespace {
            metadata: meta(name, vec![]),
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
    }
    let in_a: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "a");
    let in_b: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "b");
    let owner = config_map(&in_a, "owner", vec![]).await;
    // Same namespace: a solid owner.
    config_map(&in_a, "kept", vec![reference(&owner, false)]).await;
    // Another namespace: no such owner where the dependent lives.
    config_map(&in_b, "stray", vec![reference(&owner, false)]).await;
    // Cluster-scoped dependent of a namespaced owner: invalid, left alone.
    let cluster_scoped = Namespace {
        metadata: meta("c", vec![reference(&owner, false)]),
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &cluster_scoped)
        .await
        .unwrap();

    gone(&in_b, "stray").await;
    let events: Api<Event> = Api::all(cluster.client.clone());
    let event = eventually("OwnerRefInvalidNamespace on the stray dependent", || {
        invalid_namespace_event(&events, "stray")
    })
    .await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    let note = event.note.unwrap_or_default();
    assert!(
        note.starts_with("ownerRef [v1/ConfigMap, namespace: b, name: owner, uid: ")
            && note.ends_with("] does not exist in namespace \"b\""),
        "{note}"
    );
    eventually(
        "OwnerRefInvalidNamespace on the cluster-scoped dependent",
        || invalid_namespace_event(&events, "c"),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(namespaces.get_opt("c").await.unwrap().is_some());
    assert!(in_a.get_opt("kept").await.unwrap().is_some());
    manager.stop().await;
}

#[tokio::test]
async fn dependents_wait_for_an_owner_held_by_a_finalizer() {
    let (_cluster, manager, cms) = start().await;
    let owner = ConfigMap {
        metadata: ObjectMeta {
            finalizers: Some(vec!["example.com/hold".into()]),
            ..meta("owner", vec![])
        },
        ..ConfigMap::default()
    };
    let owner = cms.create(&PostParams::default(), &owner).await.unwrap();
    config_map(&cms, "child", vec![reference(&owner, true)]).await;
    // Background: the owner is marked deleted but still exists, so it is a solid owner
    // (upstream counts only the foregroundDeletion finalizer as "waiting").
    cms.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let child = cms.get("child").await.unwrap();
    assert!(child.metadata.deletion_timestamp.is_none());
    assert_eq!(child.owner_references().len(), 1);

    let release = json!({"metadata": {"finalizers": null}});
    cms.patch("owner", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .unwrap();
    gone(&cms, "owner").await;
    gone(&cms, "child").await;
    manager.stop().await;
}

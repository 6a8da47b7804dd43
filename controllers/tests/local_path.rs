//! The local-path provisioner with the binder: the default class, dynamic provisioning on
//! the selected node (or a Ready node for an Immediate class), deletion of released volumes
//! with their directories.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use support::{Cluster, eventually};

fn claim(name: &str, class: Option<&str>) -> PersistentVolumeClaim {
    let mut c = json!({
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}
    });
    if let Some(class) = class {
        c["spec"]["storageClassName"] = json!(class);
    }
    serde_json::from_value(c).unwrap()
}

async fn has_event(events: &Api<Event>, name: &str, reason: &str) -> Option<String> {
    let list = events.list(&ListParams::default()).await.unwrap();
    list.items.into_iter().find_map(|e| {
        (e.regarding.as_ref()?.name.as_deref() == Some(name) && e.reason.as_deref() == Some(reason))
            .then(|| e.note.unwrap_or_default())
    })
}

async fn bound(claims: &Api<PersistentVolumeClaim>, name: &str) -> String {
    eventually(&format!("claim {name} to be bound"), || async {
        let c = claims.get(name).await.unwrap();
        (c.status.as_ref()?.phase.as_deref() == Some("Bound"))
            .then(|| c.spec?.volume_name)
            .flatten()
    })
    .await
}

fn host_path(pv: &PersistentVolume) -> String {
    pv.spec
        .as_ref()
        .unwrap()
        .host_path
        .as_ref()
        .unwrap()
        .path
        .clone()
}

#[tokio::test]
async fn claims_are_provisioned_on_the_selected_node_and_cleaned_up() {
    let cluster = Cluster::start().await;
    let root = tempfile::tempdir().unwrap();
    let mut settings = cluster.settings(&["persistentvolume-binder", "local-path"]);
    settings.local_path_root = root.path().to_owned();
    let _manager = cluster.run(settings);
    let classes: Api<StorageClass> = Api::all(cluster.client.clone());
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), "default");
    let pvs: Api<PersistentVolume> = Api::all(cluster.client.clone());
    let events: Api<Event> = Api::all(cluster.client.clone());

    let class = eventually("the local-path class", || async {
        classes.get_opt("local-path").await.unwrap()
    })
    .await;
    assert_eq!(class.provisioner, "keelson.io/local-path");
    assert_eq!(class.reclaim_policy.as_deref(), Some("Delete"));
    assert_eq!(
        class.volume_binding_mode.as_deref(),
        Some("WaitForFirstConsumer")
    );
    let annotations = class.metadata.annotations.unwrap();
    assert_eq!(
        annotations["storageclass.kubernetes.io/is-default-class"],
        "true"
    );

    // No class named: the default (local-path) applies; it waits for a consumer.
    let c = claims
        .create(&PostParams::default(), &claim("data", None))
        .await
        .unwrap();
    let uid = c.metadata.uid.unwrap();
    // Admission assigns the default class, or (if its cache has not seen the new class
    // yet) the binder does.
    let _ = c;
    eventually("the default class on the claim", || async {
        let c = claims.get("data").await.unwrap();
        (c.spec?.storage_class_name.as_deref() == Some("local-path")).then_some(())
    })
    .await;
    eventually("WaitForFirstConsumer", || {
        has_event(&events, "data", "WaitForFirstConsumer")
    })
    .await;
    assert!(pvs.get_opt(&format!("pvc-{uid}")).await.unwrap().is_none());

    // The scheduler selects node n1: a volume is made there and bound.
    let patch = json!({"metadata": {"annotations": {"volume.kubernetes.io/selected-node": "n1"}}});
    claims
        .patch("data", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let name = bound(&claims, "data").await;
    assert_eq!(name, format!("pvc-{uid}"));
    let pv = pvs.get(&name).await.unwrap();
    let dir = root.path().join("n1").join(format!("{name}_default_data"));
    assert_eq!(host_path(&pv), dir.to_string_lossy());
    assert!(dir.is_dir(), "{}", dir.display());
    let spec = pv.spec.clone().unwrap();
    assert_eq!(spec.capacity.unwrap()["storage"].0, "2Gi");
    assert_eq!(spec.access_modes.unwrap(), ["ReadWriteOnce"]);
    assert_eq!(spec.storage_class_name.as_deref(), Some("local-path"));
    assert_eq!(
        spec.persistent_volume_reclaim_policy.as_deref(),
        Some("Delete")
    );
    assert_eq!(
        spec.host_path.unwrap().type_.as_deref(),
        Some("DirectoryOrCreate")
    );
    let affinity = serde_json::to_value(spec.node_affinity.unwrap()).unwrap();
    assert_eq!(
        affinity,
        json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}
        ]}]}})
    );
    assert_eq!(
        pv.metadata.annotations.unwrap()["pv.kubernetes.io/provisioned-by"],
        "keelson.io/local-path"
    );
    for reason in [
        "ExternalProvisioning",
        "Provisioning",
        "ProvisioningSucceeded",
    ] {
        eventually(reason, || has_event(&events, "data", reason)).await;
    }

    // The claim is deleted: the volume is released, then deleted with its directory.
    claims
        .delete("data", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the volume to be deleted", || async {
        pvs.get_opt(&name).await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(!dir.exists());
    assert!(root.path().join("n1").is_dir());
}

#[tokio::test]
async fn immediate_classes_use_a_ready_node_and_a_users_class_is_kept() {
    let cluster = Cluster::start().await;
    let classes: Api<StorageClass> = Api::all(cluster.client.clone());
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), "default");
    let pvs: Api<PersistentVolume> = Api::all(cluster.client.clone());
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let pp = PostParams::default();
    // The user made their own local-path class first: it is never overwritten.
    let mine: StorageClass = serde_json::from_value(json!({
        "metadata": {"name": "local-path"}, "provisioner": "keelson.io/local-path",
        "reclaimPolicy": "Retain"
    }))
    .unwrap();
    classes.create(&pp, &mine).await.unwrap();
    let immediate: StorageClass = serde_json::from_value(json!({
        "metadata": {"name": "fast"}, "provisioner": "keelson.io/local-path",
        "reclaimPolicy": "Retain", "volumeBindingMode": "Immediate"
    }))
    .unwrap();
    classes.create(&pp, &immediate).await.unwrap();
    for (name, ready) in [("a-not-ready", "False"), ("b-ready", "True")] {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        nodes.create(&pp, &node).await.unwrap();
        let status = json!({"status": {"conditions": [{"type": "Ready", "status": ready}]}});
        nodes
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
    }
    let root = tempfile::tempdir().unwrap();
    let mut settings = cluster.settings(&["persistentvolume-binder", "local-path"]);
    settings.local_path_root = root.path().to_owned();
    let _manager = cluster.run(settings);

    claims
        .create(&pp, &claim("quick", Some("fast")))
        .await
        .unwrap();
    let name = bound(&claims, "quick").await;
    let pv = pvs.get(&name).await.unwrap();
    let dir = root
        .path()
        .join("b-ready")
        .join(format!("{name}_default_quick"));
    assert_eq!(host_path(&pv), dir.to_string_lossy());
    assert!(dir.is_dir());

    let class = classes.get("local-path").await.unwrap();
    assert_eq!(class.reclaim_policy.as_deref(), Some("Retain"));
    assert!(class.metadata.annotations.is_none_or(|a| a.is_empty()));

    // Retain: the volume and its directory stay after the claim goes.
    claims
        .delete("quick", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the volume to be Released", || async {
        let v = pvs.get(&name).await.unwrap();
        (v.status?.phase.as_deref() == Some("Released")).then_some(())
    })
    .await;
    assert!(Path::new(&host_path(&pv)).is_dir());
}

//! The PersistentVolume binder against the in-process apiserver: matching, pre-binding,
//! WaitForFirstConsumer, release and reclaim, lost claims, the default class.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::{Cluster, eventually};

const NS: &str = "default";

fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        for (k, v) in extra {
            match into.get_mut(&k) {
                Some(existing) if v.is_object() => merge(existing, v),
                _ => {
                    into.insert(k, v);
                }
            }
        }
    }
}

fn pv(name: &str, size: &str, extra: Value) -> PersistentVolume {
    let mut v = json!({
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                 "capacity": {"storage": size},
                 "persistentVolumeReclaimPolicy": "Retain",
                 "hostPath": {"path": format!("/tmp/{name}")}}
    });
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap()
}

fn claim(name: &str, size: &str, extra: Value) -> PersistentVolumeClaim {
    let mut c = json!({
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                 "resources": {"requests": {"storage": size}}}
    });
    merge(&mut c, extra);
    serde_json::from_value(c).unwrap()
}

fn class(name: &str, extra: Value) -> StorageClass {
    let mut c = json!({"metadata": {"name": name}, "provisioner": "kubernetes.io/no-provisioner"});
    merge(&mut c, extra);
    serde_json::from_value(c).unwrap()
}

struct Apis {
    pvs: Api<PersistentVolume>,
    claims: Api<PersistentVolumeClaim>,
    classes: Api<StorageClass>,
    events: Api<Event>,
}

impl Apis {
    fn new(cluster: &Cluster) -> Self {
        Self {
            pvs: Api::all(cluster.client.clone()),
            claims: Api::namespaced(cluster.client.clone(), NS),
            classes: Api::all(cluster.client.clone()),
            events: Api::all(cluster.client.clone()),
        }
    }

    async fn create_pv(&self, v: PersistentVolume) {
        self.pvs.create(&PostParams::default(), &v).await.unwrap();
    }

    async fn create_claim(&self, c: PersistentVolumeClaim) {
        self.claims
            .create(&PostParams::default(), &c)
            .await
            .unwrap();
    }

    /// Waits until the claim is Bound and returns the volume it is bound to.
    async fn bound(&self, claim: &str) -> String {
        eventually(&format!("claim {claim} to be bound"), || async {
            let c = self.claims.get(claim).await.unwrap();
            let phase = c.status.as_ref()?.phase.clone()?;
            (phase == "Bound").then(|| c.spec?.volume_name).flatten()
        })
        .await
    }

    async fn pv_phase(&self, name: &str, phase: &str) -> PersistentVolume {
        eventually(&format!("volume {name} to be {phase}"), || async {
            let v = self.pvs.get_opt(name).await.unwrap()?;
            (v.status.as_ref()?.phase.as_deref() == Some(phase)).then_some(v)
        })
        .await
    }

    /// Waits for an event with `reason` about `name`; returns its note.
    async fn event(&self, name: &str, reason: &str) -> String {
        eventually(&format!("event {reason} on {name}"), || async {
            let list = self.events.list(&ListParams::default()).await.unwrap();
            list.items.into_iter().find_map(|e| {
                (e.regarding.as_ref()?.name.as_deref() == Some(name)
                    && e.reason.as_deref() == Some(reason))
                .then(|| e.note.unwrap_or_default())
            })
        })
        .await
    }

    async fn annotate(&self, claim: &str, key: &str, value: &str) {
        let patch = json!({"metadata": {"annotations": {key: value}}});
        self.claims
            .patch(claim, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }
}

fn annotation(meta: &kube::api::ObjectMeta, key: &str) -> Option<String> {
    meta.annotations.as_ref()?.get(key).cloned()
}

#[tokio::test]
async fn the_smallest_matching_volume_is_bound() {
    let cluster = Cluster::start().await;
    let api = Apis::new(&cluster);
    for v in [
        pv("big", "10Gi", json!({})),
        pv("fit", "2Gi", json!({})),
        pv("small", "500Mi", json!({})),
        pv(
            "other-class",
            "1Gi",
            json!({"spec": {"storageClassName": "slow"}}),
        ),
        pv(
            "read-only",
            "1Gi",
            json!({"spec": {"accessModes": ["ReadOnlyMany"]}}),
        ),
        pv("block", "1Gi", json!({"spec": {"volumeMode": "Block"}})),
        pv(
            "gold",
            "5Gi",
            json!({"metadata": {"labels": {"tier": "gold"}}}),
        ),
    ] {
        api.create_pv(v).await;
    }
    let _manager = cluster.controllers(&["persistentvolume-binder"]);
    for name in ["big", "fit", "small", "gold"] {
        api.pv_phase(name, "Available").await;
    }
    api.create_claim(claim("c", "1Gi", json!({}))).await;
    assert_eq!(api.bound("c").await, "fit");

    let v = api.pv_phase("fit", "Bound").await;
    let r = v.spec.as_ref().unwrap().claim_ref.clone().unwrap();
    let c = api.claims.get("c").await.unwrap();
    assert_eq!(
        (r.namespace.as_deref(), r.name.as_deref()),
        (Some(NS), Some("c"))
    );
    assert_eq!(r.uid, c.metadata.uid);
    assert_eq!(
        annotation(&v.metadata, "pv.kubernetes.io/bound-by-controller").as_deref(),
        Some("yes")
    );
    for key in [
        "pv.kubernetes.io/bind-completed",
        "pv.kubernetes.io/bound-by-controller",
    ] {
        assert_eq!(
            annotation(&c.metadata, key).as_deref(),
            Some("yes"),
            "{key}"
        );
    }
    let status = c.status.unwrap();
    assert_eq!(status.capacity.unwrap()["storage"].0, "2Gi");
    assert_eq!(status.access_modes.unwrap(), ["ReadWriteOnce"]);

    // A selector picks among labelled volumes; mismatching volumes stay Available.
    let gold = json!({"spec": {"selector": {"matchLabels": {"tier": "gold"}}}});
    api.create_claim(claim("g", "1Gi", gold)).await;
    assert_eq!(api.bound("g").await, "gold");
    api.create_claim(claim("big-one", "3Gi", json!({}))).await;
    assert_eq!(api.bound("big-one").await, "big");
    for name in ["small", "other-class", "read-only", "block"] {
        api.pv_phase(name, "Available").await;
    }
    // Nothing left for a fourth claim: it stays Pending (its class has no StorageClass).
    api.create_claim(claim("none", "1Gi", json!({}))).await;
    api.event("none", "ProvisioningFailed").await;
    let c = api.claims.get("none").await.unwrap();
    assert_eq!(c.spec.unwrap().volume_name, None);
}

#[tokio::test]
async fn pre_bound_volumes_and_claims() {
    let cluster = Cluster::start().await;
    let api = Apis::new(&cluster);
    let reserved = json!({"spec": {"claimRef": {"namespace": NS, "name": "wanted"}}});
    api.create_pv(pv("reserved", "5Gi", reserved)).await;
    api.create_pv(pv("plain", "1Gi", json!({}))).await;
    api.create_pv(pv("tiny", "100Mi", json!({}))).await;
    let _manager = cluster.controllers(&["persistentvolume-binder"]);
    for name in ["reserved", "plain", "tiny"] {
        api.pv_phase(name, "Available").await;
    }

    // A volume pre-bound to a claim is preferred by it and never taken by another.
    api.create_claim(claim("other", "1Gi", json!({}))).await;
    assert_eq!(api.bound("other").await, "plain");
    api.create_claim(claim("wanted", "1Gi", json!({}))).await;
    assert_eq!(api.bound("wanted").await, "reserved");
    let v = api.pvs.get("reserved").await.unwrap();
    // Pre-bound by the user: not marked as bound by the controller.
    assert_eq!(
        annotation(&v.metadata, "pv.kubernetes.io/bound-by-controller"),
        None
    );

    // A claim naming a volume that does not exist waits for it.
    let named = json!({"spec": {"volumeName": "later"}});
    api.create_claim(claim("named", "1Gi", named)).await;
    eventually("the named claim to be Pending", || async {
        let c = api.claims.get("named").await.unwrap();
        (c.status?.phase.as_deref() == Some("Pending")).then_some(())
    })
    .await;
    api.create_pv(pv("later", "1Gi", json!({}))).await;
    assert_eq!(api.bound("named").await, "later");
    let c = api.claims.get("named").await.unwrap();
    // Named by the user: not marked as bound by the controller.
    assert_eq!(
        annotation(&c.metadata, "pv.kubernetes.io/bound-by-controller"),
        None
    );

    // A named volume that cannot serve the claim is refused.
    let too_small = json!({"spec": {"volumeName": "tiny"}});
    api.create_claim(claim("too-small", "1Gi", too_small)).await;
    let note = api.event("too-small", "VolumeMismatch").await;
    assert_eq!(
        note,
        "Cannot bind to requested volume \"tiny\": requested PV is too small"
    );
    api.pv_phase("tiny", "Available").await;
}

#[tokio::test]
async fn wait_for_first_consumer_binds_on_the_selected_node() {
    let cluster = Cluster::start().await;
    let api = Apis::new(&cluster);
    let wait = json!({"volumeBindingMode": "WaitForFirstConsumer"});
    api.classes
        .create(&PostParams::default(), &class("local", wait))
        .await
        .unwrap();
    let on = |node: &str| {
        json!({"spec": {"storageClassName": "local",
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
        ]}]}}}})
    };
    api.create_pv(pv("on-a", "1Gi", on("a"))).await;
    api.create_pv(pv("on-b", "2Gi", on("b"))).await;
    let _manager = cluster.controllers(&["persistentvolume-binder"]);
    api.pv_phase("on-b", "Available").await;

    let local = json!({"spec": {"storageClassName": "local"}});
    api.create_claim(claim("c", "1Gi", local)).await;
    let note = api.event("c", "WaitForFirstConsumer").await;
    assert_eq!(
        note,
        "waiting for first consumer to be created before binding"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c = api.claims.get("c").await.unwrap();
    assert_eq!(c.spec.unwrap().volume_name, None);
    api.pv_phase("on-a", "Available").await;

    // The scheduler picked node b: only the volume reachable from b matches.
    api.annotate("c", "volume.kubernetes.io/selected-node", "b")
        .await;
    assert_eq!(api.bound("c").await, "on-b");
    api.pv_phase("on-a", "Available").await;
}

#[tokio::test]
async fn released_volumes_are_reclaimed_by_policy_and_lost_volumes_lose_claims() {
    let cluster = Cluster::start().await;
    let api = Apis::new(&cluster);
    api.create_pv(pv("kept", "1Gi", json!({}))).await;
    let delete = json!({"spec": {"persistentVolumeReclaimPolicy": "Delete"}});
    api.create_pv(pv("deleted", "2Gi", delete)).await;
    api.create_pv(pv("vanishing", "3Gi", json!({}))).await;
    let _manager = cluster.controllers(&["persistentvolume-binder"]);
    for name in ["kept", "deleted", "vanishing"] {
        api.pv_phase(name, "Available").await;
    }
    api.create_claim(claim("keep", "1Gi", json!({}))).await;
    assert_eq!(api.bound("keep").await, "kept");
    api.create_claim(claim("drop", "2Gi", json!({}))).await;
    assert_eq!(api.bound("drop").await, "deleted");
    api.create_claim(claim("orphan", "3Gi", json!({}))).await;
    assert_eq!(api.bound("orphan").await, "vanishing");

    // Retain: Released, still naming the claim.
    api.claims
        .delete("keep", &DeleteParams::default())
        .await
        .unwrap();
    let v = api.pv_phase("kept", "Released").await;
    let r = v.spec.unwrap().claim_ref.unwrap();
    assert_eq!(r.name.as_deref(), Some("keep"));
    // Delete without a deleter (not provisioned by a provisioner): Failed.
    api.claims
        .delete("drop", &DeleteParams::default())
        .await
        .unwrap();
    api.pv_phase("deleted", "Failed").await;
    let note = api.event("deleted", "VolumeFailedDelete").await;
    assert!(
        note.contains("no deletable volume plugin matched"),
        "{note}"
    );

    // The volume of a bound claim is deleted: the claim is Lost.
    api.pvs
        .delete("vanishing", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the claim to be Lost", || async {
        let c = api.claims.get("orphan").await.unwrap();
        (c.status?.phase.as_deref() == Some("Lost")).then_some(())
    })
    .await;
    let note = api.event("orphan", "ClaimLost").await;
    assert_eq!(
        note,
        "Bound claim has lost its PersistentVolume. Data on the volume is lost!"
    );
}

#[tokio::test]
async fn claims_without_a_class_get_the_default_class_and_its_provisioner() {
    let cluster = Cluster::start().await;
    let api = Apis::new(&cluster);
    let _manager = cluster.controllers(&["persistentvolume-binder"]);
    let mut no_class = claim("early", "1Gi", json!({}));
    no_class.spec.as_mut().unwrap().storage_class_name = None;
    api.create_claim(no_class.clone()).await;
    let note = api.event("early", "FailedBinding").await;
    assert_eq!(
        note,
        "no persistent volumes available for this claim and no storage class is set"
    );

    // A default class appears: the binder gives it to the claim made before it.
    let default = json!({
        "metadata": {"annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "example.com/external"
    });
    api.classes
        .create(&PostParams::default(), &class("standard", default))
        .await
        .unwrap();
    let c = eventually("the default class to be assigned", || async {
        let c = api.claims.get("early").await.unwrap();
        let class = c.spec.as_ref()?.storage_class_name.clone()?;
        (class == "standard").then_some(c)
    })
    .await;
    assert_eq!(c.spec.unwrap().volume_name, None);
    // No volume matches: the claim waits for the class's provisioner.
    let note = api.event("early", "ExternalProvisioning").await;
    assert!(note.contains("'example.com/external'"), "{note}");
    let c = api.claims.get("early").await.unwrap();
    for key in [
        "volume.kubernetes.io/storage-provisioner",
        "volume.beta.kubernetes.io/storage-provisioner",
    ] {
        assert_eq!(
            annotation(&c.metadata, key).as_deref(),
            Some("example.com/external"),
            "{key}"
        );
    }
}

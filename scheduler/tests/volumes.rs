//! VolumeBinding against an in-process apiserver: bound claims follow their volume's node
//! affinity, a missing or immediate unbound claim is reported as upstream does, and
//! WaitForFirstConsumer claims are bound (static volume) or handed to a provisioner
//! (selected-node annotation) before the pod is bound; the test plays the PV controller.
#![allow(clippy::unwrap_used)]

mod support;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::{Cluster, Scheduler};

fn volumes(c: &Cluster) -> Api<PersistentVolume> {
    Api::all(c.client.clone())
}

fn claims(c: &Cluster) -> Api<PersistentVolumeClaim> {
    Api::namespaced(c.client.clone(), "default")
}

/// A 1Gi ReadWriteOnce volume of `class`, pinned to `host` when given.
async fn volume(c: &Cluster, name: &str, class: &str, host: Option<&str>) {
    let affinity = host.map(|h| {
        json!({"required": {"nodeSelectorTerms": [{"matchExpressions":
        [{"key": "kubernetes.io/hostname", "operator": "In", "values": [h]}]}]}})
    });
    let pv = json!({"metadata": {"name": name}, "spec": {
        "storageClassName": class, "capacity": {"storage": "1Gi"},
        "accessModes": ["ReadWriteOnce"], "nodeAffinity": affinity,
        "hostPath": {"path": format!("/data/{name}")}}});
    let pv = serde_json::from_value(pv).unwrap();
    volumes(c)
        .create(&PostParams::default(), &pv)
        .await
        .unwrap();
}

/// A 1Gi ReadWriteOnce claim of `class`, bound to `volume` when given.
async fn claim(c: &Cluster, name: &str, class: &str, volume: Option<&str>) {
    let pvc = json!({"metadata": {"name": name, "namespace": "default"}, "spec": {
        "storageClassName": class, "volumeName": volume, "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}}}});
    let pvc = serde_json::from_value(pvc).unwrap();
    claims(c)
        .create(&PostParams::default(), &pvc)
        .await
        .unwrap();
    if volume.is_some() {
        mark_bound(c, name, None).await;
    }
}

async fn class(c: &Cluster, name: &str, provisioner: &str, mode: &str) {
    let sc = json!({"metadata": {"name": name}, "provisioner": provisioner,
        "volumeBindingMode": mode});
    let api: Api<StorageClass> = Api::all(c.client.clone());
    let sc = serde_json::from_value(sc).unwrap();
    api.create(&PostParams::default(), &sc).await.unwrap();
}

/// What the PV controller does: the claim names `volume` (when given) and both are Bound.
async fn mark_bound(c: &Cluster, claim: &str, volume: Option<&str>) {
    let pp = PatchParams::default();
    if let Some(v) = volume {
        let spec = json!({"spec": {"volumeName": v}});
        claims(c)
            .patch(claim, &pp, &Patch::Merge(spec))
            .await
            .unwrap();
        let phase = Patch::Merge(json!({"status": {"phase": "Bound"}}));
        volumes(c).patch_status(v, &pp, &phase).await.unwrap();
    }
    let phase = Patch::Merge(json!({"status": {"phase": "Bound"}}));
    claims(c).patch_status(claim, &pp, &phase).await.unwrap();
}

/// A pod using `claim`.
async fn pod(c: &Cluster, name: &str, claim: &str) {
    let spec =
        json!({"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]});
    c.pod_with(name, json!({}), spec).await;
}

async fn nodes(c: &Cluster) {
    for n in ["n1", "n2", "n3"] {
        c.labeled_node(n, json!({})).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bound_missing_and_immediate_claims() {
    let cluster = Cluster::start().await;
    nodes(&cluster).await;
    let scheduler = Scheduler::scoring_all(&cluster);

    // (a) A bound claim whose volume only n2 reaches.
    volume(&cluster, "pv-a", "", Some("n2")).await;
    claim(&cluster, "data-a", "", Some("pv-a")).await;
    pod(&cluster, "a", "data-a").await;
    assert_eq!(cluster.bound("a").await, "n2");

    // (b) A missing claim: reported, then scheduled once the claim exists.
    pod(&cluster, "b", "data-b").await;
    let note = cluster.failed_scheduling("b").await;
    assert_eq!(
        note,
        "0/3 nodes are available: persistentvolumeclaim \"data-b\" not found. \
         preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    volume(&cluster, "pv-b", "", Some("n1")).await;
    claim(&cluster, "data-b", "", Some("pv-b")).await;
    assert_eq!(cluster.bound("b").await, "n1");

    // (e) An unbound claim of an Immediate class.
    class(&cluster, "now", "example.com/csi", "Immediate").await;
    claim(&cluster, "data-e", "now", None).await;
    pod(&cluster, "e", "data-e").await;
    // The watchers may show the pod before its claim: wait for the claim's own verdict.
    let note = cluster
        .failed_scheduling_notes("e", |n| n.contains("immediate"))
        .await;
    assert_eq!(
        note,
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. \
         preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    assert_eq!(cluster.node_of("e").await, None);
    scheduler.stop().await;
}

/// Waits until `pick` finds a value in object `name` (as JSON); that value.
async fn until_field<K, T>(
    c: &Cluster,
    api: &Api<K>,
    name: &str,
    what: &str,
    pick: fn(&Value) -> Option<T>,
) -> T
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    c.until(what, || {
        let api = api.clone();
        async move {
            let obj = api.get(name).await.ok()?;
            pick(&serde_json::to_value(obj).ok()?)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_for_first_consumer_static_and_dynamic() {
    let cluster = Cluster::start().await;
    nodes(&cluster).await;
    let scheduler = Scheduler::scoring_all(&cluster);

    // (c) A local volume on n3: the scheduler sets its claimRef, the "controller" binds.
    class(
        &cluster,
        "local",
        "kubernetes.io/no-provisioner",
        "WaitForFirstConsumer",
    )
    .await;
    volume(&cluster, "local-n3", "local", Some("n3")).await;
    claim(&cluster, "data-c", "local", None).await;
    pod(&cluster, "c", "data-c").await;
    let claim_ref = until_field(&cluster, &volumes(&cluster), "local-n3", "claimRef", |v| {
        v["spec"]["claimRef"]["name"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(claim_ref, "data-c");
    assert_eq!(
        cluster.node_of("c").await,
        None,
        "not bound before its claim"
    );
    mark_bound(&cluster, "data-c", Some("local-n3")).await;
    assert_eq!(cluster.bound("c").await, "n3");

    // (d) A provisioner and no volume: the claim is annotated with the chosen node.
    class(&cluster, "dyn", "example.com/csi", "WaitForFirstConsumer").await;
    claim(&cluster, "data-d", "dyn", None).await;
    pod(&cluster, "d", "data-d").await;
    let selected = until_field(
        &cluster,
        &claims(&cluster),
        "data-d",
        "selected-node",
        |v| {
            let a = &v["metadata"]["annotations"]["volume.kubernetes.io/selected-node"];
            a.as_str().map(str::to_owned)
        },
    )
    .await;
    assert!(
        ["n1", "n2", "n3"].contains(&selected.as_str()),
        "{selected}"
    );
    volume(&cluster, "pvc-d", "dyn", Some(&selected)).await;
    mark_bound(&cluster, "data-d", Some("pvc-d")).await;
    assert_eq!(cluster.bound("d").await, selected);
    scheduler.stop().await;
}

/// VolumeBinding with a one-second `bindTimeoutSeconds`.
const SHORT_BIND_TIMEOUT: &str = r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  pluginConfig:
  - name: VolumeBinding
    args:
      bindTimeoutSeconds: 1
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_not_bound_in_time_fails_the_binding_and_is_retried_on_its_node() {
    let cluster = Cluster::start().await;
    nodes(&cluster).await;
    let config = keelson_scheduler::config::parse_yaml(SHORT_BIND_TIMEOUT).unwrap();
    let scheduler = Scheduler::start_with(&cluster, config);
    class(&cluster, "dyn", "example.com/csi", "WaitForFirstConsumer").await;
    claim(&cluster, "data", "dyn", None).await;
    pod(&cluster, "p", "data").await;
    let note = cluster
        .failed_scheduling_notes("p", |n| n.contains("PreBind"))
        .await;
    assert_eq!(
        note,
        "running PreBind plugin \"VolumeBinding\": binding volumes: context deadline exceeded"
    );
    assert_eq!(cluster.node_of("p").await, None);
    // The annotation stays, so the retry keeps to that node once the volume exists.
    let selected = until_field(&cluster, &claims(&cluster), "data", "selected-node", |v| {
        let a = &v["metadata"]["annotations"]["volume.kubernetes.io/selected-node"];
        a.as_str().map(str::to_owned)
    })
    .await;
    volume(&cluster, "pvc-data", "dyn", Some(&selected)).await;
    mark_bound(&cluster, "data", Some("pvc-data")).await;
    assert_eq!(cluster.bound("p").await, selected);
    scheduler.stop().await;
}

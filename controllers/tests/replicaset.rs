//! The ReplicaSet controller against the in-process apiserver. The tests play the kubelet
//! by writing pod status (Running, Ready).

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use parking_lot::Mutex;
use serde_json::{Value, json};
use support::{Cluster, eventually};

const NS: &str = "default";

fn replica_set(name: &str, replicas: i32, extra_spec: Value) -> ReplicaSet {
    let mut spec = json!({
        "replicas": replicas,
        "selector": { "matchLabels": { "app": name } },
        "template": {
            "metadata": { "labels": { "app": name, "tier": "web" } },
            "spec": { "containers": [{ "name": "c", "image": "registry.k8s.io/pause:3.10" }] },
        },
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra_spec.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(json!({ "metadata": { "name": name }, "spec": spec })).unwrap()
}

fn is_active(pod: &Pod) -> bool {
    keelson_controllers::podutil::is_active(pod)
}

fn owner_uid(pod: &Pod) -> Option<String> {
    keelson_controllers::owner::controller_of(&pod.metadata).map(|r| r.uid.clone())
}

/// The active pods whose controller is `rs`.
async fn owned(pods: &Api<Pod>, rs: &ReplicaSet) -> Vec<Pod> {
    let uid = rs.uid();
    pods.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| is_active(p) && owner_uid(p) == uid)
        .collect()
}

/// Waits until `rs` has exactly `n` active pods; returns them.
async fn wait_for_pods(pods: &Api<Pod>, rs: &ReplicaSet, n: usize) -> Vec<Pod> {
    eventually(&format!("{n} pods of {}", rs.name_any()), || async {
        let owned = owned(pods, rs).await;
        (owned.len() == n).then_some(owned)
    })
    .await
}

/// Plays the kubelet: the pod runs, ready (or not) since now.
async fn run_pod(pods: &Api<Pod>, name: &str, ready: bool) {
    let status = json!({ "status": {
        "phase": "Running",
        "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" },
                         "lastTransitionTime": jiff::Timestamp::now().to_string() }],
    }});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
}

/// Waits until `check` holds for the ReplicaSet's status.
async fn wait_for_status(
    sets: &Api<ReplicaSet>,
    name: &str,
    what: &str,
    check: impl Fn(&ReplicaSet) -> bool,
) -> ReplicaSet {
    eventually(what, || async {
        let rs = sets.get(name).await.unwrap();
        check(&rs).then_some(rs)
    })
    .await
}

fn counts(rs: &ReplicaSet) -> (i32, i32, i32, i32) {
    let s = rs.status.clone().unwrap_or_default();
    (
        s.replicas,
        s.fully_labeled_replicas.unwrap_or(0),
        s.ready_replicas.unwrap_or(0),
        s.available_replicas.unwrap_or(0),
    )
}

/// Notes of the events with `reason` about the object named `name`.
async fn events(client: &kube::Client, name: &str, reason: &str) -> Vec<String> {
    let api: Api<Event> = Api::namespaced(client.clone(), NS);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter_map(|e| e.note)
        .collect()
}

/// Every pod name ever seen, and the most active pods seen at once.
#[derive(Default)]
struct PodWatch {
    names: BTreeSet<String>,
    active: BTreeSet<String>,
    max_active: usize,
}

fn watch_pods(client: &kube::Client) -> Arc<Mutex<PodWatch>> {
    let seen = Arc::new(Mutex::new(PodWatch::default()));
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let record = seen.clone();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(api, watcher::Config::default()));
        while let Some(Ok(event)) = stream.next().await {
            let mut w = record.lock();
            match event {
                watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => {
                    w.names.insert(pod.name_any());
                    if is_active(&pod) {
                        w.active.insert(pod.name_any());
                    } else {
                        w.active.remove(&pod.name_any());
                    }
                }
                watcher::Event::Delete(pod) => {
                    w.active.remove(&pod.name_any());
                }
                watcher::Event::Init | watcher::Event::InitDone => {}
            }
            w.max_active = w.max_active.max(w.active.len());
        }
    });
    seen
}

#[tokio::test]
async fn scale_up_creates_exactly_the_replicas_and_reports_status() {
    let cluster = Cluster::start().await;
    let seen = watch_pods(&cluster.client);
    let manager = cluster.controllers(&["replicaset"]);
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);

    let rs = sets
        .create(&PostParams::default(), &replica_set("web", 7, json!({})))
        .await
        .unwrap();
    let created = wait_for_pods(&pods, &rs, 7).await;
    for pod in &created {
        assert_eq!(pod.labels().get("tier").map(String::as_str), Some("web"));
        assert!(pod.name_any().starts_with("web-"));
        run_pod(&pods, &pod.name_any(), true).await;
    }
    let rs = wait_for_status(&sets, "web", "all 7 ready and available", |rs| {
        counts(rs) == (7, 7, 7, 7)
    })
    .await;
    assert_eq!(
        rs.status.as_ref().unwrap().observed_generation,
        rs.metadata.generation
    );

    // Pod changes (status writes) kept waking the controller; none made it create more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let w = seen.lock();
        assert_eq!(w.names.len(), 7, "pods ever created: {:?}", w.names);
        assert_eq!(w.max_active, 7);
    }
    let notes = events(&cluster.client, "web", "SuccessfulCreate").await;
    for pod in &created {
        let note = format!("Created pod: {}", pod.name_any());
        assert!(notes.contains(&note), "{note} not in {notes:?}");
    }
    manager.stop().await;
}

#[tokio::test]
async fn scaling_down_through_scale_deletes_the_lowest_ranked_pods() {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["replicaset"]);
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);
    let rs = sets
        .create(&PostParams::default(), &replica_set("web", 4, json!({})))
        .await
        .unwrap();
    let created = wait_for_pods(&pods, &rs, 4).await;
    let names: Vec<String> = created.iter().map(ResourceExt::name_any).collect();
    // names[0] stays Pending; names[1] runs but is not ready; the others are ready.
    run_pod(&pods, &names[1], false).await;
    run_pod(&pods, &names[2], true).await;
    run_pod(&pods, &names[3], true).await;
    wait_for_status(&sets, "web", "2 ready", |rs| counts(rs).2 == 2).await;

    // `kubectl scale --replicas=2`.
    let scale = sets
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "replicas": 2 } })),
        )
        .await
        .unwrap();
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(2));

    let left = wait_for_pods(&pods, &rs, 2).await;
    let left: BTreeSet<String> = left.iter().map(ResourceExt::name_any).collect();
    assert_eq!(left, BTreeSet::from([names[2].clone(), names[3].clone()]));
    wait_for_status(&sets, "web", "2 replicas", |rs| counts(rs) == (2, 2, 2, 2)).await;
    let notes = events(&cluster.client, "web", "SuccessfulDelete").await;
    for gone in &names[..2] {
        let note = format!("Deleted pod: {gone}");
        assert!(notes.contains(&note), "{note} not in {notes:?}");
    }
    // Scaling up again through /scale works too.
    sets.patch_scale(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({ "spec": { "replicas": 3 } })),
    )
    .await
    .unwrap();
    wait_for_pods(&pods, &rs, 3).await;
    manager.stop().await;
}

#[tokio::test]
async fn a_deleted_pod_is_replaced() {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["replicaset"]);
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);
    let rs = sets
        .create(&PostParams::default(), &replica_set("web", 2, json!({})))
        .await
        .unwrap();
    let before = wait_for_pods(&pods, &rs, 2).await;
    let victim = before[0].name_any();
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    let after = eventually("a replacement pod", || async {
        let owned = owned(&pods, &rs).await;
        (owned.len() == 2 && owned.iter().all(|p| p.name_any() != victim)).then_some(owned)
    })
    .await;
    assert!(after.iter().any(|p| p.name_any() == before[1].name_any()));
    manager.stop().await;
}

#[tokio::test]
async fn orphans_are_adopted_and_pods_that_stop_matching_are_released() {
    let cluster = Cluster::start().await;
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);
    let orphan: Pod = serde_json::from_value(json!({
        "metadata": { "name": "orphan", "labels": { "app": "web" } },
        "spec": { "containers": [{ "name": "c", "image": "registry.k8s.io/pause:3.10" }] },
    }))
    .unwrap();
    pods.create(&PostParams::default(), &orphan).await.unwrap();
    let manager = cluster.controllers(&["replicaset"]);
    let rs = sets
        .create(&PostParams::default(), &replica_set("web", 2, json!({})))
        .await
        .unwrap();
    let owned_pods = wait_for_pods(&pods, &rs, 2).await;
    assert!(
        owned_pods.iter().any(|p| p.name_any() == "orphan"),
        "the orphan was adopted: {:?}",
        owned_pods
            .iter()
            .map(ResourceExt::name_any)
            .collect::<Vec<_>>()
    );
    // The adopted pod lacks the template's `tier` label: not fully labeled.
    wait_for_status(&sets, "web", "1 fully labeled", |rs| counts(rs).1 == 1).await;

    // The orphan stops matching: released, and replaced.
    pods.patch(
        "orphan",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "app": "other" } } })),
    )
    .await
    .unwrap();
    eventually("the pod released", || async {
        let pod = pods.get("orphan").await.unwrap();
        owner_uid(&pod).is_none().then_some(())
    })
    .await;
    let now_owned = wait_for_pods(&pods, &rs, 2).await;
    assert!(now_owned.iter().all(|p| p.name_any() != "orphan"));
    wait_for_status(&sets, "web", "2 fully labeled", |rs| counts(rs).1 == 2).await;
    manager.stop().await;
}

#[tokio::test]
async fn availability_waits_for_min_ready_seconds_without_a_pod_change() {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["replicaset"]);
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);
    let rs = sets
        .create(
            &PostParams::default(),
            &replica_set("web", 2, json!({ "minReadySeconds": 5 })),
        )
        .await
        .unwrap();
    for pod in wait_for_pods(&pods, &rs, 2).await {
        run_pod(&pods, &pod.name_any(), true).await;
    }
    // Ready at once, available only minReadySeconds later.
    let ready = wait_for_status(&sets, "web", "2 ready", |rs| counts(rs).2 == 2).await;
    assert_eq!(counts(&ready), (2, 2, 2, 0));
    wait_for_status(&sets, "web", "2 available", |rs| counts(rs).3 == 2).await;
    manager.stop().await;
}

#[tokio::test]
async fn failed_creates_set_replica_failure_until_they_succeed() {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["replicaset"]);
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);
    // Pods of this template are refused until the PriorityClass exists.
    let mut set = replica_set("web", 3, json!({}));
    let template = set.spec.as_mut().unwrap().template.as_mut().unwrap();
    template.spec.as_mut().unwrap().priority_class_name = Some("later".into());
    let rs = sets.create(&PostParams::default(), &set).await.unwrap();

    let failed = wait_for_status(&sets, "web", "the ReplicaFailure condition", |rs| {
        let conds = rs.status.as_ref().and_then(|s| s.conditions.clone());
        conds.is_some_and(|c| c.iter().any(|c| c.type_ == "ReplicaFailure"))
    })
    .await;
    let cond = failed.status.unwrap().conditions.unwrap();
    assert_eq!(cond[0].status, "True");
    assert_eq!(cond[0].reason.as_deref(), Some("FailedCreate"));
    assert!(cond[0].message.as_deref().unwrap().contains("later"));
    let notes = events(&cluster.client, "web", "FailedCreate").await;
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("Error creating: ") && n.contains("later")),
        "{notes:?}"
    );
    assert!(owned(&pods, &rs).await.is_empty());

    let class: PriorityClass =
        serde_json::from_value(json!({ "metadata": { "name": "later" }, "value": 10 })).unwrap();
    Api::<PriorityClass>::all(cluster.client.clone())
        .create(&PostParams::default(), &class)
        .await
        .unwrap();
    wait_for_pods(&pods, &rs, 3).await;
    wait_for_status(&sets, "web", "the condition removed", |rs| {
        let conds = rs.status.as_ref().and_then(|s| s.conditions.clone());
        counts(rs).0 == 3 && conds.is_none_or(|c| c.is_empty())
    })
    .await;
    manager.stop().await;
}

#[tokio::test]
async fn a_replica_set_being_deleted_creates_nothing_but_keeps_its_status() {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["replicaset"]);
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);
    let mut set = replica_set("web", 2, json!({}));
    set.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    let rs = sets.create(&PostParams::default(), &set).await.unwrap();
    let before = wait_for_pods(&pods, &rs, 2).await;
    sets.delete("web", &DeleteParams::default()).await.unwrap();
    // Held by the finalizer: being deleted. A pod lost now is not replaced...
    pods.delete(&before[0].name_any(), &DeleteParams::default())
        .await
        .unwrap();
    // ...but the status follows the pods.
    wait_for_status(&sets, "web", "1 replica", |rs| counts(rs).0 == 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(owned(&pods, &rs).await.len(), 1);
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "finalizers": null } })),
    )
    .await
    .unwrap();
    manager.stop().await;
}

#[tokio::test]
async fn pods_of_another_controller_or_namespace_are_neither_counted_nor_adopted() {
    let cluster = Cluster::start().await;
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    let elsewhere: Namespace =
        serde_json::from_value(json!({ "metadata": { "name": "elsewhere" } })).unwrap();
    namespaces
        .create(&PostParams::default(), &elsewhere)
        .await
        .unwrap();
    let elsewhere: Api<Pod> = Api::namespaced(cluster.client.clone(), "elsewhere");
    let pod = |name: &str, owners: Value| -> Pod {
        serde_json::from_value(json!({
            "metadata": { "name": name, "labels": { "app": "web", "tier": "web" },
                          "ownerReferences": owners },
            "spec": { "containers": [{ "name": "c", "image": "registry.k8s.io/pause:3.10" }] },
        }))
        .unwrap()
    };
    // Matching pods, controlled by someone else, or orphans in another namespace.
    let foreign = json!([{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "other",
                           "uid": "0000-foreign", "controller": true }]);
    pods.create(&PostParams::default(), &pod("foreign", foreign))
        .await
        .unwrap();
    elsewhere
        .create(&PostParams::default(), &pod("stray", Value::Null))
        .await
        .unwrap();
    let manager = cluster.controllers(&["replicaset"]);
    let rs = sets
        .create(&PostParams::default(), &replica_set("web", 2, json!({})))
        .await
        .unwrap();
    // Had it counted either, it would have created one pod only.
    let owned_pods = wait_for_pods(&pods, &rs, 2).await;
    assert!(owned_pods.iter().all(|p| p.name_any() != "foreign"));
    wait_for_status(&sets, "web", "2 replicas", |rs| counts(rs) == (2, 2, 0, 0)).await;
    let foreign = pods.get("foreign").await.unwrap();
    assert_eq!(owner_uid(&foreign).as_deref(), Some("0000-foreign"));
    let stray = elsewhere.get("stray").await.unwrap();
    assert_eq!(owner_uid(&stray), None);
    manager.stop().await;
}

#[tokio::test]
async fn many_creations_are_recorded_as_upstream_correlates_them() {
    // client-go's correlation: ten notes, then one combined event counting the rest,
    // until the controller's budget of 25 events about the ReplicaSet runs out.
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["replicaset"]);
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NS);
    let rs = sets
        .create(&PostParams::default(), &replica_set("many", 40, json!({})))
        .await
        .unwrap();
    wait_for_pods(&pods, &rs, 40).await;
    let api: Api<Event> = Api::namespaced(cluster.client.clone(), NS);
    let combined = eventually("the combined event to count 16 creations", || async {
        let events: Vec<Event> = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("SuccessfulCreate"))
            .collect();
        let (combined, single): (Vec<Event>, Vec<Event>) = events.into_iter().partition(|e| {
            e.note.as_deref().is_some_and(|n| {
                n.starts_with("(combined from similar events): Created pod: many-")
            })
        });
        assert_eq!(single.len(), 9, "{single:?}");
        assert!(combined.len() <= 1, "{combined:?}");
        let event = combined.into_iter().next()?;
        let count = event.series.as_ref().map_or(1, |s| s.count);
        (count == 16).then_some(event)
    })
    .await;
    assert_eq!(
        combined.regarding.and_then(|r| r.name).as_deref(),
        Some("many")
    );
    // The other fifteen were dropped by the spam filter.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.reason.as_deref() == Some("SuccessfulCreate"))
        .count();
    assert_eq!(total, 10);
    manager.stop().await;
}

//! The Deployment controller against an in-process apiserver. There is no ReplicaSet
//! controller here: a small simulator plays it (and the kubelet), setting each
//! ReplicaSet's status to follow its `spec.replicas` one pod per tick, keeping the images
//! it is told to hold unavailable.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, ResourceExt as _};
use parking_lot::Mutex;
use serde_json::{Value, json};
use support::{Cluster, eventually};

const REVISION: &str = "deployment.kubernetes.io/revision";

/// Plays the ReplicaSet controller and the kubelet for every ReplicaSet in `default`.
struct Simulator {
    held: Arc<Mutex<HashSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Simulator {
    fn start(client: &kube::Client) -> Self {
        let held = Arc::new(Mutex::new(HashSet::new()));
        let api: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
        let task = tokio::spawn(simulate(api, held.clone()));
        Self { held, task }
    }

    /// Pods of `image` never become available until released.
    fn hold(&self, image: &str) {
        self.held.lock().insert(image.to_owned());
    }

    fn release(&self, image: &str) {
        self.held.lock().remove(image);
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn image_of(rs: &ReplicaSet) -> String {
    rs.spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

fn spec_of(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn available_of(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

/// One tick of a ReplicaSet's pods: the count moves one toward the spec, pods beyond the
/// spec stop being available at once, and one more pod becomes available (unless held).
fn next_status(rs: &ReplicaSet, held: bool) -> ReplicaSetStatus {
    let spec = spec_of(rs);
    let status = rs.status.clone().unwrap_or_default();
    let replicas = status.replicas + (spec - status.replicas).signum();
    let mut available = available_of(rs).min(spec);
    if held {
        available = 0;
    } else if available < replicas.min(spec) {
        available += 1;
    }
    let some = |n: i32| (n != 0).then_some(n);
    ReplicaSetStatus {
        replicas,
        fully_labeled_replicas: some(replicas),
        ready_replicas: some(available),
        available_replicas: some(available),
        observed_generation: rs.metadata.generation,
        ..ReplicaSetStatus::default()
    }
}

async fn simulate(api: Api<ReplicaSet>, held: Arc<Mutex<HashSet<String>>>) {
    loop {
        if let Ok(list) = api.list(&ListParams::default()).await {
            for mut rs in list {
                let hold = held.lock().contains(&image_of(&rs));
                let status = next_status(&rs, hold);
                if rs.status.as_ref() != Some(&status) {
                    rs.status = Some(status);
                    let _ = api
                        .replace_status(&rs.name_any(), &PostParams::default(), &rs)
                        .await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn deployment(name: &str, replicas: i32, image: &str, strategy: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }))
    .unwrap()
}

fn rolling(surge: Value, unavailable: Value) -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
}

struct Env {
    cluster: Cluster,
    sim: Simulator,
    _manager: support::Manager,
    deployments: Api<Deployment>,
    replica_sets: Api<ReplicaSet>,
}

async fn env() -> Env {
    let cluster = Cluster::start().await;
    let sim = Simulator::start(&cluster.client);
    let manager = cluster.controllers(&["deployment"]);
    Env {
        deployments: Api::namespaced(cluster.client.clone(), "default"),
        replica_sets: Api::namespaced(cluster.client.clone(), "default"),
        cluster,
        sim,
        _manager: manager,
    }
}

impl Env {
    async fn create(&self, d: &Deployment) -> Deployment {
        self.deployments
            .create(&PostParams::default(), d)
            .await
            .unwrap()
    }

    async fn patch(&self, name: &str, patch: Value) {
        self.deployments
            .patch(name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .unwrap();
    }

    async fn set_image(&self, name: &str, image: &str) {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}});
        self.patch(name, patch).await;
    }

    async fn replica_sets(&self) -> Vec<ReplicaSet> {
        self.replica_sets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
    }

    async fn replica_set_of(&self, image: &str) -> Option<ReplicaSet> {
        self.replica_sets()
            .await
            .into_iter()
            .find(|rs| image_of(rs) == image)
    }

    /// Waits until `kubectl rollout status` would say the rollout of `image` finished.
    async fn rolled_out(&self, name: &str, image: &str) -> Deployment {
        let what = format!("{name} rolled out with {image}");
        eventually(&what, || async {
            let d = self.deployments.get(name).await.unwrap();
            let rs = self.replica_set_of(image).await?;
            let others = self.replica_sets().await;
            let old_gone = others
                .iter()
                .filter(|o| o.name_any() != rs.name_any())
                .all(|o| spec_of(o) == 0);
            (rollout_status_done(&d) && old_gone).then_some(d)
        })
        .await
    }

    async fn event_notes(&self) -> Vec<String> {
        let events: Api<Event> = Api::namespaced(self.cluster.client.clone(), "default");
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|e| e.note)
            .collect()
    }
}

/// `kubectl rollout status`'s test for a finished Deployment rollout.
fn rollout_status_done(d: &Deployment) -> bool {
    let status = d.status.clone().unwrap_or_default();
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let n = |v: Option<i32>| v.unwrap_or(0);
    d.metadata.generation <= status.observed_generation
        && condition(d, "Progressing")
            .is_none_or(|c| c.reason.as_deref() != Some("ProgressDeadlineExceeded"))
        && n(status.updated_replicas) >= want
        && n(status.replicas) <= n(status.updated_replicas)
        && n(status.available_replicas) >= n(status.updated_replicas)
}

fn condition<'a>(d: &'a Deployment, kind: &str) -> Option<&'a DeploymentCondition> {
    d.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
}

fn reason(d: &Deployment, kind: &str) -> Option<String> {
    condition(d, kind).and_then(|c| c.reason.clone())
}

fn annotation(rs: &ReplicaSet, key: &str) -> Option<String> {
    rs.annotations().get(key).cloned()
}

#[tokio::test]
async fn a_new_deployment_gets_its_replica_set_annotations_and_status() {
    let env = env().await;
    let mut d = deployment("web", 3, "nginx:1", rolling(json!("25%"), json!("25%")));
    d.metadata.annotations = Some(BTreeMap::from([
        ("kubernetes.io/change-cause".to_owned(), "first".to_owned()),
        (
            "kubectl.kubernetes.io/last-applied-configuration".to_owned(),
            "{}".to_owned(),
        ),
    ]));
    let created = env.create(&d).await;
    let d = env.rolled_out("web", "nginx:1").await;

    let rss = env.replica_sets().await;
    assert_eq!(rss.len(), 1);
    let rs = &rss[0];
    let hash = rs.labels()["pod-template-hash"].clone();
    assert_eq!(rs.name_any(), format!("web-{hash}"));
    let spec = rs.spec.clone().unwrap();
    assert_eq!(
        spec.selector.match_labels.unwrap()["pod-template-hash"],
        hash
    );
    let template_labels = spec.template.unwrap().metadata.unwrap().labels.unwrap();
    assert_eq!(template_labels["pod-template-hash"], hash);
    assert_eq!(template_labels["app"], "web");
    let owner = &rs.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Deployment", Some(true))
    );
    assert_eq!(owner.uid, created.uid().unwrap());
    assert_eq!(annotation(rs, REVISION).as_deref(), Some("1"));
    assert_eq!(
        annotation(rs, "deployment.kubernetes.io/desired-replicas").as_deref(),
        Some("3")
    );
    // maxSurge 25% of 3, rounded up: 1.
    assert_eq!(
        annotation(rs, "deployment.kubernetes.io/max-replicas").as_deref(),
        Some("4")
    );
    assert_eq!(
        annotation(rs, "kubernetes.io/change-cause").as_deref(),
        Some("first")
    );
    assert_eq!(
        annotation(rs, "kubectl.kubernetes.io/last-applied-configuration"),
        None
    );

    // The status `kubectl rollout status` and `describe` read.
    assert_eq!(d.annotations().get(REVISION).map(String::as_str), Some("1"));
    let status = d.status.clone().unwrap();
    assert_eq!(status.observed_generation, d.metadata.generation);
    assert_eq!(
        (
            status.replicas,
            status.updated_replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(3), Some(3), Some(3), Some(3))
    );
    assert_eq!(status.unavailable_replicas, None);
    assert_eq!(
        reason(&d, "Available").as_deref(),
        Some("MinimumReplicasAvailable")
    );
    let progressing = eventually("the rollout to be complete", || async {
        let d = env.deployments.get("web").await.unwrap();
        condition(&d, "Progressing")
            .filter(|c| c.reason.as_deref() == Some("NewReplicaSetAvailable"))
            .cloned()
    })
    .await;
    assert_eq!(progressing.status, "True");
    assert_eq!(
        progressing.message.unwrap(),
        format!(
            "ReplicaSet \"{}\" has successfully progressed.",
            rs.name_any()
        )
    );
    let notes = env.event_notes().await;
    let scaled = format!("Scaled up replica set {} from 0 to 3", rs.name_any());
    assert!(notes.contains(&scaled), "{notes:?}");
}

/// ReplicaSet states seen (image, spec, available), and the states out of bounds.
type Seen = Arc<Mutex<(Vec<Vec<(String, i32, i32)>>, Vec<String>)>>;

/// Watches the ReplicaSets and checks, at every state the store passes through, that
/// the total of `spec.replicas` stays within replicas + maxSurge and the available pods
/// at or above replicas − maxUnavailable. Returns (states seen, violations).
fn watch_bounds(
    api: Api<ReplicaSet>,
    max_total: i32,
    min_available: i32,
) -> (tokio::task::JoinHandle<()>, Seen) {
    let seen = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let out = seen.clone();
    let task = tokio::spawn(async move {
        let mut state: BTreeMap<String, ReplicaSet> = BTreeMap::new();
        // A (re)list in progress: checked once complete.
        let mut listing: Option<BTreeMap<String, ReplicaSet>> = None;
        let mut stream = std::pin::pin!(watcher(api, watcher::Config::default()));
        while let Some(Ok(event)) = stream.next().await {
            match event {
                watcher::Event::Init => {
                    listing = Some(BTreeMap::new());
                    continue;
                }
                watcher::Event::InitApply(rs) => {
                    listing
                        .get_or_insert_with(BTreeMap::new)
                        .insert(rs.name_any(), rs);
                    continue;
                }
                watcher::Event::InitDone => state = listing.take().unwrap_or_default(),
                watcher::Event::Apply(rs) => {
                    state.insert(rs.name_any(), rs);
                }
                watcher::Event::Delete(rs) => {
                    state.remove(&rs.name_any());
                }
            }
            let total: i32 = state.values().map(spec_of).sum();
            let available: i32 = state.values().map(available_of).sum();
            let snapshot: Vec<_> = state
                .values()
                .map(|rs| (image_of(rs), spec_of(rs), available_of(rs)))
                .collect();
            let mut seen = out.lock();
            if total > max_total || available < min_available {
                let rvs: Vec<_> = state.values().map(|rs| rs.resource_version()).collect();
                seen.1.push(format!("{snapshot:?} {rvs:?}"));
            }
            if seen.0.last() != Some(&snapshot) {
                seen.0.push(snapshot);
            }
        }
    });
    (task, seen)
}

async fn rolling_update_within_bounds(
    replicas: i32,
    surge: Value,
    unavailable: Value,
    max_surge: i32,
    max_unavailable: i32,
) {
    let env = env().await;
    env.create(&deployment(
        "web",
        replicas,
        "nginx:1",
        rolling(surge, unavailable),
    ))
    .await;
    env.rolled_out("web", "nginx:1").await;

    let (task, seen) = watch_bounds(
        env.replica_sets.clone(),
        replicas + max_surge,
        replicas - max_unavailable,
    );
    env.set_image("web", "nginx:2").await;
    let d = env.rolled_out("web", "nginx:2").await;
    // Let the watch catch up with the final state.
    eventually("the watch to see the end", || async {
        let seen = seen.lock();
        let last = seen.0.last()?;
        last.iter()
            .any(|(image, spec, available)| {
                image == "nginx:2" && *spec == replicas && *available == replicas
            })
            .then_some(())
    })
    .await;
    task.abort();
    let (states, violations) = seen.lock().clone();
    assert!(violations.is_empty(), "bounds broken: {violations:#?}");
    // Several intermediate states: both ReplicaSets scaled step by step.
    let mixed = states
        .iter()
        .filter(|s| s.iter().all(|(_, spec, _)| *spec > 0) && s.len() == 2)
        .count();
    assert!(mixed >= 2, "{states:#?}");

    assert_eq!(d.annotations().get(REVISION).map(String::as_str), Some("2"));
    let status = d.status.unwrap();
    assert_eq!(
        (
            status.replicas,
            status.updated_replicas,
            status.available_replicas
        ),
        (Some(replicas), Some(replicas), Some(replicas))
    );
    let new = env.replica_set_of("nginx:2").await.unwrap();
    let notes = env.event_notes().await;
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with(&format!("Scaled up replica set {} from ", new.name_any()))),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("Scaled down replica set ")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn rolling_update_with_integer_bounds() {
    rolling_update_within_bounds(4, json!(1), json!(1), 1, 1).await;
}

#[tokio::test]
async fn rolling_update_with_percent_bounds() {
    // maxSurge 30% of 10 rounds up to 3; maxUnavailable 25% of 10 rounds down to 2.
    rolling_update_within_bounds(10, json!("30%"), json!("25%"), 3, 2).await;
}

#[tokio::test]
async fn recreate_waits_for_old_pods_before_scaling_up() {
    let env = env().await;
    env.create(&deployment("db", 2, "pg:1", json!({"type": "Recreate"})))
        .await;
    env.rolled_out("db", "pg:1").await;
    let old = env.replica_set_of("pg:1").await.unwrap();

    // An old pod that has not gone away yet.
    let pods: Api<Pod> = Api::namespaced(env.cluster.client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "db-old", "labels": old.labels(),
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": old.name_any(), "uid": old.uid().unwrap(),
                                          "controller": true}]},
        "spec": {"containers": [{"name": "c", "image": "pg:1"}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();

    env.set_image("db", "pg:2").await;
    eventually("the old replica set to be scaled down", || async {
        let rs = env.replica_sets.get(&old.name_any()).await.unwrap();
        (spec_of(&rs) == 0 && rs.status?.replicas == 0).then_some(())
    })
    .await;
    // The old pod still runs: no new pods yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let new = env.replica_set_of("pg:2").await;
    assert!(new.as_ref().is_none_or(|rs| spec_of(rs) == 0), "{new:?}");

    pods.delete("db-old", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    let d = env.rolled_out("db", "pg:2").await;
    assert_eq!(d.status.unwrap().updated_replicas, Some(2));
    let new = env.replica_set_of("pg:2").await.unwrap();
    let notes = env.event_notes().await;
    assert!(
        notes.contains(&format!(
            "Scaled down replica set {} from 2 to 0",
            old.name_any()
        )),
        "{notes:?}"
    );
    assert!(
        notes.contains(&format!(
            "Scaled up replica set {} from 0 to 2",
            new.name_any()
        )),
        "{notes:?}"
    );
}

#[tokio::test]
async fn rollback_reuses_the_old_replica_set_with_a_new_revision() {
    let env = env().await;
    env.create(&deployment(
        "web",
        2,
        "nginx:1",
        rolling(json!(1), json!(0)),
    ))
    .await;
    env.rolled_out("web", "nginx:1").await;
    let first = env.replica_set_of("nginx:1").await.unwrap();
    env.set_image("web", "nginx:2").await;
    env.rolled_out("web", "nginx:2").await;

    // `kubectl rollout undo`: the old template back into the Deployment.
    env.set_image("web", "nginx:1").await;
    let d = env.rolled_out("web", "nginx:1").await;
    let rss = env.replica_sets().await;
    assert_eq!(rss.len(), 2, "no third replica set");
    let back = env.replica_set_of("nginx:1").await.unwrap();
    assert_eq!(back.uid(), first.uid());
    assert_eq!(annotation(&back, REVISION).as_deref(), Some("3"));
    assert_eq!(
        annotation(&back, "deployment.kubernetes.io/revision-history").as_deref(),
        Some("1")
    );
    assert_eq!(spec_of(&back), 2);
    let second = env.replica_set_of("nginx:2").await.unwrap();
    assert_eq!(annotation(&second, REVISION).as_deref(), Some("2"));
    assert_eq!(spec_of(&second), 0);
    assert_eq!(d.annotations().get(REVISION).map(String::as_str), Some("3"));
}

#[tokio::test]
async fn paused_deployments_scale_but_do_not_roll_out() {
    let env = env().await;
    env.create(&deployment(
        "web",
        2,
        "nginx:1",
        rolling(json!(1), json!(0)),
    ))
    .await;
    env.rolled_out("web", "nginx:1").await;

    env.patch("web", json!({"spec": {"paused": true}})).await;
    eventually("the paused condition", || async {
        let d = env.deployments.get("web").await.unwrap();
        (reason(&d, "Progressing").as_deref() == Some("DeploymentPaused")).then_some(())
    })
    .await;
    env.set_image("web", "nginx:2").await;
    env.patch("web", json!({"spec": {"replicas": 4}})).await;
    eventually("the paused deployment to scale", || async {
        let rs = env.replica_set_of("nginx:1").await?;
        (spec_of(&rs) == 4 && available_of(&rs) == 4).then_some(())
    })
    .await;
    let d = env.deployments.get("web").await.unwrap();
    assert_eq!(
        d.status.as_ref().unwrap().observed_generation,
        d.metadata.generation
    );
    assert!(
        env.replica_set_of("nginx:2").await.is_none(),
        "no rollout while paused"
    );

    env.patch("web", json!({"spec": {"paused": false}})).await;
    let d = env.rolled_out("web", "nginx:2").await;
    assert_eq!(d.status.unwrap().updated_replicas, Some(4));
    assert_eq!(spec_of(&env.replica_set_of("nginx:1").await.unwrap()), 0);
}

#[tokio::test]
async fn scaling_mid_rollout_is_proportional() {
    let env = env().await;
    env.create(&deployment(
        "web",
        10,
        "nginx:1",
        rolling(json!(3), json!(2)),
    ))
    .await;
    env.rolled_out("web", "nginx:1").await;

    // The new pods never become available: the rollout stops at 8 old + 5 new.
    env.sim.hold("nginx:2");
    env.set_image("web", "nginx:2").await;
    let sizes = || async {
        let old = env.replica_set_of("nginx:1").await?;
        let new = env.replica_set_of("nginx:2").await?;
        Some((spec_of(&old), spec_of(&new)))
    };
    eventually("the rollout to stall at 8 + 5", || async {
        (sizes().await? == (8, 5)).then_some(())
    })
    .await;

    // 15 replicas, max 18: 8·18/13 ≈ 11 old, 5·18/13 ≈ 7 new.
    env.patch("web", json!({"spec": {"replicas": 15}})).await;
    eventually("proportional scale-up to 11 + 7", || async {
        (sizes().await? == (11, 7)).then_some(())
    })
    .await;
    let new = env.replica_set_of("nginx:2").await.unwrap();
    assert_eq!(
        annotation(&new, "deployment.kubernetes.io/desired-replicas").as_deref(),
        Some("15")
    );
    assert_eq!(
        annotation(&new, "deployment.kubernetes.io/max-replicas").as_deref(),
        Some("18")
    );
    let notes = env.event_notes().await;
    assert!(
        notes.contains(&format!(
            "Scaled up replica set {} from 5 to 7",
            new.name_any()
        )),
        "{notes:?}"
    );

    env.sim.release("nginx:2");
    env.rolled_out("web", "nginx:2").await;
    assert_eq!(spec_of(&env.replica_set_of("nginx:2").await.unwrap()), 15);
}

#[tokio::test]
async fn old_replica_sets_beyond_the_history_limit_are_deleted() {
    let env = env().await;
    let mut d = deployment("web", 1, "nginx:1", rolling(json!(1), json!(0)));
    d.spec.as_mut().unwrap().revision_history_limit = Some(1);
    env.create(&d).await;
    env.rolled_out("web", "nginx:1").await;
    for image in ["nginx:2", "nginx:3"] {
        env.set_image("web", image).await;
        env.rolled_out("web", image).await;
    }
    let images = eventually("the oldest replica set to be deleted", || async {
        let rss = env.replica_sets().await;
        let mut images: Vec<String> = rss.iter().map(image_of).collect();
        images.sort();
        (rss.len() == 2).then_some(images)
    })
    .await;
    assert_eq!(images, ["nginx:2", "nginx:3"]);
}

#[tokio::test]
async fn a_stuck_rollout_exceeds_its_progress_deadline() {
    let env = env().await;
    let mut d = deployment("web", 1, "nginx:bad", rolling(json!(1), json!(0)));
    d.spec.as_mut().unwrap().progress_deadline_seconds = Some(2);
    env.sim.hold("nginx:bad");
    env.create(&d).await;

    let d = eventually("the progress deadline to pass", || async {
        let d = env.deployments.get("web").await.unwrap();
        (reason(&d, "Progressing").as_deref() == Some("ProgressDeadlineExceeded")).then_some(d)
    })
    .await;
    let rs = env.replica_set_of("nginx:bad").await.unwrap();
    let progressing = condition(&d, "Progressing").unwrap();
    assert_eq!(progressing.status, "False");
    assert_eq!(
        progressing.message.as_deref(),
        Some(
            format!(
                "ReplicaSet \"{}\" has timed out progressing.",
                rs.name_any()
            )
            .as_str()
        )
    );
    assert_eq!(
        reason(&d, "Available").as_deref(),
        Some("MinimumReplicasUnavailable")
    );
    assert!(!rollout_status_done(&d));

    // The pods come up after all: the rollout completes.
    env.sim.release("nginx:bad");
    eventually("the rollout to complete after the deadline", || async {
        let d = env.deployments.get("web").await.unwrap();
        (reason(&d, "Progressing").as_deref() == Some("NewReplicaSetAvailable")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn orphan_replica_sets_are_adopted_and_another_controllers_are_left_alone() {
    let env = env().await;
    let rs = |name: &str, owners: Value| -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": { "name": name, "labels": { "app": "web" }, "ownerReferences": owners },
            "spec": {
                "replicas": 1,
                "selector": { "matchLabels": { "app": "web" } },
                "template": {
                    "metadata": { "labels": { "app": "web" } },
                    "spec": { "containers": [{ "name": "c", "image": "nginx:0" }] },
                },
            },
        }))
        .unwrap()
    };
    let foreign = json!([{ "apiVersion": "apps/v1", "kind": "Deployment", "name": "other",
                           "uid": "0000-foreign", "controller": true }]);
    for set in [rs("orphan", Value::Null), rs("foreign", foreign)] {
        env.replica_sets
            .create(&PostParams::default(), &set)
            .await
            .unwrap();
    }
    let d = env
        .create(&deployment(
            "web",
            3,
            "nginx:1",
            rolling(json!(1), json!(0)),
        ))
        .await;
    let uid = d.metadata.uid.clone();
    let controller = |rs: &ReplicaSet| {
        keelson_controllers::owner::controller_of(&rs.metadata).map(|r| r.uid.clone())
    };
    // Adopted as an old ReplicaSet, so scaled down by the rollout.
    eventually("the orphan adopted and scaled down", || async {
        let orphan = env.replica_sets.get("orphan").await.unwrap();
        (controller(&orphan) == uid && spec_of(&orphan) == 0).then_some(())
    })
    .await;
    eventually(
        "the Deployment to count its own replica sets only",
        || async {
            let d = env.deployments.get("web").await.unwrap();
            rollout_status_done(&d)
                .then_some(())
                .filter(|()| d.status.as_ref().and_then(|s| s.replicas) == Some(3))
        },
    )
    .await;
    let foreign = env.replica_sets.get("foreign").await.unwrap();
    assert_eq!(controller(&foreign).as_deref(), Some("0000-foreign"));
    assert_eq!(spec_of(&foreign), 1);
}

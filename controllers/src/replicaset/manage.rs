//! Creating and deleting a ReplicaSet's pods (upstream's `manageReplicas`): at most
//! [`BURST_REPLICAS`] per sync, creations in slow-start batches, deletions of the
//! lowest-ranked pods, each announced to the expectations first.

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::core::{Selector, SelectorExt as _};
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource as _, ResourceExt as _};

use super::Shared;
use super::ranking;
use super::status::ManageFailure;
use crate::informers::index::BY_CONTROLLER;
use crate::informers::key_of;
use crate::owner;

/// Most pods created or deleted in one sync (upstream's `BurstReplicas`).
pub const BURST_REPLICAS: usize = 500;
/// The first creation batch (upstream's `SlowStartInitialBatchSize`).
pub const SLOW_START_INITIAL_BATCH: usize = 1;

/// Creates or deletes pods so `rs` moves toward `spec.replicas`, given the active pods it
/// owns; the failure, if any.
pub async fn manage(
    shared: &Shared,
    rs: &ReplicaSet,
    key: &str,
    pods: &[Arc<Pod>],
) -> Option<ManageFailure> {
    let want = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let want = usize::try_from(want).unwrap_or(0);
    if pods.len() < want {
        let count = (want - pods.len()).min(BURST_REPLICAS);
        shared.expectations.expect_creations(key, count);
        let (created, error) =
            slow_start(count, SLOW_START_INITIAL_BATCH, || create(shared, rs)).await;
        // The skipped creations will never be observed.
        shared
            .expectations
            .lower_creations(key, count.saturating_sub(created));
        error.map(|message| ManageFailure {
            reason: "FailedCreate",
            message,
        })
    } else if pods.len() > want {
        let count = (pods.len() - want).min(BURST_REPLICAS);
        let related = related_pods(shared, rs);
        let doomed = ranking::pods_to_delete(pods, &related, count, jiff::Timestamp::now());
        shared
            .expectations
            .expect_deletions(key, doomed.iter().map(|p| key_of(p.as_ref())));
        let results =
            futures::future::join_all(doomed.iter().map(|pod| delete(shared, rs, key, pod))).await;
        results
            .into_iter()
            .find_map(Result::err)
            .map(|message| ManageFailure {
                reason: "FailedDelete",
                message,
            })
    } else {
        None
    }
}

/// Runs `count` calls of `f` in batches of `initial`, doubling after each batch that fully
/// succeeds and stopping after the first batch with a failure; the successes and the first
/// error (upstream's `slowStartBatch`).
pub async fn slow_start<F, Fut>(count: usize, initial: usize, f: F) -> (usize, Option<String>)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut remaining = count;
    let mut successes = 0;
    let mut batch = remaining.min(initial.max(1));
    while batch > 0 {
        let results = futures::future::join_all((0..batch).map(|_| f())).await;
        let mut errors = results.into_iter().filter_map(Result::err);
        let first = errors.next();
        let failed = usize::from(first.is_some()) + errors.count();
        successes += batch - failed;
        if first.is_some() {
            return (successes, first);
        }
        remaining -= batch;
        batch = (batch * 2).min(remaining);
    }
    (successes, None)
}

/// An API error as upstream prints it (the status message).
fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => other.to_string(),
    }
}

/// Records an event about `rs`; `pod` is the pod it concerns, as the related object (also
/// keeping events about different pods apart).
async fn publish(
    shared: &Shared,
    rs: &ReplicaSet,
    pod: Option<&Pod>,
    (type_, reason, action): (EventType, &str, &str),
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: action.to_owned(),
        secondary: pod.map(|p| p.object_ref(&())),
    };
    if let Err(error) = shared.recorder.publish(&event, &rs.object_ref(&())).await {
        tracing::warn!(rs = %key_of(rs), %error, "could not record event");
    }
}

/// The pod `rs` creates from its template (upstream's `GetPodFromTemplate`).
pub fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let template = rs.spec.as_ref().and_then(|s| s.template.clone());
    let meta = template
        .as_ref()
        .and_then(|t| t.metadata.clone())
        .unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", rs.name_any())),
            namespace: rs.namespace(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![owner::controller_ref(rs)]),
            ..ObjectMeta::default()
        },
        spec: template.and_then(|t| t.spec),
        status: None,
    }
}

async fn create(shared: &Shared, rs: &ReplicaSet) -> Result<(), String> {
    let pod = pod_from_template(rs);
    if pod.labels().is_empty() {
        return Err("unable to create pods, no labels".to_owned());
    }
    let api: Api<Pod> = Api::namespaced(
        shared.ctx.client.clone(),
        &rs.namespace().unwrap_or_default(),
    );
    match api.create(&PostParams::default(), &pod).await {
        Ok(created) => {
            let note = format!("Created pod: {}", created.name_any());
            let kind = (EventType::Normal, "SuccessfulCreate", "Create");
            publish(shared, rs, Some(&created), kind, note).await;
            Ok(())
        }
        // Every create fails while the namespace terminates; nothing to report.
        Err(kube::Error::Api(s))
            if s.details
                .as_ref()
                .is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating")) =>
        {
            Ok(())
        }
        Err(error) => {
            let message = describe(&error);
            let note = format!("Error creating: {message}");
            let kind = (EventType::Warning, "FailedCreate", "Create");
            publish(shared, rs, None, kind, note).await;
            Err(message)
        }
    }
}

async fn delete(shared: &Shared, rs: &ReplicaSet, key: &str, pod: &Pod) -> Result<(), String> {
    let api: Api<Pod> = Api::namespaced(
        shared.ctx.client.clone(),
        &rs.namespace().unwrap_or_default(),
    );
    let name = pod.name_any();
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {
            let note = format!("Deleted pod: {name}");
            let kind = (EventType::Normal, "SuccessfulDelete", "Delete");
            publish(shared, rs, Some(pod), kind, note).await;
            Ok(())
        }
        Err(error) => {
            // The informer will not see this deletion (or already has).
            shared.expectations.deletion_observed(key, &key_of(pod));
            if matches!(&error, kube::Error::Api(s) if s.is_not_found()) {
                return Ok(());
            }
            let message = describe(&error);
            let note = format!("Error deleting: {message}");
            let kind = (EventType::Warning, "FailedDelete", "Delete");
            publish(shared, rs, Some(pod), kind, note).await;
            Err(message)
        }
    }
}

/// The pods of every ReplicaSet with the same controller as `rs` (e.g. all of one
/// Deployment's), for ranking by pods on the same node; none when `rs` has no controller
/// (upstream's `getIndirectlyRelatedPods`).
fn related_pods(shared: &Shared, rs: &ReplicaSet) -> Vec<Arc<Pod>> {
    let Some(controller) = owner::controller_of(&rs.metadata) else {
        return Vec::new();
    };
    let namespace = rs.namespace();
    let siblings = match shared.sets.by_index(BY_CONTROLLER, &controller.uid) {
        Ok(siblings) => siblings,
        Err(error) => {
            tracing::warn!(rs = %key_of(rs), %error, "related pods unknown");
            return Vec::new();
        }
    };
    // Upstream lists every pod in the namespace that a sibling's selector selects,
    // whatever its controller: a namespace scan, on scale-down only.
    let siblings: Vec<Selector> = siblings
        .into_iter()
        .filter(|other| other.namespace() == namespace)
        .filter_map(|other| Selector::try_from(other.spec.as_ref()?.selector.clone()).ok())
        .collect();
    shared
        .pods
        .store()
        .state()
        .into_iter()
        .filter(|p| p.namespace() == namespace)
        .filter(|p| siblings.iter().any(|s| s.matches(p.labels())))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    /// Runs `slow_start` where call number `fail_at` (0-based) and later fail; the batch
    /// sizes seen and the result.
    async fn run(count: usize, fail_from: Option<usize>) -> (Vec<usize>, usize, Option<String>) {
        let calls = Mutex::new(0usize);
        // `join_all` makes a whole batch's futures before polling any: each one, when
        // polled, sees the number of calls made by the end of its batch.
        let batch_ends = Mutex::new(Vec::new());
        let (calls_ref, ends_ref) = (&calls, &batch_ends);
        let (successes, error) = slow_start(count, 1, || {
            let n = {
                let mut c = calls_ref.lock();
                *c += 1;
                *c - 1
            };
            async move {
                ends_ref.lock().push(*calls_ref.lock());
                match fail_from {
                    Some(f) if n >= f => Err(format!("failed {n}")),
                    _ => Ok(()),
                }
            }
        })
        .await;
        let mut ends = batch_ends.into_inner();
        ends.dedup();
        let sizes = ends
            .iter()
            .scan(0, |before, &end| {
                let size = end - *before;
                *before = end;
                Some(size)
            })
            .collect();
        (sizes, successes, error)
    }

    #[tokio::test]
    async fn batches_double_and_stop_at_the_first_failed_batch() {
        let (sizes, ok, err) = run(10, None).await;
        assert_eq!(sizes, [1, 2, 4, 3]);
        assert_eq!((ok, err), (10, None));

        // Call 4 fails: it is in the third batch (calls 3..7), which still runs fully.
        let (sizes, ok, err) = run(10, Some(4)).await;
        assert_eq!(sizes, [1, 2, 4]);
        assert_eq!(ok, 4);
        assert_eq!(err.as_deref(), Some("failed 4"));

        let (sizes, ok, err) = run(0, None).await;
        assert!(sizes.is_empty());
        assert_eq!((ok, err), (0, None));

        let (_, ok, err) = run(5, Some(0)).await;
        assert_eq!((ok, err.as_deref()), (0, Some("failed 0")));
    }

    #[test]
    fn pods_come_from_the_template_with_a_controller_reference() {
        let rs: ReplicaSet = serde_json::from_value(serde_json::json!({
            "metadata": { "name": "web", "namespace": "ns", "uid": "u1" },
            "spec": { "replicas": 2, "selector": { "matchLabels": { "app": "web" } },
                      "template": {
                          "metadata": { "labels": { "app": "web" }, "annotations": { "a": "b" },
                                        "name": "ignored" },
                          "spec": { "containers": [{ "name": "c", "image": "i" }] } } },
        }))
        .unwrap();
        let pod = pod_from_template(&rs);
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(pod.metadata.name, None);
        assert_eq!(pod.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(pod.labels().get("app").map(String::as_str), Some("web"));
        assert_eq!(pod.annotations().get("a").map(String::as_str), Some("b"));
        let owner = owner::controller_of(&pod.metadata).unwrap();
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
            ("ReplicaSet", "web", "u1")
        );
        assert_eq!(owner.api_version, "apps/v1");
        assert_eq!(pod.spec.unwrap().containers[0].image.as_deref(), Some("i"));
    }
}

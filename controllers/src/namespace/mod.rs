//! The namespace controller, as kube-controller-manager's `namespace-controller`: a
//! namespace being deleted is Terminating; everything in it is deleted ([`deleter`]), its
//! deletion conditions say how that goes ([`conditions`]), and once nothing remains the
//! `kubernetes` finalizer leaves `spec.finalizers` through `/finalize` — the apiserver then
//! removes the namespace. While content remains it looks again after half the estimate.

pub mod conditions;
pub mod deleter;

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::informers::{Change, Received, key_of};
use crate::manager::Context;
use crate::runner::{Requeue, run_workers};
use crate::workqueue::WorkQueue;

/// Upstream's component name.
const NAME: &str = "namespace-controller";

/// How often every namespace is looked at again (upstream's `nsResyncPeriod`).
const RESYNC: Duration = Duration::from_secs(5 * 60);

/// The finalizer this controller owns in `spec.finalizers`.
pub const FINALIZER: &str = "kubernetes";

/// Why one sync failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    /// The API call failed.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// Some content could not be deleted or discovered.
    #[error("{0}")]
    Content(String),
}

/// Runs the namespace controller until the manager stops.
pub async fn run(ctx: Context) {
    let informer = ctx.informers.get::<Namespace>();
    let mut changes = informer.subscribe();
    informer.synced().await;
    let queue = WorkQueue::new();
    let deleting = |ns: &Namespace| ns.metadata.deletion_timestamp.is_some();
    let enqueue_all = {
        let queue = queue.clone();
        let informer = informer.clone();
        move || {
            for ns in informer.store().state() {
                if deleting(&ns) {
                    queue.add(key_of(ns.as_ref()));
                }
            }
        }
    };
    enqueue_all();
    let feeder = {
        let queue = queue.clone();
        tokio::spawn(async move {
            // Upstream's informer resync: every namespace is looked at again, so one
            // whose retries ran out is not forgotten.
            let mut resync = tokio::time::interval(RESYNC);
            resync.tick().await;
            loop {
                let received = tokio::select! {
                    r = changes.recv() => r,
                    _ = resync.tick() => Some(Received::Resync),
                };
                match received {
                    None => return,
                    Some(Received::Change(Change::Applied { new, .. })) if deleting(&new) => {
                        queue.add(key_of(new.as_ref()));
                    }
                    Some(Received::Change(_)) => {}
                    Some(Received::Resync) => enqueue_all(),
                }
            }
        })
    };
    let client = ctx.client.clone();
    run_workers(
        NAME,
        &ctx,
        queue,
        ctx.settings.workers.namespace,
        move |key| {
            let client = client.clone();
            async move { sync(&client, &key).await }
        },
    )
    .await;
    feeder.abort();
}

/// One namespace: upstream's namespacedResourcesDeleter.Delete.
async fn sync(client: &kube::Client, name: &str) -> Result<Requeue, NamespaceError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let Some(mut ns) = api.get_opt(name).await? else {
        return Ok(Requeue::No);
    };
    let Some(deleted_at) = ns.metadata.deletion_timestamp.clone() else {
        return Ok(Requeue::No);
    };
    if ns.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Terminating") {
        let patch = json!({"status": {"phase": "Terminating"}});
        ns = api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    let finalizers = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Requeue::No);
    }
    let deleting_for = jiff::Timestamp::now()
        .duration_since(deleted_at.0)
        .unsigned_abs();
    let outcome = deleter::delete_all_content(client, name, deleting_for).await;
    let failures = conditions::failures(&outcome.findings);
    let mut list = ns
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    if conditions::update(&mut list, &failures, &Time(jiff::Timestamp::now())) {
        let patch = json!({
            "metadata": {"resourceVersion": ns.metadata.resource_version},
            "status": {"conditions": list},
        });
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(updated) => ns = updated,
            Err(error) => {
                tracing::info!(namespace = name, %error, "namespace: conditions not updated");
            }
        }
    }
    let findings = &outcome.findings;
    let errors: Vec<&String> = findings
        .discovery_error
        .iter()
        .chain(&findings.group_version_error)
        .chain(&findings.content_errors)
        .collect();
    if !errors.is_empty() {
        let joined: Vec<&str> = errors.iter().map(|e| e.as_str()).collect();
        return Err(NamespaceError::Content(joined.join(", ")));
    }
    if outcome.estimate > 0 {
        tracing::debug!(
            namespace = name,
            estimate = outcome.estimate,
            "namespace: content remaining"
        );
        return Ok(Requeue::After(Duration::from_secs(
            outcome.estimate.unsigned_abs() / 2 + 1,
        )));
    }
    // Nothing left: finalize (the apiserver removes the namespace when no finalizer remains).
    let mut finalized = ns;
    if let Some(spec) = finalized.spec.as_mut() {
        spec.finalizers = Some(finalizers.into_iter().filter(|f| f != FINALIZER).collect());
    }
    match api
        .replace_subresource::<Namespace>("finalize", name, &PostParams::default(), &finalized)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(namespace = name, "namespace: content removed, finalized");
    Ok(Requeue::No)
}

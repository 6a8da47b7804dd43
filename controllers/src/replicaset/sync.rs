//! One ReplicaSet's sync (upstream's `syncReplicaSet`): claim its pods, create or delete
//! pods when its expectations are met and it is not being deleted, then write its status.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams, PostParams};
use kube::core::Selector;
use kube::{Api, ResourceExt as _};

use super::Shared;
use super::manage::manage;
use super::memo::Facts;
use super::status::{Counts, calculate, min_ready_seconds, needs_update, next_available};
use crate::informers::index::UnknownIndex;
use crate::informers::split_key;
use crate::owner::{self, Claim};
use crate::runner::Requeue;

/// When looking over a ReplicaSet's pods took at least this long (it has very many), its
/// key rests [`REST_FACTOR`] times as long before the next sync. Every pod event wakes the
/// ReplicaSet, and one with 150,000 pods, synced back to back, kept a core busy at the
/// scheduler's and kubelets' cost. (Upstream's controller manager is paced by its client's
/// default limit of 20 requests/s instead.) Smaller ReplicaSets never rest.
const REST_AFTER: std::time::Duration = std::time::Duration::from_millis(20);
/// How many times its look-over a ReplicaSet rests for.
const REST_FACTOR: u32 = 3;

/// Why a sync failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// An API call failed.
    #[error("{0}")]
    Api(#[from] kube::Error),
    /// The ReplicaSet was replaced by another of the same name while adopting.
    #[error("original ReplicaSet {key} is gone: got uid {got}, wanted {wanted}")]
    Gone {
        /// The ReplicaSet's key.
        key: String,
        /// The uid found.
        got: String,
        /// The uid expected.
        wanted: String,
    },
    /// The ReplicaSet started being deleted while adopting.
    #[error("{key} has just been deleted at {at}")]
    JustDeleted {
        /// The ReplicaSet's key.
        key: String,
        /// Its deletionTimestamp.
        at: String,
    },
    /// The pod index is missing.
    #[error("{0}")]
    Index(#[from] UnknownIndex),
    /// Creating or deleting pods failed.
    #[error("{0}")]
    Manage(String),
}

/// Syncs the ReplicaSet `key` (`namespace/name`).
pub async fn sync(shared: &Shared, key: &str) -> Result<Requeue, SyncError> {
    let (namespace, name) = split_key(key);
    let namespace = namespace.unwrap_or_default();
    let Some(rs) = shared.sets.get(Some(namespace), name) else {
        shared.expectations.delete(key);
        shared.memo.forget(key);
        return Ok(Requeue::No);
    };
    let may_manage = shared.expectations.satisfied(key);
    let Some(selector) = rs.spec.as_ref().map(|s| s.selector.clone()) else {
        return Ok(Requeue::No);
    };
    let selector = match Selector::try_from(selector) {
        Ok(selector) => selector,
        Err(error) => {
            tracing::warn!(%key, %error, "invalid selector; ignored");
            return Ok(Requeue::No);
        }
    };
    let scanning = tokio::time::Instant::now();
    let candidates = shared
        .pods
        .owned_or_orphans(&rs.uid().unwrap_or_default(), namespace)?;
    let candidates = shared.memo.facts(key, &rs, &selector, candidates);
    let took = scanning.elapsed();
    if took >= REST_AFTER {
        shared
            .queue
            .rest(key.to_owned(), scanning + took * (REST_FACTOR + 1));
    }
    let (pods, counts) = claim(shared, &rs, key, candidates).await?;

    let failure = if may_manage && rs.metadata.deletion_timestamp.is_none() {
        manage(shared, &rs, key, &pods).await
    } else {
        None
    };
    let status = calculate(&rs, counts, failure.as_ref(), jiff::Timestamp::now());
    write_status(shared, &rs, status).await?;
    if let Some(failure) = failure {
        return Err(SyncError::Manage(failure.message));
    }
    Ok(next_available(&rs, &pods, jiff::Timestamp::now()).map_or(Requeue::No, Requeue::After))
}

/// The active pods `rs` owns after adopting matching orphans and releasing owned pods that
/// stopped matching (upstream's `ClaimPods`), and their counts. `candidates` are the pods
/// it controls and its namespace's orphans (upstream's `getRSPods`, through the controller
/// index), with their facts.
async fn claim(
    shared: &Shared,
    rs: &ReplicaSet,
    key: &str,
    candidates: Vec<(Arc<Pod>, Facts)>,
) -> Result<(Vec<Arc<Pod>>, Counts), SyncError> {
    let uid = rs.uid().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(
        shared.ctx.client.clone(),
        &rs.namespace().unwrap_or_default(),
    );
    let (mrs, now) = (min_ready_seconds(rs), jiff::Timestamp::now());
    let mut claimed = Vec::new();
    let mut counts = Counts::default();
    let mut first_error = None;
    let mut fresh_checked = false;
    for (pod, facts) in candidates {
        if !facts.active {
            continue;
        }
        let pod_uid = || pod.uid().unwrap_or_default();
        let outcome = match facts.claim {
            Claim::Owned => {
                counts.add(&pod, facts.labeled, facts.ready, mrs, now);
                claimed.push(pod);
                continue;
            }
            Claim::Ignore => continue,
            Claim::Adopt => {
                // Adopt only if the ReplicaSet, read fresh, is still this one and not being
                // deleted.
                if !fresh_checked {
                    recheck(shared, rs, key).await?;
                    fresh_checked = true;
                }
                let patch = owner::adopt_patch(&owner::controller_ref(rs), &pod_uid());
                match api
                    .patch(
                        &pod.name_any(),
                        &PatchParams::default(),
                        &Patch::Strategic(patch),
                    )
                    .await
                {
                    Ok(adopted) => {
                        let adopted = Arc::new(adopted);
                        // Its facts are those of the matching orphan it was, now ours.
                        counts.add(&adopted, facts.labeled, facts.ready, mrs, now);
                        claimed.push(adopted);
                        Ok(())
                    }
                    Err(error) => Err(error),
                }
            }
            Claim::Release => {
                let patch = owner::release_patch(&uid, &pod_uid());
                api.patch(
                    &pod.name_any(),
                    &PatchParams::default(),
                    &Patch::Strategic(patch),
                )
                .await
                .map(|_| ())
            }
        };
        match outcome {
            // Gone, or (released) no longer ours: nothing to claim or release.
            Err(kube::Error::Api(s)) if s.is_not_found() || s.code == 422 => {}
            Err(error) => {
                first_error.get_or_insert(error);
            }
            Ok(()) => {}
        }
    }
    match first_error {
        Some(error) => Err(error.into()),
        None => Ok((claimed, counts)),
    }
}

/// Upstream's `RecheckDeletionTimestamp`: a quorum read of the ReplicaSet before adopting.
async fn recheck(shared: &Shared, rs: &ReplicaSet, key: &str) -> Result<(), SyncError> {
    let api: Api<ReplicaSet> = Api::namespaced(
        shared.ctx.client.clone(),
        &rs.namespace().unwrap_or_default(),
    );
    let fresh = api.get(&rs.name_any()).await?;
    if fresh.uid() != rs.uid() {
        return Err(SyncError::Gone {
            key: key.to_owned(),
            got: fresh.uid().unwrap_or_default(),
            wanted: rs.uid().unwrap_or_default(),
        });
    }
    if let Some(at) = &fresh.metadata.deletion_timestamp {
        return Err(SyncError::JustDeleted {
            key: key.to_owned(),
            at: at.0.to_string(),
        });
    }
    Ok(())
}

/// Writes `status` through `/status` when it differs from what `rs` shows, retrying once
/// on a conflict with the object read fresh.
async fn write_status(
    shared: &Shared,
    rs: &ReplicaSet,
    mut status: ReplicaSetStatus,
) -> Result<(), SyncError> {
    if !needs_update(rs, &status) {
        return Ok(());
    }
    status.observed_generation = rs.metadata.generation;
    let api: Api<ReplicaSet> = Api::namespaced(
        shared.ctx.client.clone(),
        &rs.namespace().unwrap_or_default(),
    );
    let name = rs.name_any();
    let mut updated = rs.clone();
    updated.status = Some(status.clone());
    match api
        .replace_status(&name, &PostParams::default(), &updated)
        .await
    {
        Err(kube::Error::Api(s)) if s.is_conflict() => {
            let mut fresh = api.get(&name).await?;
            fresh.status = Some(status);
            api.replace_status(&name, &PostParams::default(), &fresh)
                .await?;
            Ok(())
        }
        Err(error) => Err(error.into()),
        Ok(_) => Ok(()),
    }
}

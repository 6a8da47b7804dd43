//! Upstream `syncVolume`: a volume without a claim is Available; one whose claim is gone
//! is Released and reclaimed by its policy; one bound to a claim that is bound elsewhere is
//! unbound (or, provisioned for it with reclaim Delete, released).

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt as _};

use super::matching::volume_mode_mismatch;
use super::{ANN_PROVISIONED_BY, Binder, BinderError, write};
use crate::runner::Requeue;

/// Syncs the volume `key` (its name).
pub(crate) async fn sync(b: &Binder, key: &str) -> Result<Requeue, BinderError> {
    let Some(pv) = b.volumes.get(None, key) else {
        return Ok(Requeue::No);
    };
    let Some(r) = pv.spec.as_ref().and_then(|s| s.claim_ref.clone()) else {
        write::volume_phase(b, &pv, "Available", "").await?;
        return Ok(Requeue::No);
    };
    let uid = r.uid.clone().unwrap_or_default();
    if uid.is_empty() {
        // Pre-bound to a claim that has not bound yet: the claim's sync does that.
        write::volume_phase(b, &pv, "Available", "").await?;
        return Ok(Requeue::No);
    }
    let (ns, name) = (r.namespace.unwrap_or_default(), r.name.unwrap_or_default());
    let phase = pv.status.as_ref().and_then(|s| s.phase.clone());
    let settled = matches!(phase.as_deref(), Some("Released" | "Failed"));
    let mut claim = b.claims.get(Some(&ns), &name).map(|c| (*c).clone());
    // The informer may lag behind a claim just made, or show an older claim of that name:
    // ask the API before releasing the volume.
    let stale = match &claim {
        None => !settled,
        Some(c) => c.metadata.uid.as_deref() != Some(uid.as_str()),
    };
    if stale {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(b.client.clone(), &ns);
        claim = api.get_opt(&name).await?;
    }
    let claim = claim.filter(|c| c.metadata.uid.as_deref() == Some(uid.as_str()));
    let Some(claim) = claim else {
        let pv = if settled {
            (*pv).clone()
        } else {
            write::volume_phase(b, &pv, "Released", "").await?
        };
        reclaim(b, &pv).await?;
        return Ok(Requeue::No);
    };
    let bound_to = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .unwrap_or_default();
    if bound_to.is_empty() {
        if volume_mode_mismatch(&claim, &pv) {
            let msg = format!(
                "Cannot bind PersistentVolume to requested PersistentVolumeClaim {:?} due to incompatible volumeMode.",
                claim.name_any()
            );
            b.event(pv.as_ref(), EventType::Warning, "VolumeMismatch", msg)
                .await;
            let msg = format!(
                "Cannot bind PersistentVolume {:?} to requested PersistentVolumeClaim due to incompatible volumeMode.",
                pv.name_any()
            );
            b.event(&claim, EventType::Warning, "VolumeMismatch", msg)
                .await;
            return Ok(Requeue::No);
        }
        // The claim's sync finishes the binding.
        b.claim_queue.add(format!("{ns}/{name}"));
        return Ok(Requeue::No);
    }
    if bound_to == pv.name_any() {
        write::volume_phase(b, &pv, "Bound", "").await?;
        return Ok(Requeue::No);
    }
    // The claim is bound to another volume.
    let provisioned = pv.annotations().contains_key(ANN_PROVISIONED_BY);
    if provisioned && reclaim_policy(&pv) == "Delete" {
        let pv = if settled {
            (*pv).clone()
        } else {
            write::volume_phase(b, &pv, "Released", "").await?
        };
        reclaim(b, &pv).await?;
        return Ok(Requeue::No);
    }
    write::unbind_volume(b, &pv).await?;
    Ok(Requeue::No)
}

fn reclaim_policy(pv: &PersistentVolume) -> &str {
    pv.spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
        .unwrap_or("Retain")
}

/// Upstream `reclaimVolume`: Retain keeps the volume Released; Recycle is not supported
/// (no recycler, as upstream without its plugins); Delete of a volume an external
/// provisioner made is left to it (`keelson.io/local-path` is ours), any other Delete
/// fails (no in-tree deleters are built in).
async fn reclaim(b: &Binder, pv: &PersistentVolume) -> Result<(), BinderError> {
    match reclaim_policy(pv) {
        "Retain" => Ok(()),
        "Recycle" => {
            write::volume_phase_with_event(
                b,
                pv,
                "Failed",
                EventType::Warning,
                "VolumeFailedRecycle",
                "No recycler plugin found for the volume!",
            )
            .await
        }
        "Delete" => {
            let external = pv
                .annotations()
                .get(ANN_PROVISIONED_BY)
                .is_some_and(|p| !p.is_empty() && !p.starts_with("kubernetes.io/"));
            if external {
                return Ok(());
            }
            let msg = format!(
                "error getting deleter volume plugin for volume {:?}: no deletable volume plugin matched",
                pv.name_any()
            );
            write::volume_phase_with_event(
                b,
                pv,
                "Failed",
                EventType::Warning,
                "VolumeFailedDelete",
                &msg,
            )
            .await
        }
        _ => {
            write::volume_phase_with_event(
                b,
                pv,
                "Failed",
                EventType::Warning,
                "VolumeUnknownReclaimPolicy",
                "Volume has unrecognized PersistentVolumeReclaimPolicy",
            )
            .await
        }
    }
}

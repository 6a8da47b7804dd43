//! The binder's writes, as upstream's: binding (volume first, then its phase, then the
//! claim, then the claim's phase), phases with their events, and unbinding. Each write
//! carries the resourceVersion it read, so a stale read fails with a conflict and the sync
//! is retried.

use k8s_openapi::api::core::v1::{
    ObjectReference, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimStatus,
    PersistentVolumeStatus,
};
use kube::Api;
use kube::api::PostParams;
use kube::runtime::events::EventType;

use super::matching::{capacity, is_bound_to_claim};
use super::{ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, Binder, BinderError};

fn claims_api(b: &Binder, claim: &PersistentVolumeClaim) -> Api<PersistentVolumeClaim> {
    let ns = claim.metadata.namespace.as_deref().unwrap_or("default");
    Api::namespaced(b.client.clone(), ns)
}

fn volumes_api(b: &Binder) -> Api<PersistentVolume> {
    Api::all(b.client.clone())
}

fn name_of<K: kube::Resource>(obj: &K) -> String {
    obj.meta().name.clone().unwrap_or_default()
}

/// Sets `phase` on a claim's status with the volume's access modes and (when becoming
/// `phase`) capacity, or clears both without a volume. Writes only when something changed.
pub(crate) async fn claim_status(
    b: &Binder,
    claim: &PersistentVolumeClaim,
    phase: &str,
    volume: Option<&PersistentVolume>,
) -> Result<PersistentVolumeClaim, BinderError> {
    let old = claim.status.clone().unwrap_or_default();
    let mut status = PersistentVolumeClaimStatus {
        phase: Some(phase.to_owned()),
        ..old.clone()
    };
    match volume.and_then(|v| v.spec.as_ref()) {
        None => {
            status.access_modes = None;
            status.capacity = None;
        }
        Some(spec) => {
            status.access_modes.clone_from(&spec.access_modes);
            if old.phase.as_deref() != Some(phase) {
                let cap = spec.capacity.as_ref().and_then(|c| c.get("storage"));
                let Some(cap) = cap else {
                    return Err(BinderError::Invalid(format!(
                        "PersistentVolume {:?} is without a storage capacity",
                        volume.map(name_of).unwrap_or_default()
                    )));
                };
                let current = old.capacity.as_ref().and_then(|c| c.get("storage"));
                if volume.map(capacity) != current.and_then(|q| super::quantity::parse(&q.0)) {
                    status.capacity = Some([("storage".to_owned(), cap.clone())].into());
                }
            }
        }
    }
    if status == old {
        return Ok(claim.clone());
    }
    let mut updated = claim.clone();
    updated.status = Some(status);
    let api = claims_api(b, claim);
    Ok(api
        .replace_status(&name_of(claim), &PostParams::default(), &updated)
        .await?)
}

/// [`claim_status`] with an event, both only when the phase changes.
pub(crate) async fn claim_status_with_event(
    b: &Binder,
    claim: &PersistentVolumeClaim,
    phase: &str,
    type_: EventType,
    reason: &str,
    message: &str,
) -> Result<(), BinderError> {
    if claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase) {
        return Ok(());
    }
    let updated = claim_status(b, claim, phase, None).await?;
    b.event(&updated, type_, reason, message.to_owned()).await;
    Ok(())
}

/// Sets a volume's phase (and message); writes only when the phase changes.
pub(crate) async fn volume_phase(
    b: &Binder,
    pv: &PersistentVolume,
    phase: &str,
    message: &str,
) -> Result<PersistentVolume, BinderError> {
    if pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase) {
        return Ok(pv.clone());
    }
    let mut updated = pv.clone();
    let status = updated
        .status
        .get_or_insert_with(PersistentVolumeStatus::default);
    status.phase = Some(phase.to_owned());
    status.message = (!message.is_empty()).then(|| message.to_owned());
    Ok(volumes_api(b)
        .replace_status(&name_of(pv), &PostParams::default(), &updated)
        .await?)
}

/// [`volume_phase`] with an event, both only when the phase changes.
pub(crate) async fn volume_phase_with_event(
    b: &Binder,
    pv: &PersistentVolume,
    phase: &str,
    type_: EventType,
    reason: &str,
    message: &str,
) -> Result<(), BinderError> {
    if pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase) {
        return Ok(());
    }
    let updated = volume_phase(b, pv, phase, message).await?;
    b.event(&updated, type_, reason, message.to_owned()).await;
    Ok(())
}

fn set_annotation(meta: &mut kube::api::ObjectMeta, key: &str) -> bool {
    let annotations = meta.annotations.get_or_insert_with(Default::default);
    if annotations.contains_key(key) {
        return false;
    }
    annotations.insert(key.to_owned(), "yes".to_owned());
    true
}

/// Points the volume's `claimRef` at the claim (marking it bound by the controller unless
/// a user pre-bound it); writes only when something changed.
async fn bind_volume(
    b: &Binder,
    pv: &PersistentVolume,
    claim: &PersistentVolumeClaim,
) -> Result<PersistentVolume, BinderError> {
    let by_controller = !is_bound_to_claim(pv, claim);
    let mut updated = pv.clone();
    let spec = updated.spec.get_or_insert_with(Default::default);
    let meta = &claim.metadata;
    let current = spec.claim_ref.as_ref();
    let mut dirty = false;
    if current
        .is_none_or(|r| r.name != meta.name || r.namespace != meta.namespace || r.uid != meta.uid)
    {
        spec.claim_ref = Some(ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("PersistentVolumeClaim".to_owned()),
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            field_path: None,
        });
        dirty = true;
    }
    if by_controller {
        dirty |= set_annotation(&mut updated.metadata, ANN_BOUND_BY_CONTROLLER);
    }
    if !dirty {
        return Ok(pv.clone());
    }
    Ok(volumes_api(b)
        .replace(&name_of(pv), &PostParams::default(), &updated)
        .await?)
}

/// Names the volume in the claim and marks the binding complete.
async fn bind_claim(
    b: &Binder,
    claim: &PersistentVolumeClaim,
    pv: &PersistentVolume,
) -> Result<PersistentVolumeClaim, BinderError> {
    let mut updated = claim.clone();
    let mut dirty = false;
    let spec = updated.spec.get_or_insert_with(Default::default);
    if spec.volume_name != pv.metadata.name {
        spec.volume_name.clone_from(&pv.metadata.name);
        set_annotation(&mut updated.metadata, ANN_BOUND_BY_CONTROLLER);
        dirty = true;
    }
    dirty |= set_annotation(&mut updated.metadata, ANN_BIND_COMPLETED);
    if !dirty {
        return Ok(claim.clone());
    }
    Ok(claims_api(b, claim)
        .replace(&name_of(claim), &PostParams::default(), &updated)
        .await?)
}

/// Upstream `bind`: the volume, its phase, the claim, its phase — stopping at the first
/// failure (the next sync finishes the rest).
pub(crate) async fn bind(
    b: &Binder,
    pv: &PersistentVolume,
    claim: &PersistentVolumeClaim,
) -> Result<(), BinderError> {
    let pv = bind_volume(b, pv, claim).await?;
    let pv = volume_phase(b, &pv, "Bound", "").await?;
    let claim = bind_claim(b, claim, &pv).await?;
    claim_status(b, &claim, "Bound", Some(&pv)).await?;
    tracing::info!(
        claim = ?claim.metadata.name,
        volume = ?pv.metadata.name,
        "claim bound to volume"
    );
    Ok(())
}

/// Upstream `unbindVolume`: a volume the controller bound forgets its claim; one a user
/// pre-bound keeps the claim's name and loses only its uid. Then it is Available.
pub(crate) async fn unbind_volume(b: &Binder, pv: &PersistentVolume) -> Result<(), BinderError> {
    let mut updated = pv.clone();
    let by_controller = updated
        .metadata
        .annotations
        .as_mut()
        .and_then(|a| a.remove(ANN_BOUND_BY_CONTROLLER))
        .is_some();
    if let Some(spec) = updated.spec.as_mut() {
        if by_controller {
            spec.claim_ref = None;
        } else if let Some(r) = spec.claim_ref.as_mut() {
            r.uid = None;
        }
    }
    let updated = volumes_api(b)
        .replace(&name_of(pv), &PostParams::default(), &updated)
        .await?;
    volume_phase(b, &updated, "Available", "").await?;
    Ok(())
}

/// Sets annotations on a claim (JSON merge patch; no-op when already set).
pub(crate) async fn annotate_claim(
    b: &Binder,
    claim: &PersistentVolumeClaim,
    pairs: &[(&str, &str)],
) -> Result<bool, BinderError> {
    let current = claim.metadata.annotations.clone().unwrap_or_default();
    if pairs
        .iter()
        .all(|(k, v)| current.get(*k).map(String::as_str) == Some(*v))
    {
        return Ok(false);
    }
    let mut updated = claim.clone();
    let annotations = updated
        .metadata
        .annotations
        .get_or_insert_with(Default::default);
    for (k, v) in pairs {
        annotations.insert((*k).to_owned(), (*v).to_owned());
    }
    claims_api(b, claim)
        .replace(&name_of(claim), &PostParams::default(), &updated)
        .await?;
    Ok(true)
}

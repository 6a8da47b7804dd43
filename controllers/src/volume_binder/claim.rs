//! Upstream `syncClaim`: an unbound claim (no `bind-completed` annotation) is bound to the
//! best volume, to the volume it names, or handed to a provisioner; a bound claim is
//! checked against its volume (Lost when the volume is gone or bound elsewhere).

use std::sync::Arc;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::ResourceExt as _;
use kube::runtime::events::EventType;

use super::matching::{
    NodeInfo, check_volume_satisfies_claim, claim_class, claim_has_class, default_class,
    find_best_match, is_bound_to_claim,
};
use super::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER, Binder, BinderError, RESYNC, write,
};
use crate::informers::split_key;
use crate::runner::Requeue;

/// Syncs the claim `key` (`namespace/name`).
pub(crate) async fn sync(b: &Binder, key: &str) -> Result<Requeue, BinderError> {
    let (ns, name) = split_key(key);
    let Some(claim) = b.claims.get(ns, name) else {
        return Ok(Requeue::No);
    };
    if claim.annotations().contains_key(ANN_BIND_COMPLETED) {
        sync_bound(b, &claim).await?;
        Ok(Requeue::No)
    } else {
        sync_unbound(b, &claim).await?;
        // Upstream's periodic resync looks at pending claims again.
        Ok(Requeue::After(RESYNC))
    }
}

fn volume_name(claim: &PersistentVolumeClaim) -> Option<&str> {
    claim
        .spec
        .as_ref()?
        .volume_name
        .as_deref()
        .filter(|n| !n.is_empty())
}

/// The node a consumer of the claim was scheduled to, if the scheduler said so.
fn selected_node(b: &Binder, claim: &PersistentVolumeClaim) -> Option<NodeInfo> {
    let name = claim.annotations().get(ANN_SELECTED_NODE)?;
    let labels = match b.nodes.get(None, name) {
        Some(node) => node.labels().clone(),
        None => [("kubernetes.io/hostname".to_owned(), name.clone())].into(),
    };
    Some(NodeInfo {
        name: name.clone(),
        labels,
    })
}

async fn sync_unbound(b: &Binder, claim: &PersistentVolumeClaim) -> Result<(), BinderError> {
    let Some(wanted) = volume_name(claim) else {
        return find_volume(b, claim).await;
    };
    // The user asked for a specific volume.
    let Some(pv) = b.volumes.get(None, wanted) else {
        write::claim_status(b, claim, "Pending", None).await?;
        return Ok(());
    };
    let has_ref = pv.spec.as_ref().is_some_and(|s| s.claim_ref.is_some());
    if !has_ref {
        if let Err(why) = check_volume_satisfies_claim(&pv, claim) {
            let msg = format!("Cannot bind to requested volume {wanted:?}: {why}");
            b.event(claim, EventType::Warning, "VolumeMismatch", msg)
                .await;
            write::claim_status(b, claim, "Pending", None).await?;
            return Ok(());
        }
        return write::bind(b, &pv, claim).await;
    }
    if is_bound_to_claim(&pv, claim) {
        return write::bind(b, &pv, claim).await;
    }
    let msg = format!("volume {wanted:?} already bound to a different claim.");
    b.event(claim, EventType::Warning, "FailedBinding", msg)
        .await;
    if claim.annotations().contains_key(ANN_BOUND_BY_CONTROLLER) {
        return Err(BinderError::Invalid(format!(
            "invalid binding of claim {:?} to volume {wanted:?}: volume already claimed",
            claim.metadata.name.as_deref().unwrap_or_default()
        )));
    }
    write::claim_status(b, claim, "Pending", None).await?;
    Ok(())
}

/// A claim that did not name a volume: the best match, else provisioning or waiting.
async fn find_volume(b: &Binder, claim: &PersistentVolumeClaim) -> Result<(), BinderError> {
    let class_name = claim_class(claim).to_owned();
    let class = (!class_name.is_empty())
        .then(|| b.classes.get(None, &class_name))
        .flatten();
    let delay = class
        .as_ref()
        .and_then(|c| c.volume_binding_mode.as_deref())
        == Some("WaitForFirstConsumer");
    let node = if delay { selected_node(b, claim) } else { None };
    let volumes = b.volumes.store().state();
    let found = find_best_match(claim, &volumes, node.as_ref(), delay).map_err(|e| {
        BinderError::Invalid(format!(
            "error finding PV for claim {:?}: {e}",
            claim.metadata.name.as_deref().unwrap_or_default()
        ))
    })?;
    if let Some(pv) = found {
        return write::bind(b, &pv, claim).await;
    }
    if assign_default_class(b, claim).await? {
        return Ok(());
    }
    if delay && node.is_none() {
        b.event(
            claim,
            EventType::Normal,
            "WaitForFirstConsumer",
            wait_message(b, claim),
        )
        .await;
    } else if !class_name.is_empty() {
        // Upstream returns without touching the status here.
        return provision(b, claim, &class_name, class.as_deref()).await;
    } else {
        b.event(
            claim,
            EventType::Normal,
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set".to_owned(),
        )
        .await;
    }
    write::claim_status(b, claim, "Pending", None).await?;
    Ok(())
}

/// Upstream's retroactive default class: a claim that names no class gets the default
/// once one exists. Whether the claim was updated (its next sync continues).
async fn assign_default_class(
    b: &Binder,
    claim: &PersistentVolumeClaim,
) -> Result<bool, BinderError> {
    if claim_has_class(claim) {
        return Ok(false);
    }
    let classes = b.classes.store().state();
    let Some(default) = default_class(&classes) else {
        return Ok(false);
    };
    let mut updated = claim.clone();
    updated
        .spec
        .get_or_insert_with(Default::default)
        .storage_class_name
        .clone_from(&default.metadata.name);
    let ns = claim.metadata.namespace.as_deref().unwrap_or("default");
    let api: kube::Api<PersistentVolumeClaim> = kube::Api::namespaced(b.client.clone(), ns);
    api.replace(
        claim.metadata.name.as_deref().unwrap_or_default(),
        &Default::default(),
        &updated,
    )
    .await?;
    Ok(true)
}

/// Upstream's WaitForFirstConsumer message, naming the unscheduled pods that use the claim.
fn wait_message(b: &Binder, claim: &PersistentVolumeClaim) -> String {
    let (ns, name) = (claim.namespace(), claim.name_any());
    let mut pods: Vec<String> = b
        .pods
        .store()
        .state()
        .iter()
        .filter(|p| p.namespace() == ns)
        .filter(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            let spec = p.spec.as_ref();
            !matches!(phase, Some("Succeeded" | "Failed"))
                && spec.is_some_and(|s| s.node_name.as_deref().is_none_or(str::is_empty))
                && spec
                    .and_then(|s| s.volumes.as_ref())
                    .into_iter()
                    .flatten()
                    .any(|v| {
                        v.persistent_volume_claim
                            .as_ref()
                            .is_some_and(|c| c.claim_name == name)
                    })
        })
        .map(|p| p.name_any())
        .collect();
    pods.sort();
    match pods.as_slice() {
        [] => "waiting for first consumer to be created before binding".to_owned(),
        [one] => format!("waiting for pod {one} to be scheduled"),
        many => format!("waiting for pods {} to be scheduled", many.join(",")),
    }
}

/// Upstream `provisionClaim` for external provisioners: annotate the claim with the
/// class's provisioner and say so.
async fn provision(
    b: &Binder,
    claim: &PersistentVolumeClaim,
    class_name: &str,
    class: Option<&k8s_openapi::api::storage::v1::StorageClass>,
) -> Result<(), BinderError> {
    let Some(class) = class else {
        let msg = format!("storageclass.storage.k8s.io {class_name:?} not found");
        b.event(claim, EventType::Warning, "ProvisioningFailed", msg)
            .await;
        return Ok(());
    };
    let provisioner = class.provisioner.as_str();
    if provisioner.starts_with("kubernetes.io/") {
        // No in-tree provisioner is built in (`kubernetes.io/no-provisioner` included).
        let msg = format!("no volume plugin matched name: {provisioner}");
        b.event(claim, EventType::Warning, "ProvisioningFailed", msg)
            .await;
        return Ok(());
    }
    let pairs = [
        (ANN_STORAGE_PROVISIONER, provisioner),
        (ANN_BETA_STORAGE_PROVISIONER, provisioner),
    ];
    if let Err(error) = write::annotate_claim(b, claim, &pairs).await {
        let msg = format!("Error saving claim: {error}");
        b.event(claim, EventType::Warning, "ProvisioningFailed", msg)
            .await;
        return Err(error);
    }
    let msg = format!(
        "Waiting for a volume to be created either by the external provisioner '{provisioner}' \
         or manually by the system administrator. If volume creation is delayed, please verify \
         that the provisioner is running and correctly registered."
    );
    b.event(claim, EventType::Normal, "ExternalProvisioning", msg)
        .await;
    Ok(())
}

/// Upstream `syncBoundClaim`.
async fn sync_bound(b: &Binder, claim: &Arc<PersistentVolumeClaim>) -> Result<(), BinderError> {
    let Some(wanted) = volume_name(claim) else {
        let msg = "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!";
        return write::claim_status_with_event(
            b,
            claim,
            "Lost",
            EventType::Warning,
            "ClaimLost",
            msg,
        )
        .await;
    };
    let Some(pv) = b.volumes.get(None, wanted) else {
        let msg = "Bound claim has lost its PersistentVolume. Data on the volume is lost!";
        return write::claim_status_with_event(
            b,
            claim,
            "Lost",
            EventType::Warning,
            "ClaimLost",
            msg,
        )
        .await;
    };
    let claim_ref = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    match claim_ref {
        // Unbound volume (or not seen bound yet): bind again.
        None => write::bind(b, &pv, claim).await,
        Some(r) if r.uid == claim.metadata.uid => write::bind(b, &pv, claim).await,
        Some(_) => {
            let msg = "Two claims are bound to the same volume, this one is bound incorrectly";
            write::claim_status_with_event(
                b,
                claim,
                "Lost",
                EventType::Warning,
                "ClaimMisbound",
                msg,
            )
            .await
        }
    }
}

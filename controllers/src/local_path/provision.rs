//! Provisioning a claim (a directory `<root>/<node>/pvc-<uid>_<namespace>_<name>` and a
//! `hostPath` volume pinned to the node) and deleting a released volume of ours.
//!
//! The node: the one the scheduler selected (`volume.kubernetes.io/selected-node`); for a
//! class that binds immediately there is none, so the provisioner picks the Ready,
//! schedulable node holding the fewest local-path volumes (ties by name) — the consumer is
//! then scheduled there by the volume's node affinity.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    ObjectReference, PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec,
    VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt as _};

use super::{PROVISIONER, ProvisionError, Provisioner};
use crate::informers::split_key;
use crate::runner::Requeue;
use crate::volume_binder::matching::claim_class;
use crate::volume_binder::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_PROVISIONED_BY, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER,
};

const HOSTNAME: &str = "kubernetes.io/hostname";

/// Syncs `claim/<ns>/<name>` or `volume/<name>`.
pub(crate) async fn sync(p: &Provisioner, key: &str) -> Result<Requeue, ProvisionError> {
    if let Some(claim) = key.strip_prefix("claim/") {
        let (ns, name) = split_key(claim);
        if let Some(claim) = p.claims.get(ns, name) {
            provision(p, &claim).await?;
        }
    } else if let Some(name) = key.strip_prefix("volume/")
        && let Some(pv) = p.volumes.get(None, name)
    {
        delete(p, &pv).await?;
    }
    Ok(Requeue::No)
}

fn is_ours(claim: &PersistentVolumeClaim) -> bool {
    let a = claim.annotations();
    [ANN_STORAGE_PROVISIONER, ANN_BETA_STORAGE_PROVISIONER]
        .iter()
        .any(|k| a.get(*k).map(String::as_str) == Some(PROVISIONER))
}

async fn provision(p: &Provisioner, claim: &PersistentVolumeClaim) -> Result<(), ProvisionError> {
    let unbound = claim
        .spec
        .as_ref()
        .is_some_and(|s| s.volume_name.as_deref().is_none_or(str::is_empty));
    if !unbound || !is_ours(claim) || claim.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    let uid = claim.uid().unwrap_or_default();
    let pv_name = format!("pvc-{uid}");
    if p.volumes.get(None, &pv_name).is_some() {
        return Ok(());
    }
    let class_name = claim_class(claim);
    let Some(class) = p.classes.get(None, class_name) else {
        let msg = format!("storageclass.storage.k8s.io {class_name:?} not found");
        p.event(claim, EventType::Warning, "ProvisioningFailed", msg)
            .await;
        return Err(ProvisionError::Unusable(format!("no class {class_name:?}")));
    };
    if class.provisioner != PROVISIONER {
        return Ok(());
    }
    let node = match claim.annotations().get(ANN_SELECTED_NODE) {
        Some(node) => node.clone(),
        None if class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer") => {
            return Ok(());
        }
        None => match pick_node(p) {
            Some(node) => node,
            None => {
                let why = "no Ready and schedulable node to provision on".to_owned();
                fail(p, claim, class_name, &why).await;
                return Err(ProvisionError::Unusable(why));
            }
        },
    };
    let msg = format!(
        "External provisioner is provisioning volume for claim \"{}/{}\"",
        claim.namespace().unwrap_or_default(),
        claim.name_any()
    );
    p.event(claim, EventType::Normal, "Provisioning", msg).await;
    let dir = p.root.join(&node).join(format!(
        "{pv_name}_{}_{}",
        claim.namespace().unwrap_or_default(),
        claim.name_any()
    ));
    if let Err(error) = make_dir(&dir).await {
        fail(p, claim, class_name, &error.to_string()).await;
        return Err(error);
    }
    let pv = volume(claim, &class, &pv_name, &node, &dir)?;
    let api: Api<PersistentVolume> = Api::all(p.client.clone());
    match api.create(&PostParams::default(), &pv).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => return Ok(()),
        Err(error) => {
            fail(p, claim, class_name, &error.to_string()).await;
            return Err(error.into());
        }
    }
    let msg = format!("Successfully provisioned volume {pv_name}");
    p.event(claim, EventType::Normal, "ProvisioningSucceeded", msg)
        .await;
    tracing::info!(volume = %pv_name, %node, dir = %dir.display(), "provisioned a local-path volume");
    Ok(())
}

async fn fail(p: &Provisioner, claim: &PersistentVolumeClaim, class: &str, why: &str) {
    let msg = format!("failed to provision volume with StorageClass {class:?}: {why}");
    p.event(claim, EventType::Warning, "ProvisioningFailed", msg)
        .await;
}

async fn make_dir(dir: &Path) -> Result<(), ProvisionError> {
    let io = |source| ProvisionError::Io {
        path: dir.to_owned(),
        source,
    };
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    // Any container user may write, as k3s's local-path.
    tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
        .await
        .map_err(io)
}

fn node_ready(node: &Node) -> bool {
    let unschedulable = node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    let ready = crate::node_lifecycle::health::ready_status(node) == Some("True");
    ready && !unschedulable
}

/// The node of one of our volumes (from its node affinity).
fn node_of(pv: &PersistentVolume) -> Option<&str> {
    let terms = &pv
        .spec
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required
        .as_ref()?
        .node_selector_terms;
    let req = terms.first()?.match_expressions.as_ref()?.first()?;
    (req.key == HOSTNAME).then(|| req.values.as_ref()?.first().map(String::as_str))?
}

/// For a class binding immediately: the Ready, schedulable node with the fewest of our
/// volumes, ties by name.
fn pick_node(p: &Provisioner) -> Option<String> {
    let volumes = p.volumes.store().state();
    let ours = |node: &str| {
        volumes
            .iter()
            .filter(|v| {
                v.annotations().get(ANN_PROVISIONED_BY).map(String::as_str) == Some(PROVISIONER)
            })
            .filter(|v| node_of(v) == Some(node))
            .count()
    };
    let mut nodes: Vec<(usize, String)> = p
        .nodes
        .store()
        .state()
        .iter()
        .filter(|n| node_ready(n))
        .map(|n| (ours(&n.name_any()), n.name_any()))
        .collect();
    nodes.sort();
    nodes.into_iter().next().map(|(_, name)| name)
}

fn volume(
    claim: &PersistentVolumeClaim,
    class: &StorageClass,
    name: &str,
    node: &str,
    dir: &Path,
) -> Result<PersistentVolume, ProvisionError> {
    let spec = claim.spec.clone().unwrap_or_default();
    let Some(size) = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref()?.get("storage"))
    else {
        return Err(ProvisionError::Unusable(
            "claim requests no storage".to_owned(),
        ));
    };
    let term = NodeSelectorTerm {
        match_expressions: Some(vec![NodeSelectorRequirement {
            key: HOSTNAME.to_owned(),
            operator: "In".to_owned(),
            values: Some(vec![node.to_owned()]),
        }]),
        match_fields: None,
    };
    Ok(PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            annotations: Some([(ANN_PROVISIONED_BY.to_owned(), PROVISIONER.to_owned())].into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: Some([("storage".to_owned(), size.clone())].into()),
            access_modes: spec.access_modes.clone(),
            volume_mode: spec.volume_mode.clone(),
            storage_class_name: class.metadata.name.clone(),
            persistent_volume_reclaim_policy: Some(
                class
                    .reclaim_policy
                    .clone()
                    .unwrap_or_else(|| "Delete".to_owned()),
            ),
            mount_options: class.mount_options.clone(),
            host_path: Some(HostPathVolumeSource {
                path: dir.to_string_lossy().into_owned(),
                type_: Some("DirectoryOrCreate".to_owned()),
            }),
            node_affinity: Some(VolumeNodeAffinity {
                required: Some(NodeSelector {
                    node_selector_terms: vec![term],
                }),
            }),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("PersistentVolumeClaim".to_owned()),
                namespace: claim.metadata.namespace.clone(),
                name: claim.metadata.name.clone(),
                uid: claim.metadata.uid.clone(),
                resource_version: claim.metadata.resource_version.clone(),
                field_path: None,
            }),
            ..PersistentVolumeSpec::default()
        }),
        status: None,
    })
}

/// A Released volume of ours with reclaim Delete: its directory, then the volume.
async fn delete(p: &Provisioner, pv: &PersistentVolume) -> Result<(), ProvisionError> {
    let spec = pv.spec.as_ref();
    let ours = pv.annotations().get(ANN_PROVISIONED_BY).map(String::as_str) == Some(PROVISIONER);
    let released = pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
    let delete = spec.and_then(|s| s.persistent_volume_reclaim_policy.as_deref()) == Some("Delete");
    if !(ours && released && delete) {
        return Ok(());
    }
    if let Some(path) = spec
        .and_then(|s| s.host_path.as_ref())
        .map(|h| PathBuf::from(&h.path))
    {
        // Only a directory under our root is ever removed.
        if !path.starts_with(&p.root) || path.components().any(|c| c.as_os_str() == "..") {
            let msg = format!(
                "refusing to delete {}: not under {}",
                path.display(),
                p.root.display()
            );
            p.event(pv, EventType::Warning, "VolumeFailedDelete", msg)
                .await;
            return Ok(());
        }
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                let error = ProvisionError::Io { path, source };
                p.event(
                    pv,
                    EventType::Warning,
                    "VolumeFailedDelete",
                    error.to_string(),
                )
                .await;
                return Err(error);
            }
        }
    }
    let api: Api<PersistentVolume> = Api::all(p.client.clone());
    match api.delete(&pv.name_any(), &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(error) => return Err(error.into()),
    }
    tracing::info!(volume = %pv.name_any(), "deleted a released local-path volume");
    Ok(())
}

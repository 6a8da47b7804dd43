//! One sync of one Deployment (upstream's `syncDeployment`): claim its ReplicaSets, then
//! status only (being deleted), scaling only (paused, or a replicas change), or a rollout
//! by its strategy. Also the writes every part shares: status, ReplicaSet scaling with its
//! event, and the history cleanup.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt as _;
use kube::api::{Patch, PatchParams};
use kube::core::{Selector, SelectorExt as _};
use kube::runtime::events::EventType;

use super::writes::is_code;
use super::{Ctl, DeploymentError, history, progress, util};
use crate::informers::index::BY_CONTROLLER;
use crate::informers::split_key;
use crate::owner::{self, Claim};
use crate::runner::Requeue;

type Result<T> = std::result::Result<T, DeploymentError>;

impl Ctl {
    /// Syncs the Deployment `key`.
    pub(super) async fn sync_deployment(&self, key: &str) -> Result<Requeue> {
        let (ns, name) = split_key(key);
        let Some(d) = self.deployments.get(ns, name) else {
            return Ok(Requeue::No);
        };
        let mut d = (*d).clone();
        let Some(spec) = d.spec.clone() else {
            return Ok(Requeue::No);
        };
        let selector = &spec.selector;
        if selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
            && selector
                .match_expressions
                .as_ref()
                .is_none_or(|e| e.is_empty())
        {
            let msg = "This deployment is selecting all pods. A non-empty selector is required.";
            self.event(&d, EventType::Warning, "SelectingAll", msg.to_owned())
                .await;
            let status = d.status.get_or_insert_with(Default::default);
            if status.observed_generation.unwrap_or(0) < d.metadata.generation.unwrap_or(0) {
                status.observed_generation = d.metadata.generation;
                self.update_status(&mut d).await?;
            }
            return Ok(Requeue::No);
        }
        let rss = self.claim_replica_sets(&d).await?;
        if d.metadata.deletion_timestamp.is_some() {
            return self.sync_status_only(&mut d, rss).await;
        }
        if let Some(status) = progress::paused_status(&d, progress::now()) {
            d.status = Some(status);
            self.update_status(&mut d).await?;
        }
        if spec.paused == Some(true) {
            return Box::pin(self.sync(&mut d, rss)).await;
        }
        let mut rss = rss;
        if self.is_scaling_event(&mut d, &mut rss).await? {
            return Box::pin(self.sync(&mut d, rss)).await;
        }
        match spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) {
            Some("Recreate") => Box::pin(self.rollout_recreate(&mut d, rss)).await,
            None | Some("RollingUpdate") => Box::pin(self.rollout_rolling(&mut d, rss)).await,
            Some(other) => Err(DeploymentError::Strategy(other.to_owned())),
        }
    }

    /// The Deployment's ReplicaSets in its namespace, adopting matching orphans and
    /// releasing owned ones that no longer match (upstream's `ClaimReplicaSets`).
    async fn claim_replica_sets(&self, d: &Deployment) -> Result<Vec<ReplicaSet>> {
        let spec = d.spec.clone().unwrap_or_default();
        let selector = Selector::try_from(spec.selector)
            .map_err(|e| DeploymentError::Selector(e.to_string()))?;
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let deleting = d.metadata.deletion_timestamp.is_some();
        let api = self.rs_api(d);
        let mut rechecked = false;
        let mut claimed = Vec::new();
        // Its own and the namespace's orphans: another controller's are never claimed.
        let ns = d.metadata.namespace.as_deref().unwrap_or_default();
        for rs in self.replica_sets.owned_or_orphans(&uid, ns)? {
            let name = rs.name_any();
            let rs_uid = rs.metadata.uid.clone().unwrap_or_default();
            match owner::decide(&uid, deleting, selector.matches(rs.labels()), &rs.metadata) {
                Claim::Owned => claimed.push((*rs).clone()),
                Claim::Adopt => {
                    if !rechecked {
                        self.recheck(d).await?;
                        rechecked = true;
                    }
                    let patch = owner::adopt_patch(&owner::controller_ref(d), &rs_uid);
                    match api
                        .patch(&name, &PatchParams::default(), &Patch::Strategic(patch))
                        .await
                    {
                        Ok(adopted) => claimed.push(adopted),
                        Err(e) if is_code(&e, 404) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Claim::Release => {
                    let patch = owner::release_patch(&uid, &rs_uid);
                    match api
                        .patch(&name, &PatchParams::default(), &Patch::Strategic(patch))
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if is_code(&e, 404) || is_code(&e, 422) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Claim::Ignore => {}
            }
        }
        Ok(claimed)
    }

    /// Before adopting: the Deployment, read fresh, is the same one and not being deleted.
    async fn recheck(&self, d: &Deployment) -> Result<()> {
        let fresh = self.deployment_api(d).get(&d.name_any()).await?;
        if fresh.metadata.uid != d.metadata.uid {
            return Err(DeploymentError::Adopt(format!(
                "original Deployment {} is gone: got uid {:?}, wanted {:?}",
                d.name_any(),
                fresh.metadata.uid,
                d.metadata.uid
            )));
        }
        if fresh.metadata.deletion_timestamp.is_some() {
            return Err(DeploymentError::Adopt(format!(
                "{} has just been deleted",
                d.name_any()
            )));
        }
        Ok(())
    }

    /// ReplicaSets whose controller is `d` (from the store, no claiming).
    pub(super) fn owned_replica_sets(&self, d: &Deployment) -> Result<Vec<Arc<ReplicaSet>>> {
        let uid = d.metadata.uid.as_deref().unwrap_or_default();
        let mut owned = self.replica_sets.by_index(BY_CONTROLLER, uid)?;
        owned.retain(|rs| rs.metadata.namespace == d.metadata.namespace);
        Ok(owned)
    }

    /// The Deployment's pods by the uid of the ReplicaSet controlling them.
    pub(super) fn pod_map<'a>(
        &self,
        d: &Deployment,
        rss: impl IntoIterator<Item = &'a ReplicaSet>,
    ) -> Result<HashMap<String, Vec<Arc<Pod>>>> {
        let uids: Vec<String> = rss
            .into_iter()
            .filter_map(|rs| rs.metadata.uid.clone())
            .collect();
        let selector = d
            .spec
            .as_ref()
            .and_then(|s| Selector::try_from(s.selector.clone()).ok());
        let mut map = HashMap::new();
        for uid in uids {
            let mut pods = match &selector {
                Some(_) => self.pods.by_index(BY_CONTROLLER, &uid)?,
                None => Vec::new(),
            };
            pods.retain(|pod| {
                pod.metadata.namespace == d.metadata.namespace
                    && selector.as_ref().is_some_and(|s| s.matches(pod.labels()))
            });
            map.insert(uid, pods);
        }
        Ok(map)
    }

    /// Status only, for a Deployment being deleted.
    async fn sync_status_only(
        &self,
        d: &mut Deployment,
        mut rss: Vec<ReplicaSet>,
    ) -> Result<Requeue> {
        let (new, old) = self.all_rs_and_sync_revision(d, &mut rss, false).await?;
        self.sync_status(d, &old, new.as_ref()).await?;
        Ok(Requeue::No)
    }

    /// Scaling without rollout: paused, or `spec.replicas` changed (upstream's `sync`).
    async fn sync(&self, d: &mut Deployment, mut rss: Vec<ReplicaSet>) -> Result<Requeue> {
        let (mut new, mut old) = self.all_rs_and_sync_revision(d, &mut rss, false).await?;
        self.scale(d, &mut new, &mut old).await?;
        if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
            self.cleanup(d, &old).await?;
        }
        self.sync_status(d, &old, new.as_ref()).await?;
        Ok(Requeue::No)
    }

    /// Whether some active ReplicaSet was sized for other replicas than the spec's.
    async fn is_scaling_event(
        &self,
        d: &mut Deployment,
        rss: &mut Vec<ReplicaSet>,
    ) -> Result<bool> {
        let (new, old) = self.all_rs_and_sync_revision(d, rss, false).await?;
        let want = util::replicas(d);
        Ok(old
            .iter()
            .chain(new.as_ref())
            .filter(|rs| util::rs_replicas(rs) > 0)
            .any(|rs| history::desired_replicas(rs).is_some_and(|n| n != want)))
    }

    /// Writes the status calculated from the ReplicaSets, if it changed.
    async fn sync_status(
        &self,
        d: &mut Deployment,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<()> {
        let all: Vec<&ReplicaSet> = old.iter().chain(new).collect();
        let status = progress::calculate(d, &all, new, progress::now());
        if d.status.clone().unwrap_or_default() != status {
            d.status = Some(status);
            self.update_status(d).await?;
        }
        Ok(())
    }

    /// Writes the status with Progressing brought up to date; when nothing changed, asks
    /// to look again at the progress deadline.
    pub(super) async fn sync_rollout_status(
        &self,
        d: &mut Deployment,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<Requeue> {
        let all: Vec<&ReplicaSet> = old.iter().chain(new).collect();
        let now = progress::now();
        let status = progress::rollout_status(d, &all, new, now);
        if d.status.clone().unwrap_or_default() == status {
            return Ok(progress::requeue_after(d, &status, now).map_or(Requeue::No, Requeue::After));
        }
        d.status = Some(status);
        self.update_status(d).await?;
        Ok(Requeue::No)
    }
}

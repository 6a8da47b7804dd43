//! The writes every part of a sync shares: the Deployment's status, scaling a ReplicaSet
//! with its event, deleting old ReplicaSets beyond the history limit, and events.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{DeleteParams, PostParams};
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt as _};

use super::{Ctl, DeploymentError, history, util};

type Result<T> = std::result::Result<T, DeploymentError>;

/// Whether an API error has this HTTP code.
pub(super) fn is_code(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

impl Ctl {
    pub(super) fn rs_api(&self, d: &Deployment) -> Api<ReplicaSet> {
        Api::namespaced(
            self.client.clone(),
            d.metadata.namespace.as_deref().unwrap_or("default"),
        )
    }

    pub(super) fn deployment_api(&self, d: &Deployment) -> Api<Deployment> {
        Api::namespaced(
            self.client.clone(),
            d.metadata.namespace.as_deref().unwrap_or("default"),
        )
    }

    /// Writes `d`'s status (and annotations) and takes the stored result.
    pub(super) async fn update_status(&self, d: &mut Deployment) -> Result<()> {
        *d = self
            .deployment_api(d)
            .replace_status(&d.name_any(), &PostParams::default(), d)
            .await?;
        Ok(())
    }

    /// Scales `rs` to `size` if it is not already, with the event (upstream's
    /// `scaleReplicaSetAndRecordEvent`). Whether it scaled, and the ReplicaSet now.
    pub(super) async fn scale_and_record(
        &self,
        d: &Deployment,
        rs: &ReplicaSet,
        size: i32,
    ) -> Result<(bool, ReplicaSet)> {
        let current = util::rs_replicas(rs);
        if current == size {
            return Ok((false, rs.clone()));
        }
        let op = if current < size { "up" } else { "down" };
        self.scale_replica_set(d, rs, size, op).await
    }

    /// Sets `rs` to `size` and the Deployment's replicas annotations when either differs
    /// (upstream's `scaleReplicaSet`); the event names `op`.
    pub(super) async fn scale_replica_set(
        &self,
        d: &Deployment,
        rs: &ReplicaSet,
        size: i32,
        op: &str,
    ) -> Result<(bool, ReplicaSet)> {
        let current = util::rs_replicas(rs);
        let desired = util::replicas(d);
        let max = desired + util::max_surge(d);
        let resize = current != size;
        if !resize && !history::replicas_annotations_need_update(rs, desired, max) {
            return Ok((false, rs.clone()));
        }
        let mut copy = rs.clone();
        util::set_rs_replicas(&mut copy, size);
        history::set_replicas_annotations(&mut copy, desired, max);
        let updated = self
            .rs_api(d)
            .replace(&rs.name_any(), &PostParams::default(), &copy)
            .await?;
        if resize {
            let msg = format!(
                "Scaled {op} replica set {} from {current} to {size}",
                rs.name_any()
            );
            self.event(d, EventType::Normal, "ScalingReplicaSet", msg)
                .await;
        }
        Ok((resize, updated))
    }

    /// Deletes old ReplicaSets beyond `revisionHistoryLimit` (upstream's
    /// `cleanupDeployment`).
    pub(super) async fn cleanup(&self, d: &Deployment, old: &[ReplicaSet]) -> Result<()> {
        let Some(limit) = d
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .filter(|l| *l != i32::MAX)
        else {
            return Ok(());
        };
        let api = self.rs_api(d);
        for rs in history::to_clean_up(old, limit) {
            tracing::debug!(replicaset = %rs.name_any(), "cleaning up old replica set");
            match api.delete(&rs.name_any(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if is_code(&e, 404) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Records an event about `d` (failures are logged).
    pub(super) async fn event(&self, d: &Deployment, type_: EventType, reason: &str, note: String) {
        self.ctx
            .recorder(super::NAME)
            .record_on(d, type_, reason, note)
            .await;
    }
}

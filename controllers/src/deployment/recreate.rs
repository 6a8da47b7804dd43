//! The Recreate strategy (upstream's `rolloutRecreate`): scale every old ReplicaSet to
//! zero, wait until none of their pods runs, then scale the new one up.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use super::{Ctl, DeploymentError, progress, util};
use crate::runner::Requeue;

type Result<T> = std::result::Result<T, DeploymentError>;

/// Whether old pods may still run: old ReplicaSets report pods, or a pod of a ReplicaSet
/// other than the new one has not finished (upstream's `oldPodsRunning`).
pub(crate) fn old_pods_running(
    new: Option<&ReplicaSet>,
    old: &[ReplicaSet],
    pods: &HashMap<String, Vec<Arc<Pod>>>,
) -> bool {
    if old.iter().map(util::rs_actual).sum::<i32>() > 0 {
        return true;
    }
    let new_uid = new.and_then(|rs| rs.metadata.uid.as_deref());
    pods.iter()
        .filter(|(uid, _)| Some(uid.as_str()) != new_uid)
        .flat_map(|(_, pods)| pods)
        .any(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Failed" | "Succeeded"))
        })
}

impl Ctl {
    /// One Recreate step.
    pub(super) async fn rollout_recreate(
        &self,
        d: &mut Deployment,
        mut rss: Vec<ReplicaSet>,
    ) -> Result<Requeue> {
        let pods = self.pod_map(d, rss.iter())?;
        let (mut new, mut old) = self.all_rs_and_sync_revision(d, &mut rss, false).await?;
        let mut scaled_down = false;
        for rs in old.iter_mut().filter(|rs| util::rs_replicas(rs) > 0) {
            let (scaled, updated) = self.scale_and_record(d, rs, 0).await?;
            *rs = updated;
            scaled_down |= scaled;
        }
        if scaled_down || old_pods_running(new.as_ref(), &old, &pods) {
            return self.sync_rollout_status(d, &old, new.as_ref()).await;
        }
        if new.is_none() {
            (new, old) = self.all_rs_and_sync_revision(d, &mut rss, true).await?;
        }
        if let Some(rs) = &new {
            let (_, updated) = self.scale_and_record(d, rs, util::replicas(d)).await?;
            new = Some(updated);
        }
        if d.status.as_ref().is_some_and(|s| progress::complete(d, s)) {
            self.cleanup(d, &old).await?;
        }
        self.sync_rollout_status(d, &old, new.as_ref()).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(uid: &str, actual: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": uid, "uid": uid},
            "spec": {"replicas": 0, "selector": {}},
            "status": {"replicas": actual},
        }))
        .unwrap()
    }

    fn pod(phase: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": "p"}, "status": {"phase": phase}}))
                .unwrap(),
        )
    }

    #[test]
    fn old_pods_hold_the_new_replica_set_back() {
        let new = rs("new", 0);
        let old = [rs("old", 0)];
        let mut pods = HashMap::from([
            ("old".to_owned(), vec![]),
            ("new".to_owned(), vec![pod("Running")]),
        ]);
        assert!(!old_pods_running(Some(&new), &old, &pods));
        assert!(old_pods_running(Some(&new), &[rs("old", 1)], &pods));
        pods.insert("old".to_owned(), vec![pod("Succeeded"), pod("Failed")]);
        assert!(!old_pods_running(Some(&new), &old, &pods));
        pods.insert("old".to_owned(), vec![pod("Pending")]);
        assert!(old_pods_running(Some(&new), &old, &pods));
        pods.insert("old".to_owned(), vec![pod("Unknown")]);
        assert!(old_pods_running(None, &old, &pods));
    }
}

//! The RollingUpdate strategy (upstream's `rolloutRolling`): scale the new ReplicaSet up
//! within replicas + maxSurge, scale old ones down (unhealthy first) while at least
//! replicas − maxUnavailable stay available.

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::ResourceExt as _;

use super::{Ctl, DeploymentError, progress, util};
use crate::runner::Requeue;

type Result<T> = std::result::Result<T, DeploymentError>;

/// How many replicas the new ReplicaSet may have now (upstream's `NewRSNewReplicas`):
/// for RollingUpdate as many as maxSurge leaves room for, up to `replicas`; for Recreate
/// `replicas`.
pub(crate) fn new_rs_new_replicas(d: &Deployment, all: &[&ReplicaSet], new: &ReplicaSet) -> i32 {
    let want = util::replicas(d);
    if !util::is_rolling(d) {
        return want;
    }
    let current = all.iter().map(|rs| util::rs_replicas(rs)).sum::<i32>();
    let max_total = want + util::max_surge(d);
    let new_replicas = util::rs_replicas(new);
    if current >= max_total {
        return new_replicas;
    }
    new_replicas + (max_total - current).min(want - new_replicas)
}

/// The old ReplicaSets to shrink because their pods are unavailable anyway, oldest first,
/// at most `max` replicas in all (upstream's `cleanupUnhealthyReplicas`): (index, size).
pub(crate) fn unhealthy_plan(old: &[ReplicaSet], max: i32) -> Vec<(usize, i32)> {
    let mut plan = Vec::new();
    let mut total = 0;
    for i in creation_order(old) {
        if total >= max {
            break;
        }
        let (spec, available) = (util::rs_replicas(&old[i]), util::rs_available(&old[i]));
        if spec == 0 || spec == available {
            continue;
        }
        let down = (max - total).min(spec - available);
        plan.push((i, spec - down));
        total += down;
    }
    plan
}

/// The old ReplicaSets to shrink so that `available` stays at or above `min_available`,
/// oldest first (upstream's `scaleDownOldReplicaSetsForRollingUpdate`): (index, size).
pub(crate) fn scale_down_plan(
    old: &[ReplicaSet],
    available: i32,
    min_available: i32,
) -> Vec<(usize, i32)> {
    let mut plan = Vec::new();
    if available <= min_available {
        return plan;
    }
    let target = available - min_available;
    let mut total = 0;
    for i in creation_order(old) {
        if total >= target {
            break;
        }
        let spec = util::rs_replicas(&old[i]);
        if spec == 0 {
            continue;
        }
        let down = spec.min(target - total);
        plan.push((i, spec - down));
        total += down;
    }
    plan
}

fn creation_order(rss: &[ReplicaSet]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rss.len()).collect();
    order.sort_by(|&a, &b| -> Ordering { util::by_creation(&rss[a], &rss[b]) });
    order
}

impl Ctl {
    /// One RollingUpdate step.
    pub(super) async fn rollout_rolling(
        &self,
        d: &mut Deployment,
        mut rss: Vec<ReplicaSet>,
    ) -> Result<Requeue> {
        let (new, mut old) = self.all_rs_and_sync_revision(d, &mut rss, true).await?;
        let Some(mut new) = new else {
            return Ok(Requeue::No);
        };
        // Scale up the new ReplicaSet if there is room.
        let want = util::replicas(d);
        let current = util::rs_replicas(&new);
        if current != want {
            let size = if current > want {
                want
            } else {
                let all: Vec<&ReplicaSet> = old.iter().chain([&new]).collect();
                new_rs_new_replicas(d, &all, &new)
            };
            let (scaled, updated) = self.scale_and_record(d, &new, size).await?;
            new = updated;
            if scaled {
                return self.sync_rollout_status(d, &old, Some(&new)).await;
            }
        }
        if self.reconcile_old(d, &mut old, &new).await? {
            return self.sync_rollout_status(d, &old, Some(&new)).await;
        }
        if d.status.as_ref().is_some_and(|s| progress::complete(d, s)) {
            self.cleanup(d, &old).await?;
        }
        self.sync_rollout_status(d, &old, Some(&new)).await
    }

    /// Scales old ReplicaSets down as far as availability allows (upstream's
    /// `reconcileOldReplicaSets`); whether any was.
    async fn reconcile_old(
        &self,
        d: &Deployment,
        old: &mut [ReplicaSet],
        new: &ReplicaSet,
    ) -> Result<bool> {
        let old_pods = old.iter().map(util::rs_replicas).sum::<i32>();
        if old_pods == 0 {
            return Ok(false);
        }
        let all_pods = old_pods + util::rs_replicas(new);
        let min_available = util::replicas(d) - util::max_unavailable(d);
        let new_unavailable = util::rs_replicas(new) - util::rs_available(new);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        // Only the active ones count: a scaled-down ReplicaSet may still report pods.
        let active: Vec<usize> = (0..old.len())
            .filter(|&i| util::rs_replicas(&old[i]) > 0)
            .collect();
        let mut scaled = false;
        for (i, size) in unhealthy_plan(old, max_scaled_down) {
            let spec = util::rs_replicas(&old[i]);
            if size > spec {
                return Err(DeploymentError::InvalidScaleDown(
                    old[i].name_any(),
                    spec,
                    size,
                ));
            }
            let (_, updated) = self.scale_and_record(d, &old[i], size).await?;
            old[i] = updated;
            scaled = true;
        }
        let available = active
            .iter()
            .map(|&i| util::rs_available(&old[i]))
            .sum::<i32>()
            + util::rs_available(new);
        for (i, size) in scale_down_plan(old, available, min_available) {
            let (_, updated) = self.scale_and_record(d, &old[i], size).await?;
            tracing::debug!(replicaset = %updated.name_any(), size, "scaled down old replica set");
            old[i] = updated;
            scaled = true;
        }
        Ok(scaled)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(name: &str, created: i64, spec: i32, available: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name,
                         "creationTimestamp": jiff::Timestamp::from_second(created).unwrap().to_string()},
            "spec": {"replicas": spec, "selector": {}},
            "status": {"replicas": spec, "availableReplicas": available},
        }))
        .unwrap()
    }

    fn deployment(replicas: i32, surge: i32, unavailable: i32) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d"},
            "spec": {"replicas": replicas, "selector": {}, "template": {},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}},
        }))
        .unwrap()
    }

    #[test]
    fn new_replica_set_grows_within_surge() {
        let d = deployment(10, 3, 2);
        let old = rs("old", 1, 10, 10);
        let new = rs("new", 2, 0, 0);
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), 3);
        let old = rs("old", 1, 8, 8);
        let new = rs("new", 2, 3, 0);
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), 5);
        // At the surge limit: no change; never beyond replicas.
        let old = rs("old", 1, 10, 10);
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), 3);
        let old = rs("old", 1, 0, 0);
        let new = rs("new", 2, 9, 9);
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), 10);
    }

    #[test]
    fn unhealthy_first_then_by_availability() {
        let old = [rs("b", 2, 4, 1), rs("a", 1, 3, 3)];
        // The unhealthy 3 of "b" go first, within the budget.
        assert_eq!(unhealthy_plan(&old, 2), [(0, 2)]);
        assert_eq!(unhealthy_plan(&old, 9), [(0, 1)]);
        // A stale status with more available than asked for: the plan would scale up,
        // which the sync refuses.
        assert_eq!(unhealthy_plan(&[rs("s", 1, 8, 10)], 2), [(0, 10)]);
        // Scale down by availability: oldest first.
        assert_eq!(scale_down_plan(&old, 10, 6), [(1, 0), (0, 3)]);
        assert_eq!(scale_down_plan(&old, 6, 6), []);
        assert_eq!(scale_down_plan(&old, 8, 6), [(1, 1)]);
    }
}

//! Status and conditions: the counts `kubectl rollout status` reads, Available, the
//! Progressing condition with its deadline, and ReplicaFailure copied from the ReplicaSets
//! (upstream's `calculateStatus`, `syncRolloutStatus` and `requeueStuckDeployment`).

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::util;

/// The Progressing condition.
pub(crate) const PROGRESSING: &str = "Progressing";
/// The Available condition.
pub(crate) const AVAILABLE: &str = "Available";
/// The ReplicaFailure condition.
pub(crate) const REPLICA_FAILURE: &str = "ReplicaFailure";
/// Progressing reasons.
pub(crate) const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub(crate) const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub(crate) const RS_UPDATED: &str = "ReplicaSetUpdated";
pub(crate) const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub(crate) const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub(crate) const PAUSED: &str = "DeploymentPaused";
pub(crate) const RESUMED: &str = "DeploymentResumed";
pub(crate) const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";

/// Now, to the second (the API keeps times to the second).
pub(crate) fn now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A condition that changed at `now`.
pub(crate) fn condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: kind.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// The condition of type `kind`.
pub(crate) fn get<'a>(status: &'a DeploymentStatus, kind: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.as_ref()?.iter().find(|c| c.type_ == kind)
}

/// Upstream's `SetDeploymentCondition`: nothing when status and reason are the same,
/// otherwise replace (keeping the transition time when the status is the same).
pub(crate) fn set(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    if let Some(current) = get(status, &cond.type_) {
        if current.status == cond.status && current.reason == cond.reason {
            return;
        }
        if current.status == cond.status {
            cond.last_transition_time = current.last_transition_time.clone();
        }
    }
    remove(status, &cond.type_);
    status.conditions.get_or_insert_with(Vec::new).push(cond);
}

/// Removes the condition of type `kind`.
pub(crate) fn remove(status: &mut DeploymentStatus, kind: &str) {
    if let Some(conditions) = status.conditions.as_mut() {
        conditions.retain(|c| c.type_ != kind);
        if conditions.is_empty() {
            status.conditions = None;
        }
    }
}

/// Whether the deployment has a progress deadline.
pub(crate) fn has_deadline(d: &Deployment) -> bool {
    deadline_seconds(d).is_some()
}

fn deadline_seconds(d: &Deployment) -> Option<i32> {
    d.spec
        .as_ref()?
        .progress_deadline_seconds
        .filter(|s| *s != i32::MAX)
}

fn nonzero<T: Default + PartialEq>(v: T) -> Option<T> {
    (v != T::default()).then_some(v)
}

/// Counts of a status as plain numbers (absent is zero).
pub(crate) fn count(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// Upstream's `calculateStatus`: the counts over `all`, the conditions kept, and Available.
pub(crate) fn calculate(
    d: &Deployment,
    all: &[&ReplicaSet],
    new: Option<&ReplicaSet>,
    now: Timestamp,
) -> DeploymentStatus {
    let available = all.iter().map(|rs| util::rs_available(rs)).sum::<i32>();
    let total = all.iter().map(|rs| util::rs_replicas(rs)).sum::<i32>();
    let old = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: nonzero(d.metadata.generation.unwrap_or(0)),
        replicas: nonzero(all.iter().map(|rs| util::rs_actual(rs)).sum()),
        updated_replicas: nonzero(new.map_or(0, util::rs_actual)),
        ready_replicas: nonzero(all.iter().map(|rs| util::rs_ready(rs)).sum()),
        available_replicas: nonzero(available),
        unavailable_replicas: nonzero((total - available).max(0)),
        collision_count: old.collision_count,
        conditions: old.conditions,
        terminating_replicas: None,
    };
    let cond = if available >= util::replicas(d) - util::max_unavailable(d) {
        condition(
            AVAILABLE,
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            now,
        )
    } else {
        condition(
            AVAILABLE,
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            now,
        )
    };
    set(&mut status, cond);
    status
}

/// Whether `status` shows every replica updated and available at the current generation.
pub(crate) fn complete(d: &Deployment, status: &DeploymentStatus) -> bool {
    let want = util::replicas(d);
    count(status.updated_replicas) == want
        && count(status.replicas) == want
        && count(status.available_replicas) == want
        && status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Whether `status` shows progress over the deployment's current status.
fn progressing(d: &Deployment, status: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = count(old.replicas) - count(old.updated_replicas);
    let new_old = count(status.replicas) - count(status.updated_replicas);
    count(status.updated_replicas) > count(old.updated_replicas)
        || new_old < old_old
        || count(status.ready_replicas) > count(old.ready_replicas)
        || count(status.available_replicas) > count(old.available_replicas)
}

/// Whether the rollout has gone without progress past its deadline at `now`.
fn timed_out(d: &Deployment, status: &DeploymentStatus, now: Timestamp) -> bool {
    let (Some(seconds), Some(cond)) = (deadline_seconds(d), get(status, PROGRESSING)) else {
        return false;
    };
    match cond.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => cond
            .last_update_time
            .as_ref()
            .is_some_and(|from| from.0 + jiff::SignedDuration::from_secs(i64::from(seconds)) < now),
    }
}

fn name(rs: Option<&ReplicaSet>) -> Option<&str> {
    rs.and_then(|rs| rs.metadata.name.as_deref())
}

/// Upstream's `syncRolloutStatus` computation: the new status with Progressing and
/// ReplicaFailure brought up to date.
pub(crate) fn rollout_status(
    d: &Deployment,
    all: &[&ReplicaSet],
    new: Option<&ReplicaSet>,
    now: Timestamp,
) -> DeploymentStatus {
    let mut status = calculate(d, all, new, now);
    if !has_deadline(d) {
        remove(&mut status, PROGRESSING);
    }
    let current = d.status.as_ref().and_then(|s| get(s, PROGRESSING)).cloned();
    let is_complete = count(status.replicas) == count(status.updated_replicas)
        && current
            .as_ref()
            .is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
    let dname = d.metadata.name.as_deref().unwrap_or_default();
    if has_deadline(d) && !is_complete {
        if complete(d, &status) {
            let msg = match name(new) {
                Some(n) => format!("ReplicaSet {n:?} has successfully progressed."),
                None => String::new(),
            };
            set(
                &mut status,
                condition(PROGRESSING, "True", NEW_RS_AVAILABLE, msg, now),
            );
        } else if progressing(d, &status) {
            let msg = match name(new) {
                Some(n) => format!("ReplicaSet {n:?} is progressing."),
                None => format!("Deployment {dname:?} is progressing."),
            };
            let mut cond = condition(PROGRESSING, "True", RS_UPDATED, msg, now);
            if let Some(current) = &current {
                if current.status == "True" {
                    cond.last_transition_time = current.last_transition_time.clone();
                }
                remove(&mut status, PROGRESSING);
            }
            set(&mut status, cond);
        } else if timed_out(d, &status, now) {
            let msg = match name(new) {
                Some(n) => format!("ReplicaSet {n:?} has timed out progressing."),
                None => format!("Deployment {dname:?} has timed out progressing."),
            };
            set(
                &mut status,
                condition(PROGRESSING, "False", TIMED_OUT, msg, now),
            );
        }
    }
    match replica_failure(all, new) {
        Some(cond) => set(&mut status, cond),
        None => remove(&mut status, REPLICA_FAILURE),
    }
    status
}

/// The first ReplicaFailure condition of the new ReplicaSet, else of any.
fn replica_failure(all: &[&ReplicaSet], new: Option<&ReplicaSet>) -> Option<DeploymentCondition> {
    new.into_iter().chain(all.iter().copied()).find_map(|rs| {
        let c = rs
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == REPLICA_FAILURE)?;
        Some(DeploymentCondition {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_update_time: c.last_transition_time.clone(),
            last_transition_time: c.last_transition_time.clone(),
        })
    })
}

/// Upstream's `requeueStuckDeployment`: when to look again so an unchanged, unfinished
/// rollout is seen to time out.
pub(crate) fn requeue_after(
    d: &Deployment,
    status: &DeploymentStatus,
    now: Timestamp,
) -> Option<Duration> {
    let seconds = deadline_seconds(d)?;
    let current = d.status.as_ref().and_then(|s| get(s, PROGRESSING))?;
    if complete(d, status) || current.reason.as_deref() == Some(TIMED_OUT) {
        return None;
    }
    let from = current.last_update_time.as_ref()?.0;
    let at = from + jiff::SignedDuration::from_secs(i64::from(seconds));
    let after = at.duration_since(now);
    // Just past the deadline (the timeout check is strict), never sooner than a moment.
    let after = Duration::try_from(after).unwrap_or_default() + Duration::from_millis(1100);
    Some(after)
}

/// Upstream's `checkPausedConditions`: the Progressing condition for a pause or resume,
/// unless the rollout already timed out. `None` when nothing changes.
pub(crate) fn paused_status(d: &Deployment, now: Timestamp) -> Option<DeploymentStatus> {
    if !has_deadline(d) {
        return None;
    }
    let mut status = d.status.clone().unwrap_or_default();
    let reason = get(&status, PROGRESSING).and_then(|c| c.reason.clone());
    if reason.as_deref() == Some(TIMED_OUT) {
        return None;
    }
    let paused_cond = reason.as_deref() == Some(PAUSED);
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    let cond = if paused && !paused_cond {
        condition(
            PROGRESSING,
            "Unknown",
            PAUSED,
            "Deployment is paused".into(),
            now,
        )
    } else if !paused && paused_cond {
        condition(
            PROGRESSING,
            "Unknown",
            RESUMED,
            "Deployment is resumed".into(),
            now,
        )
    } else {
        return None;
    };
    set(&mut status, cond);
    Some(status)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn deployment(status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d", "generation": 2},
            "spec": {"replicas": 4, "selector": {}, "template": {}, "progressDeadlineSeconds": 10,
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}},
            "status": status,
        }))
        .unwrap()
    }

    fn rs(name: &str, spec: i32, actual: i32, available: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"replicas": spec, "selector": {}},
            "status": {"replicas": actual, "readyReplicas": available, "availableReplicas": available},
        }))
        .unwrap()
    }

    fn progressing(reason: &str, updated: i64) -> serde_json::Value {
        let t = at(updated).to_string();
        json!({"type": PROGRESSING, "status": "True", "reason": reason,
               "lastUpdateTime": t, "lastTransitionTime": t})
    }

    #[test]
    fn set_keeps_the_transition_time_of_an_unchanged_status() {
        let mut status = DeploymentStatus::default();
        set(
            &mut status,
            condition(PROGRESSING, "True", RS_UPDATED, "a".into(), at(1)),
        );
        set(
            &mut status,
            condition(PROGRESSING, "True", RS_UPDATED, "b".into(), at(2)),
        );
        assert_eq!(
            get(&status, PROGRESSING).unwrap().message.as_deref(),
            Some("a")
        );
        set(
            &mut status,
            condition(PROGRESSING, "True", NEW_RS_AVAILABLE, "c".into(), at(3)),
        );
        let c = get(&status, PROGRESSING).unwrap();
        assert_eq!(
            (
                c.last_transition_time.clone().unwrap().0,
                c.last_update_time.clone().unwrap().0
            ),
            (at(1), at(3))
        );
        set(
            &mut status,
            condition(PROGRESSING, "False", TIMED_OUT, "d".into(), at(4)),
        );
        assert_eq!(
            get(&status, PROGRESSING)
                .unwrap()
                .last_transition_time
                .clone()
                .unwrap()
                .0,
            at(4)
        );
        assert_eq!(status.conditions.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn counts_and_availability() {
        let d = deployment(json!({}));
        let (old, new) = (rs("old", 2, 3, 2), rs("new", 3, 2, 1));
        let status = calculate(&d, &[&old, &new], Some(&new), at(0));
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!(
            (
                status.replicas,
                status.updated_replicas,
                status.ready_replicas
            ),
            (Some(5), Some(2), Some(3))
        );
        assert_eq!(
            (status.available_replicas, status.unavailable_replicas),
            (Some(3), Some(2))
        );
        // 3 available ≥ 4 − 1.
        assert_eq!(
            get(&status, AVAILABLE).unwrap().reason.as_deref(),
            Some("MinimumReplicasAvailable")
        );
        let status = calculate(&d, &[&rs("new", 4, 4, 2)], None, at(0));
        assert_eq!(get(&status, AVAILABLE).unwrap().status, "False");
        assert!(!complete(&d, &status));
        assert!(complete(
            &d,
            &calculate(&d, &[&rs("new", 4, 4, 4)], Some(&rs("new", 4, 4, 4)), at(0))
        ));
    }

    #[test]
    fn progress_complete_and_deadline() {
        let new = rs("new", 4, 4, 2);
        // More available than before: progressing, lastUpdateTime now.
        let d = deployment(
            json!({"replicas": 4, "updatedReplicas": 4, "availableReplicas": 1,
                                  "conditions": [progressing(RS_UPDATED, 100)]}),
        );
        let status = rollout_status(&d, &[&new], Some(&new), at(105));
        let c = get(&status, PROGRESSING).unwrap();
        assert_eq!(
            (c.reason.as_deref(), c.last_update_time.clone().unwrap().0),
            (Some(RS_UPDATED), at(105))
        );
        assert_eq!(c.last_transition_time.clone().unwrap().0, at(100));
        // No progress: look again just past the deadline; past it, timed out.
        let d = deployment(
            json!({"replicas": 4, "updatedReplicas": 4, "availableReplicas": 2, "readyReplicas": 2,
                                  "conditions": [progressing(RS_UPDATED, 100)]}),
        );
        let status = rollout_status(&d, &[&new], Some(&new), at(105));
        assert_eq!(
            get(&status, PROGRESSING).unwrap().reason.as_deref(),
            Some(RS_UPDATED)
        );
        let after = requeue_after(&d, &status, at(105)).unwrap();
        assert!(
            after > Duration::from_secs(5) && after < Duration::from_secs(7),
            "{after:?}"
        );
        let status = rollout_status(&d, &[&new], Some(&new), at(111));
        let c = get(&status, PROGRESSING).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("False", Some(TIMED_OUT))
        );
        assert_eq!(
            c.message.as_deref(),
            Some("ReplicaSet \"new\" has timed out progressing.")
        );
        // All available: complete, whatever came before.
        let done = rs("new", 4, 4, 4);
        let status = rollout_status(&d, &[&done], Some(&done), at(200));
        assert_eq!(
            get(&status, PROGRESSING).unwrap().reason.as_deref(),
            Some(NEW_RS_AVAILABLE)
        );
        assert_eq!(requeue_after(&d, &status, at(200)), None);
    }

    #[test]
    fn pause_and_resume_conditions() {
        let mut d = deployment(json!({"conditions": [progressing(RS_UPDATED, 1)]}));
        assert!(paused_status(&d, at(2)).is_none());
        d.spec.as_mut().unwrap().paused = Some(true);
        let status = paused_status(&d, at(2)).unwrap();
        let c = get(&status, PROGRESSING).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("Unknown", Some(PAUSED))
        );
        d.status = Some(status);
        assert!(paused_status(&d, at(3)).is_none());
        d.spec.as_mut().unwrap().paused = Some(false);
        let status = paused_status(&d, at(4)).unwrap();
        assert_eq!(
            get(&status, PROGRESSING).unwrap().reason.as_deref(),
            Some(RESUMED)
        );
        // A timed-out rollout keeps its condition.
        let mut d = deployment(json!({"conditions": [progressing(TIMED_OUT, 1)]}));
        d.spec.as_mut().unwrap().paused = Some(true);
        assert!(paused_status(&d, at(2)).is_none());
    }
}

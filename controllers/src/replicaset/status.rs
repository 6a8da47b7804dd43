//! A ReplicaSet's status from its pods (upstream's `calculateStatus`): counts, observed
//! generation and the `ReplicaFailure` condition, and when availability changes next.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::podutil;

/// The condition set while pods cannot be created or deleted.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// The failure of the last attempt to create or delete pods, as the condition shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManageFailure {
    /// `FailedCreate` or `FailedDelete`.
    pub reason: &'static str,
    /// The error.
    pub message: String,
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The labels every pod of `rs` gets from its template.
pub fn template_labels(rs: &ReplicaSet) -> BTreeMap<String, String> {
    rs.spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

/// Whether `pod` carries every label in `template` (a "fully labeled" replica).
pub fn fully_labeled(template: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    template
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The pod counts a ReplicaSet's status reports, over the active pods it owns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Active pods owned.
    pub replicas: usize,
    /// Of those, pods with every template label.
    pub labeled: usize,
    /// Pods Ready.
    pub ready: usize,
    /// Pods Ready for minReadySeconds.
    pub available: usize,
}

impl Counts {
    /// Counts one owned pod, whose labeled and ready facts are known.
    pub fn add(
        &mut self,
        pod: &Pod,
        labeled: bool,
        ready: bool,
        min_ready_seconds: i32,
        now: jiff::Timestamp,
    ) {
        self.replicas += 1;
        self.labeled += usize::from(labeled);
        if ready {
            self.ready += 1;
            if min_ready_seconds <= 0 || podutil::is_available(pod, min_ready_seconds, now) {
                self.available += 1;
            }
        }
    }
}

/// The minReadySeconds of `rs` (0 when unset).
pub fn min_ready_seconds(rs: &ReplicaSet) -> i32 {
    rs.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

/// The status `rs` should have with `counts` of the active pods it owns, after `failure`.
pub fn calculate(
    rs: &ReplicaSet,
    counts: Counts,
    failure: Option<&ManageFailure>,
    now: jiff::Timestamp,
) -> ReplicaSetStatus {
    let mut status = rs.status.clone().unwrap_or_default();
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let existing = conditions.iter().any(|c| c.type_ == REPLICA_FAILURE);
    match failure {
        Some(f) if !existing => conditions.push(ReplicaSetCondition {
            type_: REPLICA_FAILURE.to_owned(),
            status: "True".to_owned(),
            reason: Some(f.reason.to_owned()),
            message: Some(f.message.clone()),
            last_transition_time: Some(Time(now)),
        }),
        None if existing => conditions.retain(|c| c.type_ != REPLICA_FAILURE),
        _ => {}
    }
    if conditions.is_empty() {
        status.conditions = None;
    }
    status.replicas = count(counts.replicas);
    status.fully_labeled_replicas = Some(count(counts.labeled));
    status.ready_replicas = Some(count(counts.ready));
    status.available_replicas = Some(count(counts.available));
    status
}

/// Whether `rs` must be written to reach `status` (upstream skips the write when the counts,
/// conditions and observed generation already match).
pub fn needs_update(rs: &ReplicaSet, status: &ReplicaSetStatus) -> bool {
    let current = rs.status.clone().unwrap_or_default();
    let generation = rs.metadata.generation.unwrap_or(0);
    let n = |v: Option<i32>| v.unwrap_or(0);
    let conds = |c: &Option<Vec<ReplicaSetCondition>>| c.clone().unwrap_or_default();
    current.replicas != status.replicas
        || n(current.fully_labeled_replicas) != n(status.fully_labeled_replicas)
        || n(current.ready_replicas) != n(status.ready_replicas)
        || n(current.available_replicas) != n(status.available_replicas)
        || current.observed_generation.unwrap_or(0) != generation
        || conds(&current.conditions) != conds(&status.conditions)
}

/// How long until the next of `pods` that is ready but not yet available becomes available
/// (None when minReadySeconds is 0 or no pod is waiting).
pub fn next_available(
    rs: &ReplicaSet,
    pods: &[Arc<Pod>],
    now: jiff::Timestamp,
) -> Option<Duration> {
    let mrs = min_ready_seconds(rs);
    if mrs <= 0 {
        return None;
    }
    pods.iter()
        .filter(|p| podutil::is_ready(p) && !podutil::is_available(p, mrs, now))
        .filter_map(|p| {
            podutil::condition(p, "Ready")?
                .last_transition_time
                .as_ref()
        })
        .map(|since| {
            let at = since.0 + jiff::SignedDuration::from_secs(i64::from(mrs));
            let left = at.duration_since(now);
            Duration::try_from(left).unwrap_or(Duration::ZERO)
        })
        .min()
        .map(|d| d.max(Duration::from_millis(10)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(replicas: i32, mrs: i32, condition: Option<&str>) -> ReplicaSet {
        let conditions = condition.map(|reason| {
            json!([{ "type": REPLICA_FAILURE, "status": "True", "reason": reason, "message": "old" }])
        });
        serde_json::from_value(json!({
            "metadata": { "name": "rs", "generation": 3 },
            "spec": { "replicas": replicas, "minReadySeconds": mrs,
                      "selector": { "matchLabels": { "app": "x" } },
                      "template": { "metadata": { "labels": { "app": "x", "tier": "web" } } } },
            "status": { "replicas": 0, "observedGeneration": 2, "conditions": conditions },
        }))
        .unwrap()
    }

    /// A pod with `labels`, ready `ready_ago` seconds before 1000 s.
    fn pod(labels: serde_json::Value, ready_ago: Option<i64>) -> Arc<Pod> {
        let conditions = ready_ago.map(|ago| {
            let at = jiff::Timestamp::from_second(1000 - ago)
                .unwrap()
                .to_string();
            json!([{ "type": "Ready", "status": "True", "lastTransitionTime": at }])
        });
        Arc::new(
            serde_json::from_value(json!({
                "metadata": { "name": "p", "labels": labels },
                "status": { "phase": "Running", "conditions": conditions },
            }))
            .unwrap(),
        )
    }

    /// The counts over `pods`, each looked at afresh.
    fn counts_of(rs: &ReplicaSet, pods: &[Arc<Pod>], now: jiff::Timestamp) -> Counts {
        let template = template_labels(rs);
        let mrs = min_ready_seconds(rs);
        let mut counts = Counts::default();
        for pod in pods {
            counts.add(
                pod,
                fully_labeled(&template, pod),
                podutil::is_ready(pod),
                mrs,
                now,
            );
        }
        counts
    }

    #[test]
    fn counts_labeled_ready_and_available() {
        let now = jiff::Timestamp::from_second(1000).unwrap();
        let full = json!({ "app": "x", "tier": "web", "extra": "1" });
        let partial = json!({ "app": "x" });
        let pods = [
            pod(full.clone(), Some(30)),
            pod(full.clone(), Some(5)),
            pod(partial, Some(100)),
            pod(full, None),
        ];
        let set = rs(4, 10, None);
        let status = calculate(&set, counts_of(&set, &pods, now), None, now);
        assert_eq!(status.replicas, 4);
        assert_eq!(status.fully_labeled_replicas, Some(3));
        assert_eq!(status.ready_replicas, Some(3));
        assert_eq!(status.available_replicas, Some(2));
        assert_eq!(status.conditions, None);
        assert!(needs_update(&set, &status));
        // Ready 5 s ago with minReadySeconds 10: available in 5 s.
        assert_eq!(
            next_available(&set, &pods, now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(next_available(&rs(4, 0, None), &pods, now), None);
    }

    #[test]
    fn replica_failure_is_set_once_and_removed_when_resolved() {
        let now = jiff::Timestamp::from_second(1000).unwrap();
        let failure = ManageFailure {
            reason: "FailedCreate",
            message: "quota".into(),
        };
        let status = calculate(&rs(2, 0, None), Counts::default(), Some(&failure), now);
        let conds = status.conditions.unwrap();
        assert_eq!(conds.len(), 1);
        assert_eq!(conds[0].reason.as_deref(), Some("FailedCreate"));
        assert_eq!(conds[0].message.as_deref(), Some("quota"));

        // An existing failure condition is kept as it is while failures go on.
        let status = calculate(
            &rs(2, 0, Some("FailedDelete")),
            Counts::default(),
            Some(&failure),
            now,
        );
        assert_eq!(
            status.conditions.unwrap()[0].message.as_deref(),
            Some("old")
        );
        // And removed once creating or deleting succeeds.
        let status = calculate(
            &rs(2, 0, Some("FailedCreate")),
            Counts::default(),
            None,
            now,
        );
        assert_eq!(status.conditions, None);
    }

    #[test]
    fn unchanged_status_is_not_written() {
        let now = jiff::Timestamp::from_second(1000).unwrap();
        let mut set = rs(0, 0, None);
        let status = calculate(&set, Counts::default(), None, now);
        assert!(needs_update(&set, &status), "observed generation is behind");
        let mut written = status.clone();
        written.observed_generation = Some(3);
        set.status = Some(written);
        assert!(!needs_update(&set, &status));
    }
}

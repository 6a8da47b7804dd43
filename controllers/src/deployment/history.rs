//! Revisions and history: the annotations a Deployment's ReplicaSets carry (revision,
//! revision history, desired and max replicas, the Deployment's own annotations), and the
//! cleanup of old ReplicaSets beyond `revisionHistoryLimit`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::util;

/// The revision of a ReplicaSet (and the Deployment's current one).
pub(crate) const REVISION: &str = "deployment.kubernetes.io/revision";
/// The revisions a ReplicaSet had before a rollback made it new again.
pub(crate) const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas when the ReplicaSet was last scaled.
pub(crate) const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// The Deployment's replicas + maxSurge when the ReplicaSet was last scaled.
pub(crate) const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// Upstream keeps the revision history annotation under this many characters.
const MAX_HISTORY_CHARS: usize = 2000;

/// Deployment annotations never copied to its ReplicaSets.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// An object's revision (0 when absent or malformed).
pub(crate) fn revision(meta: &ObjectMeta) -> i64 {
    annotation(meta, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The highest revision among `rss`.
pub(crate) fn max_revision<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i64 {
    rss.into_iter()
        .map(|rs| revision(&rs.metadata))
        .max()
        .unwrap_or(0)
}

/// An integer annotation of a ReplicaSet.
fn int_annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
    annotation(&rs.metadata, key)?.parse().ok()
}

/// The desired-replicas annotation.
pub(crate) fn desired_replicas(rs: &ReplicaSet) -> Option<i32> {
    int_annotation(rs, DESIRED_REPLICAS)
}

/// The max-replicas annotation.
pub(crate) fn max_replicas(rs: &ReplicaSet) -> Option<i32> {
    int_annotation(rs, MAX_REPLICAS)
}

/// Whether the desired/max-replicas annotations differ from `desired` and `max`.
pub(crate) fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    desired_replicas(rs) != Some(desired) || max_replicas(rs) != Some(max)
}

/// Sets the desired/max-replicas annotations; whether anything changed.
pub(crate) fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let changed = replicas_annotations_need_update(rs, desired, max);
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(DESIRED_REPLICAS.to_owned(), desired.to_string());
    annotations.insert(MAX_REPLICAS.to_owned(), max.to_string());
    changed
}

/// Copies the Deployment's annotations (but the skipped ones) onto `rs`; whether anything
/// changed.
fn copy_deployment_annotations(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if NOT_COPIED.contains(&k.as_str()) || annotations.get(k) == Some(v) {
            continue;
        }
        annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Upstream's `SetNewReplicaSetAnnotations`: the Deployment's annotations, the revision
/// raised to `new_revision` (keeping the previous one in the revision history when it is
/// a rollback), and for a ReplicaSet about to be created (`exists` false) the replicas
/// annotations. Whether anything changed.
pub(crate) fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = copy_deployment_annotations(d, rs);
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let old = annotations.get(REVISION).cloned();
    let old_revision = match old.as_deref() {
        None | Some("") => 0,
        Some(r) => match r.parse::<i64>() {
            Ok(r) => r,
            Err(_) => return false,
        },
    };
    if old_revision < new_revision {
        annotations.insert(REVISION.to_owned(), new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            let history = annotations
                .get(REVISION_HISTORY)
                .cloned()
                .unwrap_or_default();
            if history.is_empty() {
                annotations.insert(REVISION_HISTORY.to_owned(), old);
            } else {
                let mut revisions: Vec<&str> = history.split(',').collect();
                let mut total = history.len() + old.len() + 1;
                let mut start = 0;
                while total > MAX_HISTORY_CHARS && start < revisions.len() {
                    total -= revisions[start].len() + 1;
                    start += 1;
                }
                if total <= MAX_HISTORY_CHARS {
                    revisions.drain(..start);
                    revisions.push(&old);
                    annotations.insert(REVISION_HISTORY.to_owned(), revisions.join(","));
                }
            }
        }
    }
    if !exists {
        let desired = util::replicas(d);
        changed |= set_replicas_annotations(rs, desired, desired + util::max_surge(d));
    }
    changed
}

/// Sets the Deployment's revision annotation; whether it changed.
pub(crate) fn set_deployment_revision(d: &mut Deployment, revision: &str) -> bool {
    let annotations = d.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if annotations.get(REVISION).map(String::as_str) == Some(revision) {
        return false;
    }
    annotations.insert(REVISION.to_owned(), revision.to_owned());
    true
}

/// The old ReplicaSets to delete beyond `limit` (upstream's `cleanupDeployment`): oldest
/// revisions first, only those fully scaled down, observed, and not being deleted.
pub(crate) fn to_clean_up(old: &[ReplicaSet], limit: i32) -> Vec<&ReplicaSet> {
    let mut alive: Vec<&ReplicaSet> = old
        .iter()
        .filter(|rs| rs.metadata.deletion_timestamp.is_none())
        .collect();
    let excess = alive
        .len()
        .saturating_sub(usize::try_from(limit).unwrap_or(0));
    alive.sort_by(|a, b| {
        revision(&a.metadata)
            .cmp(&revision(&b.metadata))
            .then_with(|| util::by_creation(a, b))
    });
    alive
        .into_iter()
        .take(excess)
        .filter(|rs| {
            let observed = rs.status.as_ref().and_then(|s| s.observed_generation);
            util::rs_actual(rs) == 0
                && util::rs_replicas(rs) == 0
                && rs.metadata.generation.unwrap_or(0) <= observed.unwrap_or(0)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(name: &str, annotations: serde_json::Value, replicas: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": annotations, "generation": 1},
            "spec": {"replicas": replicas, "selector": {}},
            "status": {"replicas": replicas, "observedGeneration": 1},
        }))
        .unwrap()
    }

    fn deployment() -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d", "annotations": {
                "kubernetes.io/change-cause": "v2",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                REVISION: "7",
            }},
            "spec": {"replicas": 4, "selector": {}, "template": {},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}},
        }))
        .unwrap()
    }

    #[test]
    fn new_replica_set_annotations() {
        let d = deployment();
        let mut new = rs("n", json!({}), 0);
        assert!(set_new_rs_annotations(&d, &mut new, 3, false));
        let a = new.metadata.annotations.as_ref().unwrap();
        assert_eq!(a["kubernetes.io/change-cause"], "v2");
        assert_eq!(a[REVISION], "3");
        assert_eq!(a[DESIRED_REPLICAS], "4");
        assert_eq!(a[MAX_REPLICAS], "5");
        assert!(!a.contains_key("kubectl.kubernetes.io/last-applied-configuration"));
        assert!(!a.contains_key(REVISION_HISTORY));
        // Nothing new the second time.
        assert!(!set_new_rs_annotations(&d, &mut new, 3, true));
    }

    #[test]
    fn rollback_keeps_the_revision_history() {
        let d = deployment();
        let mut old = rs("o", json!({REVISION: "1"}), 0);
        assert!(set_new_rs_annotations(&d, &mut old, 4, true));
        let a = old.metadata.annotations.as_ref().unwrap();
        assert_eq!(
            (a[REVISION].as_str(), a[REVISION_HISTORY].as_str()),
            ("4", "1")
        );
        assert!(set_new_rs_annotations(&d, &mut old, 6, true));
        let a = old.metadata.annotations.as_ref().unwrap();
        assert_eq!(
            (a[REVISION].as_str(), a[REVISION_HISTORY].as_str()),
            ("6", "1,4")
        );
        // A lower revision never replaces a higher one.
        assert!(!set_new_rs_annotations(&d, &mut old, 5, true));
        assert_eq!(revision(&old.metadata), 6);
    }

    #[test]
    fn cleanup_takes_the_oldest_scaled_down_beyond_the_limit() {
        let old = vec![
            rs("r3", json!({REVISION: "3"}), 0),
            rs("r1", json!({REVISION: "1"}), 0),
            rs("r2", json!({REVISION: "2"}), 2),
            rs("r4", json!({REVISION: "4"}), 0),
        ];
        let names = |v: Vec<&ReplicaSet>| {
            v.into_iter()
                .map(|r| r.metadata.name.clone().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(to_clean_up(&old, 1)), ["r1", "r3"]);
        assert_eq!(names(to_clean_up(&old, 3)), ["r1"]);
        assert!(to_clean_up(&old, 4).is_empty());
        assert_eq!(names(to_clean_up(&old, 0)), ["r1", "r3", "r4"]);
        assert_eq!(max_revision(&old), 4);
    }
}

//! Which pods a ReplicaSet deletes first when it has too many (upstream's
//! `getPodsToDelete` over `ActivePodsWithRanks`, with pod deletion cost and logarithmic
//! scale-down on, as in v1.33).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::podutil;

/// The annotation that makes a pod cheaper (lower) or dearer to delete.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The `count` pods of `pods` to delete first. Each pod's rank is the number of active
/// `related` pods (those of every ReplicaSet with the same controller) on its node.
pub fn pods_to_delete(
    pods: &[Arc<Pod>],
    related: &[Arc<Pod>],
    count: usize,
    now: jiff::Timestamp,
) -> Vec<Arc<Pod>> {
    if count >= pods.len() {
        return pods.to_vec();
    }
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for pod in related.iter().filter(|p| podutil::is_active(p)) {
        *on_node.entry(node_of(pod)).or_default() += 1;
    }
    let ranked: Vec<Facts> = pods
        .iter()
        .map(|p| Facts::of(p, on_node.get(node_of(p)).copied().unwrap_or(0)))
        .collect();
    merge_sort(ranked, |a, b| delete_first(a, b, now))
        .into_iter()
        .take(count)
        .map(|f| f.pod)
        .collect()
}

/// What the ranking compares, read once per pod instead of once per comparison.
struct Facts {
    pod: Arc<Pod>,
    related_on_node: usize,
    unassigned: bool,
    phase: u8,
    ready: bool,
    cost: i32,
    ready_since: Option<jiff::Timestamp>,
    restarts: i32,
    created: Option<jiff::Timestamp>,
}

impl Facts {
    fn of(pod: &Arc<Pod>, related_on_node: usize) -> Self {
        Self {
            related_on_node,
            unassigned: node_of(pod).is_empty(),
            phase: phase_ordinal(pod),
            ready: podutil::is_ready(pod),
            cost: deletion_cost(pod),
            ready_since: ready_since(pod),
            restarts: max_restarts(pod),
            created: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
            pod: pod.clone(),
        }
    }
}

/// A stable merge sort by `first(a, b)` ("a goes before b"). Upstream's comparison is not
/// a total order (same-bucket times fall back to uids while equal times fall through to
/// the next rule), which the standard library's sorts may reject with a panic; a merge
/// sort only ever asks `first` and stays O(n log n) for the 10,000-pod scale-downs of a
/// rolling update.
fn merge_sort<T>(items: Vec<T>, first: impl Fn(&T, &T) -> bool + Copy) -> Vec<T> {
    if items.len() <= 1 {
        return items;
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let (left, right) = (merge_sort(left, first), merge_sort(right, first));
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    while let (Some(l), Some(r)) = (left.peek(), right.peek()) {
        // Stable: the left item wins unless the right one must go first.
        let next = if first(r, l) {
            right.next()
        } else {
            left.next()
        };
        merged.extend(next);
    }
    merged.extend(left);
    merged.extend(right);
    merged
}

fn node_of(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or_default()
}

fn phase_ordinal(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    }
}

/// The pod's deletion cost (0 when unset or not an int32).
pub fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DELETION_COST))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn ready_since(pod: &Pod) -> Option<jiff::Timestamp> {
    podutil::condition(pod, "Ready")
        .filter(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

fn max_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().map(|c| c.restart_count).max())
        .unwrap_or(0)
}

fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or_default()
}

/// The power of two of `now - t` in nanoseconds (-1 when `t` is not in the past).
fn log_bucket(t: jiff::Timestamp, now: jiff::Timestamp) -> i64 {
    let nanos = now.duration_since(t).as_nanos();
    if nanos <= 0 {
        return -1;
    }
    // Precision loss is fine: only the power of two matters.
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let bucket = (nanos as f64).log2() as i64;
    bucket
}

/// Compares two unequal times: the newer (or missing) first, in logarithmic buckets of age
/// with the uid breaking ties inside a bucket.
fn newer_first(
    a: Option<jiff::Timestamp>,
    b: Option<jiff::Timestamp>,
    (pa, pb): (&Pod, &Pod),
    now: jiff::Timestamp,
) -> bool {
    match (a, b) {
        (None, _) => true,
        (_, None) => false,
        (Some(a), Some(b)) => match log_bucket(a, now).cmp(&log_bucket(b, now)) {
            Ordering::Equal => uid(pa) < uid(pb),
            other => other == Ordering::Less,
        },
    }
}

/// Whether `a` should be deleted before `b` (upstream's `ActivePodsWithRanks.Less`).
fn delete_first(a: &Facts, b: &Facts, now: jiff::Timestamp) -> bool {
    if node_of(&a.pod) != node_of(&b.pod) && (a.unassigned || b.unassigned) {
        return a.unassigned;
    }
    if a.phase != b.phase {
        return a.phase < b.phase;
    }
    if a.ready != b.ready {
        return !a.ready;
    }
    if a.cost != b.cost {
        return a.cost < b.cost;
    }
    if a.related_on_node != b.related_on_node {
        return a.related_on_node > b.related_on_node;
    }
    if a.ready && b.ready && a.ready_since != b.ready_since {
        return newer_first(a.ready_since, b.ready_since, (&a.pod, &b.pod), now);
    }
    if a.restarts != b.restarts {
        return a.restarts > b.restarts;
    }
    if a.created != b.created {
        return newer_first(a.created, b.created, (&a.pod, &b.pod), now);
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_000_000;

    fn ts(secs: i64) -> String {
        jiff::Timestamp::from_second(secs).unwrap().to_string()
    }

    /// A pod: name, node, phase, ready since (seconds before NOW), created (seconds before
    /// NOW), restarts, deletion cost.
    fn pod(
        name: &str,
        node: &str,
        phase: &str,
        ready_ago: Option<i64>,
        created_ago: i64,
        restarts: i32,
        cost: Option<&str>,
    ) -> Arc<Pod> {
        let conditions = ready_ago.map(|ago| {
            json!([{ "type": "Ready", "status": "True", "lastTransitionTime": ts(NOW - ago) }])
        });
        let annotations = cost.map(|c| json!({ DELETION_COST: c }));
        Arc::new(
            serde_json::from_value(json!({
                "metadata": { "name": name, "uid": name, "creationTimestamp": ts(NOW - created_ago),
                              "annotations": annotations },
                "spec": { "nodeName": node, "containers": [] },
                "status": { "phase": phase, "conditions": conditions,
                            "containerStatuses": [{ "name": "c", "restartCount": restarts, "image": "i",
                                                    "imageID": "", "ready": true }] },
            }))
            .unwrap(),
        )
    }

    fn order(pods: &[Arc<Pod>], related: &[Arc<Pod>]) -> Vec<String> {
        let now = jiff::Timestamp::from_second(NOW).unwrap();
        pods_to_delete(pods, related, pods.len() - 1, now)
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect()
    }

    #[test]
    fn merge_sort_is_stable_and_complete() {
        let items: Vec<(u32, usize)> = (0..1000).map(|i| ((i * 7919) % 13, i as usize)).collect();
        let sorted = merge_sort(items, |a, b| a.0 < b.0);
        assert_eq!(sorted.len(), 1000);
        for w in sorted.windows(2) {
            assert!(
                w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1),
                "{w:?}"
            );
        }
    }

    #[test]
    fn each_rule_decides_in_upstream_order() {
        let old = 100_000;
        // (what the rule is, the pod deleted first, the pod kept)
        let cases = [
            (
                "unassigned first",
                pod("a", "", "Running", Some(old), old, 0, None),
                pod("b", "n1", "Pending", None, 1, 5, None),
            ),
            (
                "pending first",
                pod("a", "n1", "Pending", None, old, 0, None),
                pod("b", "n1", "Unknown", None, 1, 0, None),
            ),
            (
                "unknown before running",
                pod("a", "n1", "Unknown", None, old, 0, None),
                pod("b", "n1", "Running", None, 1, 0, None),
            ),
            (
                "not ready first",
                pod("a", "n1", "Running", None, old, 0, None),
                pod("b", "n1", "Running", Some(1), 1, 9, None),
            ),
            (
                "lower cost first",
                pod("a", "n1", "Running", Some(old), old, 0, Some("-5")),
                pod("b", "n1", "Running", Some(1), 1, 9, Some("bogus")),
            ),
            (
                "ready for less time first (different buckets)",
                pod("a", "n1", "Running", Some(10), old, 0, None),
                pod("b", "n1", "Running", Some(old), 1, 9, None),
            ),
            (
                "more restarts first",
                pod("a", "n1", "Running", Some(old), old, 3, None),
                pod("b", "n1", "Running", Some(old), 1, 1, None),
            ),
            (
                "newer first",
                pod("a", "n1", "Running", Some(old), 10, 0, None),
                pod("b", "n1", "Running", Some(old), old, 0, None),
            ),
        ];
        for (what, first, kept) in cases {
            let both = [kept.clone(), first.clone()];
            assert_eq!(order(&both, &both), ["a"], "{what}");
            let both = [first, kept];
            assert_eq!(order(&both, &both), ["a"], "{what} (other input order)");
        }
    }

    #[test]
    fn doubled_up_pods_go_first_and_same_bucket_falls_back_to_uid() {
        // b shares n2 with another related pod (of a sibling ReplicaSet): rank 2 against 1.
        let a = pod("a", "n1", "Running", Some(1000), 1000, 0, None);
        let b = pod("b", "n2", "Running", Some(1000), 1000, 0, None);
        let sibling = pod("s", "n2", "Running", Some(1000), 1000, 0, None);
        assert_eq!(order(&[a.clone(), b.clone()], &[a, b, sibling]), ["b"]);

        // Ready 1000 s and 1001 s ago share a power of two of nanoseconds: the lower uid goes.
        let y = pod("y", "n1", "Running", Some(1000), 5, 0, None);
        let x = pod("x", "n1", "Running", Some(1001), 5, 0, None);
        assert_eq!(order(&[y.clone(), x.clone()], &[y, x]), ["x"]);
    }

    #[test]
    fn log_buckets_and_costs() {
        let now = jiff::Timestamp::from_second(NOW).unwrap();
        let ago = |s: i64| jiff::Timestamp::from_second(NOW - s).unwrap();
        assert_eq!(log_bucket(now, now), -1);
        assert_eq!(log_bucket(ago(1), now), 29); // 1e9 ns
        assert_eq!(log_bucket(ago(2), now), 30);
        assert_eq!(
            log_bucket(ago(1000), now),
            log_bucket(ago(1001), now),
            "same power of two"
        );
        assert_eq!(deletion_cost(&pod("p", "", "", None, 0, 0, Some("7"))), 7);
        assert_eq!(
            deletion_cost(&pod("p", "", "", None, 0, 0, Some("9999999999"))),
            0
        );
        assert_eq!(deletion_cost(&pod("p", "", "", None, 0, 0, None)), 0);
    }

    #[test]
    fn asking_for_all_returns_all() {
        let a = pod("a", "n1", "Running", None, 1, 0, None);
        let now = jiff::Timestamp::from_second(NOW).unwrap();
        assert_eq!(
            pods_to_delete(std::slice::from_ref(&a), std::slice::from_ref(&a), 3, now).len(),
            1
        );
    }
}

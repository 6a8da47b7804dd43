//! The pure part of node tainting: which taints the node lifecycle controller owns, which
//! a node should carry given its conditions, and the node's taint list after adding and
//! removing them (keeping everyone else's taints and the `timeAdded` of those that stay).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::health;

/// Ready=False.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Ready=Unknown.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// `spec.unschedulable`.
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// Taint effects.
pub const NO_SCHEDULE: &str = "NoSchedule";
/// Taint effects.
pub const NO_EXECUTE: &str = "NoExecute";

/// Condition type and status → NoSchedule taint key (upstream's
/// `nodeConditionToTaintKeyStatusMap`).
const CONDITION_TAINTS: [(&str, &str, &str); 6] = [
    ("Ready", "False", NOT_READY),
    ("Ready", "Unknown", UNREACHABLE),
    (
        "MemoryPressure",
        "True",
        "node.kubernetes.io/memory-pressure",
    ),
    ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
    (
        "NetworkUnavailable",
        "True",
        "node.kubernetes.io/network-unavailable",
    ),
    ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
];

/// Whether this controller owns a taint (and so may add or remove it).
pub fn owned(taint: &Taint) -> bool {
    match taint.effect.as_str() {
        NO_EXECUTE => taint.key == NOT_READY || taint.key == UNREACHABLE,
        NO_SCHEDULE => {
            taint.key == UNSCHEDULABLE || CONDITION_TAINTS.iter().any(|(_, _, k)| *k == taint.key)
        }
        _ => false,
    }
}

/// How NoExecute taints may change on a node, from its zone's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoExecute {
    /// Taint per the Ready condition.
    Apply,
    /// The zone is fully disrupted: add none, but swap or remove the ones there.
    Hold,
    /// Every zone is fully disrupted: remove them all (upstream's master disruption mode).
    Remove,
}

/// The owned taints (key, effect) `node` should carry.
pub fn wanted(node: &Node, no_execute: NoExecute) -> Vec<(&'static str, &'static str)> {
    let mut want = Vec::new();
    for (kind, status, key) in CONDITION_TAINTS {
        if health::condition(node, kind).is_some_and(|c| c.status == status) {
            want.push((key, NO_SCHEDULE));
        }
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        want.push((UNSCHEDULABLE, NO_SCHEDULE));
    }
    let by_ready = match health::ready_status(node) {
        Some("False") => Some(NOT_READY),
        Some("Unknown") => Some(UNREACHABLE),
        _ => None,
    };
    let has_no_execute = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|ts| {
            ts.iter()
                .any(|t| t.effect == NO_EXECUTE && (t.key == NOT_READY || t.key == UNREACHABLE))
        });
    let allowed = match no_execute {
        NoExecute::Apply => true,
        NoExecute::Hold => has_no_execute,
        NoExecute::Remove => false,
    };
    if let Some(key) = by_ready.filter(|_| allowed) {
        want.push((key, NO_EXECUTE));
    }
    want
}

/// The node's taints with the owned ones made exactly `want` (new ones stamped `now`);
/// `None` when that is what it has.
pub fn reconcile(current: &[Taint], want: &[(&str, &str)], now: Timestamp) -> Option<Vec<Taint>> {
    let is_wanted = |t: &Taint| want.iter().any(|(k, e)| t.key == *k && t.effect == *e);
    let mut taints: Vec<Taint> = current
        .iter()
        .filter(|t| !owned(t) || is_wanted(t))
        .cloned()
        .collect();
    let mut changed = taints.len() != current.len();
    for (key, effect) in want {
        if !taints.iter().any(|t| t.key == *key && t.effect == *effect) {
            taints.push(Taint {
                key: (*key).to_owned(),
                effect: (*effect).to_owned(),
                value: None,
                time_added: Some(Time(now)),
            });
            changed = true;
        }
    }
    changed.then_some(taints)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn node(conditions: &[(&str, &str)], unschedulable: bool, taints: &[(&str, &str)]) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n"},
            "spec": {
                "unschedulable": unschedulable,
                "taints": taints.iter().map(|(k, e)| serde_json::json!({"key": k, "effect": e})).collect::<Vec<_>>(),
            },
            "status": {"conditions": conditions.iter().map(|(t, s)| serde_json::json!({"type": t, "status": s})).collect::<Vec<_>>()},
        }))
        .unwrap()
    }

    #[test]
    fn conditions_map_to_taints() {
        type Pairs<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Pairs, bool, NoExecute, Pairs)] = &[
            (&[("Ready", "True")], false, NoExecute::Apply, &[]),
            (
                &[("Ready", "Unknown")],
                false,
                NoExecute::Apply,
                &[(UNREACHABLE, NO_SCHEDULE), (UNREACHABLE, NO_EXECUTE)],
            ),
            (
                &[("Ready", "False"), ("DiskPressure", "True")],
                true,
                NoExecute::Apply,
                &[
                    (NOT_READY, NO_SCHEDULE),
                    ("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
                    (UNSCHEDULABLE, NO_SCHEDULE),
                    (NOT_READY, NO_EXECUTE),
                ],
            ),
            (
                &[("Ready", "Unknown")],
                false,
                NoExecute::Hold,
                &[(UNREACHABLE, NO_SCHEDULE)],
            ),
            (
                &[("Ready", "Unknown")],
                false,
                NoExecute::Remove,
                &[(UNREACHABLE, NO_SCHEDULE)],
            ),
            (&[("MemoryPressure", "False")], false, NoExecute::Apply, &[]),
        ];
        for (conditions, unschedulable, mode, expected) in cases {
            let n = node(conditions, *unschedulable, &[]);
            assert_eq!(&wanted(&n, *mode), expected, "{conditions:?} {mode:?}");
        }
        // Held: a NoExecute taint already there follows the Ready status (swap).
        let n = node(&[("Ready", "False")], false, &[(UNREACHABLE, NO_EXECUTE)]);
        assert!(wanted(&n, NoExecute::Hold).contains(&(NOT_READY, NO_EXECUTE)));
    }

    #[test]
    fn reconcile_keeps_foreign_taints_and_time_added() {
        let t0 = Timestamp::from_second(1_000).unwrap();
        let t1 = Timestamp::from_second(2_000).unwrap();
        let current = vec![
            Taint {
                key: "dedicated".into(),
                effect: NO_EXECUTE.into(),
                ..Default::default()
            },
            Taint {
                key: UNREACHABLE.into(),
                effect: NO_EXECUTE.into(),
                time_added: Some(Time(t0)),
                value: None,
            },
            Taint {
                key: NOT_READY.into(),
                effect: NO_SCHEDULE.into(),
                ..Default::default()
            },
        ];
        let want = [(UNREACHABLE, NO_EXECUTE), (UNREACHABLE, NO_SCHEDULE)];
        let next = reconcile(&current, &want, t1).unwrap();
        let keys: Vec<_> = next
            .iter()
            .map(|t| (t.key.as_str(), t.effect.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("dedicated", NO_EXECUTE),
                (UNREACHABLE, NO_EXECUTE),
                (UNREACHABLE, NO_SCHEDULE)
            ]
        );
        assert_eq!(next[1].time_added, Some(Time(t0)));
        assert_eq!(next[2].time_added, Some(Time(t1)));
        assert_eq!(reconcile(&next, &want, t1), None);
        let healed = reconcile(&next, &[], t1).unwrap();
        assert_eq!(healed.len(), 1);
    }
}

//! The pure part of node health: when this controller last saw a node's kubelet alive
//! (upstream's `probeTimestamp`), whether the node is overdue, the conditions it then gets,
//! and the zone disruption states that gate NoExecute tainting.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Node, NodeCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The conditions the controller sets to Unknown when a kubelet goes silent
/// (NetworkUnavailable is left alone: it is managed by the network plugin).
pub const WATCHED_CONDITIONS: [&str; 4] =
    ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// Label excluding a node from zone disruption accounting.
pub const EXCLUDE_DISRUPTION: &str = "node.kubernetes.io/exclude-disruption";

/// What the controller last observed of one node's kubelet, in its own clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Whether the node had a Ready condition then.
    pub had_ready: bool,
    /// The Ready condition's lastHeartbeatTime then.
    pub heartbeat: Option<Timestamp>,
    /// The Lease's renewTime then.
    pub lease_renew: Option<Timestamp>,
    /// When the kubelet was last seen alive (a change observed, or first sight).
    pub probed_at: Timestamp,
}

/// The node's condition of type `kind`.
pub fn condition<'a>(node: &'a Node, kind: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
}

/// The Ready condition's status (`True`, `False`, `Unknown`), if there is one.
pub fn ready_status(node: &Node) -> Option<&str> {
    condition(node, "Ready").map(|c| c.status.as_str())
}

fn created(node: &Node) -> Timestamp {
    node.metadata
        .creation_timestamp
        .as_ref()
        .map_or(Timestamp::UNIX_EPOCH, |t| t.0)
}

/// The probe after observing `node` and its Lease's renewTime at `now`: a new heartbeat on
/// the Ready condition or a newer Lease renewal moves `probed_at` to `now`. A node first
/// seen without a Ready condition counts from its creation, one first seen with one from
/// `now` (as upstream).
pub fn observe(
    saved: Option<&Probe>,
    node: &Node,
    lease_renew: Option<Timestamp>,
    now: Timestamp,
) -> Probe {
    let ready = condition(node, "Ready");
    let heartbeat = ready
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    let mut probe = match saved {
        None => Probe {
            had_ready: ready.is_some(),
            heartbeat,
            lease_renew: None,
            probed_at: if ready.is_some() { now } else { created(node) },
        },
        Some(saved) => {
            let seen_alive = saved.had_ready != ready.is_some()
                || (ready.is_some() && saved.heartbeat != heartbeat);
            Probe {
                had_ready: ready.is_some(),
                heartbeat,
                lease_renew: saved.lease_renew,
                probed_at: if seen_alive { now } else { saved.probed_at },
            }
        }
    };
    if let Some(renew) = lease_renew
        && probe.lease_renew.is_none_or(|seen| seen < renew)
    {
        probe.lease_renew = Some(renew);
        probe.probed_at = now;
    }
    probe
}

/// Whether the node is overdue at `now`: no sign of life within its grace period
/// (`startup_grace` while it never posted a Ready condition).
pub fn overdue(
    probe: &Probe,
    node: &Node,
    grace: std::time::Duration,
    startup_grace: std::time::Duration,
    now: Timestamp,
) -> bool {
    let grace = if condition(node, "Ready").is_some() {
        grace
    } else {
        startup_grace
    };
    let grace = SignedDuration::try_from(grace).unwrap_or(SignedDuration::MAX);
    now > probe
        .probed_at
        .saturating_add(grace)
        .unwrap_or(Timestamp::MAX)
}

/// The conditions an overdue node gets: each watched condition Unknown, `NodeStatusUnknown`
/// when the kubelet had posted it, `NodeStatusNeverUpdated` when it never did. `None` when
/// nothing changes.
pub fn unknown_conditions(node: &Node, now: Timestamp) -> Option<Vec<NodeCondition>> {
    let mut conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut changed = false;
    for kind in WATCHED_CONDITIONS {
        match conditions.iter_mut().find(|c| c.type_ == kind) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".to_owned();
                c.reason = Some("NodeStatusUnknown".to_owned());
                c.message = Some("Kubelet stopped posting node status.".to_owned());
                c.last_transition_time = Some(Time(now));
                changed = true;
            }
            None => {
                conditions.push(NodeCondition {
                    type_: kind.to_owned(),
                    status: "Unknown".to_owned(),
                    reason: Some("NodeStatusNeverUpdated".to_owned()),
                    message: Some("Kubelet never posted node status.".to_owned()),
                    last_heartbeat_time: Some(Time(created(node))),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
        }
    }
    changed.then_some(conditions)
}

/// A zone's health as upstream's `ComputeZoneState` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneState {
    /// Some node is ready (or only few are not).
    Normal,
    /// No node in the zone is ready.
    FullDisruption,
}

/// The zone key of a node: region and zone labels (empty when unlabelled).
pub fn zone_of(node: &Node) -> String {
    let label = |k: &str| {
        node.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(k))
            .cloned()
            .unwrap_or_default()
    };
    format!(
        "{}:\u{0}:{}",
        label("topology.kubernetes.io/region"),
        label("topology.kubernetes.io/zone")
    )
}

/// Each zone's state from its nodes (nodes labelled [`EXCLUDE_DISRUPTION`] do not count).
pub fn zone_states<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> BTreeMap<String, ZoneState> {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for node in nodes {
        let excluded = node
            .metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key(EXCLUDE_DISRUPTION));
        if excluded {
            continue;
        }
        let entry = counts.entry(zone_of(node)).or_default();
        if ready_status(node) == Some("True") {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    counts
        .into_iter()
        .map(|(zone, (ready, not_ready))| {
            let state = if ready == 0 && not_ready > 0 {
                ZoneState::FullDisruption
            } else {
                ZoneState::Normal
            };
            (zone, state)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    fn node(ready: Option<(&str, i64)>) -> Node {
        let mut node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n", "creationTimestamp": "2023-11-14T22:13:20Z"},
        }))
        .unwrap();
        if let Some((status, heartbeat)) = ready {
            node.status = Some(k8s_openapi::api::core::v1::NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: status.into(),
                    last_heartbeat_time: Some(Time(at(heartbeat))),
                    ..Default::default()
                }]),
                ..Default::default()
            });
        }
        node
    }

    #[test]
    fn probes_move_only_on_signs_of_life() {
        let grace = Duration::from_secs(40);
        let startup = Duration::from_secs(60);
        let n = node(Some(("True", 0)));
        // First sight counts from now.
        let p = observe(None, &n, None, at(100));
        assert_eq!(p.probed_at, at(100));
        assert!(!overdue(&p, &n, grace, startup, at(140)));
        assert!(overdue(&p, &n, grace, startup, at(141)));
        // The same heartbeat later: no sign of life.
        let p2 = observe(Some(&p), &n, None, at(130));
        assert_eq!(p2.probed_at, at(100));
        // A new heartbeat: seen now.
        let p3 = observe(Some(&p2), &node(Some(("True", 120))), None, at(135));
        assert_eq!(p3.probed_at, at(135));
        // A lease renewal, then the same renewal again.
        let p4 = observe(
            Some(&p3),
            &node(Some(("True", 120))),
            Some(at(150)),
            at(150),
        );
        assert_eq!(p4.probed_at, at(150));
        let p5 = observe(
            Some(&p4),
            &node(Some(("True", 120))),
            Some(at(150)),
            at(180),
        );
        assert_eq!(p5.probed_at, at(150));
        assert!(overdue(&p5, &n, grace, startup, at(191)));
    }

    #[test]
    fn never_posted_nodes_count_from_creation_with_startup_grace() {
        let n = node(None);
        let p = observe(None, &n, None, at(30));
        assert_eq!(p.probed_at, at(0));
        let (grace, startup) = (Duration::from_secs(40), Duration::from_secs(60));
        assert!(!overdue(&p, &n, grace, startup, at(50)));
        assert!(overdue(&p, &n, grace, startup, at(61)));
        let conditions = unknown_conditions(&n, at(61)).unwrap();
        assert_eq!(conditions.len(), 4);
        for c in &conditions {
            assert_eq!(c.status, "Unknown");
            assert_eq!(c.reason.as_deref(), Some("NodeStatusNeverUpdated"));
            assert_eq!(
                c.message.as_deref(),
                Some("Kubelet never posted node status.")
            );
        }
    }

    #[test]
    fn overdue_conditions_become_unknown_once() {
        let n = node(Some(("True", 0)));
        let conditions = unknown_conditions(&n, at(50)).unwrap();
        let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.status, "Unknown");
        assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(ready.last_transition_time, Some(Time(at(50))));
        let mut again = n.clone();
        again.status.as_mut().unwrap().conditions = Some(conditions);
        assert_eq!(unknown_conditions(&again, at(60)), None);
    }

    #[test]
    fn zones_are_fully_disrupted_only_when_no_node_is_ready() {
        let (up, down) = (node(Some(("True", 0))), node(Some(("Unknown", 0))));
        let one = zone_states([&down]);
        assert_eq!(
            one.values().collect::<Vec<_>>(),
            [&ZoneState::FullDisruption]
        );
        let two = zone_states([&down, &up]);
        assert_eq!(two.values().collect::<Vec<_>>(), [&ZoneState::Normal]);
        let mut excluded = down.clone();
        excluded.metadata.labels = Some([(EXCLUDE_DISRUPTION.to_owned(), String::new())].into());
        assert!(zone_states([&excluded]).is_empty());
    }
}

//! Lifecycle tests: updates, deletes, `done`, popping from backoff, nominations.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Pod, PodStatus};

use super::*;

#[test]
fn updates() {
    let t0 = Instant::now();
    let relabel = |p: &Arc<Pod>| {
        let mut p = (**p).clone();
        p.metadata.labels = Some(BTreeMap::from([("k".into(), "v".into())]));
        Arc::new(p)
    };
    let status_only = |p: &Arc<Pod>| {
        let mut p = (**p).clone();
        p.metadata.resource_version = Some("9".into());
        p.status = Some(PodStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        });
        Arc::new(p)
    };
    // Unschedulable pod failed at t0 (backoff 1 s); updated at the given ms.
    let cases = [
        ("label change, backoff over", true, 2000, Placement::Active),
        (
            "label change, still backing off",
            true,
            100,
            Placement::Backoff,
        ),
        ("status only", false, 2000, Placement::Unschedulable),
    ];
    for (name, meaningful, at, want) in cases {
        let mut q = strict();
        fail_once(&mut q, "a", plugins(&["NodeAffinity"]), t0);
        let old = Arc::clone(&q.get(&key("a")).unwrap().pod);
        let new = if meaningful {
            relabel(&old)
        } else {
            status_only(&old)
        };
        assert_eq!(q.update(new, ms(t0, at)).unwrap(), want, "{name}");
        assert_eq!(q.placement(&key("a")), want, "{name}");
        assert_eq!(q.get(&key("a")).unwrap().attempts, 1, "{name}");
    }
}

#[test]
fn update_in_active_resorts_and_unknown_is_added() {
    let t0 = Instant::now();
    let mut q = strict();
    q.add(pod("a", 0), t0).unwrap();
    q.add(pod("b", 0), ms(t0, 1)).unwrap();
    assert_eq!(
        q.update(pod("b", 100), ms(t0, 2)).unwrap(),
        Placement::Active
    );
    assert_eq!(q.update(pod("c", 0), ms(t0, 3)).unwrap(), Placement::Active);
    assert_eq!(pop_names(&mut q, ms(t0, 5)), ["b", "a", "c"]);
}

#[test]
fn update_during_attempt_sends_to_backoff() {
    let t0 = Instant::now();
    let mut q = strict();
    q.add(pod("a", 0), t0).unwrap();
    q.pop(t0).unwrap();
    let mut changed = (*pod("a", 0)).clone();
    changed.metadata.labels = Some(BTreeMap::from([("x".into(), "y".into())]));
    assert_eq!(
        q.update(Arc::new(changed), t0).unwrap(),
        Placement::InFlight
    );
    let got = q.requeue_failed(&key("a"), plugins(&["NodeAffinity"]), t0);
    assert_eq!(got, Placement::Backoff);
    assert!(q.get(&key("a")).unwrap().pod.metadata.labels.is_some());
}

#[test]
fn delete_from_every_place() {
    let t0 = Instant::now();
    let mut q = strict();
    fail_once(&mut q, "backoff", Failure::Error, t0);
    fail_once(&mut q, "unsched", plugins(&["NodeAffinity"]), t0);
    q.add(pod("active", 0), t0).unwrap();
    q.add(pod("flight", 10), t0).unwrap();
    assert_eq!(q.pop(t0).unwrap().key, key("flight"));
    assert_eq!(
        q.counts(),
        QueueCounts {
            active: 1,
            backoff: 1,
            unschedulable: 1,
            in_flight: 1,
            gated: 0,
        }
    );
    for name in ["active", "backoff", "unsched", "flight"] {
        assert!(q.delete(&key(name)), "{name}");
        assert!(!q.delete(&key(name)), "{name} twice");
    }
    assert_eq!(q.counts(), QueueCounts::default());
    assert_eq!(
        q.requeue_failed(&key("flight"), Failure::Error, t0),
        Placement::Dropped
    );
    assert!(q.pop(ms(t0, 60_000)).is_none());
}

#[test]
fn done_ends_an_attempt() {
    let t0 = Instant::now();
    let mut q = strict();
    q.add(pod("a", 0), t0).unwrap();
    let popped = q.pop(ms(t0, 3)).unwrap();
    assert_eq!(popped.initial_attempt, Some(ms(t0, 3)));
    assert_eq!(q.counts().in_flight, 1);
    assert_eq!(q.placement(&key("a")), Placement::InFlight);
    assert!(q.done(&key("a")));
    assert!(!q.done(&key("a")));
    assert_eq!(q.counts(), QueueCounts::default());
    assert_eq!(
        q.requeue_failed(&key("a"), Failure::Error, t0),
        Placement::Dropped
    );
}

#[test]
fn pop_from_backoff_when_active_is_empty() {
    let t0 = Instant::now();
    let cases = [
        ("unschedulable in backoff is popped", false, true),
        ("error backoff waits", true, false),
    ];
    for (name, error, popped) in cases {
        let mut q = SchedulingQueue::default();
        q.add(pod("a", 0), t0).unwrap();
        q.pop(t0).unwrap();
        if error {
            q.requeue_failed(&key("a"), Failure::Error, t0);
        } else {
            q.move_all_on_event(ClusterEvent::NodeAdd, t0);
            q.requeue_failed(&key("a"), plugins(&["NodeAffinity"]), t0);
        }
        assert_eq!(q.placement(&key("a")), Placement::Backoff, "{name}");
        assert_eq!(q.pop(ms(t0, 1)).is_some(), popped, "{name}");
    }
    // An active pod still goes first.
    let mut q = SchedulingQueue::default();
    fail_once(&mut q, "a", Failure::Unschedulable(BTreeSet::new()), t0);
    q.move_all_on_event(ClusterEvent::NodeAdd, t0);
    q.add(pod("b", 0), t0).unwrap();
    assert_eq!(pop_names(&mut q, t0), ["b", "a"]);
}

#[test]
fn nominations_follow_the_pod() {
    let t0 = Instant::now();
    let nominated = |name: &str, node: Option<&str>| {
        let mut p = (*pod(name, 0)).clone();
        p.status = Some(PodStatus {
            nominated_node_name: node.map(Into::into),
            ..Default::default()
        });
        Arc::new(p)
    };
    let on = |q: &SchedulingQueue, node: &str| -> Vec<String> {
        q.nominated_pods_on(node)
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect()
    };
    let mut q = strict();
    q.add(nominated("a", Some("n1")), t0).unwrap();
    q.add(nominated("b", None), t0).unwrap();
    assert_eq!(on(&q, "n1"), ["a"]);
    q.update(nominated("a", Some("n2")), t0).unwrap();
    assert_eq!(
        (on(&q, "n1").len(), on(&q, "n2")),
        (0, vec!["a".to_owned()])
    );
    q.update(nominated("a", None), t0).unwrap();
    assert!(q.nominator().is_empty());
    // An in-memory nomination survives an update that does not mention a node yet.
    q.add_nominated(nominated("b", None), "n3").unwrap();
    q.update(nominated("b", None), t0).unwrap();
    assert_eq!(on(&q, "n3"), ["b"]);
    assert_eq!(q.remove_nominated(&key("b")).as_deref(), Some("n3"));
    q.add_nominated(nominated("b", None), "n3").unwrap();
    q.delete(&key("b"));
    assert!(on(&q, "n3").is_empty());
}

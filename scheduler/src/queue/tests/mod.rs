//! Behaviour tests of the scheduling queue: ordering, backoff, moves, flushes and the
//! events-during-an-attempt rule (lifecycle tests in `lifecycle.rs`). Time is always injected.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::*;

mod lifecycle;

fn pod(name: &str, priority: i32) -> Arc<Pod> {
    let mut p = Pod::default();
    p.metadata.name = Some(name.into());
    p.metadata.namespace = Some("ns".into());
    p.spec = Some(PodSpec {
        priority: Some(priority),
        ..Default::default()
    });
    Arc::new(p)
}

fn key(name: &str) -> String {
    format!("ns/{name}")
}

fn ms(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

fn plugins(names: &[&str]) -> Failure {
    Failure::Unschedulable(names.iter().map(|s| s.to_string()).collect())
}

fn strict() -> SchedulingQueue {
    SchedulingQueue::new(QueueConfig::default().with_pop_from_backoff(false))
}

/// Adds `name`, pops it and fails it with `failure` at `t`.
fn fail_once(q: &mut SchedulingQueue, name: &str, failure: Failure, t: Instant) -> Placement {
    q.add(pod(name, 0), t).unwrap();
    let popped = q.pop(t).unwrap();
    assert_eq!(popped.key, key(name));
    q.requeue_failed(&key(name), failure, t)
}

fn pop_names(q: &mut SchedulingQueue, now: Instant) -> Vec<String> {
    std::iter::from_fn(|| q.pop(now))
        .map(|p| p.key.trim_start_matches("ns/").to_owned())
        .collect()
}

#[test]
fn active_order_is_priority_then_fifo() {
    // (case, pods added as (name, priority, ms), pop order)
    type Case = (
        &'static str,
        &'static [(&'static str, i32, u64)],
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (
            "fifo",
            &[("a", 0, 0), ("b", 0, 1), ("c", 0, 2)],
            &["a", "b", "c"],
        ),
        (
            "priority",
            &[("a", 0, 0), ("b", 10, 1), ("c", 5, 2)],
            &["b", "c", "a"],
        ),
        ("negative", &[("a", -5, 0), ("b", 0, 1)], &["b", "a"]),
        (
            "mixed",
            &[("a", 1, 0), ("b", 2, 1), ("c", 1, 2), ("d", 2, 3)],
            &["b", "d", "a", "c"],
        ),
        (
            "same instant",
            &[("x", 0, 0), ("y", 0, 0), ("z", 0, 0)],
            &["x", "y", "z"],
        ),
    ];
    let t0 = Instant::now();
    for (name, adds, want) in cases {
        let mut q = strict();
        for &(p, prio, at) in *adds {
            assert_eq!(q.add(pod(p, prio), ms(t0, at)).unwrap(), Placement::Active);
        }
        assert_eq!(pop_names(&mut q, ms(t0, 10)), *want, "{name}");
        assert!(q.pop(ms(t0, 10)).is_none());
    }
}

#[test]
fn backoff_doubles_per_attempt_and_caps() {
    let t0 = Instant::now();
    let mut q = strict();
    q.add(pod("a", 0), t0).unwrap();
    let mut now = t0;
    for (attempt, secs) in [1u64, 2, 4, 8, 10, 10].into_iter().enumerate() {
        let popped = q.pop(now).unwrap();
        assert_eq!(popped.attempts as usize, attempt + 1);
        assert_eq!(
            q.requeue_failed(&key("a"), Failure::Error, now),
            Placement::Backoff
        );
        let expiry = now + Duration::from_secs(secs);
        assert_eq!(
            q.flush_backoff(expiry - Duration::from_millis(1)),
            0,
            "attempt {attempt}"
        );
        assert!(q.pop(expiry).is_none(), "backoff pods are not active");
        assert_eq!(q.flush_backoff(expiry), 1, "attempt {attempt}");
        assert_eq!(q.placement(&key("a")), Placement::Active);
        now = expiry;
    }
}

#[test]
fn failures_place_pods() {
    let t0 = Instant::now();
    let cases = [
        ("error", Failure::Error, Placement::Backoff),
        (
            "rejected",
            plugins(&["NodeResourcesFit"]),
            Placement::Unschedulable,
        ),
        ("no rejector", plugins(&[]), Placement::Unschedulable),
    ];
    for (name, failure, want) in cases {
        let mut q = strict();
        assert_eq!(fail_once(&mut q, "a", failure, t0), want, "{name}");
        assert_eq!(q.get(&key("a")).unwrap().timestamp, t0);
        assert_eq!(q.counts().in_flight, 0);
    }
}

#[test]
fn moves_per_event() {
    use ClusterEvent as E;
    use NodeAspect as A;
    let t0 = Instant::now();
    // (rejectors, event, ms after the failure, where the pod ends up)
    let cases: &[(&[&str], ClusterEvent, u64, Placement)] = &[
        (&["NodeResourcesFit"], E::NodeAdd, 5000, Placement::Active),
        (&["NodeResourcesFit"], E::NodeAdd, 500, Placement::Backoff),
        (
            &["NodeResourcesFit"],
            E::NodeUpdate(A::Allocatable),
            5000,
            Placement::Active,
        ),
        (
            &["NodeResourcesFit"],
            E::NodeUpdate(A::Labels),
            5000,
            Placement::Unschedulable,
        ),
        (
            &["NodeResourcesFit"],
            E::AssignedPodDelete,
            5000,
            Placement::Active,
        ),
        (
            &["NodeResourcesFit"],
            E::PvAdd,
            5000,
            Placement::Unschedulable,
        ),
        (
            &["TaintToleration"],
            E::NodeUpdate(A::Taints),
            5000,
            Placement::Active,
        ),
        (
            &["TaintToleration"],
            E::AssignedPodDelete,
            5000,
            Placement::Unschedulable,
        ),
        (
            &["NodeAffinity"],
            E::NodeUpdate(A::Labels),
            5000,
            Placement::Active,
        ),
        (
            &["NodeAffinity", "VolumeBinding"],
            E::PvcAdd,
            5000,
            Placement::Active,
        ),
        (&[], E::PvAdd, 5000, Placement::Active),
        (&[], E::StorageClassAdd, 200, Placement::Backoff),
        (&["NodeAffinity"], E::ForceActivate, 5000, Placement::Active),
    ];
    for (i, &(rejectors, event, after, want)) in cases.iter().enumerate() {
        let mut q = strict();
        fail_once(&mut q, "a", plugins(rejectors), t0);
        let moved = q.move_all_on_event(event, ms(t0, after));
        assert_eq!(
            q.placement(&key("a")),
            want,
            "case {i}: {rejectors:?} {event:?}"
        );
        assert_eq!(
            moved,
            usize::from(want != Placement::Unschedulable),
            "case {i}"
        );
    }
}

#[test]
fn leftover_flush_after_five_minutes() {
    let t0 = Instant::now();
    let five_min = 300_000;
    let cases = [
        (five_min - 1, Placement::Unschedulable),
        (five_min, Placement::Unschedulable),
        (five_min + 1, Placement::Active),
    ];
    for (after, want) in cases {
        let mut q = strict();
        fail_once(&mut q, "a", plugins(&["NodeAffinity"]), t0);
        let moved = q.flush_unschedulable_leftover(ms(t0, after));
        assert_eq!(q.placement(&key("a")), want, "after {after} ms");
        assert_eq!(moved, usize::from(want == Placement::Active));
    }
}

#[test]
fn move_request_during_attempt_sends_to_backoff() {
    use ClusterEvent as E;
    let t0 = Instant::now();
    enum When {
        Never,
        BeforePop,
        DuringAttempt,
    }
    // (case, when the event comes, the event, rejectors, where the failed pod goes)
    let cases: &[(&str, When, ClusterEvent, &[&str], Placement)] = &[
        (
            "no event",
            When::Never,
            E::NodeAdd,
            &["NodeAffinity"],
            Placement::Unschedulable,
        ),
        (
            "before pop",
            When::BeforePop,
            E::NodeAdd,
            &["NodeAffinity"],
            Placement::Unschedulable,
        ),
        (
            "during, helps",
            When::DuringAttempt,
            E::NodeAdd,
            &["NodeAffinity"],
            Placement::Backoff,
        ),
        (
            "during, irrelevant",
            When::DuringAttempt,
            E::PvAdd,
            &["NodeAffinity"],
            Placement::Unschedulable,
        ),
        (
            "during, one rejector helped",
            When::DuringAttempt,
            E::PvAdd,
            &["NodeAffinity", "VolumeBinding"],
            Placement::Backoff,
        ),
        (
            "during, no rejector",
            When::DuringAttempt,
            E::PvAdd,
            &[],
            Placement::Backoff,
        ),
        (
            "during, wildcard",
            When::DuringAttempt,
            E::ForceActivate,
            &["NodeAffinity"],
            Placement::Backoff,
        ),
    ];
    for (name, when, event, rejectors, want) in cases {
        let mut q = strict();
        q.add(pod("a", 0), t0).unwrap();
        if matches!(when, When::BeforePop) {
            q.move_all_on_event(*event, t0);
        }
        q.pop(t0).unwrap();
        if matches!(when, When::DuringAttempt) {
            q.move_all_on_event(*event, t0);
        }
        let got = q.requeue_failed(&key("a"), plugins(rejectors), ms(t0, 10));
        assert_eq!(got, *want, "{name}");
        assert_eq!(q.placement(&key("a")), *want, "{name}");
    }
}

#[test]
fn in_flight_events_are_per_pod() {
    let t0 = Instant::now();
    let mut q = strict();
    q.add(pod("a", 0), t0).unwrap();
    q.add(pod("b", 0), ms(t0, 1)).unwrap();
    q.pop(t0).unwrap();
    q.move_all_on_event(ClusterEvent::NodeAdd, t0);
    // b is popped after the event: it did not see it.
    q.pop(t0).unwrap();
    let fit = plugins(&["NodeResourcesFit"]);
    assert_eq!(
        q.requeue_failed(&key("b"), fit.clone(), t0),
        Placement::Unschedulable
    );
    assert_eq!(
        q.requeue_failed(&key("a"), fit.clone(), t0),
        Placement::Backoff
    );
    // With nothing in flight, events are not kept for later pods.
    q.move_all_on_event(ClusterEvent::NodeAdd, t0);
    q.add(pod("c", 0), t0).unwrap();
    q.pop(t0).unwrap();
    assert_eq!(
        q.requeue_failed(&key("c"), fit, t0),
        Placement::Unschedulable
    );
    assert!(q.in_flight_events.is_empty());
}

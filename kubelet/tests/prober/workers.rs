//! Probe workers in paused time, with simulated answers: timing and thresholds.

use keelson_kubelet::prober::{ProbeNotice, ProbeResult};
use tokio::time::Instant;

use crate::pods::*;

#[tokio::test(start_paused = true)]
async fn readiness_waits_for_the_initial_delay_then_probes_every_period() {
    let mut s = setup();
    s.fake.answer("c1", READY, PASS);
    s.manager.add_pod(&pod(
        "p1",
        "Always",
        vec![app(None, Some(probe(5, 10, 3)), None)],
    ));
    let t0 = Instant::now();
    s.start("c1");
    assert_eq!(
        s.updates(),
        vec![update("c1", READY, ProbeResult::Failure)],
        "readiness starts false"
    );
    assert!(!s.manager.ready("p1", "app", "c1"));
    until(t0, 4.9).await;
    assert_eq!(
        s.fake.probed("c1", READY),
        0,
        "not before the initial delay"
    );
    until(t0, 5.0).await;
    assert_eq!(s.fake.probed("c1", READY), 1);
    assert!(
        s.manager.ready("p1", "app", "c1"),
        "one success makes it ready"
    );
    assert_eq!(s.updates(), vec![update("c1", READY, ProbeResult::Success)]);
    until(t0, 14.9).await;
    assert_eq!(s.fake.probed("c1", READY), 1);
    until(t0, 35.0).await;
    assert_eq!(s.fake.probed("c1", READY), 4, "at 5, 15, 25 and 35 s");
    assert_eq!(s.updates(), vec![], "no notice without a change");
}

#[tokio::test(start_paused = true)]
async fn three_failures_flip_liveness_and_a_new_container_starts_over() {
    let mut s = setup();
    s.fake.answer("c1", LIVE, fail());
    let mut liveness = probe(0, 10, 3);
    liveness.termination_grace_period_seconds = Some(7);
    s.manager
        .add_pod(&pod("p1", "Always", vec![app(Some(liveness), None, None)]));
    let t0 = Instant::now();
    s.start("c1");
    until(t0, 10.0).await;
    assert_eq!(s.fake.probed("c1", LIVE), 2);
    assert_eq!(
        s.manager.result("c1", LIVE),
        Some(ProbeResult::Success),
        "two failures are not enough"
    );
    until(t0, 20.0).await;
    assert_eq!(s.manager.result("c1", LIVE), Some(ProbeResult::Failure));
    let notices = s.drain();
    let events: Vec<_> = notices
        .iter()
        .filter_map(|n| match n {
            ProbeNotice::Event(e) => Some((e.reason, e.message.as_str(), e.field_path.as_str())),
            ProbeNotice::Result(_) => None,
        })
        .collect();
    let unhealthy = (
        "Unhealthy",
        "Liveness probe failed: boom",
        "spec.containers{app}",
    );
    assert_eq!(events, vec![unhealthy; 3], "an event for every failure");
    let flipped = notices.iter().find_map(|n| match n {
        ProbeNotice::Result(u) if u.result == ProbeResult::Failure => Some(u.clone()),
        _ => None,
    });
    assert_eq!(
        flipped.and_then(|u| u.termination_grace_period_seconds),
        Some(7)
    );

    until(t0, 60.0).await;
    assert_eq!(
        s.fake.probed("c1", LIVE),
        3,
        "on hold until the container is restarted"
    );

    s.fake.answer("c2", LIVE, PASS);
    s.start("c2");
    let t1 = Instant::now();
    assert_eq!(
        s.manager.result("c1", LIVE),
        None,
        "the old container's results are gone"
    );
    assert_eq!(s.manager.result("c2", LIVE), Some(ProbeResult::Success));
    until(t1, 20.0).await;
    assert_eq!(
        s.fake.probed("c2", LIVE),
        3,
        "probing resumed for the new container"
    );
}

#[tokio::test(start_paused = true)]
async fn readiness_flips_after_its_threshold_and_one_success_restores_it() {
    let mut s = setup();
    s.fake.answer("c1", READY, PASS);
    s.manager.add_pod(&pod(
        "p1",
        "Always",
        vec![app(None, Some(probe(0, 10, 3)), None)],
    ));
    let t0 = Instant::now();
    s.start("c1");
    until(t0, 0.0).await;
    assert!(s.manager.ready("p1", "app", "c1"));
    s.fake.answer("c1", READY, fail());
    until(t0, 20.0).await;
    assert!(
        s.manager.ready("p1", "app", "c1"),
        "two failures keep it ready"
    );
    until(t0, 30.0).await;
    assert!(!s.manager.ready("p1", "app", "c1"));
    s.fake.answer("c1", READY, PASS);
    until(t0, 40.0).await;
    assert!(s.manager.ready("p1", "app", "c1"));
    let want = [
        ProbeResult::Failure,
        ProbeResult::Success,
        ProbeResult::Failure,
        ProbeResult::Success,
    ];
    let want: Vec<_> = want.into_iter().map(|r| update("c1", READY, r)).collect();
    assert_eq!(s.updates(), want);

    // A restart: the new container is not ready until probed.
    s.start("c2");
    assert!(!s.manager.ready("p1", "app", "c2"));
}

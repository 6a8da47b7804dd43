//! Unit tests of [`super`].
use super::*;

fn probe(fields: [Option<i32>; 5]) -> Probe {
    let [
        initial_delay_seconds,
        period_seconds,
        success_threshold,
        failure_threshold,
        timeout_seconds,
    ] = fields;
    Probe {
        initial_delay_seconds,
        period_seconds,
        success_threshold,
        failure_threshold,
        timeout_seconds,
        ..Default::default()
    }
}

#[test]
fn timing_defaults_as_upstream() {
    let secs = Duration::from_secs;
    let cases = [
        (
            [None; 5],
            ProbeKind::Readiness,
            (secs(0), secs(10), 1, 3),
            secs(1),
        ),
        (
            [Some(5), Some(2), Some(2), Some(1), Some(3)],
            ProbeKind::Readiness,
            (secs(5), secs(2), 2, 1),
            secs(3),
        ),
        (
            [None, None, Some(4), None, None],
            ProbeKind::Liveness,
            (secs(0), secs(10), 1, 3),
            secs(1),
        ),
        (
            [None, None, Some(4), Some(30), None],
            ProbeKind::Startup,
            (secs(0), secs(10), 1, 30),
            secs(1),
        ),
        (
            [Some(-1), Some(0), Some(0), Some(0), Some(0)],
            ProbeKind::Readiness,
            (secs(0), secs(1), 1, 1),
            secs(1),
        ),
    ];
    for (
        fields,
        kind,
        (initial_delay, period, success_threshold, failure_threshold),
        want_timeout,
    ) in cases
    {
        let p = probe(fields);
        let want = Timing {
            initial_delay,
            period,
            success_threshold,
            failure_threshold,
        };
        assert_eq!(Timing::of(&p, kind), want, "{fields:?} {kind:?}");
        assert_eq!(timeout(&p), want_timeout, "{fields:?}");
    }
}

#[test]
fn thresholds_count_consecutive_verdicts() {
    use Verdict::{Failure as F, Success as S};
    let timing = |success_threshold, failure_threshold| Timing {
        initial_delay: Duration::ZERO,
        period: Duration::from_secs(10),
        success_threshold,
        failure_threshold,
    };
    type Case<'a> = (
        ProbeKind,
        Timing,
        &'a [Verdict],
        &'a [Option<Verdict>],
        bool,
    );
    let cases: [Case<'_>; 5] = [
        (
            ProbeKind::Liveness,
            timing(1, 3),
            &[F, F, S, F, F, F],
            &[None, None, Some(S), None, None, Some(F)],
            true,
        ),
        (
            ProbeKind::Readiness,
            timing(1, 3),
            &[S, F, F, F, F, S],
            &[Some(S), None, None, Some(F), Some(F), Some(S)],
            false,
        ),
        (
            ProbeKind::Readiness,
            timing(2, 1),
            &[S, S, S, F, S],
            &[None, Some(S), Some(S), Some(F), None],
            false,
        ),
        (
            ProbeKind::Startup,
            timing(1, 3),
            &[F, S],
            &[None, Some(S)],
            true,
        ),
        (
            ProbeKind::Startup,
            timing(1, 2),
            &[F, F],
            &[None, Some(F)],
            true,
        ),
    ];
    for (kind, timing, verdicts, want, want_hold) in cases {
        let mut tracker = Tracker::new(kind, timing);
        let got: Vec<_> = verdicts.iter().map(|v| tracker.record(*v)).collect();
        assert_eq!(got, want, "{kind:?} {verdicts:?}");
        assert_eq!(tracker.on_hold, want_hold, "{kind:?} {verdicts:?}");
        tracker.reset();
        assert!(!tracker.on_hold);
    }
}

#[test]
fn workers_probe_only_when_allowed() {
    use ProbeKind::{Liveness as L, Readiness as R, Startup as S};
    let running = |started| Target {
        container_id: Some("c1".into()),
        running: true,
        started,
        ..Default::default()
    };
    let cases = [
        (L, Target::default(), false, Next::Idle),
        (
            L,
            Target {
                running: false,
                ..running(true)
            },
            false,
            Next::Idle,
        ),
        (L, running(true), false, Next::Probe),
        (L, running(true), true, Next::Idle),
        (L, running(false), false, Next::Idle),
        (R, running(false), false, Next::Idle),
        (R, running(true), false, Next::Probe),
        (S, running(false), false, Next::Probe),
        (S, running(true), false, Next::Idle),
        (
            L,
            Target {
                terminating: true,
                ..running(true)
            },
            false,
            Next::Exit,
        ),
        (
            S,
            Target {
                terminating: true,
                ..running(false)
            },
            false,
            Next::Exit,
        ),
        (
            R,
            Target {
                terminating: true,
                ..running(true)
            },
            false,
            Next::Probe,
        ),
        (
            R,
            Target {
                finished: true,
                ..running(true)
            },
            false,
            Next::Exit,
        ),
    ];
    for (kind, target, on_hold, want) in cases {
        assert_eq!(
            next(kind, &target, on_hold),
            want,
            "{kind:?} {target:?} {on_hold}"
        );
    }
}

#[test]
fn first_probe_waits_for_the_initial_delay_and_jitter() {
    let now = Instant::now();
    let secs = Duration::from_secs;
    let timing = Timing {
        initial_delay: secs(5),
        period: secs(10),
        success_threshold: 1,
        failure_threshold: 3,
    };
    let started = |ago: u64| Target {
        started_at: now.checked_sub(secs(ago)),
        ..Default::default()
    };
    let cases = [
        (started(0), secs(0), now + secs(5)),
        (started(2), secs(0), now + secs(3)),
        (started(60), secs(0), now),
        (started(60), secs(4), now + secs(4)),
        (started(0), secs(7), now + secs(7)),
        (Target::default(), secs(0), now),
    ];
    for (target, jitter, want) in cases {
        assert_eq!(
            first_due(now, &target, &timing, jitter),
            want,
            "{target:?} {jitter:?}"
        );
    }
}

//! One probe worker: a task per (container, probe kind) that has a probe. It sleeps until
//! its container runs (and, for liveness and readiness, until the startup probe
//! succeeded), probes after the initial delay and then every period, counts verdicts
//! against the thresholds and reports to the manager. It stops when the manager drops
//! the container (pod removed), when the container finished for good, or (liveness and
//! startup) when the pod is being deleted.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::kind_name;
use super::run::{self, Answer, ProbeTarget};
use super::shared::{Report, Shared};
use super::spec::{self, Next, Target, Timing, Tracker, Verdict};
use crate::runtime::ProbeKind;

pub(crate) struct Worker {
    shared: Arc<Shared>,
    pod_uid: Arc<str>,
    container: Arc<Container>,
    kind: ProbeKind,
    timing: Timing,
    tracker: Tracker,
    target: watch::Receiver<Target>,
}

impl Worker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        pod_uid: Arc<str>,
        container: Arc<Container>,
        kind: ProbeKind,
        target: watch::Receiver<Target>,
    ) -> Option<Self> {
        let timing = Timing::of(spec::probe_of(&container, kind)?, kind);
        let tracker = Tracker::new(kind, timing);
        Some(Self {
            shared,
            pod_uid,
            container,
            kind,
            timing,
            tracker,
            target,
        })
    }

    pub(crate) async fn run(mut self) {
        let container = self.container.clone();
        let Some(probe) = spec::probe_of(&container, self.kind) else {
            return;
        };
        let mut seen: Option<Arc<str>> = None;
        let mut due: Option<Instant> = None;
        loop {
            let target = self.target.borrow_and_update().clone();
            if target.container_id != seen {
                seen.clone_from(&target.container_id);
                self.tracker.reset();
                due = None;
            }
            match spec::next(self.kind, &target, self.tracker.on_hold) {
                Next::Exit => return,
                Next::Idle => {
                    due = None;
                    if self.target.changed().await.is_err() {
                        return;
                    }
                }
                Next::Probe => {
                    let at = *due.get_or_insert_with(|| {
                        spec::first_due(Instant::now(), &target, &self.timing, self.jitter(&target))
                    });
                    let fired = tokio::select! {
                        changed = self.target.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            false
                        }
                        () = sleep_until(at) => true,
                    };
                    if fired {
                        self.probe(probe, &target).await;
                        due = Some((at + self.timing.period).max(Instant::now()));
                    }
                }
            }
        }
    }

    /// Upstream spreads the first probes of a freshly started kubelet over a period;
    /// here only for containers that were already running when it started.
    fn jitter(&self, target: &Target) -> Duration {
        let period = self.timing.period;
        if target.restored && Instant::now() < self.shared.started + period {
            period.mul_f64(fastrand::f64())
        } else {
            Duration::ZERO
        }
    }

    async fn probe(&mut self, probe: &Probe, target: &Target) {
        let Some(container_id) = target.container_id.as_deref() else {
            return;
        };
        let probe_target = ProbeTarget {
            container_id,
            pod_ip: &target.pod_ip,
            container: &self.container,
        };
        let answer = run::answer(&*self.shared.runtime, &probe_target, probe, self.kind).await;
        let name = kind_name(self.kind);
        let (verdict, event) = match answer {
            Answer::Success => (Some(Verdict::Success), None),
            Answer::Warning(output) => (
                Some(Verdict::Success),
                Some(("ProbeWarning", format!("{name} probe warning: {output}"))),
            ),
            Answer::Failure(output) => (
                Some(Verdict::Failure),
                Some(("Unhealthy", format!("{name} probe failed: {output}"))),
            ),
            // Upstream throws an errored run away (no verdict) after recording it.
            Answer::Error(error) => (
                None,
                Some((
                    "Unhealthy",
                    format!("{name} probe errored and resulted in unknown state: {error}"),
                )),
            ),
        };
        let publish = verdict.and_then(|v| self.tracker.record(v));
        let report = Report {
            pod_uid: &self.pod_uid,
            container_name: &self.container.name,
            container_id,
            kind: self.kind,
            event,
            publish,
        };
        self.shared.report(report);
    }
}

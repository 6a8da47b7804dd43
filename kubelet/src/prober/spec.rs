//! The pure part of a probe worker: a probe's timing with upstream's defaults, the
//! threshold counter, and when a worker probes, waits or stops.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use tokio::time::Instant;

use crate::runtime::ProbeKind;

/// A probe's fields with upstream's defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// `initialDelaySeconds` (0).
    pub(crate) initial_delay: Duration,
    /// `periodSeconds` (10, at least 1).
    pub(crate) period: Duration,
    /// `successThreshold` (1; always 1 for liveness and startup probes).
    pub(crate) success_threshold: u32,
    /// `failureThreshold` (3, at least 1).
    pub(crate) failure_threshold: u32,
}

impl Timing {
    pub(crate) fn of(probe: &Probe, kind: ProbeKind) -> Self {
        let success_threshold = match kind {
            ProbeKind::Readiness => count(probe.success_threshold, 1),
            ProbeKind::Liveness | ProbeKind::Startup => 1,
        };
        Self {
            initial_delay: seconds(probe.initial_delay_seconds, 0, 0),
            period: seconds(probe.period_seconds, 10, 1),
            success_threshold,
            failure_threshold: count(probe.failure_threshold, 3),
        }
    }
}

/// `timeoutSeconds` (1, at least 1).
pub(crate) fn timeout(probe: &Probe) -> Duration {
    seconds(probe.timeout_seconds, 1, 1)
}

fn seconds(value: Option<i32>, default: i32, min: i32) -> Duration {
    Duration::from_secs(u64::from(value.unwrap_or(default).max(min).unsigned_abs()))
}

fn count(value: Option<i32>, default: i32) -> u32 {
    value.unwrap_or(default).max(1).unsigned_abs()
}

/// The container's probe of this kind.
pub(crate) fn probe_of(container: &Container, kind: ProbeKind) -> Option<&Probe> {
    match kind {
        ProbeKind::Liveness => container.liveness_probe.as_ref(),
        ProbeKind::Readiness => container.readiness_probe.as_ref(),
        ProbeKind::Startup => container.startup_probe.as_ref(),
    }
}

/// One probe run's verdict, as counted against the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Success,
    Failure,
}

/// Consecutive equal verdicts against the thresholds (upstream's `resultRun`).
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    kind: ProbeKind,
    timing: Timing,
    last: Option<Verdict>,
    run: u32,
    /// Stop probing until the next container: a liveness failure (it is being
    /// restarted) or a startup probe that reached either threshold.
    pub(crate) on_hold: bool,
}

impl Tracker {
    pub(crate) fn new(kind: ProbeKind, timing: Timing) -> Self {
        Self {
            kind,
            timing,
            last: None,
            run: 0,
            on_hold: false,
        }
    }

    /// A new container: nothing counted, not on hold.
    pub(crate) fn reset(&mut self) {
        *self = Self::new(self.kind, self.timing);
    }

    /// Counts one verdict; returns it once its threshold is reached (to publish).
    pub(crate) fn record(&mut self, verdict: Verdict) -> Option<Verdict> {
        if self.last == Some(verdict) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(verdict);
            self.run = 1;
        }
        let threshold = match verdict {
            Verdict::Success => self.timing.success_threshold,
            Verdict::Failure => self.timing.failure_threshold,
        };
        if self.run < threshold {
            return None;
        }
        let restarting = self.kind == ProbeKind::Liveness && verdict == Verdict::Failure;
        if restarting || self.kind == ProbeKind::Startup {
            self.on_hold = true;
            self.run = 0;
        }
        Some(verdict)
    }
}

/// What the manager knows of the container a worker probes, shared by the container's
/// workers through a watch channel.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// The current container, once one started.
    pub(crate) container_id: Option<Arc<str>>,
    /// It is running.
    pub(crate) running: bool,
    /// When it started.
    pub(crate) started_at: Option<Instant>,
    /// It started before this kubelet did (its first probe is jittered).
    pub(crate) restored: bool,
    /// The pod's IP.
    pub(crate) pod_ip: Arc<str>,
    /// Its startup probe succeeded (or it has none).
    pub(crate) started: bool,
    /// The pod is being deleted: liveness and startup probes stop.
    pub(crate) terminating: bool,
    /// It stopped and will not be restarted: every worker stops.
    pub(crate) finished: bool,
}

/// What a worker does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Probe when due.
    Probe,
    /// Wait for the target to change.
    Idle,
    /// Stop.
    Exit,
}

pub(crate) fn next(kind: ProbeKind, target: &Target, on_hold: bool) -> Next {
    if target.finished || (target.terminating && kind != ProbeKind::Readiness) {
        return Next::Exit;
    }
    if target.container_id.is_none() || !target.running || on_hold {
        return Next::Idle;
    }
    // Liveness and readiness wait for the startup probe; the startup probe stops once
    // it succeeded.
    if target.started == (kind == ProbeKind::Startup) {
        return Next::Idle;
    }
    Next::Probe
}

/// The first probe of a container: after its initial delay, and not before `jitter`
/// from now.
pub(crate) fn first_due(
    now: Instant,
    target: &Target,
    timing: &Timing,
    jitter: Duration,
) -> Instant {
    let delayed = target
        .started_at
        .map_or(now, |at| at + timing.initial_delay);
    delayed.max(now + jitter)
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;

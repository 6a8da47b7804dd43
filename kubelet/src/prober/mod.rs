//! Liveness, readiness and startup probes (upstream's `pkg/kubelet/prober`).
//!
//! - [`run_probe`] runs one probe once: the runtime's simulated answer when it has one,
//!   else `exec` (through the runtime's `ExecSync`), `httpGet`, `tcpSocket` or `grpc`, each
//!   bounded by `timeoutSeconds`.
//! - [`ProbeManager`] (one per kubelet) runs one worker per (container, probe kind) that
//!   has a probe, keeps the results per container id, and tells the pod workers about every
//!   result change and every probe event through one channel of [`ProbeNotice`]s.
//!
//! The pod worker owns event recording: a [`ProbeEvent`] carries the reason
//! (`Unhealthy`, `ProbeWarning`), the message upstream records (`Liveness probe failed:
//! …`) and the involved object (pod and `fieldPath`); every probe event is of type
//! `Warning`.

mod exec;
mod grpc;
mod http;
mod manager;
mod results;
mod run;
mod shared;
mod spec;
mod worker;

pub use manager::ProbeManager;
pub use run::{ProbeTarget, run_probe};

use crate::runtime::ProbeKind;

/// A probe's published result for one container (upstream's `results.Result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeResult {
    /// Not probed yet (a startup probe's first value).
    Unknown,
    /// Passed its success threshold (or the initial value of a liveness probe).
    Success,
    /// Reached its failure threshold, or the container is not running (the initial
    /// value of a readiness probe).
    Failure,
}

/// One result change of one probe of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeUpdate {
    /// The pod.
    pub pod_uid: String,
    /// The container's name in the pod spec.
    pub container_name: String,
    /// The runtime's container id the result belongs to.
    pub container_id: String,
    /// Which probe.
    pub kind: ProbeKind,
    /// The new result.
    pub result: ProbeResult,
    /// The probe-level `terminationGracePeriodSeconds` of a liveness or startup probe,
    /// which overrides the pod's when the container is killed for failing it.
    pub termination_grace_period_seconds: Option<i64>,
}

/// An event upstream records for a probe run (always of type `Warning`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeEvent {
    /// The pod's UID.
    pub pod_uid: String,
    /// The pod's namespace.
    pub pod_namespace: String,
    /// The pod's name.
    pub pod_name: String,
    /// The container's name.
    pub container_name: String,
    /// The involved object's `fieldPath`: `spec.containers{name}` or
    /// `spec.initContainers{name}` (a sidecar).
    pub field_path: String,
    /// Which probe.
    pub kind: ProbeKind,
    /// `Unhealthy` (failed or errored) or `ProbeWarning` (succeeded with a warning).
    pub reason: &'static str,
    /// E.g. `Readiness probe failed: HTTP probe failed with statuscode: 500`.
    pub message: String,
}

/// What the manager tells the pod workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeNotice {
    /// A result changed (or was set for a new container id).
    Result(ProbeUpdate),
    /// A probe failed, errored or warned: record this event.
    Event(ProbeEvent),
}

impl ProbeNotice {
    /// The pod it is about.
    pub fn pod_uid(&self) -> &str {
        match self {
            Self::Result(update) => &update.pod_uid,
            Self::Event(event) => &event.pod_uid,
        }
    }
}

/// Upstream's name of a probe kind in events: `Liveness`, `Readiness`, `Startup`.
pub fn kind_name(kind: ProbeKind) -> &'static str {
    match kind {
        ProbeKind::Liveness => "Liveness",
        ProbeKind::Readiness => "Readiness",
        ProbeKind::Startup => "Startup",
    }
}

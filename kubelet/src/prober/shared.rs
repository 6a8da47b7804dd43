//! What the manager shares with its workers: the pods' probe targets, the results, and
//! the notices channel.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Container;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::results::Results;
use super::spec::{Target, Verdict, probe_of};
use super::{ProbeEvent, ProbeNotice, ProbeResult, ProbeUpdate};
use crate::runtime::{ProbeKind, Runtime};

const KINDS: [ProbeKind; 3] = [
    ProbeKind::Startup,
    ProbeKind::Readiness,
    ProbeKind::Liveness,
];

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) runtime: Arc<dyn Runtime>,
    /// When this manager (the kubelet) started.
    pub(crate) started: Instant,
    pub(super) started_unix_nanos: i128,
    notices: mpsc::UnboundedSender<ProbeNotice>,
    pub(super) state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) results: Results,
    pub(super) pods: HashMap<String, PodProbes>,
}

#[derive(Debug)]
pub(super) struct PodProbes {
    pub(super) namespace: String,
    pub(super) name: String,
    /// Only containers that have a probe.
    pub(super) containers: HashMap<String, ContainerProbes>,
}

#[derive(Debug)]
pub(super) struct ContainerProbes {
    pub(super) spec: Arc<Container>,
    /// A sidecar (restartable init container).
    pub(super) init: bool,
    /// It is restarted when it exits.
    pub(super) restarts: bool,
    /// Its workers watch this; dropping it stops them.
    pub(super) target: watch::Sender<Target>,
}

impl ContainerProbes {
    pub(super) fn kinds(&self) -> impl Iterator<Item = ProbeKind> + '_ {
        KINDS
            .into_iter()
            .filter(|kind| probe_of(&self.spec, *kind).is_some())
    }

    pub(super) fn current(&self) -> Option<Arc<str>> {
        self.target.borrow().container_id.clone()
    }
}

/// A probe run, as a worker reports it.
pub(crate) struct Report<'a> {
    pub(crate) pod_uid: &'a str,
    pub(crate) container_name: &'a str,
    pub(crate) container_id: &'a str,
    pub(crate) kind: ProbeKind,
    /// An event to record: reason and message.
    pub(crate) event: Option<(&'static str, String)>,
    /// A threshold was reached: the result to publish.
    pub(crate) publish: Option<Verdict>,
}

impl Shared {
    pub(super) fn new(
        runtime: Arc<dyn Runtime>,
        notices: mpsc::UnboundedSender<ProbeNotice>,
    ) -> Self {
        Self {
            runtime,
            started: Instant::now(),
            started_unix_nanos: jiff::Timestamp::now().as_nanosecond(),
            notices,
            state: Mutex::new(State::default()),
        }
    }

    /// A worker's report: dropped unless its container is still the current one.
    pub(crate) fn report(&self, report: Report<'_>) {
        let mut state = self.state.lock();
        let State { results, pods } = &mut *state;
        let Some(pod) = pods.get(report.pod_uid) else {
            return;
        };
        let Some(container) = pod.containers.get(report.container_name) else {
            return;
        };
        if container.current().as_deref() != Some(report.container_id) {
            return;
        }
        if let Some((reason, message)) = report.event {
            let field = if container.init {
                "initContainers"
            } else {
                "containers"
            };
            let event = ProbeEvent {
                pod_uid: report.pod_uid.to_owned(),
                pod_namespace: pod.namespace.clone(),
                pod_name: pod.name.clone(),
                container_name: report.container_name.to_owned(),
                field_path: format!("spec.{field}{{{}}}", report.container_name),
                kind: report.kind,
                reason,
                message,
            };
            let _ = self.notices.send(ProbeNotice::Event(event));
        }
        let Some(verdict) = report.publish else {
            return;
        };
        let result = match verdict {
            Verdict::Success => ProbeResult::Success,
            Verdict::Failure => ProbeResult::Failure,
        };
        if results.set(report.container_id, report.kind, result) {
            self.notify(
                report.pod_uid,
                container,
                report.container_id,
                report.kind,
                result,
            );
        }
        if report.kind == ProbeKind::Startup && result == ProbeResult::Success {
            // Liveness and readiness probes start now.
            container.target.send_modify(|t| t.started = true);
        }
    }

    pub(super) fn notify(
        &self,
        pod_uid: &str,
        container: &ContainerProbes,
        container_id: &str,
        kind: ProbeKind,
        result: ProbeResult,
    ) {
        let grace = match kind {
            ProbeKind::Readiness => None,
            _ => probe_of(&container.spec, kind).and_then(|p| p.termination_grace_period_seconds),
        };
        let update = ProbeUpdate {
            pod_uid: pod_uid.to_owned(),
            container_name: container.spec.name.clone(),
            container_id: container_id.to_owned(),
            kind,
            result,
            termination_grace_period_seconds: grace,
        };
        let _ = self.notices.send(ProbeNotice::Result(update));
    }
}

//! The probe manager: one per kubelet; the pod workers tell it about pods and their
//! containers, it runs the probe workers and keeps their results.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::shared::{ContainerProbes, PodProbes, Shared, State};
use super::spec::Target;
use super::worker::Worker;
use super::{ProbeNotice, ProbeResult};
use crate::runtime::{ProbeKind, Runtime};

/// Runs the probes of one kubelet's pods.
///
/// The pod worker calls [`add_pod`](Self::add_pod) when it admits a pod,
/// [`container_started`](Self::container_started) /
/// [`container_stopped`](Self::container_stopped) as it sees containers run and exit,
/// [`pod_terminating`](Self::pod_terminating) when the pod is being deleted and
/// [`remove_pod`](Self::remove_pod) when it is gone. It reads
/// [`started`](Self::started) and [`ready`](Self::ready) when it computes container
/// statuses, and acts on [`ProbeNotice`]s: a liveness or startup result turning
/// `Failure` for a running container means killing it (with the update's grace period
/// when set) and restarting it per policy; readiness and startup changes mean a new
/// status; events are to be recorded.
///
/// Dropping the manager stops every worker.
#[derive(Debug)]
pub struct ProbeManager {
    shared: Arc<Shared>,
}

impl ProbeManager {
    /// A manager that sends result changes and events to `notices`.
    pub fn new(runtime: Arc<dyn Runtime>, notices: mpsc::UnboundedSender<ProbeNotice>) -> Self {
        Self {
            shared: Arc::new(Shared::new(runtime, notices)),
        }
    }

    /// Starts a worker for every probe of the pod's containers and sidecars (init
    /// containers with `restartPolicy: Always`). A pod already added is left as it is.
    /// Must be called within a Tokio runtime.
    pub fn add_pod(&self, pod: &Pod) {
        let (Some(uid), Some(spec)) = (pod.metadata.uid.as_deref(), pod.spec.as_ref()) else {
            return;
        };
        let mut state = self.shared.state.lock();
        if state.pods.contains_key(uid) {
            return;
        }
        let pod_restarts = spec.restart_policy.as_deref() != Some("Never");
        let sidecars = spec.init_containers.iter().flatten();
        let sidecars = sidecars.filter(|c| c.restart_policy.as_deref() == Some("Always"));
        let all = sidecars
            .map(|c| (c, true, true))
            .chain(spec.containers.iter().map(|c| (c, false, pod_restarts)));
        let pod_uid: Arc<str> = Arc::from(uid);
        let mut containers = HashMap::new();
        for (container, init, restarts) in all {
            let spec = Arc::new(container.clone());
            let (target, _) = watch::channel(Target::default());
            let probes = ContainerProbes {
                spec,
                init,
                restarts,
                target,
            };
            for kind in probes.kinds() {
                let (shared, uid, spec) =
                    (self.shared.clone(), pod_uid.clone(), probes.spec.clone());
                if let Some(worker) =
                    Worker::new(shared, uid, spec, kind, probes.target.subscribe())
                {
                    tokio::spawn(worker.run());
                }
            }
            if probes.kinds().next().is_some() {
                containers.insert(container.name.clone(), probes);
            }
        }
        if containers.is_empty() {
            return;
        }
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        state.pods.insert(
            uid.to_owned(),
            PodProbes {
                namespace,
                name,
                containers,
            },
        );
    }

    /// A container of the pod runs (again): its probes start over for this container id
    /// (readiness `Failure`, liveness `Success`, startup `Unknown` until probed).
    /// `started_at` is the runtime's start time in Unix nanoseconds (0: now); the pod IP
    /// is what network probes dial. Calling it again for the same container id does
    /// nothing.
    pub fn container_started(
        &self,
        pod_uid: &str,
        container_name: &str,
        container_id: &str,
        started_at: i64,
        pod_ip: &str,
    ) {
        let mut state = self.shared.state.lock();
        let State { results, pods } = &mut *state;
        let Some(container) = pods
            .get(pod_uid)
            .and_then(|p| p.containers.get(container_name))
        else {
            return;
        };
        let old = container.current();
        if old.as_deref() == Some(container_id) {
            return;
        }
        if let Some(old) = old {
            results.remove(&old);
        }
        let now_nanos = jiff::Timestamp::now().as_nanosecond();
        let started_nanos = if started_at > 0 {
            i128::from(started_at)
        } else {
            now_nanos
        };
        let ago = u64::try_from(now_nanos - started_nanos).unwrap_or(0);
        let now = Instant::now();
        let started_at = now.checked_sub(Duration::from_nanos(ago)).unwrap_or(now);
        let started = container.spec.startup_probe.is_none();
        container.target.send_modify(|t| {
            *t = Target {
                container_id: Some(Arc::from(container_id)),
                running: true,
                started_at: Some(started_at),
                restored: started_nanos < self.shared.started_unix_nanos,
                pod_ip: Arc::from(pod_ip),
                started,
                terminating: t.terminating,
                finished: false,
            }
        });
        for kind in container.kinds() {
            let initial = match kind {
                ProbeKind::Readiness => ProbeResult::Failure,
                ProbeKind::Liveness => ProbeResult::Success,
                ProbeKind::Startup => ProbeResult::Unknown,
            };
            if results.set(container_id, kind, initial) {
                self.shared
                    .notify(pod_uid, container, container_id, kind, initial);
            }
        }
    }

    /// The container exited: every probe result of it turns `Failure` (a liveness
    /// `Failure` of a stopped container is bookkeeping, not a reason to kill it), and its
    /// workers stop when it will not be restarted.
    pub fn container_stopped(&self, pod_uid: &str, container_name: &str, container_id: &str) {
        let mut state = self.shared.state.lock();
        let State { results, pods } = &mut *state;
        let Some(container) = pods
            .get(pod_uid)
            .and_then(|p| p.containers.get(container_name))
        else {
            return;
        };
        if container.current().as_deref() != Some(container_id) {
            return;
        }
        container.target.send_modify(|t| {
            t.running = false;
            t.finished = !container.restarts;
        });
        for kind in container.kinds() {
            if results.set(container_id, kind, ProbeResult::Failure) {
                self.shared
                    .notify(pod_uid, container, container_id, kind, ProbeResult::Failure);
            }
        }
    }

    /// The pod is being deleted: liveness and startup probes stop with a last `Success`
    /// (a quiet shutdown); readiness probes go on until the containers stop.
    pub fn pod_terminating(&self, pod_uid: &str) {
        let mut state = self.shared.state.lock();
        let State { results, pods } = &mut *state;
        let Some(pod) = pods.get(pod_uid) else {
            return;
        };
        for container in pod.containers.values() {
            container.target.send_modify(|t| t.terminating = true);
            let Some(id) = container.current() else {
                continue;
            };
            for kind in container.kinds().filter(|k| *k != ProbeKind::Readiness) {
                if results.set(&id, kind, ProbeResult::Success) {
                    self.shared
                        .notify(pod_uid, container, &id, kind, ProbeResult::Success);
                }
            }
        }
    }

    /// The pod is gone: its workers stop and its results are forgotten.
    pub fn remove_pod(&self, pod_uid: &str) {
        let mut state = self.shared.state.lock();
        if let Some(pod) = state.pods.remove(pod_uid) {
            for id in pod.containers.values().filter_map(ContainerProbes::current) {
                state.results.remove(&id);
            }
        }
    }

    /// A container's published result of one probe kind.
    pub fn result(&self, container_id: &str, kind: ProbeKind) -> Option<ProbeResult> {
        self.shared.state.lock().results.get(container_id, kind)
    }

    /// Whether a running container counts as started (its `started` status): it has no
    /// startup probe, or the probe succeeded.
    pub fn started(&self, pod_uid: &str, container_name: &str, container_id: &str) -> bool {
        let state = self.shared.state.lock();
        let container = state
            .pods
            .get(pod_uid)
            .and_then(|p| p.containers.get(container_name));
        match container {
            Some(c) if c.spec.startup_probe.is_some() => {
                state.results.get(container_id, ProbeKind::Startup) == Some(ProbeResult::Success)
            }
            _ => true,
        }
    }

    /// Whether a running container is ready: started, and it has no readiness probe or
    /// the probe succeeded.
    pub fn ready(&self, pod_uid: &str, container_name: &str, container_id: &str) -> bool {
        if !self.started(pod_uid, container_name, container_id) {
            return false;
        }
        let state = self.shared.state.lock();
        let container = state
            .pods
            .get(pod_uid)
            .and_then(|p| p.containers.get(container_name));
        match container {
            Some(c) if c.spec.readiness_probe.is_some() => {
                state.results.get(container_id, ProbeKind::Readiness) == Some(ProbeResult::Success)
            }
            _ => true,
        }
    }
}

impl Drop for ProbeManager {
    fn drop(&mut self) {
        self.shared.state.lock().pods.clear();
    }
}

//! One pod's worker: admission, then sync after sync until the pod is deleted; graceful
//! termination; cleanup once the API no longer has the pod.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use tokio::sync::{Notify, watch};

use super::Shared;
use super::status::Waiting;
use crate::runtime::{ContainerState, SandboxConfig, SandboxStatus};

/// The grace period a deletion gives: the deletion's, else the spec's, else 30 s.
fn grace_of(pod: &Pod) -> Duration {
    let seconds = pod
        .metadata
        .deletion_grace_period_seconds
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .unwrap_or(30);
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

/// Whether this kubelet accepted the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    Pending,
    Admitted,
    Rejected,
}

/// A pod's worker state between syncs.
#[derive(Debug)]
pub(super) struct Worker {
    pub(super) shared: Arc<Shared>,
    pub(super) uid: String,
    pub(super) pod: Arc<Pod>,
    pub(super) admission: Admission,
    /// The current sandbox and what it was made from.
    pub(super) sandbox: Option<(SandboxStatus, SandboxConfig)>,
    /// Sandboxes made for this pod so far (the next one's attempt).
    pub(super) sandbox_attempts: u32,
    /// Containers the last sync could not start, by name.
    pub(super) waiting: HashMap<String, Waiting>,
    /// Back-offs already reported by an event (`name/attempt`).
    pub(super) reported: HashSet<String>,
    /// The status last posted.
    pub(super) posted: Option<PodStatus>,
    /// The pod's final status was posted and its deletion asked for.
    pub(super) finalized: bool,
    /// The API no longer has the pod.
    pub(super) gone: bool,
}

pub(super) async fn run(
    shared: Arc<Shared>,
    uid: String,
    mut updates: watch::Receiver<Option<Arc<Pod>>>,
    wake: Arc<Notify>,
    sandboxes: Vec<SandboxStatus>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(pod) = updates.borrow_and_update().clone() else {
        return;
    };
    let mut node = shared.node.clone();
    let mut worker = Worker {
        shared,
        uid,
        pod,
        admission: Admission::Pending,
        sandbox: None,
        sandbox_attempts: 0,
        waiting: HashMap::new(),
        reported: HashSet::new(),
        posted: None,
        finalized: false,
        gone: false,
    };
    worker.adopt(sandboxes).await;
    loop {
        let powered = node.borrow_and_update().powered;
        let next = if powered {
            worker.sync(&mut updates).await
        } else {
            None
        };
        if worker.gone {
            worker.cleanup().await;
            return;
        }
        let sleep = next.unwrap_or(Duration::from_secs(3600));
        let woke = tokio::select! {
            changed = updates.changed() => if changed.is_err() { Woke::Stop } else { Woke::Update },
            () = wake.notified() => Woke::Other,
            () = tokio::time::sleep(sleep), if next.is_some() => Woke::Other,
            () = async { let _ = node.wait_for(|v| v.powered != powered).await; } => Woke::Other,
            () = async { let _ = stop.wait_for(|s| *s).await; } => Woke::Stop,
        };
        match woke {
            Woke::Stop => return,
            Woke::Other => {}
            Woke::Update => {
                let latest = updates.borrow_and_update().clone();
                match latest {
                    Some(pod) => worker.pod = pod,
                    None => {
                        worker.cleanup().await;
                        return;
                    }
                }
            }
        }
    }
}

/// What ended a worker's wait.
enum Woke {
    Update,
    Other,
    Stop,
}

impl Worker {
    pub(super) fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or_default()
    }

    pub(super) fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or_default()
    }

    /// `name_namespace(uid)`, as upstream names a pod in messages.
    pub(super) fn full_name(&self) -> String {
        format!("{}_{}({})", self.name(), self.namespace(), self.uid)
    }

    /// Picks up sandboxes that exist from before this kubelet started: the newest ready
    /// one is the pod's; the others are removed.
    async fn adopt(&mut self, mut sandboxes: Vec<SandboxStatus>) {
        sandboxes.sort_by_key(|s| (s.state == crate::runtime::SandboxState::Ready, s.created_at));
        let newest = sandboxes.pop();
        for old in sandboxes {
            let _ = self.shared.runtime.stop_pod_sandbox(&old.id).await;
            let _ = self.shared.runtime.remove_pod_sandbox(&old.id).await;
        }
        if let Some(sandbox) = newest {
            self.sandbox_attempts = sandbox.metadata.attempt + 1;
            let config = self.sandbox_config(sandbox.metadata.attempt);
            self.sandbox = Some((sandbox, config));
            // A pod that already runs here was admitted before the restart.
            self.admission = Admission::Admitted;
            self.shared.prober.add_pod(&self.pod);
            self.shared
                .admitted
                .lock()
                .insert(self.uid.clone(), self.pod.clone());
        }
    }

    /// One pass toward the pod's desired state; returns when to look again unasked.
    async fn sync(&mut self, updates: &mut watch::Receiver<Option<Arc<Pod>>>) -> Option<Duration> {
        let deleting = self.pod.metadata.deletion_timestamp.is_some();
        if self.admission == Admission::Pending && !deleting {
            self.admit().await;
        }
        if deleting {
            return self.terminate(updates).await;
        }
        if self.admission != Admission::Admitted {
            return None;
        }
        let phase = self.pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            self.stop_all_and_note(Duration::ZERO).await;
            return None;
        }
        self.run_pod().await
    }

    async fn admit(&mut self) {
        let node = self.shared.node.borrow().node.clone();
        let phase = self.pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            // Finished before this kubelet saw it (a restart): nothing to run.
            self.admission = Admission::Rejected;
            return;
        }
        let verdict = {
            let mut admitted = self.shared.admitted.lock();
            let others: Vec<&Pod> = admitted
                .values()
                .filter(|p| p.metadata.uid.as_deref() != Some(self.uid.as_str()))
                .map(|p| p.as_ref())
                .collect();
            let running_here = phase == Some("Running");
            let verdict = if running_here {
                Ok(())
            } else {
                super::admission::admit(&self.pod, &node, &others)
            };
            if verdict.is_ok() {
                admitted.insert(self.uid.clone(), self.pod.clone());
            }
            verdict
        };
        match verdict {
            Ok(()) => {
                self.admission = Admission::Admitted;
                self.shared.prober.add_pod(&self.pod);
            }
            Err(rejection) => {
                self.admission = Admission::Rejected;
                tracing::info!(pod = %self.full_name(), reason = %rejection.reason, "pod rejected");
                self.record_pod_event("Warning", &rejection.reason, rejection.message.clone());
                let status = super::poster::rejected(
                    &self.pod,
                    &rejection.reason,
                    &rejection.status_message(),
                );
                self.post(status).await;
            }
        }
    }

    /// Stops every running container with `grace`, then the sandbox; returns the
    /// sandbox's new status.
    pub(super) async fn stop_all(&self, grace: Duration) -> Option<SandboxStatus> {
        let (sandbox, _) = self.sandbox.as_ref()?;
        if sandbox.state != crate::runtime::SandboxState::Ready {
            return None;
        }
        let containers = self
            .shared
            .runtime
            .list_containers(Some(&sandbox.id))
            .await
            .unwrap_or_default();
        let kills = containers
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| {
                let name = &c.metadata.name;
                self.record_container_event(
                    name,
                    "Normal",
                    "Killing",
                    format!("Stopping container {name}"),
                );
                self.shared.runtime.stop_container(&c.id, grace)
            });
        for result in futures::future::join_all(kills).await {
            if let Err(error) = result {
                tracing::warn!(pod = %self.full_name(), %error, "stopping a container");
            }
        }
        if let Err(error) = self.shared.runtime.stop_pod_sandbox(&sandbox.id).await {
            tracing::warn!(pod = %self.full_name(), %error, "stopping the sandbox");
        }
        self.shared
            .runtime
            .pod_sandbox_status(&sandbox.id)
            .await
            .ok()
    }

    /// [`Self::stop_all`], keeping the sandbox's new status.
    pub(super) async fn stop_all_and_note(&mut self, grace: Duration) {
        if let Some(status) = self.stop_all(grace).await
            && let Some((s, _)) = self.sandbox.as_mut()
        {
            *s = status;
        }
    }

    /// Graceful termination: containers are stopped within the grace period (a later
    /// deletion with a shorter one cuts it short), the final status is posted, and the pod
    /// is deleted for good (grace 0, UID precondition).
    async fn terminate(
        &mut self,
        updates: &mut watch::Receiver<Option<Arc<Pod>>>,
    ) -> Option<Duration> {
        if self.finalized {
            return None;
        }
        self.shared.prober.pod_terminating(&self.uid);
        loop {
            let grace = grace_of(&self.pod);
            let (stopped, latest, gone) = {
                let stopping = self.stop_all(grace);
                tokio::pin!(stopping);
                let mut latest: Option<Arc<Pod>> = None;
                loop {
                    tokio::select! {
                        stopped = &mut stopping => break (Some(stopped), latest, false),
                        changed = updates.changed() => {
                            let latest_pod = changed.ok().and_then(|()| updates.borrow_and_update().clone());
                            match latest_pod {
                                None => break (None, latest, true),
                                Some(pod) => {
                                    let shorter = grace_of(&pod) < grace;
                                    latest = Some(pod);
                                    if shorter {
                                        break (None, latest, false);
                                    }
                                }
                            }
                        }
                    }
                }
            };
            if let Some(pod) = latest {
                self.pod = pod;
            }
            if gone {
                self.gone = true;
                return None;
            }
            if let Some(stopped) = stopped {
                if let (Some(status), Some((s, _))) = (stopped, self.sandbox.as_mut()) {
                    *s = status;
                }
                break;
            }
        }
        if self.admission == Admission::Admitted {
            let status = self.compute_status(true).await;
            self.post(status).await;
        }
        self.finalized = self.delete_now().await;
        if self.finalized {
            None
        } else {
            Some(Duration::from_secs(1))
        }
    }

    /// The pod is gone from the API: remove everything the runtime holds for it.
    async fn cleanup(&mut self) {
        self.stop_all_and_note(Duration::ZERO).await;
        if let Some((sandbox, _)) = self.sandbox.take()
            && let Err(error) = self.shared.runtime.remove_pod_sandbox(&sandbox.id).await
        {
            tracing::warn!(pod = %self.full_name(), %error, "removing the sandbox");
        }
        self.shared.admitted.lock().remove(&self.uid);
        self.shared.prober.remove_pod(&self.uid);
        self.shared.restarts.lock().forget_pod(&self.uid);
        self.shared.pulls.lock().forget_pod(&self.uid);
    }
}

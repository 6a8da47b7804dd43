//! One sync of a running pod (upstream's `SyncPod` / `computePodActions`): the sandbox,
//! then init containers in order, then the containers, restarting per the restart policy
//! with CrashLoopBackOff; then the status.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, PodStatus};

use super::status::{self, Snapshot, Waiting, initialized_with, is_sidecar, latest};
use super::worker::Worker;
use crate::prober::ProbeResult;
use crate::runtime::{ContainerState, ContainerStatus, ProbeKind, SandboxConfig, SandboxState};

/// Unix nanoseconds now.
pub(super) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A duration as Go prints it in back-off messages (`10s`, `2m40s`, `5m0s`).
pub(super) fn go_seconds(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

fn sooner(next: &mut Option<Duration>, d: Duration) {
    *next = Some(next.map_or(d, |n| n.min(d)));
}

fn should_restart(policy: &str, exit_code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        _ => true,
    }
}

impl Worker {
    pub(super) fn sandbox_config(&self, attempt: u32) -> SandboxConfig {
        let pod = &self.pod;
        let spec = pod.spec.as_ref();
        let node = self.shared.node.borrow().node.clone();
        SandboxConfig {
            metadata: crate::runtime::SandboxMetadata {
                name: self.name().to_owned(),
                namespace: self.namespace().to_owned(),
                uid: self.uid.clone(),
                attempt,
            },
            hostname: spec
                .and_then(|s| s.hostname.clone())
                .unwrap_or_else(|| self.name().to_owned()),
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            annotations: pod.metadata.annotations.clone().unwrap_or_default(),
            host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
            host_ip: self.shared.config.node_ip.clone(),
            pod_cidr: node.spec.as_ref().and_then(|s| s.pod_cidr.clone()),
        }
    }

    /// A ready sandbox, made anew if there is none or it died (its containers go with it).
    async fn ensure_sandbox(&mut self) -> Result<(), Duration> {
        if let Some((sandbox, _)) = &self.sandbox {
            match self.shared.runtime.pod_sandbox_status(&sandbox.id).await {
                Ok(s) if s.state == SandboxState::Ready => return Ok(()),
                _ => {}
            }
        }
        if let Some((old, _)) = self.sandbox.clone() {
            self.record_pod_event(
                "Normal",
                "SandboxChanged",
                "Pod sandbox changed, it will be killed and re-created.".to_owned(),
            );
            self.stop_all(Duration::ZERO).await;
            let _ = self.shared.runtime.remove_pod_sandbox(&old.id).await;
            self.sandbox = None;
        }
        let config = self.sandbox_config(self.sandbox_attempts);
        self.sandbox_attempts += 1;
        let made = match self.shared.runtime.run_pod_sandbox(&config).await {
            Ok(id) => self.shared.runtime.pod_sandbox_status(&id).await,
            Err(e) => Err(e),
        };
        match made {
            Ok(status) => {
                self.sandbox = Some((status, config));
                Ok(())
            }
            Err(error) => {
                self.record_pod_event(
                    "Warning",
                    "FailedCreatePodSandBox",
                    format!("Failed to create pod sandbox: {error}"),
                );
                Err(Duration::from_secs(5))
            }
        }
    }

    /// The prober's latest result for a container, if it has one.
    pub(super) fn probe_result(&self, container_id: &str, kind: ProbeKind) -> Option<bool> {
        match self.shared.prober.result(container_id, kind)? {
            ProbeResult::Success => Some(true),
            ProbeResult::Failure => Some(false),
            ProbeResult::Unknown => None,
        }
    }

    /// Tells the prober which containers run now (it probes each run afresh).
    fn note_runs(&self, containers: &[ContainerStatus]) {
        let pod_ip = self
            .sandbox
            .as_ref()
            .and_then(|(s, _)| s.ip.clone())
            .unwrap_or_default();
        let names = status::init_containers(&self.pod)
            .iter()
            .chain(status::containers(&self.pod))
            .map(|c| c.name.as_str());
        for name in names {
            let Some(l) = latest(containers, name) else {
                continue;
            };
            match l.state {
                ContainerState::Running => {
                    self.shared.prober.container_started(
                        &self.uid,
                        name,
                        &l.id,
                        l.started_at,
                        &pod_ip,
                    );
                }
                ContainerState::Exited => {
                    self.shared.prober.container_stopped(&self.uid, name, &l.id)
                }
                _ => {}
            }
        }
    }

    async fn runtime_containers(&self) -> Vec<ContainerStatus> {
        match &self.sandbox {
            Some((s, _)) => self
                .shared
                .runtime
                .list_containers(Some(&s.id))
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// The pod's status now; `terminal` once it is finished for good.
    pub(super) async fn compute_status(&self, terminal: bool) -> PodStatus {
        let containers = self.runtime_containers().await;
        let probe = |id: &str, kind| self.probe_result(id, kind);
        let snapshot = Snapshot {
            pod: &self.pod,
            runtime_name: &self.shared.runtime_name,
            sandbox: self.sandbox.as_ref().map(|(s, _)| s),
            containers: &containers,
            waiting: &self.waiting,
            probe: &probe,
            host_ip: &self.shared.config.node_ip,
            terminal,
            posted: self.posted.as_ref(),
        };
        status::build(&snapshot)
    }

    /// Syncs a running pod; returns when to look again unasked.
    pub(super) async fn run_pod(&mut self) -> Option<Duration> {
        let mut next = None;
        if let Err(retry) = self.ensure_sandbox().await {
            sooner(&mut next, retry);
        } else {
            self.waiting.clear();
            let containers = self.runtime_containers().await;
            self.note_runs(&containers);
            let pod = self.pod.clone();
            let policy = status::restart_policy(&pod).to_owned();
            if initialized_with(&pod, &containers) {
                for c in status::init_containers(&pod)
                    .iter()
                    .filter(|c| is_sidecar(c))
                {
                    let last = latest(&containers, &c.name);
                    if last.is_none_or(|l| l.state != ContainerState::Running) {
                        self.start_or_back_off(c, last, true, &mut next).await;
                    }
                }
                for c in status::containers(&pod) {
                    self.sync_container(c, &containers, &policy, &mut next)
                        .await;
                }
            } else {
                self.sync_init(&containers, &policy, &mut next).await;
            }
        }
        let status = self.compute_status(false).await;
        if !self.post(status).await {
            sooner(&mut next, Duration::from_secs(1));
        }
        next
    }

    /// Runs the first unfinished init container (sidecars stay running).
    async fn sync_init(
        &mut self,
        containers: &[ContainerStatus],
        policy: &str,
        next: &mut Option<Duration>,
    ) {
        let pod = self.pod.clone();
        for c in status::init_containers(&pod) {
            let last = latest(containers, &c.name);
            if is_sidecar(c) {
                match last {
                    Some(l) if l.state == ContainerState::Running => {
                        let started = c.startup_probe.is_none()
                            || self.probe_result(&l.id, ProbeKind::Startup) == Some(true);
                        if started {
                            continue;
                        }
                    }
                    _ => self.start_or_back_off(c, last, true, next).await,
                }
                return;
            }
            match last {
                Some(l) if l.state == ContainerState::Exited && l.exit_code == 0 => continue,
                Some(l) if l.state == ContainerState::Exited => {
                    if policy != "Never" {
                        self.start_or_back_off(c, last, true, next).await;
                    }
                }
                Some(l) if l.state == ContainerState::Running => {}
                _ => self.start_or_back_off(c, last, true, next).await,
            }
            return;
        }
    }

    async fn sync_container(
        &mut self,
        c: &Container,
        containers: &[ContainerStatus],
        policy: &str,
        next: &mut Option<Duration>,
    ) {
        let last = latest(containers, &c.name);
        match last {
            Some(l) if l.state == ContainerState::Running => {
                let failed = |kind| self.probe_result(&l.id, kind) == Some(false);
                let why = if c.startup_probe.is_some() && failed(ProbeKind::Startup) {
                    Some("startup")
                } else if c.liveness_probe.is_some() && failed(ProbeKind::Liveness) {
                    Some("liveness")
                } else {
                    None
                };
                if let Some(probe) = why {
                    let name = &c.name;
                    self.record_container_event(
                        name,
                        "Normal",
                        "Killing",
                        format!("Container {name} failed {probe} probe, will be restarted"),
                    );
                    let grace = self.probe_grace(c, probe);
                    if let Err(error) = self.shared.runtime.stop_container(&l.id, grace).await {
                        tracing::warn!(pod = %self.full_name(), %error, "stopping an unhealthy container");
                    }
                    sooner(next, Duration::ZERO);
                }
            }
            Some(l) if l.state == ContainerState::Exited => {
                if should_restart(policy, l.exit_code) {
                    self.start_or_back_off(c, last, false, next).await;
                }
            }
            _ => self.start_or_back_off(c, last, false, next).await,
        }
    }

    /// The grace period of a container killed by a failed probe: the probe's own
    /// `terminationGracePeriodSeconds`, else the pod's.
    fn probe_grace(&self, c: &Container, probe: &str) -> Duration {
        let own = match probe {
            "startup" => c.startup_probe.as_ref(),
            _ => c.liveness_probe.as_ref(),
        }
        .and_then(|p| p.termination_grace_period_seconds);
        let seconds = own
            .or_else(|| {
                self.pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
            })
            .unwrap_or(30);
        Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
    }

    /// Starts a container, or leaves it waiting in CrashLoopBackOff while its restart
    /// back-off runs.
    async fn start_or_back_off(
        &mut self,
        c: &Container,
        last: Option<&ContainerStatus>,
        init: bool,
        next: &mut Option<Duration>,
    ) {
        let key = format!("{}/{}", self.uid, c.name);
        let now = now_ns();
        let attempt = match last {
            Some(l) => {
                let since = if l.finished_at > 0 {
                    l.finished_at
                } else {
                    l.created_at
                };
                let remaining = self.shared.restarts.lock().remaining(&key, since, now);
                if let Some(remaining) = remaining {
                    let delay = self.shared.restarts.lock().delay(&key, now);
                    let (name, pod) = (&c.name, self.full_name());
                    self.waiting.insert(
                        c.name.clone(),
                        Waiting {
                            reason: "CrashLoopBackOff".to_owned(),
                            message: Some(format!(
                                "back-off {} restarting failed container={name} pod={pod}",
                                go_seconds(delay)
                            )),
                        },
                    );
                    if self
                        .reported
                        .insert(format!("{name}/{}", l.metadata.attempt))
                    {
                        self.record_container_event(
                            name,
                            "Warning",
                            "BackOff",
                            format!("Back-off restarting failed container {name} in pod {pod}"),
                        );
                    }
                    sooner(next, remaining);
                    return;
                }
                self.shared.restarts.lock().next(&key, now);
                l.metadata.attempt + 1
            }
            None => self.first_attempt(c, init),
        };
        if let Err((waiting, retry)) = self.start_container(c, attempt, init).await {
            self.waiting.insert(c.name.clone(), waiting);
            sooner(next, retry.unwrap_or(Duration::from_secs(1)));
        }
    }

    /// The attempt of a container the runtime has no record of: the API's restart count
    /// continues (the runtime lost its containers, e.g. a simulated node restarted).
    fn first_attempt(&self, c: &Container, init: bool) -> u32 {
        let status = self.pod.status.as_ref();
        let list = if init {
            status.and_then(|s| s.init_container_statuses.as_ref())
        } else {
            status.and_then(|s| s.container_statuses.as_ref())
        };
        let Some(old) = list.and_then(|l| l.iter().find(|s| s.name == c.name)) else {
            return 0;
        };
        let ran = old.container_id.is_some();
        let count = u32::try_from(old.restart_count).unwrap_or(0);
        if ran { count + 1 } else { count }
    }
}

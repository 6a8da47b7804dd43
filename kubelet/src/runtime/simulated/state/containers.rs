//! Containers: create, start, stop, exit (by timer or at once), remove; their events.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{KILLED_CODE, START_ERROR_CODE, State, not_found};
use crate::runtime::simulated::behaviour::{self, Steering};
use crate::runtime::{
    ContainerConfig, ContainerEvent, ContainerEventKind as Kind, ContainerMetadata, ContainerState,
    ContainerStatus, ExecResult, ProbeKind, ProbeOutcome, RuntimeError, SandboxState,
};

/// Only what a status needs, plus the pod's steering (shared with its sandbox).
#[derive(Debug)]
pub(crate) struct Container {
    pub(super) sandbox_id: Arc<str>,
    pub(super) pod_uid: Arc<str>,
    pub(super) name: Box<str>,
    pub(super) attempt: u32,
    pub(super) init: bool,
    pub(super) image: Box<str>,
    pub(super) image_ref: Arc<str>,
    pub(super) state: ContainerState,
    pub(super) created_at: i64,
    pub(super) started_at: i64,
    pub(super) finished_at: i64,
    pub(super) exit_code: i32,
    pub(super) reason: &'static str,
    pub(super) message: Box<str>,
    pub(super) steering: Option<Arc<Steering>>,
    /// The environment it was created with.
    pub(super) envs: Box<[(Box<str>, Box<str>)]>,
}

/// Whether a stop is over.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stopping {
    /// The container is not running (any more).
    Done,
    /// It exits when its timer fires.
    Pending,
}

impl State {
    pub(crate) fn create(
        &mut self,
        sandbox_id: &str,
        config: &ContainerConfig,
        now: Instant,
    ) -> Result<String, RuntimeError> {
        let (sandbox_id, sandbox) = self
            .sandboxes
            .get_key_value(sandbox_id)
            .ok_or_else(|| not_found("sandbox", sandbox_id))?;
        if sandbox.state != SandboxState::Ready {
            let why = format!("sandbox {sandbox_id} is not ready");
            return Err(RuntimeError::CreateContainer(why));
        }
        let Some(image) = self.image(&config.image) else {
            let why = format!("image {:?} is not present", config.image);
            return Err(RuntimeError::CreateContainer(why));
        };
        let image_ref = image.id.clone();
        // Asked for by id, it is reported by its reference (as containerd does).
        let asked = if config.image.starts_with("sha256:") {
            image.reference.as_str()
        } else {
            config.image.as_str()
        };
        let container = Container {
            sandbox_id: sandbox_id.clone(),
            pod_uid: sandbox.uid.clone(),
            name: config.metadata.name.as_str().into(),
            attempt: config.metadata.attempt,
            init: config.init,
            image: asked.into(),
            image_ref,
            state: ContainerState::Created,
            created_at: self.clock.ns(now),
            started_at: 0,
            finished_at: 0,
            exit_code: 0,
            reason: "",
            message: "".into(),
            steering: sandbox.steering.clone(),
            envs: config
                .envs
                .iter()
                .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                .collect(),
        };
        let sandbox_id = sandbox_id.clone();
        let id = self.new_id();
        if let Some(sandbox) = self.sandboxes.get_mut(&sandbox_id) {
            sandbox.containers.push(id.clone());
        }
        self.emit(&id, &container, Kind::Created);
        self.containers.insert(id.clone(), container);
        Ok(id.to_string())
    }

    /// The environment a container was created with.
    pub(crate) fn container_env(&self, id: &str) -> Option<Vec<(String, String)>> {
        let c = self.containers.get(id)?;
        Some(
            c.envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Starts it; `Ok(true)` when that added an exit timer.
    pub(crate) fn start(&mut self, id: &str, now: Instant) -> Result<bool, RuntimeError> {
        let (id, c) = self
            .containers
            .get_key_value(id)
            .ok_or_else(|| not_found("container", id))?;
        let id = id.clone();
        if c.state != ContainerState::Created {
            return Err(RuntimeError::StartContainer(format!(
                "container {id} is in state {:?}, not Created",
                c.state
            )));
        }
        let knobs = Steering::resolve(c.steering.as_deref(), &c.name);
        let exit_after = behaviour::exit_after(&knobs, c.init);
        let exit_code = knobs.exit_code.unwrap_or(0);
        let at = self.clock.ns(now);
        let Some(c) = self.containers.get_mut(&id) else {
            return Err(not_found("container", &id));
        };
        if let Some(message) = knobs.start_error {
            c.state = ContainerState::Exited;
            c.finished_at = at;
            c.exit_code = START_ERROR_CODE;
            c.reason = "StartError";
            c.message = (*message).into();
            self.emit_for(&id, Kind::Stopped);
            self.exited.notify_waiters();
            return Err(RuntimeError::StartContainer(message.to_string()));
        }
        c.state = ContainerState::Running;
        c.started_at = at;
        self.emit_for(&id, Kind::Started);
        match exit_after {
            None => Ok(false),
            Some(after) if after.is_zero() => {
                self.exit(&id, exit_code, now);
                Ok(false)
            }
            Some(after) => {
                self.add_timer(now + after, id, exit_code);
                Ok(true)
            }
        }
    }

    /// Tells a running container to stop within `timeout` (see [`behaviour::stop_plan`]).
    pub(crate) fn stop(
        &mut self,
        id: &str,
        timeout: Duration,
        now: Instant,
    ) -> Result<Stopping, RuntimeError> {
        let (id, c) = self
            .containers
            .get_key_value(id)
            .ok_or_else(|| not_found("container", id))?;
        if c.state != ContainerState::Running {
            return Ok(Stopping::Done);
        }
        let id = id.clone();
        let knobs = Steering::resolve(c.steering.as_deref(), &c.name);
        match behaviour::stop_plan(knobs.termination_delay, timeout) {
            (after, code) if after.is_zero() => {
                self.exit(&id, code, now);
                Ok(Stopping::Done)
            }
            (after, code) => {
                self.add_timer(now + after, id, code);
                Ok(Stopping::Pending)
            }
        }
    }

    /// Whether it is no longer running (or gone).
    pub(crate) fn stopped(&self, id: &str) -> bool {
        self.containers
            .get(id)
            .is_none_or(|c| c.state != ContainerState::Running)
    }

    /// Removes it, killing it first if it runs. A missing one is no error.
    pub(crate) fn remove_container(&mut self, id: &str, now: Instant) {
        self.exit(id, KILLED_CODE, now);
        let Some((id, c)) = self.containers.remove_entry(id) else {
            return;
        };
        if let Some(sandbox) = self.sandboxes.get_mut(&c.sandbox_id) {
            sandbox.containers.retain(|other| *other != id);
        }
        self.emit(&id, &c, Kind::Deleted);
    }

    pub(crate) fn container_status(&self, id: &str) -> Result<ContainerStatus, RuntimeError> {
        let (id, c) = self
            .containers
            .get_key_value(id)
            .ok_or_else(|| not_found("container", id))?;
        Ok(container_status(id, c))
    }

    pub(crate) fn list_containers(&self, sandbox_id: Option<&str>) -> Vec<ContainerStatus> {
        match sandbox_id {
            Some(sandbox) => self.sandboxes.get(sandbox).map_or_else(Vec::new, |s| {
                s.containers
                    .iter()
                    .filter_map(|id| self.containers.get_key_value(id))
                    .map(|(id, c)| container_status(id, c))
                    .collect()
            }),
            None => self
                .containers
                .iter()
                .map(|(id, c)| container_status(id, c))
                .collect(),
        }
    }

    pub(crate) fn exec(&self, id: &str) -> Result<ExecResult, RuntimeError> {
        match self.containers.get(id) {
            None => Err(not_found("container", id)),
            Some(c) if c.state != ContainerState::Running => {
                Err(not_found("running container", id))
            }
            Some(_) => Ok(ExecResult::default()),
        }
    }

    pub(crate) fn probe(&self, id: &str, kind: ProbeKind, now: Instant) -> ProbeOutcome {
        let Some(c) = self
            .containers
            .get(id)
            .filter(|c| c.state == ContainerState::Running)
        else {
            return ProbeOutcome::Failure(format!("container {id} is not running"));
        };
        let knobs = Steering::resolve(c.steering.as_deref(), &c.name);
        let since = u64::try_from(self.clock.ns(now).saturating_sub(c.started_at)).unwrap_or(0);
        behaviour::probe(&knobs, kind, Duration::from_nanos(since))
    }

    // --- exits ---

    fn add_timer(&mut self, at: Instant, id: Arc<str>, code: i32) {
        self.next_id += 1;
        self.timers.insert((at, self.next_id), (id, code));
    }

    /// Applies every exit due by `now`; returns when the next one is due.
    pub(crate) fn fire_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                return Some(entry.key().0);
            }
            let (id, code) = entry.remove();
            self.exit(&id, code, now);
        }
        None
    }

    /// A running container exits with `code`.
    pub(super) fn exit(&mut self, id: &str, code: i32, now: Instant) {
        let at = self.clock.ns(now);
        let Some(c) = self
            .containers
            .get_mut(id)
            .filter(|c| c.state == ContainerState::Running)
        else {
            return;
        };
        c.state = ContainerState::Exited;
        c.finished_at = at;
        c.exit_code = code;
        c.reason = behaviour::exit_reason(code);
        self.emit_for(id, Kind::Stopped);
        self.exited.notify_waiters();
    }

    fn emit_for(&mut self, id: &str, kind: Kind) {
        if let Some((id, c)) = self.containers.get_key_value(id) {
            let event = event(id, c, kind);
            self.send(event);
        }
    }

    fn emit(&mut self, id: &str, c: &Container, kind: Kind) {
        self.send(event(id, c, kind));
    }

    fn send(&mut self, event: ContainerEvent) {
        if let Some(tx) = &self.events
            && tx.send(event).is_err()
        {
            self.events = None;
        }
    }
}

fn event(id: &str, c: &Container, kind: Kind) -> ContainerEvent {
    ContainerEvent {
        container_id: id.to_owned(),
        sandbox_id: c.sandbox_id.to_string(),
        pod_uid: c.pod_uid.to_string(),
        kind,
    }
}

fn container_status(id: &str, c: &Container) -> ContainerStatus {
    ContainerStatus {
        id: id.to_owned(),
        sandbox_id: c.sandbox_id.to_string(),
        metadata: ContainerMetadata {
            name: c.name.to_string(),
            attempt: c.attempt,
        },
        state: c.state,
        created_at: c.created_at,
        started_at: c.started_at,
        finished_at: c.finished_at,
        exit_code: c.exit_code,
        image: c.image.to_string(),
        image_ref: c.image_ref.to_string(),
        reason: c.reason.to_owned(),
        message: c.message.to_string(),
    }
}

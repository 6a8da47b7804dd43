//! The simulated runtime: sandboxes, containers and images held in memory, so one process
//! can run thousands of kubelets. Containers run nothing; what they do is steered by the
//! pod's annotations.
//!
//! # Steering annotations
//!
//! Set on the pod (`metadata.annotations`), prefix `sim.keelson.io/`. Each key may carry a
//! container suffix, `sim.keelson.io/<key>.<container-name>`, to apply to that container
//! only; it wins over the plain key. Durations are Go durations (`500ms`, `10s`, `1m30s`).
//! A value that cannot be parsed, or an unknown key, is logged once (when the pod's
//! sandbox is created) and ignored.
//!
//! | key | value | effect |
//! |---|---|---|
//! | `exit-after` | duration | The container exits this long after it starts. Default: never; init containers exit at once (`0s`). |
//! | `exit-code` | integer | Its exit code when it exits by itself (default `0`). The reason is `Completed` for 0, `Error` otherwise. |
//! | `ready-after` | duration | Readiness probes fail until this long after start. |
//! | `readiness-fail-after` | duration | Readiness probes fail from this long after start. |
//! | `liveness-fail-after` | duration | Liveness probes fail from this long after start. |
//! | `startup-after` | duration | Startup probes fail until this long after start. |
//! | `image-pull-error` | text | Every image pull for the pod fails with this message (`ErrImagePull`). Plain key only: a pull does not say which container it is for. |
//! | `start-error` | text | Starting the container fails with this message; it is left Exited with code 128, reason `StartError` (as containerd does). |
//! | `termination-delay` | duration | The container ignores SIGTERM this long: told to stop with a grace period longer than the delay, it exits with 0 after the delay; otherwise it is killed when the grace period ends (exit code 137, reason `Error`). Without it a container exits at once with 0. |
//!
//! A probe of a container that is not running fails. Exec (`exec_sync`) in a running
//! container succeeds with empty output.
//!
//! Example: a web container that becomes ready after 5 s and whose sidecar crashes with
//! code 2 after a minute:
//!
//! ```yaml
//! metadata:
//!   annotations:
//!     sim.keelson.io/ready-after.web: 5s
//!     sim.keelson.io/exit-after.sidecar: 1m
//!     sim.keelson.io/exit-code.sidecar: "2"
//! ```
//!
//! # Network and images
//!
//! A pod gets the next free address of the node's pod CIDR (IPv4 or IPv6; never the
//! network address, nor the gateway `.1`), or of containerd's default `10.88.0.0/16` when
//! the node has none; a host-network pod gets the node's IP. Addresses are reused once
//! the sandbox is removed. Every pull succeeds (unless steered to fail); an image's id
//! and digest are derived from its normalized reference, the same on every node.
//!
//! # Cost
//!
//! All state sits behind one lock. Containers that exit by themselves (or are stopping
//! with a delay) have an entry in one timer map, served by one task per runtime, started
//! on first need; an idle container costs its status and nothing else. Container events
//! go to an unbounded channel (nothing is dropped; nothing is buffered before
//! `container_events` is called; a second call replaces the first subscriber).

mod behaviour;
mod image;
mod ipam;
mod state;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::stream::BoxStream;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use self::state::{State, Stopping};
use super::{
    ContainerConfig, ContainerEvent, ContainerStatus, ExecResult, ImageInfo, ProbeKind,
    ProbeOutcome, Runtime, RuntimeError, RuntimeVersion, SandboxConfig, SandboxStatus,
};

/// The in-memory runtime of one simulated node. Cheap to create; clones share it.
#[derive(Debug, Clone)]
pub struct Simulated {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    /// Wakes the timer task (a new exit may be due sooner, or the runtime is gone).
    wake: Arc<Notify>,
    /// Woken on every container exit.
    exited: Arc<Notify>,
    timer_started: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.wake.notify_one();
    }
}

impl Simulated {
    /// An empty runtime for the node `node_name` (which seeds its ids).
    pub fn new(node_name: &str) -> Self {
        let exited = Arc::new(Notify::new());
        let inner = Inner {
            state: Mutex::new(State::new(node_name, exited.clone())),
            wake: Arc::new(Notify::new()),
            exited,
            timer_started: AtomicBool::new(false),
        };
        Simulated {
            inner: Arc::new(inner),
        }
    }

    /// A timer was added: make sure the timer task runs and looks again.
    fn timers_changed(&self) {
        if !self.inner.timer_started.swap(true, Ordering::AcqRel) {
            tokio::spawn(run_timers(
                Arc::downgrade(&self.inner),
                self.inner.wake.clone(),
            ));
        }
        self.inner.wake.notify_one();
    }

    /// Returns once the container is no longer running.
    async fn stopped(&self, id: &str) {
        loop {
            let notified = self.inner.exited.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.state.lock().stopped(id) {
                return;
            }
            notified.await;
        }
    }

    /// The environment a container was created with (`None`: no such container), as a
    /// real runtime would show it inside the container.
    pub fn container_env(&self, id: &str) -> Option<Vec<(String, String)>> {
        self.inner.state.lock().container_env(id)
    }

    #[cfg(test)]
    fn pending_timers(&self) -> usize {
        self.inner.state.lock().pending_timers()
    }
}

/// Applies exits as they fall due; ends once the runtime is dropped.
async fn run_timers(runtime: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let next = match runtime.upgrade() {
            Some(inner) => inner.state.lock().fire_due(Instant::now()),
            None => return,
        };
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
    }
}

#[async_trait::async_trait]
impl Runtime for Simulated {
    async fn version(&self) -> Result<RuntimeVersion, RuntimeError> {
        Ok(RuntimeVersion {
            runtime_name: "simulated".to_owned(),
            runtime_version: env!("CARGO_PKG_VERSION").to_owned(),
        })
    }

    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError> {
        self.inner.state.lock().run_sandbox(config, Instant::now())
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), RuntimeError> {
        self.inner.state.lock().stop_sandbox(id, Instant::now())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), RuntimeError> {
        self.inner.state.lock().remove_sandbox(id, Instant::now());
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus, RuntimeError> {
        self.inner.state.lock().sandbox_status(id)
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError> {
        Ok(self.inner.state.lock().list_sandboxes())
    }

    async fn pull_image(
        &self,
        image: &str,
        sandbox: &SandboxConfig,
    ) -> Result<String, RuntimeError> {
        self.inner.state.lock().pull(image, sandbox)
    }

    async fn image_status(&self, image: &str) -> Result<Option<ImageInfo>, RuntimeError> {
        Ok(self.inner.state.lock().image_status(image))
    }

    async fn list_images(&self) -> Result<Vec<ImageInfo>, RuntimeError> {
        Ok(self.inner.state.lock().list_images())
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
        _sandbox: &SandboxConfig,
    ) -> Result<String, RuntimeError> {
        self.inner
            .state
            .lock()
            .create(sandbox_id, config, Instant::now())
    }

    async fn start_container(&self, id: &str) -> Result<(), RuntimeError> {
        let timer_added = self.inner.state.lock().start(id, Instant::now())?;
        if timer_added {
            self.timers_changed();
        }
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), RuntimeError> {
        let stopping = self.inner.state.lock().stop(id, timeout, Instant::now())?;
        if stopping == Stopping::Pending {
            self.timers_changed();
            self.stopped(id).await;
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<(), RuntimeError> {
        self.inner.state.lock().remove_container(id, Instant::now());
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus, RuntimeError> {
        self.inner.state.lock().container_status(id)
    }

    async fn list_containers(
        &self,
        sandbox_id: Option<&str>,
    ) -> Result<Vec<ContainerStatus>, RuntimeError> {
        Ok(self.inner.state.lock().list_containers(sandbox_id))
    }

    async fn container_events(&self) -> Result<BoxStream<'static, ContainerEvent>, RuntimeError> {
        let mut events = self.inner.state.lock().subscribe();
        Ok(Box::pin(futures::stream::poll_fn(move |cx| {
            events.poll_recv(cx)
        })))
    }

    /// Exit 0 and no output in a running container; `NotFound` ("running container …")
    /// when the container is missing or not running (CRI answers an error too).
    async fn exec_sync(
        &self,
        id: &str,
        _cmd: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        self.inner.state.lock().exec(id)
    }

    async fn simulated_probe(&self, container_id: &str, kind: ProbeKind) -> Option<ProbeOutcome> {
        Some(
            self.inner
                .state
                .lock()
                .probe(container_id, kind, Instant::now()),
        )
    }
}

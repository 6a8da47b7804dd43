//! A tiny runtime for probe tests: scripted simulated answers and exec results; every
//! other call is unavailable.

use std::collections::HashMap;
use std::time::Duration;

use futures::stream::BoxStream;
use keelson_kubelet::runtime::{
    ContainerConfig, ContainerStatus, ExecResult, ImageInfo, ProbeKind, ProbeOutcome, Runtime,
    RuntimeError, RuntimeVersion, SandboxConfig, SandboxStatus,
};
use parking_lot::Mutex;
use tokio::time::Instant;

/// What `exec_sync` does.
#[derive(Debug, Clone)]
pub(crate) enum Exec {
    /// Exits with this code and output.
    Exit(i32, &'static str, &'static str),
    /// Never returns (until the test's clock has moved an hour).
    Hang,
    /// The runtime fails.
    Broken,
}

#[derive(Debug)]
pub(crate) struct Fake {
    answers: Mutex<HashMap<(String, ProbeKind), ProbeOutcome>>,
    probes: Mutex<Vec<(String, ProbeKind, Instant)>>,
    exec: Mutex<Exec>,
    execs: Mutex<Vec<Vec<String>>>,
}

impl Fake {
    pub(crate) fn new() -> Self {
        Self {
            answers: Mutex::new(HashMap::new()),
            probes: Mutex::new(Vec::new()),
            exec: Mutex::new(Exec::Exit(0, "", "")),
            execs: Mutex::new(Vec::new()),
        }
    }

    /// From now on, the simulated answer to this container's probe of this kind.
    pub(crate) fn answer(&self, container_id: &str, kind: ProbeKind, outcome: ProbeOutcome) {
        self.answers
            .lock()
            .insert((container_id.to_owned(), kind), outcome);
    }

    /// How often this container's probe of this kind was asked.
    pub(crate) fn probed(&self, container_id: &str, kind: ProbeKind) -> usize {
        self.times(container_id, kind).len()
    }

    /// When this container's probe of this kind was asked.
    pub(crate) fn times(&self, container_id: &str, kind: ProbeKind) -> Vec<Instant> {
        let probes = self.probes.lock();
        let asked = probes
            .iter()
            .filter(|(id, k, _)| id == container_id && *k == kind);
        asked.map(|(_, _, at)| *at).collect()
    }

    pub(crate) fn set_exec(&self, exec: Exec) {
        *self.exec.lock() = exec;
    }

    /// The commands exec'd so far.
    pub(crate) fn execs(&self) -> Vec<Vec<String>> {
        self.execs.lock().clone()
    }
}

fn unavailable<T>() -> Result<T, RuntimeError> {
    Err(RuntimeError::Unavailable("not in this fake".to_owned()))
}

#[async_trait::async_trait]
impl Runtime for Fake {
    async fn version(&self) -> Result<RuntimeVersion, RuntimeError> {
        unavailable()
    }
    async fn run_pod_sandbox(&self, _: &SandboxConfig) -> Result<String, RuntimeError> {
        unavailable()
    }
    async fn stop_pod_sandbox(&self, _: &str) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn remove_pod_sandbox(&self, _: &str) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn pod_sandbox_status(&self, _: &str) -> Result<SandboxStatus, RuntimeError> {
        unavailable()
    }
    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError> {
        unavailable()
    }
    async fn pull_image(&self, _: &str, _: &SandboxConfig) -> Result<String, RuntimeError> {
        unavailable()
    }
    async fn image_status(&self, _: &str) -> Result<Option<ImageInfo>, RuntimeError> {
        unavailable()
    }
    async fn list_images(&self) -> Result<Vec<ImageInfo>, RuntimeError> {
        unavailable()
    }
    async fn create_container(
        &self,
        _: &str,
        _: &ContainerConfig,
        _: &SandboxConfig,
    ) -> Result<String, RuntimeError> {
        unavailable()
    }
    async fn start_container(&self, _: &str) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn stop_container(&self, _: &str, _: Duration) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn remove_container(&self, _: &str) -> Result<(), RuntimeError> {
        unavailable()
    }
    async fn container_status(&self, _: &str) -> Result<ContainerStatus, RuntimeError> {
        unavailable()
    }
    async fn list_containers(&self, _: Option<&str>) -> Result<Vec<ContainerStatus>, RuntimeError> {
        unavailable()
    }
    async fn container_events(
        &self,
    ) -> Result<BoxStream<'static, keelson_kubelet::runtime::ContainerEvent>, RuntimeError> {
        unavailable()
    }

    async fn exec_sync(
        &self,
        _id: &str,
        cmd: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        self.execs.lock().push(cmd.to_vec());
        let exec = self.exec.lock().clone();
        match exec {
            Exec::Exit(exit_code, stdout, stderr) => Ok(ExecResult {
                stdout: stdout.as_bytes().to_vec(),
                stderr: stderr.as_bytes().to_vec(),
                exit_code,
            }),
            Exec::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(ExecResult::default())
            }
            Exec::Broken => Err(RuntimeError::Unavailable("exec is broken".to_owned())),
        }
    }

    async fn simulated_probe(&self, container_id: &str, kind: ProbeKind) -> Option<ProbeOutcome> {
        let answer = self
            .answers
            .lock()
            .get(&(container_id.to_owned(), kind))
            .cloned();
        if answer.is_some() {
            self.probes
                .lock()
                .push((container_id.to_owned(), kind, Instant::now()));
        }
        answer
    }
}

//! The runtime boundary, shaped like the CRI (`runtime.v1.RuntimeService` and
//! `ImageService`): pod sandboxes, containers, images, and `ExecSync` for exec probes.
//! The kubelet drives pods only through [`Runtime`]; the simulated runtime
//! ([`simulated::Simulated`]) and the containerd CRI client plug in behind it.
//!
//! Types mirror the CRI messages a kubelet uses, in Rust shape: ids are the runtime's,
//! times are Unix nanoseconds as in CRI.

pub mod simulated;

use std::collections::BTreeMap;
use std::time::Duration;

/// What a runtime call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No sandbox, container or image with that id.
    #[error("{0} not found")]
    NotFound(String),
    /// The image could not be pulled (the kubelet reports ErrImagePull).
    #[error("pulling image {image}: {message}")]
    ImagePull {
        /// The image asked for.
        image: String,
        /// Why.
        message: String,
    },
    /// The container could not be created (CreateContainerError).
    #[error("creating container: {0}")]
    CreateContainer(String),
    /// The container could not be started (RunContainerError).
    #[error("starting container: {0}")]
    StartContainer(String),
    /// The runtime is unreachable or broke.
    #[error("runtime: {0}")]
    Unavailable(String),
}

/// A sandbox's state (CRI `PodSandboxState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxState {
    /// Its network is up; containers may run in it.
    Ready,
    /// Stopped or broken.
    NotReady,
}

/// A container's state (CRI `ContainerState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Exited (see the exit code).
    Exited,
    /// The runtime does not know.
    Unknown,
}

/// Which pod a sandbox belongs to (CRI `PodSandboxMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SandboxMetadata {
    /// Pod name.
    pub name: String,
    /// Pod namespace.
    pub namespace: String,
    /// Pod UID.
    pub uid: String,
    /// How many sandboxes this pod had before this one.
    pub attempt: u32,
}

/// What a sandbox is created from (CRI `PodSandboxConfig`).
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    /// The pod it belongs to.
    pub metadata: SandboxMetadata,
    /// The pod's hostname.
    pub hostname: String,
    /// The pod's labels.
    pub labels: BTreeMap<String, String>,
    /// The pod's annotations (the simulated runtime reads its steering from them).
    pub annotations: BTreeMap<String, String>,
    /// The pod uses the node's network namespace.
    pub host_network: bool,
    /// The node's IP (a host-network pod's IP).
    pub host_ip: String,
    /// The node's pod CIDR (`spec.podCIDR`), which pod IPs come from, when assigned.
    pub pod_cidr: Option<String>,
}

/// A sandbox as the runtime reports it (CRI `PodSandboxStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxStatus {
    /// Runtime id.
    pub id: String,
    /// Which pod.
    pub metadata: SandboxMetadata,
    /// Ready or not.
    pub state: SandboxState,
    /// Unix nanoseconds.
    pub created_at: i64,
    /// The pod's IP, once its network is up.
    pub ip: Option<String>,
}

/// Which container in a pod (CRI `ContainerMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerMetadata {
    /// The container's name in the pod spec.
    pub name: String,
    /// Its restart number: 0 for the first run.
    pub attempt: u32,
}

/// What a container is created from (CRI `ContainerConfig`).
#[derive(Debug, Clone, Default)]
pub struct ContainerConfig {
    /// Name and attempt.
    pub metadata: ContainerMetadata,
    /// Image reference as pulled.
    pub image: String,
    /// Entrypoint.
    pub command: Vec<String>,
    /// Arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// Environment, in order.
    pub envs: Vec<(String, String)>,
    /// Labels (the kubelet's pod/container identity).
    pub labels: BTreeMap<String, String>,
    /// Annotations (restart count, termination message path, …).
    pub annotations: BTreeMap<String, String>,
    /// An init container: the simulated runtime makes it finish by default.
    pub init: bool,
}

/// A container as the runtime reports it (CRI `ContainerStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    /// Runtime id.
    pub id: String,
    /// The sandbox it runs in.
    pub sandbox_id: String,
    /// Name and attempt.
    pub metadata: ContainerMetadata,
    /// State.
    pub state: ContainerState,
    /// Unix nanoseconds; 0 when not yet.
    pub created_at: i64,
    /// Unix nanoseconds; 0 when not yet.
    pub started_at: i64,
    /// Unix nanoseconds; 0 when not yet.
    pub finished_at: i64,
    /// Exit code, once exited.
    pub exit_code: i32,
    /// The image as asked for.
    pub image: String,
    /// The image's digest reference.
    pub image_ref: String,
    /// Why it is in this state (`Completed`, `Error`, `OOMKilled`).
    pub reason: String,
    /// Human-readable detail (the termination message).
    pub message: String,
}

/// An image the runtime holds (CRI `Image`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Image id (`sha256:…`).
    pub id: String,
    /// Tags it is known by.
    pub repo_tags: Vec<String>,
    /// Digest references.
    pub repo_digests: Vec<String>,
    /// Size in bytes.
    pub size: u64,
}

/// What `ExecSync` returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecResult {
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// The command's exit code.
    pub exit_code: i32,
}

/// Which probe is being run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// livenessProbe: failing restarts the container.
    Liveness,
    /// readinessProbe: failing takes the pod out of Service endpoints.
    Readiness,
    /// startupProbe: the others wait until it succeeds once.
    Startup,
}

/// The outcome of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Passed.
    Success,
    /// Failed, with the reason shown in events.
    Failure(String),
}

/// What happened to a container (CRI `ContainerEventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerEventKind {
    /// Created.
    Created,
    /// Started.
    Started,
    /// Exited or was stopped.
    Stopped,
    /// Removed.
    Deleted,
}

/// One container state change (CRI `ContainerEventResponse`): the kubelet's pod lifecycle
/// event generator wakes the pod's worker with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// The container.
    pub container_id: String,
    /// Its sandbox.
    pub sandbox_id: String,
    /// The pod's UID.
    pub pod_uid: String,
    /// What happened.
    pub kind: ContainerEventKind,
}

/// Identity of the runtime (CRI `VersionResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeVersion {
    /// `containerd`, `simulated`.
    pub runtime_name: String,
    /// Its version.
    pub runtime_version: String,
}

/// A container runtime, as the kubelet sees it.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync + std::fmt::Debug + 'static {
    /// Name and version (the node's `containerRuntimeVersion` is `name://version`).
    async fn version(&self) -> Result<RuntimeVersion, RuntimeError>;

    /// Creates and starts a sandbox; returns its id.
    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError>;
    /// Stops every container in the sandbox and tears its network down.
    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), RuntimeError>;
    /// Removes a stopped sandbox and its containers.
    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), RuntimeError>;
    /// One sandbox.
    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus, RuntimeError>;
    /// Every sandbox.
    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError>;

    /// Pulls an image; returns its reference (`sha256:…`).
    async fn pull_image(
        &self,
        image: &str,
        sandbox: &SandboxConfig,
    ) -> Result<String, RuntimeError>;
    /// The image, if present.
    async fn image_status(&self, image: &str) -> Result<Option<ImageInfo>, RuntimeError>;
    /// Every image (the node's `status.images`).
    async fn list_images(&self) -> Result<Vec<ImageInfo>, RuntimeError>;

    /// Creates a container in a sandbox; returns its id.
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
        sandbox: &SandboxConfig,
    ) -> Result<String, RuntimeError>;
    /// Starts a created container.
    async fn start_container(&self, id: &str) -> Result<(), RuntimeError>;
    /// Stops a container: SIGTERM, then SIGKILL after `timeout`.
    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), RuntimeError>;
    /// Removes a stopped container.
    async fn remove_container(&self, id: &str) -> Result<(), RuntimeError>;
    /// One container.
    async fn container_status(&self, id: &str) -> Result<ContainerStatus, RuntimeError>;
    /// The containers of one sandbox, or of all when `sandbox_id` is None.
    async fn list_containers(
        &self,
        sandbox_id: Option<&str>,
    ) -> Result<Vec<ContainerStatus>, RuntimeError>;

    /// Every later container state change, as a stream (CRI `GetContainerEvents`). Called
    /// once by the kubelet; events of a lagging subscriber may be dropped, so the kubelet
    /// also relists.
    async fn container_events(
        &self,
    ) -> Result<futures::stream::BoxStream<'static, ContainerEvent>, RuntimeError>;

    /// Runs a command in a container and waits for it (exec probes).
    async fn exec_sync(
        &self,
        id: &str,
        cmd: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, RuntimeError>;

    /// A runtime whose containers are simulated answers every probe itself (the pod has
    /// no network to dial, nothing to exec): `Some`. A real runtime answers `None`, and
    /// the prober execs or dials as the probe says.
    async fn simulated_probe(&self, _container_id: &str, _kind: ProbeKind) -> Option<ProbeOutcome> {
        None
    }
}

//! The simulated runtime's state: sandboxes, containers, images, pod IPs and pending exits.
//! Every change happens here, synchronously, under the runtime's one lock; the async shell
//! (`mod.rs`) only waits (for a stopping container) and runs the exit timer.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

mod containers;

use crate::runtime::simulated::behaviour::{self, Steering};
use crate::runtime::simulated::image::{self, Image};
use crate::runtime::simulated::ipam::Pool;
use crate::runtime::{
    ContainerEvent, ContainerState, ImageInfo, RuntimeError, SandboxConfig, SandboxMetadata,
    SandboxState, SandboxStatus,
};
use containers::Container;
pub(crate) use containers::Stopping;

/// containerd's default CNI range, for a node without a pod CIDR.
pub(crate) const DEFAULT_POD_CIDR: &str = "10.88.0.0/16";
/// What containerd reports for a container that failed to start.
const START_ERROR_CODE: i32 = 128;
/// A container killed with SIGKILL.
pub(crate) const KILLED_CODE: i32 = 137;

/// Unix nanoseconds that follow tokio's clock (so paused time moves them too).
#[derive(Debug, Clone, Copy)]
struct Clock {
    instant: Instant,
    unix_ns: i64,
}

impl Clock {
    fn ns(&self, at: Instant) -> i64 {
        let since = at.saturating_duration_since(self.instant).as_nanos();
        self.unix_ns
            .saturating_add(i64::try_from(since).unwrap_or(i64::MAX))
    }
}

#[derive(Debug)]
struct Sandbox {
    metadata: SandboxMetadata,
    uid: Arc<str>,
    state: SandboxState,
    created_at: i64,
    ip: Option<String>,
    /// The pool (index into `State::pools`) and address to give back on removal.
    lease: Option<(usize, IpAddr)>,
    steering: Option<Arc<Steering>>,
    containers: Vec<Arc<str>>,
}

/// Everything one simulated runtime holds.
#[derive(Debug)]
pub(crate) struct State {
    clock: Clock,
    salt: u64,
    next_id: u64,
    sandboxes: BTreeMap<Arc<str>, Sandbox>,
    containers: HashMap<Arc<str>, Container>,
    /// By normalized reference.
    images: BTreeMap<String, Image>,
    pools: Vec<(Box<str>, Pool)>,
    /// Pending exits: (when, sequence) → (container, exit code). Stale entries (the
    /// container exited or went meanwhile) are skipped when they fire.
    timers: BTreeMap<(Instant, u64), (Arc<str>, i32)>,
    events: Option<mpsc::UnboundedSender<ContainerEvent>>,
    /// Woken whenever a container exits (`stop_container` waits on it).
    exited: Arc<Notify>,
}

impl State {
    pub(crate) fn new(node_name: &str, exited: Arc<Notify>) -> State {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let clock = Clock {
            instant: Instant::now(),
            unix_ns: i64::try_from(unix.as_nanos()).unwrap_or(i64::MAX),
        };
        State {
            clock,
            salt: image::fnv1a(7, node_name.as_bytes()),
            next_id: 0,
            sandboxes: BTreeMap::new(),
            containers: HashMap::new(),
            images: BTreeMap::new(),
            pools: Vec::new(),
            timers: BTreeMap::new(),
            events: None,
            exited,
        }
    }

    /// Unique in this runtime, and unlike other nodes' ids: 32 hex digits.
    fn new_id(&mut self) -> Arc<str> {
        self.next_id += 1;
        let unique = image::mix(self.next_id ^ self.salt);
        format!(
            "{unique:016x}{:016x}",
            image::mix(unique ^ self.salt.rotate_left(17))
        )
        .into()
    }

    /// Replaces the event subscriber.
    pub(crate) fn subscribe(&mut self) -> mpsc::UnboundedReceiver<ContainerEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.events = Some(tx);
        rx
    }

    /// How many exits are pending.
    #[cfg(test)]
    pub(crate) fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    // --- sandboxes ---

    pub(crate) fn run_sandbox(
        &mut self,
        config: &SandboxConfig,
        now: Instant,
    ) -> Result<String, RuntimeError> {
        let pod = &config.metadata;
        let (steering, problems) = Steering::parse(&config.annotations);
        for (key, why) in problems {
            tracing::warn!(pod = %format_args!("{}/{}", pod.namespace, pod.name), %key, %why, "simulated runtime: annotation ignored");
        }
        let (ip, lease) = if config.host_network {
            (Some(config.host_ip.clone()), None)
        } else {
            let cidr = config
                .pod_cidr
                .as_deref()
                .and_then(|c| c.split(',').map(str::trim).find(|c| !c.is_empty()));
            let cidr = cidr.unwrap_or(DEFAULT_POD_CIDR);
            let unavailable = |why: String| {
                RuntimeError::Unavailable(format!(
                    "setting up the network of pod {}/{}: {why}",
                    pod.namespace, pod.name
                ))
            };
            let at = match self.pools.iter().position(|(c, _)| &**c == cidr) {
                Some(at) => at,
                None => {
                    self.pools
                        .push((cidr.into(), Pool::parse(cidr).map_err(unavailable)?));
                    self.pools.len() - 1
                }
            };
            let address = self.pools[at]
                .1
                .allocate()
                .ok_or_else(|| unavailable(format!("no IP addresses available in range {cidr}")))?;
            (Some(address.to_string()), Some((at, address)))
        };
        let id = self.new_id();
        let sandbox = Sandbox {
            metadata: pod.clone(),
            uid: pod.uid.as_str().into(),
            state: SandboxState::Ready,
            created_at: self.clock.ns(now),
            ip,
            lease,
            steering: steering.map(Arc::new),
            containers: Vec::new(),
        };
        self.sandboxes.insert(id.clone(), sandbox);
        Ok(id.to_string())
    }

    /// Stops its running containers as `stop_container` with no grace, and sets NotReady.
    pub(crate) fn stop_sandbox(&mut self, id: &str, now: Instant) -> Result<(), RuntimeError> {
        let sandbox = self
            .sandboxes
            .get_mut(id)
            .ok_or_else(|| not_found("sandbox", id))?;
        sandbox.state = SandboxState::NotReady;
        for container in sandbox.containers.clone() {
            if let Some(c) = self
                .containers
                .get(&container)
                .filter(|c| c.state == ContainerState::Running)
            {
                let knobs = Steering::resolve(c.steering.as_deref(), &c.name);
                let (_, code) = behaviour::stop_plan(knobs.termination_delay, Duration::ZERO);
                self.exit(&container, code, now);
            }
        }
        Ok(())
    }

    /// Removes it and its containers, and gives its IP back. A missing one is no error.
    pub(crate) fn remove_sandbox(&mut self, id: &str, now: Instant) {
        let Some(sandbox) = self.sandboxes.get(id) else {
            return;
        };
        for container in sandbox.containers.clone() {
            self.remove_container(&container, now);
        }
        if let Some(sandbox) = self.sandboxes.remove(id)
            && let Some((pool, address)) = sandbox.lease
        {
            self.pools[pool].1.release(address);
        }
    }

    pub(crate) fn sandbox_status(&self, id: &str) -> Result<SandboxStatus, RuntimeError> {
        let (id, sandbox) = self
            .sandboxes
            .get_key_value(id)
            .ok_or_else(|| not_found("sandbox", id))?;
        Ok(sandbox_status(id, sandbox))
    }

    pub(crate) fn list_sandboxes(&self) -> Vec<SandboxStatus> {
        self.sandboxes
            .iter()
            .map(|(id, s)| sandbox_status(id, s))
            .collect()
    }

    // --- images ---

    pub(crate) fn pull(
        &mut self,
        reference: &str,
        pod: &SandboxConfig,
    ) -> Result<String, RuntimeError> {
        let key = format!("{}{}", behaviour::PREFIX, behaviour::IMAGE_PULL_ERROR);
        if let Some(message) = pod.annotations.get(&key) {
            return Err(RuntimeError::ImagePull {
                image: reference.to_owned(),
                message: message.clone(),
            });
        }
        let image = Image::of(reference);
        let id = image.id.to_string();
        self.images.entry(image.reference.clone()).or_insert(image);
        Ok(id)
    }

    /// By any spelling of its reference, or by its id.
    fn image(&self, reference: &str) -> Option<&Image> {
        if reference.starts_with("sha256:") {
            return self.images.values().find(|i| &*i.id == reference);
        }
        self.images.get(&image::normalize(reference))
    }

    pub(crate) fn image_status(&self, reference: &str) -> Option<ImageInfo> {
        self.image(reference).map(Image::info)
    }

    pub(crate) fn list_images(&self) -> Vec<ImageInfo> {
        self.images.values().map(Image::info).collect()
    }
}

pub(crate) fn not_found(what: &str, id: &str) -> RuntimeError {
    RuntimeError::NotFound(format!("{what} {id}"))
}

fn sandbox_status(id: &str, s: &Sandbox) -> SandboxStatus {
    SandboxStatus {
        id: id.to_owned(),
        metadata: s.metadata.clone(),
        state: s.state,
        created_at: s.created_at,
        ip: s.ip.clone(),
    }
}

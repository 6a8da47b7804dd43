//! The node status as upstream kubelet v1.33's status setters compute it, from the status
//! the API holds (so fields other components own are kept), and whether it changed.
//!
//! Conditions: MemoryPressure, DiskPressure, PIDPressure stay False (a Keelson node never
//! reports pressure); a pressure condition's reason, message and transition time change
//! only when its status does. Ready is rewritten each time, keeping its transition time
//! while its status stays. Heartbeat times are `now` in every computed status and ignored
//! when deciding whether the status changed.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    ContainerImage, DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints,
    NodeStatus, NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use keelson_client::quantity::ExactQuantity;

use super::host::{HostInfo, MachineIds, OS, arch};
use crate::KubeletConfig;
use crate::runtime::{ImageInfo, RuntimeVersion};

/// The kubelet version nodes report (`kubectl get nodes` VERSION), matching the
/// apiserver's `gitVersion`.
pub const KUBELET_VERSION: &str = concat!("v1.33.0-keelson.", env!("CARGO_PKG_VERSION"));

/// The kubelet's port (`daemonEndpoints.kubeletEndpoint`).
pub const KUBELET_PORT: i32 = 10250;

/// Upstream's `nodeStatusMaxImages` default.
const MAX_IMAGES: usize = 50;
/// Upstream's `MaxNamesPerImageInNodeStatus`.
const MAX_NAMES_PER_IMAGE: usize = 5;

/// What the runtime said this round.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuntimeFacts {
    /// `version()`, or None when the runtime did not answer (the node turns NotReady).
    pub(crate) version: Option<RuntimeVersion>,
    /// `list_images()`, or None when it failed (the last posted images are kept).
    pub(crate) images: Option<Vec<ImageInfo>>,
}

/// The status to post for `current` at `now`.
pub(crate) fn desired(
    current: &Node,
    config: &KubeletConfig,
    host: &HostInfo,
    facts: &RuntimeFacts,
    now: Timestamp,
) -> NodeStatus {
    let mut status = current.status.clone().unwrap_or_default();
    let capacity = status.capacity.get_or_insert_with(BTreeMap::new);
    set_quantity(capacity, "cpu", &config.cpu);
    set_quantity(capacity, "memory", &config.memory);
    set_quantity(capacity, "pods", &config.pods.to_string());
    set_quantity(capacity, "ephemeral-storage", &config.ephemeral_storage);
    let capacity = capacity.clone();
    let allocatable = status.allocatable.get_or_insert_with(BTreeMap::new);
    for (name, amount) in &capacity {
        set_quantity(allocatable, name, &amount.0);
    }
    status.addresses = Some(vec![
        address("InternalIP", &config.node_ip),
        address("Hostname", &config.node_name),
    ]);
    status.daemon_endpoints = Some(NodeDaemonEndpoints {
        kubelet_endpoint: Some(DaemonEndpoint { port: KUBELET_PORT }),
    });
    let ids = MachineIds::of(&config.node_name);
    let previous = status.node_info.take().unwrap_or_default();
    status.node_info = Some(NodeSystemInfo {
        machine_id: ids.machine_id,
        system_uuid: ids.system_uuid,
        boot_id: ids.boot_id,
        kernel_version: host.kernel_version.clone(),
        os_image: host.os_image.clone(),
        container_runtime_version: match &facts.version {
            Some(v) => format!("{}://{}", v.runtime_name, v.runtime_version),
            None if !previous.container_runtime_version.is_empty() => {
                previous.container_runtime_version.clone()
            }
            None => "unknown://Unknown".to_owned(),
        },
        kubelet_version: KUBELET_VERSION.to_owned(),
        operating_system: OS.to_owned(),
        architecture: arch().to_owned(),
        ..previous
    });
    if let Some(images) = &facts.images {
        status.images = Some(node_images(images));
    }
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let time = Time(now);
    pressure(
        conditions,
        "MemoryPressure",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
        &time,
    );
    pressure(
        conditions,
        "DiskPressure",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
        &time,
    );
    pressure(
        conditions,
        "PIDPressure",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
        &time,
    );
    ready(conditions, facts.version.is_some(), &time);
    status
}

/// Whether `desired` differs from `current` in anything but heartbeat times (upstream's
/// `nodeStatusHasChanged`). No images and an empty image list are the same (the API may
/// leave an empty list out).
pub(crate) fn changed(current: Option<&NodeStatus>, desired: &NodeStatus) -> bool {
    let strip = |status: &NodeStatus| {
        let mut status = status.clone();
        if status.images.as_ref().is_some_and(Vec::is_empty) {
            status.images = None;
        }
        for condition in status.conditions.iter_mut().flatten() {
            condition.last_heartbeat_time = None;
        }
        status
    };
    current.is_none_or(|current| strip(current) != strip(desired))
}

/// Sets `name` to `text`, keeping the stored spelling when it is the same amount (the API
/// may store `1000m` as `1`): an unchanged amount must not look like a change.
fn set_quantity(list: &mut BTreeMap<String, Quantity>, name: &str, text: &str) {
    let same = list.get(name).is_some_and(|old| {
        old.0 == text
            || matches!(
                (ExactQuantity::parse(&old.0), ExactQuantity::parse(text)),
                (Ok(a), Ok(b)) if a == b
            )
    });
    if !same {
        list.insert(name.to_owned(), Quantity(text.to_owned()));
    }
}

fn address(kind: &str, value: &str) -> NodeAddress {
    NodeAddress {
        type_: kind.to_owned(),
        address: value.to_owned(),
    }
}

/// The largest [`MAX_IMAGES`] images, each with its digests then tags, at most
/// [`MAX_NAMES_PER_IMAGE`] names.
pub(crate) fn node_images(images: &[ImageInfo]) -> Vec<ContainerImage> {
    let mut sorted: Vec<&ImageInfo> = images.iter().collect();
    sorted.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.id.cmp(&b.id)));
    sorted
        .into_iter()
        .take(MAX_IMAGES)
        .map(|image| ContainerImage {
            names: Some(
                image
                    .repo_digests
                    .iter()
                    .chain(&image.repo_tags)
                    .take(MAX_NAMES_PER_IMAGE)
                    .cloned()
                    .collect(),
            ),
            size_bytes: Some(i64::try_from(image.size).unwrap_or(i64::MAX)),
        })
        .collect()
}

/// A pressure condition that is False: created Unknown if missing, then moved to False
/// with its reason when it is not False already.
fn pressure(
    conditions: &mut Vec<NodeCondition>,
    kind: &str,
    reason: &str,
    message: &str,
    now: &Time,
) {
    let index = match conditions.iter().position(|c| c.type_ == kind) {
        Some(index) => index,
        None => {
            conditions.push(NodeCondition {
                type_: kind.to_owned(),
                status: "Unknown".to_owned(),
                ..Default::default()
            });
            conditions.len() - 1
        }
    };
    let condition = &mut conditions[index];
    condition.last_heartbeat_time = Some(now.clone());
    if condition.status != "False" {
        condition.status = "False".to_owned();
        condition.reason = Some(reason.to_owned());
        condition.message = Some(message.to_owned());
        condition.last_transition_time = Some(now.clone());
    }
}

/// The Ready condition: True while the runtime answers, else False with upstream's
/// runtime error.
fn ready(conditions: &mut Vec<NodeCondition>, runtime_up: bool, now: &Time) {
    let (status, reason, message) = if runtime_up {
        ("True", "KubeletReady", "kubelet is posting ready status")
    } else {
        ("False", "KubeletNotReady", "container runtime is down")
    };
    let mut condition = NodeCondition {
        type_: "Ready".to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    };
    match conditions.iter_mut().find(|c| c.type_ == "Ready") {
        Some(old) => {
            if old.status == condition.status {
                condition.last_transition_time = old.last_transition_time.clone();
            }
            *old = condition;
        }
        None => conditions.push(condition),
    }
}

/// The events upstream's kubelet records when a condition of its node turns (or is first
/// seen): `NodeReady`, `NodeHasSufficientMemory`, … — each with the message
/// `Node <name> status is now: <event>`.
pub(crate) fn condition_events(old: Option<&NodeStatus>, new: &NodeStatus) -> Vec<&'static str> {
    let old = old
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let mut events = Vec::new();
    for c in new.conditions.as_deref().unwrap_or_default() {
        if old
            .iter()
            .any(|o| o.type_ == c.type_ && o.status == c.status)
        {
            continue;
        }
        let event = match (c.type_.as_str(), c.status.as_str()) {
            ("Ready", "True") => "NodeReady",
            ("Ready", "False") => "NodeNotReady",
            ("MemoryPressure", "False") => "NodeHasSufficientMemory",
            ("MemoryPressure", "True") => "NodeHasInsufficientMemory",
            ("DiskPressure", "False") => "NodeHasNoDiskPressure",
            ("DiskPressure", "True") => "NodeHasDiskPressure",
            ("PIDPressure", "False") => "NodeHasSufficientPID",
            ("PIDPressure", "True") => "NodeHasInsufficientPID",
            _ => continue,
        };
        events.push(event);
    }
    events
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;

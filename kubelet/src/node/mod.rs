//! The node agent: registers this kubelet's Node, renews its Lease, posts node status,
//! and follows the Node object (labels, allocatable, pod CIDR, taints) for the pod
//! workers, as upstream kubelet v1.33 does.
//!
//! - Registration ([`registration`]): [`start`] returns once the Node exists.
//! - Status (`status`): computed every `node_status_update_frequency` (jittered up to
//!   +4 %, as upstream) and PATCHed (strategic merge on `nodes/<name>/status`) only when
//!   it changed beyond heartbeat times, or when `node_status_report_frequency` passed
//!   since the last post. The first post happens right after registration.
//! - Lease ([`lease`]): `kube-node-lease/<node>`, renewed every `lease_renew_interval`
//!   with ±10 % jitter (so thousands of nodes do not renew in lockstep); a failed renewal
//!   is retried after 200 ms, doubling up to 7 s, then the interval resumes.
//! - Watch: the own Node (field selector `metadata.name=<node>`); every change is published
//!   on the [`NodeView`] channel.
//!
//! One task per node runs the watch, the status and the Lease in one select loop.
//!
//! # Power switch (simulated nodes)
//!
//! When the runtime is the simulated one (`version().runtime_name == "simulated"`), the
//! Node annotation `sim.keelson.io/stopped: "true"` switches the node off, like pulling a
//! machine's plug: [`NodeView::powered`] turns false, the Lease is no longer renewed and
//! no status is posted, so the node lifecycle controller sees the node go silent and
//! marks it Unknown. Removing the annotation (or setting another value) switches it back
//! on: status and Lease are posted at once. A real runtime ignores the annotation.
//!
//! On stop the loop ends; the Node and Lease are left as they are (upstream does not
//! deregister).

mod agent;
mod host;
pub mod lease;
pub mod registration;
pub mod status;

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use tokio::sync::watch;

use crate::runtime::Runtime;
use crate::{KubeletConfig, KubeletError};

/// The annotation that switches a simulated node off when `"true"`.
pub const STOPPED_ANNOTATION: &str = "sim.keelson.io/stopped";

/// The runtime name of the simulated runtime.
pub const SIMULATED_RUNTIME: &str = "simulated";

/// The Node as the pod workers need it.
#[derive(Debug, Clone)]
pub struct NodeView {
    /// The latest Node read from the API.
    pub node: Arc<Node>,
    /// False while a simulated node is switched off (annotation
    /// `sim.keelson.io/stopped: "true"`): no heartbeats, no pod work.
    pub powered: bool,
}

/// A started node agent.
#[derive(Debug)]
pub struct NodeHandle {
    view: watch::Receiver<NodeView>,
    task: tokio::task::JoinHandle<Result<(), KubeletError>>,
}

impl NodeHandle {
    /// The Node, kept current.
    pub fn view(&self) -> watch::Receiver<NodeView> {
        self.view.clone()
    }

    /// Waits until the agent stopped (after `stop`).
    pub async fn finished(self) -> Result<(), KubeletError> {
        self.task.await.unwrap_or(Ok(()))
    }
}

/// Whether a node is switched on: always for a real runtime; for the simulated one,
/// unless its Node carries `sim.keelson.io/stopped: "true"`.
pub fn is_powered(simulated: bool, node: &Node) -> bool {
    !simulated
        || node
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(STOPPED_ANNOTATION))
            .is_none_or(|v| v != "true")
}

/// What upstream's kubelet records when it starts: `Starting`, the state of each
/// condition, and `NodeAllocatableEnforced`.
fn record_start_events(
    recorder: &keelson_client::events::EventQueue,
    node: &str,
    status: Option<&k8s_openapi::api::core::v1::NodeStatus>,
) {
    let normal = kube::runtime::events::EventType::Normal;
    let reference = agent::node_reference(node);
    recorder.record(
        reference.clone(),
        normal,
        "Starting",
        "Starting kubelet.".to_owned(),
    );
    recorder.record(
        reference,
        normal,
        "NodeAllocatableEnforced",
        "Updated Node Allocatable limit across pods".to_owned(),
    );
    if let Some(status) = status {
        agent::record_node_events(recorder, node, &status::condition_events(None, status));
    }
}

/// Registers the Node (returns once it exists), then keeps Lease and status fresh until
/// `stop`.
pub async fn start(
    client: kube::Client,
    config: Arc<KubeletConfig>,
    runtime: Arc<dyn Runtime>,
    stop: watch::Receiver<bool>,
) -> Result<NodeHandle, KubeletError> {
    let mut stop = stop;
    let nodes: Api<Node> = Api::all(client.clone());
    let facts = status::RuntimeFacts {
        version: runtime.version().await.ok(),
        images: runtime.list_images().await.ok(),
    };
    let simulated = facts
        .version
        .as_ref()
        .is_some_and(|v| v.runtime_name == SIMULATED_RUNTIME);
    let first_status = status::desired(
        &Node::default(),
        &config,
        host::host_info().await,
        &facts,
        Timestamp::now(),
    );
    let initial = registration::initial_node(&config, first_status);
    let node = registration::register(&nodes, &config, &initial, &mut stop)
        .await
        .map_err(|source| KubeletError::Register {
            node: config.node_name.clone(),
            source,
        })?;
    let node = Arc::new(node);
    let recorder =
        keelson_client::events::EventQueue::start(keelson_client::events::Recorder::new(
            client.clone(),
            kube::runtime::events::Reporter {
                controller: "kubelet".to_owned(),
                instance: Some(config.node_name.clone()),
            },
        ));
    record_start_events(&recorder, &config.node_name, node.status.as_ref());
    let (view_tx, view) = watch::channel(NodeView {
        node: node.clone(),
        powered: is_powered(simulated, &node),
    });
    let agent = agent::Agent {
        rng: agent::Jitter::new(&config.node_name),
        lease: lease::LeaseKeeper::new(client),
        config,
        runtime,
        nodes,
        view: view_tx,
        current: node,
        simulated,
        last_report: None,
        recorder,
    };
    let task = tokio::spawn(async move {
        tokio::select! {
            () = agent.run() => {}
            _ = stop.wait_for(|s| *s) => {}
        }
        Ok(())
    });
    Ok(NodeHandle { view, task })
}

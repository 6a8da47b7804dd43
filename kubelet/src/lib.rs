//! The Keelson kubelet: registers one Node, keeps its Lease and status fresh, and runs the
//! pods bound to it through a CRI-shaped [`runtime::Runtime`].
//!
//! - [`node`]: registration, the Lease heartbeat, node status.
//! - [`pods`]: the pods bound to this node: one worker per pod (admission, sandbox,
//!   init containers, containers, restarts with CrashLoopBackOff, graceful termination),
//!   their status as posted to the API, and cleanup of runtime pods the API no longer has.
//! - [`prober`]: liveness, readiness and startup probes.
//! - [`runtime`]: the runtime boundary and the simulated runtime.
//!
//! Architecture invariant: the kubelet talks to the cluster only through the API.

pub mod config;
pub mod node;
pub mod pods;
pub mod prober;
pub mod runtime;

use std::sync::Arc;

pub use config::KubeletConfig;
use tokio::sync::watch;

/// Why a kubelet stopped.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// The Node could not be registered.
    #[error("registering node {node}")]
    Register {
        /// The node.
        node: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// The runtime failed in a way the kubelet cannot work around.
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
}

/// Runs one kubelet until `stop` turns true, then drains: pods keep running (as upstream's
/// kubelet leaves containers running when it stops), work in flight finishes.
pub async fn run(
    client: kube::Client,
    config: KubeletConfig,
    runtime: Arc<dyn runtime::Runtime>,
    stop: watch::Receiver<bool>,
) -> Result<(), KubeletError> {
    let config = Arc::new(config);
    let node = node::start(
        client.clone(),
        config.clone(),
        runtime.clone(),
        stop.clone(),
    )
    .await?;
    let pods = pods::start(client, config, runtime, node.view(), stop);
    let (node_result, pods_result) = tokio::join!(node.finished(), pods.finished());
    node_result.and(pods_result)
}

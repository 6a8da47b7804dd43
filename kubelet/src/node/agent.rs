//! The node agent's one task: a select loop over the Node watch, the status tick and the
//! Lease tick.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::host::{fnv1a, host_info};
use super::lease::LeaseKeeper;
use super::status::{self, RuntimeFacts};
use super::{NodeView, is_powered};
use crate::KubeletConfig;
use crate::runtime::Runtime;

/// First retry of a failed Lease renewal (upstream's lease controller: 200 ms doubling).
const LEASE_RETRY_MIN: Duration = Duration::from_millis(200);
/// Longest wait between failed Lease renewals (upstream: 7 s).
const LEASE_RETRY_MAX: Duration = Duration::from_secs(7);

/// The state of one node agent.
#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) config: Arc<KubeletConfig>,
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) nodes: Api<Node>,
    pub(crate) lease: LeaseKeeper,
    pub(crate) view: watch::Sender<NodeView>,
    pub(crate) current: Arc<Node>,
    pub(crate) simulated: bool,
    pub(crate) last_report: Option<Instant>,
    pub(crate) rng: Jitter,
    pub(crate) recorder: keelson_client::events::EventQueue,
}

impl Agent {
    fn powered(&self) -> bool {
        is_powered(self.simulated, &self.current)
    }

    /// Runs until dropped (the caller selects it against `stop`).
    pub(crate) async fn run(mut self) {
        let selector = format!("metadata.name={}", self.config.node_name);
        let mut events = watcher::watcher(
            self.nodes.clone(),
            watcher::Config::default().fields(&selector),
        )
        .default_backoff()
        .boxed();
        let mut status_at = Instant::now();
        let mut lease_at = status_at;
        let mut lease_retry = LEASE_RETRY_MIN;
        loop {
            let powered = self.powered();
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(Event::Apply(node) | Event::InitApply(node))) => {
                        self.observe(node);
                        if !powered && self.powered() {
                            tracing::info!(node = %self.config.node_name, "node switched on");
                            // Like a machine booting: post the status at once, changed or not.
                            self.last_report = None;
                            status_at = Instant::now();
                            lease_at = status_at;
                        }
                    }
                    Some(Ok(Event::Delete(_))) => {
                        tracing::warn!(node = %self.config.node_name, "node deleted from the API");
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tracing::warn!(node = %self.config.node_name, %error, "watching node");
                    }
                    None => return,
                },
                () = sleep_until(status_at), if powered => {
                    self.sync_status().await;
                    status_at = Instant::now()
                        + self.rng.scale(self.config.node_status_update_frequency, 1.0, 1.04);
                }
                () = sleep_until(lease_at), if powered => {
                    match self.lease.renew(&self.current, &self.config).await {
                        Ok(()) => {
                            lease_retry = LEASE_RETRY_MIN;
                            lease_at = Instant::now()
                                + self.rng.scale(self.config.lease_renew_interval, 0.9, 1.1);
                        }
                        Err(error) => {
                            tracing::warn!(node = %self.config.node_name, %error, "renewing lease");
                            lease_at = Instant::now() + lease_retry;
                            lease_retry = (lease_retry * 2).min(LEASE_RETRY_MAX);
                        }
                    }
                }
            }
        }
    }

    /// Takes a newer Node and publishes it.
    fn observe(&mut self, node: Node) {
        self.current = Arc::new(node);
        let powered = self.powered();
        self.view.send_replace(NodeView {
            node: self.current.clone(),
            powered,
        });
    }

    /// Computes the status and patches it when it changed or the report is due.
    async fn sync_status(&mut self) {
        let facts = RuntimeFacts {
            version: self.runtime.version().await.ok(),
            images: self.runtime.list_images().await.ok(),
        };
        if let Some(version) = &facts.version {
            self.simulated = version.runtime_name == super::SIMULATED_RUNTIME;
        }
        if !self.powered() {
            return;
        }
        let desired = status::desired(
            &self.current,
            &self.config,
            host_info().await,
            &facts,
            Timestamp::now(),
        );
        let due = self
            .last_report
            .is_none_or(|at| at.elapsed() >= self.config.node_status_report_frequency);
        if !due && !status::changed(self.current.status.as_ref(), &desired) {
            return;
        }
        let patch = Patch::Strategic(serde_json::json!({ "status": desired }));
        match self
            .nodes
            .patch_status(&self.config.node_name, &PatchParams::default(), &patch)
            .await
        {
            Ok(node) => {
                self.last_report = Some(Instant::now());
                if let Some(new) = &node.status {
                    let turned = status::condition_events(self.current.status.as_ref(), new);
                    record_node_events(&self.recorder, &self.config.node_name, &turned);
                }
                self.observe(node);
            }
            Err(error) => {
                tracing::warn!(node = %self.config.node_name, %error, "posting node status");
            }
        }
    }
}

/// Queues upstream's node events (`Node <name> status is now: <event>`).
pub(crate) fn record_node_events(
    recorder: &keelson_client::events::EventQueue,
    node: &str,
    events: &[&'static str],
) {
    for reason in events {
        recorder.record(
            node_reference(node),
            kube::runtime::events::EventType::Normal,
            reason,
            format!("Node {node} status is now: {reason}"),
        );
    }
}

/// The node as events name it (upstream's kubelet uses the node name as its UID).
pub(crate) fn node_reference(node: &str) -> k8s_openapi::api::core::v1::ObjectReference {
    k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("Node".to_owned()),
        name: Some(node.to_owned()),
        uid: Some(node.to_owned()),
        ..Default::default()
    }
}

/// A small xorshift generator spreading the nodes' timers (5,000 nodes started together
/// must not renew in lockstep).
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    /// Seeded from the node name and the clock.
    pub(crate) fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self(fnv1a(&[name.as_bytes(), &nanos.to_le_bytes()]) | 1)
    }

    /// A number in [0, 1).
    fn next_unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// `base` times a factor drawn uniformly from [low, high).
    pub(crate) fn scale(&mut self, base: Duration, low: f64, high: f64) -> Duration {
        base.mul_f64(low + (high - low) * self.next_unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_bounds_and_spreads() {
        let base = Duration::from_secs(10);
        let mut a = Jitter::new("node-a");
        let mut b = Jitter::new("node-b");
        let draws: Vec<Duration> = (0..1000).map(|_| a.scale(base, 0.9, 1.1)).collect();
        assert!(
            draws
                .iter()
                .all(|d| *d >= Duration::from_secs(9) && *d < Duration::from_secs(11))
        );
        let below = draws.iter().filter(|d| **d < base).count();
        assert!(
            (300..700).contains(&below),
            "{below} of 1000 below the mean"
        );
        let firsts: Vec<Duration> = (0..5).map(|_| b.scale(base, 0.9, 1.1)).collect();
        assert_ne!(
            firsts,
            draws[..5].to_vec(),
            "two nodes draw different delays"
        );
    }
}

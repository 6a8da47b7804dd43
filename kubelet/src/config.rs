//! What one kubelet is told: its node's name, size, labels and taints, and its timing
//! (upstream's `KubeletConfiguration` defaults).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;

/// Everything a kubelet needs besides its API client and runtime.
#[derive(Debug, Clone)]
pub struct KubeletConfig {
    /// The Node's name (and `kubernetes.io/hostname`).
    pub node_name: String,
    /// The node's IP (`InternalIP`, every host-network pod's IP).
    pub node_ip: String,
    /// CPU capacity, as a quantity (`4`, `3500m`).
    pub cpu: String,
    /// Memory capacity (`32Gi`).
    pub memory: String,
    /// Pod capacity.
    pub pods: u32,
    /// Ephemeral storage capacity.
    pub ephemeral_storage: String,
    /// Labels added to the well-known ones at registration.
    pub labels: BTreeMap<String, String>,
    /// Taints set at registration (`--register-with-taints`).
    pub taints: Vec<Taint>,
    /// Lease duration (`nodeLeaseDurationSeconds`, 40 s).
    pub lease_duration: Duration,
    /// How often the Lease is renewed (upstream: a quarter of the duration, 10 s), jittered.
    pub lease_renew_interval: Duration,
    /// How often node status is computed (`nodeStatusUpdateFrequency`, 10 s); it is
    /// posted when it changed.
    pub node_status_update_frequency: Duration,
    /// Longest time between posted statuses when nothing changed
    /// (`nodeStatusReportFrequency`, 5 min).
    pub node_status_report_frequency: Duration,
    /// How often runtime pods are checked against the API (housekeeping, 2 s).
    pub housekeeping_interval: Duration,
    /// How long a shutdown waits for work in flight.
    pub drain_timeout: Duration,
    /// How long a pod worker waits after a container could not be configured
    /// (`CreateContainerConfigError`: a missing ConfigMap or Secret key) before trying
    /// again: upstream's pod worker `backOffPeriod`, 10 s, jittered up to +50 %.
    pub sync_error_backoff: Duration,
}

impl KubeletConfig {
    /// Upstream's defaults for a node of 4 CPUs, 32 GiB and 110 pods.
    pub fn new(node_name: &str) -> Self {
        Self {
            node_name: node_name.to_owned(),
            node_ip: "127.0.0.1".to_owned(),
            cpu: "4".to_owned(),
            memory: "32Gi".to_owned(),
            pods: 110,
            ephemeral_storage: "100Gi".to_owned(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            lease_duration: Duration::from_secs(40),
            lease_renew_interval: Duration::from_secs(10),
            node_status_update_frequency: Duration::from_secs(10),
            node_status_report_frequency: Duration::from_secs(300),
            housekeeping_interval: Duration::from_secs(2),
            drain_timeout: Duration::from_secs(10),
            sync_error_backoff: Duration::from_secs(10),
        }
    }
}

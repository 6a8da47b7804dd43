//! The KubeSchedulerConfiguration as written in a file: every field optional, unknown
//! fields rejected (upstream decodes strictly). Defaulting and validation turn it
//! into [`super::SchedulerConfig`].

use serde::Deserialize;
use serde_json::Value;

/// The top-level document.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawConfiguration {
    /// Must be `kubescheduler.config.k8s.io/v1`.
    pub(super) api_version: Option<String>,
    /// Must be `KubeSchedulerConfiguration`.
    pub(super) kind: Option<String>,
    /// Workers that filter and score nodes in parallel.
    pub(super) parallelism: Option<i32>,
    /// Leader election settings.
    pub(super) leader_election: Option<RawLeaderElection>,
    /// Cluster-wide percentage of nodes to score (0 = adaptive).
    pub(super) percentage_of_nodes_to_score: Option<i32>,
    /// First backoff of an unschedulable pod.
    pub(super) pod_initial_backoff_seconds: Option<i64>,
    /// Longest backoff of an unschedulable pod.
    pub(super) pod_max_backoff_seconds: Option<i64>,
    /// Scheduling profiles.
    pub(super) profiles: Option<Vec<RawProfile>>,
    /// Accepted for compatibility; not used by Keelson (the kubeconfig is a flag).
    #[expect(dead_code, reason = "accepted for upstream compatibility, unused")]
    pub(super) client_connection: Option<Value>,
    /// Accepted for compatibility; not used by Keelson.
    #[expect(dead_code, reason = "accepted for upstream compatibility, unused")]
    pub(super) enable_profiling: Option<bool>,
    /// Accepted for compatibility; not used by Keelson.
    #[expect(dead_code, reason = "accepted for upstream compatibility, unused")]
    pub(super) enable_contention_profiling: Option<bool>,
    /// Accepted for compatibility; not used by Keelson.
    #[expect(dead_code, reason = "accepted for upstream compatibility, unused")]
    pub(super) delay_cache_until_active: Option<bool>,
    /// Accepted for compatibility; not used by Keelson.
    #[expect(dead_code, reason = "accepted for upstream compatibility, unused")]
    pub(super) healthz_bind_address: Option<String>,
    /// Accepted for compatibility; not used by Keelson.
    #[expect(dead_code, reason = "accepted for upstream compatibility, unused")]
    pub(super) metrics_bind_address: Option<String>,
    /// Scheduler extenders; accepted only when empty (Keelson has none).
    pub(super) extenders: Option<Vec<Value>>,
}

/// `leaderElection`, durations as Go duration strings.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawLeaderElection {
    /// Whether to take part in leader election.
    pub(super) leader_elect: Option<bool>,
    /// How long a lease is held.
    pub(super) lease_duration: Option<String>,
    /// How long the leader keeps trying to renew before giving up.
    pub(super) renew_deadline: Option<String>,
    /// Wait between acquire/renew attempts.
    pub(super) retry_period: Option<String>,
    /// Lock object kind; only `leases`.
    pub(super) resource_lock: Option<String>,
    /// Lock object name.
    pub(super) resource_name: Option<String>,
    /// Lock object namespace.
    pub(super) resource_namespace: Option<String>,
}

/// One entry of `profiles`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawProfile {
    /// The `spec.schedulerName` pods use to pick this profile.
    pub(super) scheduler_name: Option<String>,
    /// Per-profile override of the percentage of nodes to score.
    pub(super) percentage_of_nodes_to_score: Option<i32>,
    /// Plugins enabled/disabled per extension point.
    pub(super) plugins: Option<RawPlugins>,
    /// Arguments per plugin.
    pub(super) plugin_config: Option<Vec<RawPluginConfig>>,
}

/// `plugins`: one set per extension point.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawPlugins {
    /// PreEnqueue.
    pub(super) pre_enqueue: Option<RawPluginSet>,
    /// QueueSort.
    pub(super) queue_sort: Option<RawPluginSet>,
    /// PreFilter.
    pub(super) pre_filter: Option<RawPluginSet>,
    /// Filter.
    pub(super) filter: Option<RawPluginSet>,
    /// PostFilter.
    pub(super) post_filter: Option<RawPluginSet>,
    /// PreScore.
    pub(super) pre_score: Option<RawPluginSet>,
    /// Score.
    pub(super) score: Option<RawPluginSet>,
    /// Reserve.
    pub(super) reserve: Option<RawPluginSet>,
    /// Permit.
    pub(super) permit: Option<RawPluginSet>,
    /// PreBind.
    pub(super) pre_bind: Option<RawPluginSet>,
    /// Bind.
    pub(super) bind: Option<RawPluginSet>,
    /// PostBind.
    pub(super) post_bind: Option<RawPluginSet>,
    /// Every extension point a plugin implements.
    pub(super) multi_point: Option<RawPluginSet>,
}

/// `{enabled: [...], disabled: [...]}`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawPluginSet {
    /// Plugins added (or re-configured) at this point, in order.
    pub(super) enabled: Option<Vec<RawPlugin>>,
    /// Default plugins removed from this point; `*` removes them all.
    pub(super) disabled: Option<Vec<RawPlugin>>,
}

/// `{name, weight}`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawPlugin {
    /// The plugin name.
    pub(super) name: String,
    /// Score weight (only meaningful for Score and MultiPoint).
    pub(super) weight: Option<i32>,
}

/// `{name, args}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawPluginConfig {
    /// The plugin the arguments are for.
    pub(super) name: String,
    /// The arguments; decoded by plugin name.
    pub(super) args: Option<Value>,
}

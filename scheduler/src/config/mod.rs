//! Scheduler configuration: a `KubeSchedulerConfiguration`
//! (`kubescheduler.config.k8s.io/v1`) read from YAML or JSON, defaulted and
//! validated as upstream kube-scheduler v1.33 does, with each profile's plugins
//! resolved into the ordered list per extension point.
//!
//! Entry points: [`parse_yaml`], [`parse_json`], [`SchedulerConfig::default`], and
//! [`nodes_to_score`] (the adaptive share of nodes scored per cycle).

mod args;
mod error;
mod labels;
mod leader_election;
mod plugins;
mod registry;
mod wire;

use std::time::Duration;

pub use args::{
    BalancedAllocationArgs, DefaultConstraint, DefaultPreemptionArgs, DefaultingType,
    InterPodAffinityArgs, NodeResourcesFitArgs, PluginArgs, PodTopologySpreadArgs, ResourceSpec,
    ScoringStrategy, ScoringStrategyType, UtilizationShapePoint, VolumeBindingArgs,
};
pub use error::{ConfigError, FieldError, FieldErrorKind, FieldErrors, FieldValue};
pub use keelson_client::duration::{format_go_duration, parse_go_duration};
pub use plugins::{ResolvedPlugins, WeightedPlugin};
pub use registry::{DEFAULT_MULTI_POINT, ExtensionPoint, REGISTRY, extension_points_of};

pub use leader_election::LeaderElection;

use leader_election::{default_leader_election, leader_election};
use wire::{RawConfiguration, RawProfile};

/// The only accepted `apiVersion`.
pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";
/// The only accepted `kind`.
pub const KIND: &str = "KubeSchedulerConfiguration";
/// The profile name used when none is configured.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// A defaulted, validated scheduler configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Workers that filter and score nodes in parallel.
    pub parallelism: u32,
    /// Share of nodes scored per cycle, 0..=100; 0 = adaptive (see [`nodes_to_score`]).
    pub percentage_of_nodes_to_score: u8,
    /// First backoff of a pod that failed to schedule.
    pub pod_initial_backoff: Duration,
    /// Longest backoff of a pod that failed to schedule.
    pub pod_max_backoff: Duration,
    /// Leader election settings.
    pub leader_election: LeaderElection,
    /// Profiles, in the file's order; names are unique.
    pub profiles: Vec<Profile>,
}

/// One scheduling profile, chosen by a pod's `spec.schedulerName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The name pods select it by.
    pub scheduler_name: String,
    /// Override of the global percentage of nodes to score.
    pub percentage_of_nodes_to_score: Option<u8>,
    /// Effective plugins per extension point.
    pub plugins: ResolvedPlugins,
    /// Typed plugin arguments.
    pub args: PluginArgs,
}

impl Profile {
    /// The percentage this profile scores with, given the global one.
    pub fn percentage(&self, global: u8) -> u8 {
        self.percentage_of_nodes_to_score.unwrap_or(global)
    }
}

impl Default for SchedulerConfig {
    /// Upstream's defaults: what an empty KubeSchedulerConfiguration yields.
    fn default() -> Self {
        match from_raw(RawConfiguration::default()) {
            Ok(config) => config,
            // The empty document always validates; this arm is never taken.
            Err(_) => SchedulerConfig {
                parallelism: 16,
                percentage_of_nodes_to_score: 0,
                pod_initial_backoff: Duration::from_secs(1),
                pod_max_backoff: Duration::from_secs(10),
                leader_election: default_leader_election(),
                profiles: Vec::new(),
            },
        }
    }
}

impl SchedulerConfig {
    /// The profile serving `scheduler_name`, if any.
    pub fn profile(&self, scheduler_name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.scheduler_name == scheduler_name)
    }
}

/// Reads a configuration from YAML text (JSON is YAML too). Syntax errors carry
/// the line and column.
pub fn parse_yaml(text: &str) -> Result<SchedulerConfig, ConfigError> {
    let raw: Option<RawConfiguration> = serde_saphyr::from_str(text).map_err(ConfigError::Yaml)?;
    from_raw(raw.unwrap_or_default())
}

/// Reads a configuration from JSON text.
pub fn parse_json(text: &str) -> Result<SchedulerConfig, ConfigError> {
    let raw: RawConfiguration = serde_json::from_str(text).map_err(ConfigError::Json)?;
    from_raw(raw)
}

/// How many feasible nodes to look for before scoring, out of `num_all_nodes`,
/// with `percentage` from the profile or the global setting (upstream's
/// `numFeasibleNodesToFind`): all nodes below 100 nodes or at 100 %; 0 % means
/// adaptive, `50 - nodes/125` percent but at least 5 %; never fewer than 100.
pub fn nodes_to_score(num_all_nodes: usize, percentage: u8) -> usize {
    const MIN_NODES: usize = 100;
    const MIN_PERCENTAGE: usize = 5;
    if num_all_nodes < MIN_NODES || percentage >= 100 {
        return num_all_nodes;
    }
    let mut pct = usize::from(percentage);
    if pct == 0 {
        pct = 50usize
            .saturating_sub(num_all_nodes / 125)
            .max(MIN_PERCENTAGE);
    }
    (num_all_nodes * pct / 100).max(MIN_NODES)
}

fn from_raw(raw: RawConfiguration) -> Result<SchedulerConfig, ConfigError> {
    let api_version = raw.api_version.clone().unwrap_or_default();
    let kind = raw.kind.clone().unwrap_or_default();
    // An empty document stands for the defaults; otherwise both must be named.
    let is_empty_doc = raw.api_version.is_none() && raw.kind.is_none() && is_blank(&raw);
    if !is_empty_doc && (api_version != API_VERSION || kind != KIND) {
        return Err(ConfigError::UnknownKind { api_version, kind });
    }
    let mut errs = Vec::new();

    let parallelism = raw.parallelism.unwrap_or(16);
    if parallelism <= 0 {
        let detail = "should be an integer value greater than zero";
        errs.push(FieldError::invalid("parallelism", parallelism, detail));
    }
    let percentage = raw.percentage_of_nodes_to_score.unwrap_or(0);
    let percentage_of_nodes_to_score =
        check_percentage("percentageOfNodesToScore", percentage, &mut errs);
    let initial = raw.pod_initial_backoff_seconds.unwrap_or(1);
    let max = raw.pod_max_backoff_seconds.unwrap_or(10);
    if initial <= 0 {
        errs.push(FieldError::invalid(
            "podInitialBackoffSeconds",
            initial,
            "must be greater than 0",
        ));
    }
    if max < initial {
        let detail = "must be greater than or equal to PodInitialBackoffSeconds";
        errs.push(FieldError::invalid("podMaxBackoffSeconds", max, detail));
    }
    let leader_election = leader_election(raw.leader_election.unwrap_or_default(), &mut errs);
    if let Some(extenders) = raw.extenders.as_ref().filter(|e| !e.is_empty()) {
        let count = i64::try_from(extenders.len()).unwrap_or(i64::MAX);
        errs.push(FieldError::invalid(
            "extenders",
            count,
            "scheduler extenders are not supported",
        ));
    }

    let mut raw_profiles = raw.profiles.unwrap_or_default();
    if raw_profiles.is_empty() {
        raw_profiles.push(RawProfile::default());
    }
    if raw_profiles.len() == 1 && raw_profiles[0].scheduler_name.is_none() {
        raw_profiles[0].scheduler_name = Some(DEFAULT_SCHEDULER_NAME.to_owned());
    }
    let mut profiles: Vec<Profile> = Vec::new();
    for (i, raw_profile) in raw_profiles.into_iter().enumerate() {
        let path = format!("profiles[{i}]");
        let name = raw_profile.scheduler_name.clone().unwrap_or_default();
        if name.is_empty() {
            errs.push(FieldError::required(format!("{path}.schedulerName"), ""));
        } else if profiles.iter().any(|p| p.scheduler_name == name) {
            errs.push(FieldError::duplicate(
                format!("{path}.schedulerName"),
                name.as_str(),
            ));
        }
        if let Some(profile) = profile(&path, raw_profile, &mut errs) {
            profiles.push(profile);
        }
    }
    check_common_queue_sort(&profiles, &mut errs);

    if !errs.is_empty() {
        return Err(ConfigError::Invalid(FieldErrors(errs)));
    }
    Ok(SchedulerConfig {
        parallelism: u32::try_from(parallelism).unwrap_or(16),
        percentage_of_nodes_to_score,
        pod_initial_backoff: Duration::from_secs(initial.unsigned_abs()),
        pod_max_backoff: Duration::from_secs(max.unsigned_abs()),
        leader_election,
        profiles,
    })
}

fn is_blank(raw: &RawConfiguration) -> bool {
    raw.parallelism.is_none()
        && raw.leader_election.is_none()
        && raw.percentage_of_nodes_to_score.is_none()
        && raw.pod_initial_backoff_seconds.is_none()
        && raw.pod_max_backoff_seconds.is_none()
        && raw.profiles.is_none()
}

fn check_percentage(path: &str, value: i32, errs: &mut Vec<FieldError>) -> u8 {
    match u8::try_from(value) {
        Ok(v) if v <= 100 => v,
        _ => {
            errs.push(FieldError::invalid(
                path,
                value,
                "not in valid range [0-100]",
            ));
            0
        }
    }
}

fn profile(path: &str, raw: RawProfile, errs: &mut Vec<FieldError>) -> Option<Profile> {
    let percentage = raw
        .percentage_of_nodes_to_score
        .map(|p| check_percentage(&format!("{path}.percentageOfNodesToScore"), p, errs));
    let resolved = match plugins::resolve(path, raw.plugins.as_ref()) {
        Ok(resolved) => Some(resolved),
        Err(e) => {
            errs.push(e);
            None
        }
    };
    let mut args = PluginArgs::default();
    let mut seen: Vec<String> = Vec::new();
    for (i, config) in raw
        .plugin_config
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let config_path = format!("{path}.pluginConfig[{i}]");
        if seen.contains(&config.name) {
            errs.push(FieldError::duplicate(&config_path, config.name.as_str()));
            continue;
        }
        seen.push(config.name.clone());
        if let Err(e) = plugins::check_name(&config_path, &config.name) {
            errs.push(e);
            continue;
        }
        args::apply(
            &mut args,
            &config.name,
            config.args.as_ref(),
            &config_path,
            errs,
        );
    }
    Some(Profile {
        scheduler_name: raw.scheduler_name.unwrap_or_default(),
        percentage_of_nodes_to_score: percentage,
        plugins: resolved?,
        args,
    })
}

/// Upstream requires every profile to sort the queue the same way (one queue).
fn check_common_queue_sort(profiles: &[Profile], errs: &mut Vec<FieldError>) {
    let Some(first) = profiles.first() else {
        return;
    };
    let canon = first.plugins.at(ExtensionPoint::QueueSort);
    for (i, p) in profiles.iter().enumerate().skip(1) {
        let current = p.plugins.at(ExtensionPoint::QueueSort);
        if current != canon {
            let shown = FieldValue::Raw(format!("{current:?}"));
            let path = format!("profiles[{i}].plugins.queueSort");
            errs.push(FieldError::invalid(
                path,
                shown,
                "must be the same for all profiles",
            ));
        }
    }
}

#[cfg(test)]
mod tests;

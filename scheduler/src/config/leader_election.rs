//! `leaderElection`: defaults (leases, 15s/10s/2s, `kube-system/kube-scheduler`)
//! and upstream's checks.

use std::time::Duration;

use super::error::{FieldError, FieldValue};
use super::wire::RawLeaderElection;
use keelson_client::duration::{format_go_duration, parse_go_duration};

/// Leader election through a coordination Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElection {
    /// Whether to take part in leader election.
    pub leader_elect: bool,
    /// How long a lease is held.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// Wait between acquire/renew attempts.
    pub retry_period: Duration,
    /// Lock kind (always `leases`).
    pub resource_lock: String,
    /// Lease name.
    pub resource_name: String,
    /// Lease namespace.
    pub resource_namespace: String,
}

impl LeaderElection {
    /// The lease and its timing, for [`keelson_client::leader::run`].
    pub fn lease_settings(&self) -> keelson_client::leader::LeaseSettings {
        keelson_client::leader::LeaseSettings {
            lease_duration: self.lease_duration,
            renew_deadline: self.renew_deadline,
            retry_period: self.retry_period,
            name: self.resource_name.clone(),
            namespace: self.resource_namespace.clone(),
        }
    }
}

pub(super) fn default_leader_election() -> LeaderElection {
    LeaderElection {
        leader_elect: true,
        lease_duration: Duration::from_secs(15),
        renew_deadline: Duration::from_secs(10),
        retry_period: Duration::from_secs(2),
        resource_lock: "leases".to_owned(),
        resource_name: "kube-scheduler".to_owned(),
        resource_namespace: "kube-system".to_owned(),
    }
}

pub(super) fn leader_election(
    raw: RawLeaderElection,
    errs: &mut Vec<FieldError>,
) -> LeaderElection {
    let defaults = default_leader_election();
    let mut duration = |field: &str, text: Option<String>, default: Duration| -> Duration {
        match text {
            None => default,
            Some(t) => parse_go_duration(&t).unwrap_or_else(|| {
                let path = format!("leaderElection.{field}");
                errs.push(FieldError::invalid(
                    path,
                    t.as_str(),
                    "not a valid duration",
                ));
                default
            }),
        }
    };
    let le = LeaderElection {
        leader_elect: raw.leader_elect.unwrap_or(true),
        lease_duration: duration("leaseDuration", raw.lease_duration, defaults.lease_duration),
        renew_deadline: duration("renewDeadline", raw.renew_deadline, defaults.renew_deadline),
        retry_period: duration("retryPeriod", raw.retry_period, defaults.retry_period),
        resource_lock: raw
            .resource_lock
            .filter(|s| !s.is_empty())
            .unwrap_or(defaults.resource_lock),
        resource_name: raw
            .resource_name
            .filter(|s| !s.is_empty())
            .unwrap_or(defaults.resource_name),
        resource_namespace: raw
            .resource_namespace
            .filter(|s| !s.is_empty())
            .unwrap_or(defaults.resource_namespace),
    };
    if le.leader_elect {
        let shown = |d: Duration| FieldValue::Str(format_go_duration(d));
        for (field, value) in [
            ("leaseDuration", le.lease_duration),
            ("renewDeadline", le.renew_deadline),
            ("retryPeriod", le.retry_period),
        ] {
            if value.is_zero() {
                errs.push(FieldError::invalid(
                    format!("leaderElection.{field}"),
                    shown(value),
                    "must be greater than zero",
                ));
            }
        }
        if le.lease_duration <= le.renew_deadline {
            let detail = "LeaseDuration must be greater than RenewDeadline";
            errs.push(FieldError::invalid(
                "leaderElection.leaseDuration",
                shown(le.renew_deadline),
                detail,
            ));
        }
        if le.resource_lock != "leases" {
            let detail = r#"resourceLock value must be "leases""#;
            errs.push(FieldError::invalid(
                "leaderElection.resourceLock",
                le.resource_lock.as_str(),
                detail,
            ));
        }
    }
    le
}

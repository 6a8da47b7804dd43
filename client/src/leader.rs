//! Leader election on a `coordination.k8s.io/v1` Lease (upstream client-go
//! `leaderelection` as kube-scheduler runs it): the decision is pure ([`Elector`], time
//! passed in); [`run`] drives it against the API and reports leadership on a watch channel.
//!
//! Expiry is judged by the local clock from when this process last saw the lease record
//! change, as upstream does, so clocks of different hosts need not agree.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio::sync::watch;

/// Where the lease lives and its timing (upstream's `leaderElection` settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    /// How long a lease is held without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// Wait between acquire/renew attempts.
    pub retry_period: Duration,
    /// Lease name.
    pub name: String,
    /// Lease namespace.
    pub namespace: String,
}

impl LeaseSettings {
    /// Upstream's defaults (15 s, 10 s, 2 s) for the lease `kube-system/<name>`.
    pub fn named(name: &str) -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            name: name.to_owned(),
            namespace: "kube-system".to_owned(),
        }
    }
}

/// What to do with the lease now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Take the lease (free, expired, or never created).
    Acquire,
    /// We hold it: renew.
    Renew,
    /// Someone else holds a live lease.
    Wait {
        /// The current holder.
        holder: String,
    },
}

/// The pure state of one candidate.
#[derive(Debug)]
pub struct Elector {
    identity: String,
    lease_duration: Duration,
    observed: Option<(LeaseSpec, Instant)>,
}

impl Elector {
    /// A candidate named `identity`.
    pub fn new(identity: String, lease_duration: Duration) -> Self {
        Self {
            identity,
            lease_duration,
            observed: None,
        }
    }

    /// Our identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Looks at the lease as read at `now` and decides.
    pub fn decide(&mut self, spec: Option<&LeaseSpec>, now: Instant) -> Decision {
        let Some(spec) = spec else {
            return Decision::Acquire;
        };
        match &self.observed {
            Some((seen, _)) if seen == spec => {}
            _ => self.observed = Some((spec.clone(), now)),
        }
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder.is_empty() {
            return Decision::Acquire;
        }
        if holder == self.identity {
            return Decision::Renew;
        }
        let duration = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(self.lease_duration, Duration::from_secs);
        let seen_at = self.observed.as_ref().map_or(now, |(_, at)| *at);
        if seen_at + duration <= now {
            Decision::Acquire
        } else {
            Decision::Wait { holder }
        }
    }

    /// The lease record to write for an `Acquire` or `Renew` of `current` at wall time `now`.
    pub fn record(&self, current: Option<&LeaseSpec>, now: jiff::Timestamp) -> LeaseSpec {
        let ours =
            current.and_then(|s| s.holder_identity.as_deref()) == Some(self.identity.as_str());
        let transitions = current.and_then(|s| s.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: if ours {
                current.and_then(|s| s.acquire_time.clone())
            } else {
                Some(MicroTime(now))
            },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(if ours || current.is_none() {
                transitions
            } else {
                transitions + 1
            }),
            ..LeaseSpec::default()
        }
    }
}

/// Runs the election until `stop` fires, publishing whether we lead on `leading`. When
/// we led and renewals failed for `renew_deadline`, publishes `false` and returns (the
/// caller exits, as upstream does when it loses the lease). On `stop` a held lease is
/// released so another candidate takes over at once.
pub async fn run(
    client: kube::Client,
    settings: LeaseSettings,
    identity: String,
    leading: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let api: Api<Lease> = Api::namespaced(client, &settings.namespace);
    let mut elector = Elector::new(identity, settings.lease_duration);
    let mut last_renew: Option<Instant> = None;
    loop {
        let now = Instant::now();
        match try_once(&api, &settings.name, &mut elector, now).await {
            Ok(true) => {
                last_renew = Some(now);
                if !*leading.borrow() {
                    tracing::info!(identity = elector.identity(), "acquired the lease");
                    leading.send_replace(true);
                }
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "leader election"),
        }
        if let Some(at) = last_renew
            && *leading.borrow()
            && now.duration_since(at) > settings.renew_deadline
        {
            tracing::error!("leaderelection lost");
            leading.send_replace(false);
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(settings.retry_period) => {}
            _ = stop.changed() => break,
        }
    }
    if *leading.borrow() {
        release(&api, &settings.name, elector.identity()).await;
    }
}

/// One read-decide-write round; whether we hold the lease afterwards.
async fn try_once(
    api: &Api<Lease>,
    name: &str,
    elector: &mut Elector,
    now: Instant,
) -> Result<bool, kube::Error> {
    let current = api.get_opt(name).await?;
    let spec = current.as_ref().and_then(|l| l.spec.as_ref());
    if let Decision::Wait { .. } = elector.decide(spec, now) {
        return Ok(false);
    }
    let record = elector.record(spec, jiff::Timestamp::now());
    match current {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    ..ObjectMeta::default()
                },
                spec: Some(record),
            };
            api.create(&PostParams::default(), &lease).await?;
        }
        Some(mut lease) => {
            lease.spec = Some(record);
            // The resourceVersion makes the write fail if someone else wrote first.
            api.replace(name, &PostParams::default(), &lease).await?;
        }
    }
    Ok(true)
}

/// Gives the lease up: empty holder, 1 s duration (upstream's release on cancel).
async fn release(api: &Api<Lease>, name: &str, identity: &str) {
    let Ok(Some(mut lease)) = api.get_opt(name).await else {
        return;
    };
    let Some(spec) = lease.spec.as_mut() else {
        return;
    };
    if spec.holder_identity.as_deref() != Some(identity) {
        return;
    }
    spec.holder_identity = None;
    spec.lease_duration_seconds = Some(1);
    spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
    if let Err(error) = api.replace(name, &PostParams::default(), &lease).await {
        tracing::warn!(%error, "releasing the lease");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn held(by: &str, renew: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(by.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(jiff::Timestamp::from_second(renew).unwrap())),
            lease_transitions: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn decisions() {
        let t0 = Instant::now();
        let mut e = Elector::new("me".into(), Duration::from_secs(15));
        assert_eq!(e.decide(None, t0), Decision::Acquire);
        assert_eq!(e.decide(Some(&held("me", 1)), t0), Decision::Renew);
        let other = held("other", 1);
        let wait = Decision::Wait {
            holder: "other".into(),
        };
        assert_eq!(e.decide(Some(&other), t0), wait);
        // Unchanged for less than the lease duration: still theirs.
        assert_eq!(e.decide(Some(&other), t0 + Duration::from_secs(14)), wait);
        // They renewed: the clock restarts.
        let renewed = held("other", 3);
        assert_eq!(e.decide(Some(&renewed), t0 + Duration::from_secs(14)), wait);
        assert_eq!(e.decide(Some(&renewed), t0 + Duration::from_secs(28)), wait);
        assert_eq!(
            e.decide(Some(&renewed), t0 + Duration::from_secs(29)),
            Decision::Acquire
        );
        // Released: free at once.
        let mut released = renewed.clone();
        released.holder_identity = None;
        assert_eq!(
            e.decide(Some(&released), t0 + Duration::from_secs(30)),
            Decision::Acquire
        );
    }

    #[test]
    fn records() {
        let e = Elector::new("me".into(), Duration::from_secs(15));
        let now = jiff::Timestamp::from_second(50).unwrap();
        let fresh = e.record(None, now);
        assert_eq!(fresh.lease_transitions, Some(0));
        assert_eq!(fresh.acquire_time, Some(MicroTime(now)));
        assert_eq!(fresh.lease_duration_seconds, Some(15));
        let takeover = e.record(Some(&held("other", 1)), now);
        assert_eq!(takeover.lease_transitions, Some(3));
        assert_eq!(takeover.holder_identity.as_deref(), Some("me"));
        let mut mine = held("me", 1);
        mine.acquire_time = Some(MicroTime(jiff::Timestamp::from_second(1).unwrap()));
        let renew = e.record(Some(&mine), now);
        assert_eq!(renew.lease_transitions, Some(2));
        assert_eq!(renew.acquire_time, mine.acquire_time);
        assert_eq!(renew.renew_time, Some(MicroTime(now)));
    }
}

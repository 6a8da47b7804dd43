//! The scheduler daemon: watchers feed one channel; a single scheduling task owns the
//! queue and the cluster cache, applies updates between cycles, schedules, assumes and
//! hands bindings to background tasks whose results come back on the same channel.
//! Optional leader election gates the whole loop.
//!
//! Architecture invariant: the daemon talks to the cluster only through the API.

mod binder;
pub mod cache;
pub mod events;
mod priority_classes;
mod scheduling;
mod volumes;
mod watch;

use std::time::Duration;

use keelson_client::leader;
use tokio::sync::{mpsc, watch as signal};

pub use scheduling::rejectors;
pub use watch::{Listing, Update};

use crate::config::SchedulerConfig;

/// How often backing-off pods whose backoff ended move to the active queue.
pub const BACKOFF_FLUSH_PERIOD: Duration = Duration::from_secs(1);
/// How often pods left too long in the unschedulable set are retried.
pub const LEFTOVER_FLUSH_PERIOD: Duration = Duration::from_secs(30);

/// Everything the daemon needs besides the client.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The scheduler configuration (profiles, backoff, leader election).
    pub scheduler: SchedulerConfig,
    /// This instance's name in leases and events (`hostname_unique`).
    pub identity: String,
    /// How long a shutdown waits for bindings in flight.
    pub drain_timeout: Duration,
}

/// Why the daemon stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The lease could not be renewed in time; another instance may be leading.
    #[error("leaderelection lost")]
    LeaseLost,
    /// The configuration has no profile to schedule with.
    #[error("no scheduling profile configured")]
    NoProfiles,
}

/// What the scheduling task receives.
#[derive(Debug)]
pub enum Message {
    /// A change seen by a watcher.
    Cluster(Update),
    /// A binding finished.
    Bound {
        /// The pod's `namespace/name`.
        key: String,
        /// The API error, if the binding failed; whether the pod is gone (404).
        result: Result<(), BindFailure>,
    },
}

/// A failed binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindFailure {
    /// The error text.
    pub message: String,
    /// The pod no longer exists.
    pub not_found: bool,
}

/// Runs the scheduler until `stop` becomes `true`, then drains: no more pops, bindings
/// in flight get `drain_timeout` to finish. With leader election on, waits to lead
/// first and fails with [`DaemonError::LeaseLost`] if leadership is lost.
pub async fn run(
    client: kube::Client,
    config: DaemonConfig,
    mut stop: signal::Receiver<bool>,
) -> Result<(), DaemonError> {
    if config.scheduler.profiles.is_empty() {
        return Err(DaemonError::NoProfiles);
    }
    let mut leadership = Leadership::start(&client, &config, &stop);
    let result = lead(client, &config, &mut stop, &mut leadership.leading).await;
    if let Some(task) = leadership.elector {
        // `stop` is set (or the lease is lost): the elector releases and ends.
        if tokio::time::timeout(config.drain_timeout, task)
            .await
            .is_err()
        {
            tracing::warn!("leader election did not stop in time");
        }
    }
    result
}

/// Whether this scheduler leads: `true` from the start without leader election, else as
/// the elector on the Lease says.
struct Leadership {
    leading: signal::Receiver<bool>,
    elector: Option<tokio::task::JoinHandle<()>>,
    /// Without an elector, the sender is kept here so `leading` stays open: a closed
    /// signal would wake every wait on it at once, for ever.
    _fixed: Option<signal::Sender<bool>>,
}

impl Leadership {
    /// Leading from the start, for good.
    fn always() -> Self {
        let (fixed, leading) = signal::channel(true);
        Self {
            leading,
            elector: None,
            _fixed: Some(fixed),
        }
    }

    fn start(client: &kube::Client, config: &DaemonConfig, stop: &signal::Receiver<bool>) -> Self {
        let settings = &config.scheduler.leader_election;
        if !settings.leader_elect {
            return Self::always();
        }
        let (leading_tx, leading) = signal::channel(false);
        let elector = tokio::spawn(leader::run(
            client.clone(),
            settings.lease_settings(),
            config.identity.clone(),
            leading_tx,
            stop.clone(),
        ));
        Self {
            leading,
            elector: Some(elector),
            _fixed: None,
        }
    }
}

/// Waits for leadership, then schedules until stopped.
async fn lead(
    client: kube::Client,
    config: &DaemonConfig,
    stop: &mut signal::Receiver<bool>,
    leading: &mut signal::Receiver<bool>,
) -> Result<(), DaemonError> {
    tokio::select! {
        r = leading.wait_for(|l| *l) => if r.is_err() { return Err(DaemonError::LeaseLost) },
        _ = stop.wait_for(|s| *s) => return Ok(()),
    }
    tracing::info!(identity = %config.identity, "scheduling");
    let (tx, rx) = mpsc::channel(1024);
    let watchers = watch::spawn(&client, &tx);
    let binder = binder::Binder::new(client, config.identity.clone());
    let mut task = scheduling::Scheduling::new(&config.scheduler, binder, tx);
    task.wait_for_listings(watchers.len());
    let result = task.run(rx, stop, leading).await;
    for w in &watchers {
        w.abort();
    }
    task.drain(config.drain_timeout).await;
    result
}

#[cfg(test)]
mod tests {
    use futures::FutureExt as _;

    use super::Leadership;

    #[tokio::test]
    async fn without_leader_election_the_leading_signal_stays_open() {
        let mut leadership = Leadership::always();
        assert!(*leadership.leading.borrow());
        // A closed signal answers `changed` at once, which spun the idle scheduling loop.
        assert!(leadership.leading.changed().now_or_never().is_none());
    }
}

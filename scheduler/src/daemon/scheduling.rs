//! The single scheduling task: applies watcher updates (`apply.rs`) and binding results
//! to the queue and the cache between cycles, runs the cycles (`cycle.rs`), and flushes
//! the queue on timers.

mod apply;
mod cycle;
mod rejectors;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch as signal};
use tokio::task::JoinSet;

use super::binder::Binder;
use super::cache::ClusterCache;
use super::priority_classes::PriorityClasses;
use super::{BACKOFF_FLUSH_PERIOD, BindFailure, DaemonError, LEFTOVER_FLUSH_PERIOD, Message};
use crate::config::{ExtensionPoint, SchedulerConfig};
use crate::framework::Algorithm;
use crate::framework::preemption::Preemption;
use crate::queue::{ClusterEvent, Failure, QueueConfig, SchedulingQueue};

pub use rejectors::rejectors;

/// Bindings and reports in flight at once; the loop waits for one to finish beyond it.
const MAX_TASKS_IN_FLIGHT: usize = 256;
/// How long the scheduling loop runs cycles back to back before it yields its thread.
const YIELD_SLICE: Duration = Duration::from_millis(2);

/// The scheduling task's state.
pub(super) struct Scheduling {
    queue: SchedulingQueue,
    cache: ClusterCache,
    algorithms: HashMap<String, Algorithm>,
    /// DefaultPreemption of the profiles that enable it at PostFilter.
    preemptions: HashMap<String, Preemption>,
    binder: Binder,
    tx: mpsc::Sender<Message>,
    tasks: JoinSet<()>,
    /// VolumeBinding's `bindTimeoutSeconds`, per profile that runs it at PreBind.
    bind_timeouts: HashMap<String, Duration>,
    priorities: PriorityClasses,
    /// The nominator version the snapshot's nominated pods were built from.
    nominated_version: u64,
    /// Watchers whose first list has arrived, and how many there are: no pod is
    /// scheduled before every cache is filled (upstream's WaitForCacheSync), or a pod
    /// created with the scheduler could meet an empty node list.
    listed: HashSet<String>,
    watchers: usize,
}

impl Scheduling {
    pub(super) fn new(config: &SchedulerConfig, binder: Binder, tx: mpsc::Sender<Message>) -> Self {
        let queue_config = QueueConfig::default()
            .with_initial_backoff(config.pod_initial_backoff)
            .with_max_backoff(config.pod_max_backoff);
        let algorithms = config
            .profiles
            .iter()
            .map(|p| (p.scheduler_name.clone(), Algorithm::new(p, config)))
            .collect();
        let preemptions = config
            .profiles
            .iter()
            .filter(|p| {
                p.plugins
                    .at(ExtensionPoint::PostFilter)
                    .iter()
                    .any(|n| n == "DefaultPreemption")
            })
            .map(|p| {
                let plugin = Preemption::new(&p.args.default_preemption);
                (p.scheduler_name.clone(), plugin)
            })
            .collect();
        let bind_timeouts = config
            .profiles
            .iter()
            .filter(|p| {
                let pre_bind = p.plugins.at(ExtensionPoint::PreBind);
                pre_bind.iter().any(|n| n == "VolumeBinding")
            })
            .map(|p| {
                let seconds = p.args.volume_binding.bind_timeout_seconds;
                let timeout = Duration::from_secs(u64::try_from(seconds).unwrap_or(600));
                (p.scheduler_name.clone(), timeout)
            })
            .collect();
        Self {
            bind_timeouts,
            priorities: PriorityClasses::default(),
            queue: SchedulingQueue::new(queue_config),
            cache: ClusterCache::new(),
            algorithms,
            preemptions,
            binder,
            tx,
            tasks: JoinSet::new(),
            nominated_version: 0,
            listed: HashSet::new(),
            watchers: 0,
        }
    }

    /// Waits for the first list of each of `watchers` watchers before scheduling.
    pub(super) fn wait_for_listings(&mut self, watchers: usize) {
        self.watchers = watchers;
    }

    /// Whether every watcher delivered its first list.
    fn synced(&self) -> bool {
        self.listed.len() >= self.watchers
    }

    /// Runs until `stop`, the channel closes, or leadership is lost.
    pub(super) async fn run(
        &mut self,
        mut rx: mpsc::Receiver<Message>,
        stop: &mut signal::Receiver<bool>,
        leading: &mut signal::Receiver<bool>,
    ) -> Result<(), DaemonError> {
        let start = Instant::now();
        let mut next_backoff = start + BACKOFF_FLUSH_PERIOD;
        let mut next_leftover = start + LEFTOVER_FLUSH_PERIOD;
        let mut slice = start;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if !*leading.borrow() {
                return Err(DaemonError::LeaseLost);
            }
            while self.tasks.try_join_next().is_some() {}
            while let Ok(message) = rx.try_recv() {
                self.handle(message, Instant::now());
            }
            let now = Instant::now();
            if now >= next_backoff {
                self.queue.flush_backoff(now);
                next_backoff = now + BACKOFF_FLUSH_PERIOD;
            }
            if now >= next_leftover {
                self.queue.flush_unschedulable_leftover(now);
                next_leftover = now + LEFTOVER_FLUSH_PERIOD;
            }
            if self.tasks.len() >= MAX_TASKS_IN_FLIGHT {
                // Bindings are API writes: keep a bounded number in flight, as upstream's
                // client rate limits do, rather than flooding the API server.
                // Messages keep flowing meanwhile: a finishing task may be waiting to
                // report on the same channel.
                let tasks = &mut self.tasks;
                let message = tokio::select! {
                    _ = tasks.join_next() => None,
                    m = rx.recv() => Some(m),
                };
                match message {
                    Some(Some(m)) => self.handle(m, Instant::now()),
                    Some(None) => return Ok(()),
                    None => {}
                }
                continue;
            }
            if let Some(popped) = self.synced().then(|| self.queue.pop(now)).flatten() {
                self.schedule_one(popped, now);
                // Cycles are synchronous work: with a long queue this loop would keep its
                // worker thread for as long as pods wait, starving the tasks that share
                // the runtime (in `keelson up`: the controllers creating the pods, the
                // kubelets renewing leases). Upstream's goroutine is preempted; this task
                // gives way after each slice of cycles.
                if slice.elapsed() >= YIELD_SLICE {
                    tokio::task::yield_now().await;
                    slice = Instant::now();
                }
                continue;
            }
            let wake = tokio::time::Instant::from_std(next_backoff.min(next_leftover));
            tokio::select! {
                message = rx.recv() => match message {
                    Some(m) => self.handle(m, Instant::now()),
                    None => return Ok(()),
                },
                () = tokio::time::sleep_until(wake) => {}
                // A closed signal (its sender gone) disables its branch for this wait
                // instead of waking it in a loop.
                Ok(()) = stop.changed() => {}
                Ok(()) = leading.changed() => {}
            }
            slice = Instant::now();
        }
    }

    /// Lets bindings and reports in flight finish, for at most `timeout`.
    pub(super) async fn drain(&mut self, timeout: Duration) {
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!(
                left = self.tasks.len(),
                "bindings still in flight at shutdown"
            );
            self.tasks.abort_all();
        }
    }

    fn moved(&mut self, event: ClusterEvent, now: Instant) {
        self.queue.move_all_on_event(event, now);
    }

    fn handle(&mut self, message: Message, now: Instant) {
        match message {
            Message::Cluster(update) => self.apply(update, now),
            Message::Bound {
                key,
                result: Ok(()),
            } => {
                self.queue.done(&key);
            }
            Message::Bound {
                key,
                result: Err(failure),
            } => self.bind_failed(&key, &failure, now),
        }
    }

    fn bind_failed(&mut self, key: &str, failure: &BindFailure, now: Instant) {
        tracing::warn!(pod = key, error = %failure.message, "binding failed");
        self.cache.volumes_mut().forget_pod(key);
        if self.cache.forget(key) {
            self.moved(ClusterEvent::AssignedPodDelete, now);
        }
        if failure.not_found {
            self.queue.delete(key);
        } else {
            self.queue.requeue_failed(key, Failure::Error, now);
        }
    }
}

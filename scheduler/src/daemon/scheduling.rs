//! The single scheduling task: applies watcher updates and binding results to the queue
//! and the cache between cycles, runs the cycles, and flushes the queue on timers.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use tokio::sync::{mpsc, watch as signal};
use tokio::task::JoinSet;

use super::binder::Binder;
use super::cache::{ClusterCache, PodRoute, route};
use super::priority_classes::PriorityClasses;
use super::volumes;
use super::{
    BACKOFF_FLUSH_PERIOD, BindFailure, DaemonError, LEFTOVER_FLUSH_PERIOD, Message, Update,
};
use crate::config::{ExtensionPoint, SchedulerConfig};
use crate::framework::Algorithm;
use crate::framework::fit_error::FitError;
use crate::framework::preemption::Preemption;
use crate::queue::{
    ClusterEvent, Failure, QueueConfig, QueuedPod, SchedulingQueue, nominated_node, pod_key,
    pod_priority,
};
use crate::snapshot::PodInfo;

/// Bindings and reports in flight at once; the loop waits for one to finish beyond it.
const MAX_TASKS_IN_FLIGHT: usize = 256;

/// The plugins a [`FitError`]'s reasons come from, for the queue's requeue rules (the
/// reasons are the in-tree plugins' fixed texts). Unknown reasons name no plugin, which
/// lets any cluster event retry the pod.
pub fn rejectors(error: &FitError) -> BTreeSet<String> {
    const TABLE: &[(&str, &str)] = &[
        ("Insufficient ", "NodeResourcesFit"),
        ("Too many pods", "NodeResourcesFit"),
        ("untolerated taint", "TaintToleration"),
        ("node affinity/selector", "NodeAffinity"),
        ("were unschedulable", "NodeUnschedulable"),
        ("requested node name", "NodeName"),
        ("free ports", "NodePorts"),
        ("pod affinity", "InterPodAffinity"),
        ("anti-affinity", "InterPodAffinity"),
        ("topology spread", "PodTopologySpread"),
        ("persistentvolumeclaim", "VolumeBinding"),
        ("PersistentVolumeClaims", "VolumeBinding"),
        ("persistent volumes to bind", "VolumeBinding"),
        ("volume node affinity conflict", "VolumeBinding"),
        ("non-existent pv", "VolumeBinding"),
        ("storageclass", "VolumeBinding"),
        ("pod is not owner", "VolumeBinding"),
    ];
    let mut out = BTreeSet::new();
    let texts = error
        .reasons
        .keys()
        .map(String::as_str)
        .chain(Some(error.pre_filter_msg.as_str()).filter(|m| !m.is_empty()));
    for reason in texts {
        for (needle, plugin) in TABLE {
            if reason.contains(needle) {
                out.insert((*plugin).to_owned());
            }
        }
    }
    out
}

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
        }
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
            if let Some(popped) = self.queue.pop(now) {
                self.schedule_one(popped, now);
                continue;
            }
            let wake = tokio::time::Instant::from_std(next_backoff.min(next_leftover));
            tokio::select! {
                message = rx.recv() => match message {
                    Some(m) => self.handle(m, Instant::now()),
                    None => return Ok(()),
                },
                () = tokio::time::sleep_until(wake) => {}
                _ = stop.changed() => {}
                _ = leading.changed() => {}
            }
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

    fn apply(&mut self, update: Update, now: Instant) {
        let events = match update {
            Update::Node(node) => self.cache.apply_node(node),
            Update::NodeDeleted(name) => self.cache.delete_node(&name).into_iter().collect(),
            Update::NodesListed(nodes) => self.cache.relist_nodes(nodes),
            Update::Pod(pod) => self.apply_pod(pod, now).into_iter().collect(),
            Update::PodDeleted(pod) => self.delete_pod(&pod).into_iter().collect(),
            Update::PodsListed(pods) => self.relist_pods(pods, now),
            Update::Namespace(ns) => {
                let name = ns.metadata.name.clone().unwrap_or_default();
                self.cache
                    .apply_namespace(name, ns.metadata.labels.clone().unwrap_or_default());
                Vec::new()
            }
            Update::NamespaceDeleted(name) => {
                self.cache.delete_namespace(&name);
                Vec::new()
            }
            Update::NamespacesListed(all) => {
                self.cache.clear_namespaces();
                for ns in all {
                    let name = ns.metadata.name.clone().unwrap_or_default();
                    self.cache
                        .apply_namespace(name, ns.metadata.labels.clone().unwrap_or_default());
                }
                Vec::new()
            }
            Update::Selector(source, namespace, name, selector) => {
                self.cache
                    .workload_selectors_mut()
                    .set(source, namespace, name, selector);
                Vec::new()
            }
            Update::SelectorsListed(source, all) => {
                self.cache.workload_selectors_mut().replace_all(source, all);
                Vec::new()
            }
            Update::Claims(c) => volumes::apply_claims(self.cache.volumes_mut(), c),
            Update::Volumes(v) => volumes::apply_volumes(self.cache.volumes_mut(), v),
            Update::StorageClasses(c) => volumes::apply_classes(self.cache.volumes_mut(), c),
            Update::PriorityClasses(c) => {
                self.priorities.apply(c);
                Vec::new()
            }
        };
        for event in events {
            self.moved(event, now);
        }
    }

    fn apply_pod(&mut self, pod: Arc<Pod>, now: Instant) -> Option<ClusterEvent> {
        let Ok(key) = pod_key(&pod) else {
            return None;
        };
        match route(&pod, |name| self.algorithms.contains_key(name)) {
            PodRoute::Assigned(node) => {
                self.queue.delete(&key);
                Some(
                    self.cache
                        .add_assigned(Arc::new(PodInfo::new(pod)), &node, false),
                )
            }
            // Our own earlier, pre-binding version of a pod we already placed.
            PodRoute::Pending if self.cache.is_assumed(&key) => None,
            PodRoute::Pending => {
                let freed = self
                    .cache
                    .remove_pod(&key)
                    .map(|_| ClusterEvent::AssignedPodDelete);
                let pod = self.priorities.resolve(pod);
                if let Err(error) = self.queue.add(pod, now) {
                    tracing::warn!(%error, "pod not queued");
                }
                freed
            }
            PodRoute::Ignore => self.delete_pod(&pod),
        }
    }

    fn delete_pod(&mut self, pod: &Pod) -> Option<ClusterEvent> {
        let key = pod_key(pod).ok()?;
        self.queue.delete(&key);
        self.cache
            .remove_pod(&key)
            .map(|_| ClusterEvent::AssignedPodDelete)
    }

    fn relist_pods(&mut self, pods: Vec<Arc<Pod>>, now: Instant) -> Vec<ClusterEvent> {
        let keys: BTreeSet<String> = pods.iter().filter_map(|p| pod_key(p).ok()).collect();
        let gone: Vec<String> = self
            .cache
            .pod_keys()
            .filter(|k| !keys.contains(*k))
            .cloned()
            .collect();
        let mut events = Vec::new();
        for key in gone {
            self.queue.delete(&key);
            if self.cache.remove_pod(&key).is_some() {
                events.push(ClusterEvent::AssignedPodDelete);
            }
        }
        events.extend(pods.into_iter().filter_map(|p| self.apply_pod(p, now)));
        events
    }

    fn schedule_one(&mut self, popped: QueuedPod, now: Instant) {
        let pod = Arc::clone(&popped.pod);
        let name = pod
            .spec
            .as_ref()
            .and_then(|s| s.scheduler_name.as_deref())
            .unwrap_or(crate::config::DEFAULT_SCHEDULER_NAME);
        let Some(algorithm) = self.algorithms.get_mut(name) else {
            self.queue.done(&popped.key);
            return;
        };
        let info = PodInfo::new(Arc::clone(&pod));
        match algorithm.schedule(&info, self.cache.snapshot()) {
            Ok(scheduled) => {
                tracing::debug!(pod = %popped.key, node = %scheduled.node, "scheduled");
                let mut assumed = (*pod).clone();
                if let Some(spec) = assumed.spec.as_mut() {
                    spec.node_name = Some(scheduled.node.clone());
                }
                let assumed = Arc::new(PodInfo::new(Arc::new(assumed)));
                self.cache.add_assigned(assumed, &scheduled.node, true);
                let snapshot = self.cache.snapshot();
                let timeout = self.bind_timeouts.get(name).copied();
                let plan = timeout.and_then(|_| {
                    volumes::plan_for(&pod, &scheduled.node, &snapshot.nodes, &snapshot.volumes)
                });
                if let Some(plan) = &plan {
                    volumes::assume(self.cache.volumes_mut(), plan, &popped.key);
                }
                let timeout = timeout.unwrap_or_default();
                let (binder, tx, key) = (self.binder.clone(), self.tx.clone(), popped.key);
                self.tasks.spawn(async move {
                    let node = scheduled.node;
                    let prebound = volumes::pre_bind(&binder, &pod, &node, plan, timeout).await;
                    let result = match prebound {
                        Ok(()) => binder.bind(pod, node).await.map_err(|e| BindFailure {
                            not_found: matches!(&e, kube::Error::Api(s) if s.code == 404),
                            message: e.to_string(),
                        }),
                        Err(failure) => Err(failure),
                    };
                    // The task may have stopped during a drain; nothing is left to update.
                    let _ = tx.send(Message::Bound { key, result }).await;
                });
            }
            Err(mut fit) => {
                // PostFilter: DefaultPreemption, when the profile enables it.
                let preemption = self
                    .preemptions
                    .get_mut(name)
                    .map(|p| p.preempt(algorithm, &info, self.cache.snapshot()));
                let mut lower_nominated = Vec::new();
                let (nominate, victims) = match preemption {
                    Some(Ok(candidate)) => {
                        if let Err(error) =
                            self.queue.add_nominated(Arc::clone(&pod), &candidate.node)
                        {
                            tracing::warn!(%error, "nomination not recorded");
                        }
                        // Lower-priority pods nominated there may no longer fit: their
                        // nomination is cleared (upstream `prepareCandidate`).
                        let priority = pod_priority(&pod);
                        for other in self.queue.nominated_pods_on(&candidate.node) {
                            if pod_priority(&other) < priority {
                                if let Ok(key) = pod_key(&other) {
                                    self.queue.remove_nominated(&key);
                                }
                                lower_nominated.push(other);
                            }
                        }
                        let victims = candidate.victims.iter().map(|v| Arc::clone(&v.pod));
                        (Some(Some(candidate.node)), victims.collect())
                    }
                    Some(Err(message)) => {
                        fit.post_filter_msg = message;
                        let clear = self.queue.remove_nominated(&popped.key).is_some()
                            || nominated_node(&pod).is_some();
                        (clear.then_some(None), Vec::new())
                    }
                    None => (None, Vec::new()),
                };
                let message = fit.to_string();
                tracing::debug!(pod = %popped.key, %message, ?nominate, "unschedulable");
                self.queue.requeue_failed(
                    &popped.key,
                    Failure::Unschedulable(rejectors(&fit)),
                    now,
                );
                let binder = self.binder.clone();
                let scheduler_name = name.to_owned();
                self.tasks.spawn(async move {
                    if let Some(Some(node)) = &nominate {
                        binder.preempt(&pod, node, victims, &scheduler_name).await;
                        for other in lower_nominated {
                            binder.nominate(&other, None).await;
                        }
                    }
                    binder.report_unschedulable(Arc::clone(&pod), message).await;
                    if let Some(node) = nominate {
                        binder.nominate(&pod, node.as_deref()).await;
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejectors_from_reasons() {
        let cases: &[(&[&str], &[&str])] = &[
            (
                &["Insufficient cpu", "Too many pods"],
                &["NodeResourcesFit"],
            ),
            (
                &["node(s) had untolerated taint {a: b}"],
                &["TaintToleration"],
            ),
            (
                &[
                    "node(s) didn't match Pod's node affinity/selector",
                    "node(s) were unschedulable",
                ],
                &["NodeAffinity", "NodeUnschedulable"],
            ),
            (
                &[
                    "node(s) had volume node affinity conflict",
                    "node(s) didn't find available persistent volumes to bind",
                ],
                &["VolumeBinding"],
            ),
            (&["something new"], &[]),
        ];
        for (reasons, want) in cases {
            let mut e = FitError::new(3);
            e.add_node(reasons.iter().copied());
            let got: Vec<String> = rejectors(&e).into_iter().collect();
            assert_eq!(got, *want, "{reasons:?}");
        }
    }
}

//! One pod's turn: the scheduling cycle, then either the binding task (PreBind, bind,
//! and the report of a failure) or PostFilter (DefaultPreemption) and the report of an
//! unschedulable pod.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::super::cache::ClusterCache;
use super::super::events::NotScheduled;
use super::super::{BindFailure, Message, volumes};
use super::Scheduling;
use super::rejectors::rejectors;
use crate::queue::{Failure, QueuedPod, SchedulingQueue, nominated_node, pod_key, pod_priority};
use crate::snapshot::PodInfo;

/// Rebuilds the snapshot's nominated pods from the queue's nominator when it changed
/// since `seen` (its version).
fn sync_nominated(cache: &mut ClusterCache, queue: &SchedulingQueue, seen: &mut u64) {
    let nominator = queue.nominator();
    if nominator.version() == *seen {
        return;
    }
    *seen = nominator.version();
    let nominated: HashMap<String, Vec<Arc<PodInfo>>> = nominator
        .all()
        .map(|(node, pods)| {
            let infos = pods.map(|p| Arc::new(PodInfo::new(Arc::clone(p))));
            (node.to_owned(), infos.collect())
        })
        .collect();
    cache.set_nominated(nominated);
}

impl Scheduling {
    pub(super) fn schedule_one(&mut self, popped: QueuedPod, now: Instant) {
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
        sync_nominated(&mut self.cache, &self.queue, &mut self.nominated_version);
        match algorithm.schedule(&info, self.cache.snapshot()) {
            Ok(scheduled) => {
                tracing::debug!(pod = %popped.key, node = %scheduled.node, "scheduled");
                let assumed = Arc::new(info.assumed_on(&scheduled.node));
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
                let profile = name.to_owned();
                self.tasks.spawn(async move {
                    let node = scheduled.node;
                    let mut result = volumes::pre_bind(binder.client(), &node, plan, timeout).await;
                    if result.is_ok() {
                        result = binder.bind(Arc::clone(&pod), node, &profile).await;
                    }
                    // As upstream, the pod is forgotten and requeued first, then the failure
                    // is reported (unless the pod is gone).
                    let report = binding_report(&result);
                    // The task may have stopped during a drain; nothing is left to update.
                    let _ = tx.send(Message::Bound { key, result }).await;
                    if let Some((reason, message)) = report {
                        binder.report_failure(pod, reason, message, &profile).await;
                    }
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
                    let reason = NotScheduled::Unschedulable;
                    binder
                        .report_failure(Arc::clone(&pod), reason, message, &scheduler_name)
                        .await;
                    if let Some(node) = nominate {
                        binder.nominate(&pod, node.as_deref()).await;
                    }
                });
            }
        }
    }
}

/// What a finished binding task reports: nothing after a success or when the pod is gone;
/// otherwise (PreBind or the binding call failed) `PodScheduled=False` with reason
/// `SchedulerError` and the failure's text, as upstream's failure handler does for an
/// error that is not a rejection.
fn binding_report(result: &Result<(), BindFailure>) -> Option<(NotScheduled, String)> {
    let failure = result.as_ref().err().filter(|f| !f.not_found)?;
    Some((NotScheduled::SchedulerError, failure.message.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_bindings_are_reported_as_scheduler_errors() {
        let failed = |message: &str, not_found| {
            Err(BindFailure {
                message: message.to_owned(),
                not_found,
            })
        };
        let prebind = "running PreBind plugin \"VolumeBinding\": binding volumes: x";
        let bind = "running Bind plugin \"DefaultBinder\": conflict";
        let cases = [
            (Ok(()), None),
            (failed(bind, true), None),
            (
                failed(bind, false),
                Some((NotScheduled::SchedulerError, bind.to_owned())),
            ),
            (
                failed(prebind, false),
                Some((NotScheduled::SchedulerError, prebind.to_owned())),
            ),
        ];
        for (result, want) in cases {
            assert_eq!(binding_report(&result), want, "{result:?}");
        }
    }
}

//! Reconciling the queue with a fresh pod listing: after a watch gap, a pending pod the
//! listing no longer holds was deleted meanwhile and must leave the queue, wherever it is
//! (active, backing off, unschedulable, in flight or gated).

use std::collections::BTreeSet;

use super::SchedulingQueue;

impl SchedulingQueue {
    /// Deletes every pod the queue knows whose key is not in `listed`; the deleted keys,
    /// sorted.
    pub fn delete_unlisted(&mut self, listed: &BTreeSet<String>) -> Vec<String> {
        let mut gone: Vec<String> = self
            .pods
            .keys()
            .chain(self.gated.keys())
            .filter(|k| !listed.contains(*k))
            .cloned()
            .collect();
        gone.sort();
        for key in &gone {
            self.delete(key);
        }
        gone
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use k8s_openapi::api::core::v1::{Pod, PodSchedulingGate, PodSpec};

    use super::*;
    use crate::queue::{Failure, Placement, QueueConfig, QueueCounts};

    fn pod(name: &str, gated: bool) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("ns".into());
        let gates = gated.then(|| {
            vec![PodSchedulingGate {
                name: "wait".into(),
            }]
        });
        p.spec = Some(PodSpec {
            scheduling_gates: gates,
            ..Default::default()
        });
        Arc::new(p)
    }

    fn key(name: &str) -> String {
        format!("ns/{name}")
    }

    /// A queue holding one pod in each place: `active`, `backoff`, `unsched`, `flight`
    /// and `gated`.
    fn queue_with_every_place(t: Instant) -> SchedulingQueue {
        let mut q = SchedulingQueue::new(QueueConfig::default().with_pop_from_backoff(false));
        let failures = [
            ("backoff", Failure::Error),
            ("unsched", Failure::Unschedulable(BTreeSet::new())),
        ];
        for (name, failure) in failures {
            q.add(pod(name, false), t).unwrap();
            let popped = q.pop(t).unwrap();
            q.requeue_failed(&popped.key, failure, t);
        }
        q.add(pod("flight", false), t).unwrap();
        assert_eq!(q.pop(t).unwrap().key, key("flight"));
        q.add(pod("active", false), t).unwrap();
        assert_eq!(q.add(pod("gated", true), t).unwrap(), Placement::Gated);
        q
    }

    #[test]
    fn unlisted_pods_leave_every_place() {
        let all = ["active", "backoff", "unsched", "flight", "gated"];
        // (pods still listed, pods deleted)
        let cases: &[(&[&str], &[&str])] = &[
            (&all, &[]),
            (&[], &["active", "backoff", "flight", "gated", "unsched"]),
            (&["active", "flight"], &["backoff", "gated", "unsched"]),
            (
                &["backoff", "unsched", "gated", "other"],
                &["active", "flight"],
            ),
        ];
        let t = Instant::now();
        for (listed, want) in cases {
            let mut q = queue_with_every_place(t);
            let listed_keys: BTreeSet<String> = listed.iter().map(|n| key(n)).collect();
            let got = q.delete_unlisted(&listed_keys);
            let want_keys: Vec<String> = want.iter().map(|n| key(n)).collect();
            assert_eq!(got, want_keys, "listed {listed:?}");
            for name in all {
                let kept = q.placement(&key(name)) != Placement::Dropped;
                assert_eq!(kept, listed.contains(&name), "{name} with {listed:?}");
            }
        }
    }

    #[test]
    fn a_deleted_pod_in_flight_is_not_requeued() {
        let t = Instant::now();
        let mut q = queue_with_every_place(t);
        q.delete_unlisted(&BTreeSet::new());
        assert_eq!(q.counts(), QueueCounts::default());
        let placed = q.requeue_failed(&key("flight"), Failure::Error, t);
        assert_eq!(placed, Placement::Dropped);
    }
}

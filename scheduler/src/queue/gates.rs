//! Upstream's SchedulingGates PreEnqueue plugin: a pod whose `spec.schedulingGates` is
//! not empty is held outside the queue (not in the active queue, never popped, no
//! FailedScheduling report) until an update clears its gates.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::{Placement, SchedulingQueue};

/// Whether the pod still has scheduling gates.
pub fn is_gated(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.scheduling_gates.as_ref())
        .is_some_and(|g| !g.is_empty())
}

impl SchedulingQueue {
    /// Holds back a gated pod the queue does not otherwise know (`Some(Gated)`), or
    /// releases a formerly gated one whose gates are gone (`None`: add it normally).
    pub(super) fn hold_if_gated(&mut self, key: &str, pod: &Arc<Pod>) -> Option<Placement> {
        if self.pods.contains_key(key) {
            return None;
        }
        if is_gated(pod) {
            self.gated.insert(key.to_owned(), Arc::clone(pod));
            return Some(Placement::Gated);
        }
        self.gated.remove(key);
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Instant;

    use k8s_openapi::api::core::v1::{PodSchedulingGate, PodSpec};

    use super::*;

    fn pod(name: &str, gates: &[&str]) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("ns".into());
        let gates = gates
            .iter()
            .map(|g| PodSchedulingGate {
                name: (*g).to_owned(),
            })
            .collect();
        p.spec = Some(PodSpec {
            scheduling_gates: Some(gates),
            ..Default::default()
        });
        Arc::new(p)
    }

    #[test]
    fn gated_pods_wait_outside_the_queue_until_their_gates_are_gone() {
        // (case, gates at creation, gates after each update, placement after each step)
        type Case = (
            &'static str,
            &'static [&'static [&'static str]],
            &'static [Placement],
        );
        let cases: &[Case] = &[
            ("ungated", &[&[]], &[Placement::Active]),
            ("gated", &[&["a"]], &[Placement::Gated]),
            (
                "one gate left",
                &[&["a", "b"], &["b"]],
                &[Placement::Gated, Placement::Gated],
            ),
            (
                "gates removed",
                &[&["a", "b"], &["b"], &[]],
                &[Placement::Gated, Placement::Gated, Placement::Active],
            ),
        ];
        for (case, versions, want) in cases {
            let mut q = SchedulingQueue::default();
            let now = Instant::now();
            let got: Vec<Placement> = versions
                .iter()
                .map(|gates| {
                    q.add(pod("p", gates), now).unwrap();
                    q.placement("ns/p")
                })
                .collect();
            assert_eq!(&got, want, "{case}");
            let released = *want.last().unwrap() == Placement::Active;
            assert_eq!(q.pop(now).is_some(), released, "{case}: popped");
            assert_eq!(q.counts().gated, usize::from(!released), "{case}: gated");
        }
    }

    #[test]
    fn deleting_a_gated_pod_forgets_it() {
        let mut q = SchedulingQueue::default();
        let now = Instant::now();
        q.add(pod("p", &["a"]), now).unwrap();
        assert!(q.delete("ns/p"));
        assert_eq!(q.placement("ns/p"), Placement::Dropped);
        assert_eq!(q.counts().gated, 0);
        // A later ungated version is a new pod, queued normally.
        q.update(pod("p", &[]), now).unwrap();
        assert_eq!(q.pop(now).map(|p| p.key), Some("ns/p".to_owned()));
    }
}

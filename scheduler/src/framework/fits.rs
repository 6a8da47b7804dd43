//! Running a profile's filters for one pod on one node outside a scheduling cycle, as
//! preemption needs when it tries a node with some pods removed: PreFilter is computed
//! over the snapshot with that node replaced, so counts that span nodes (pod affinity,
//! topology spread) see the removal.

use super::cycle::{Algorithm, Snapshot};
use crate::plugins::Status;
use crate::plugins::inter_pod_affinity::NamespaceLabels;
use crate::snapshot::{NodeInfo, PodInfo};

impl Algorithm {
    /// The first failing filter's status for `pod` on `node` (which stands in for the
    /// snapshot's node of the same name), or `None` when every filter passes.
    #[must_use]
    pub fn node_status(
        &self,
        pod: &PodInfo,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Option<Status> {
        // The snapshot's nodes with `node` in its namesake's place, borrowed, not copied.
        let nodes = snapshot
            .nodes
            .iter()
            .map(|n| if n.name == node.name { node } else { n });
        let ns_of = |name: &str| snapshot.namespace_labels.get(name).cloned();
        let ns: NamespaceLabels<'_> = &ns_of;
        let state = self.pre_filter(pod, nodes, ns, snapshot);
        self.filter_with_nominated(&state, pod, node, ns, snapshot)
    }

    /// Whether `pod` passes every filter on `node` (see [`Algorithm::node_status`]).
    #[must_use]
    pub fn fits_on(&self, pod: &PodInfo, node: &NodeInfo, snapshot: &Snapshot) -> bool {
        self.node_status(pod, node, snapshot).is_none()
    }
}

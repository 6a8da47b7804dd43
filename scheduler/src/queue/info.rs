//! What the queue keeps per pending pod, and the small pod helpers it relies on.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Pod, PodStatus};

use super::QueueError;

/// A pending pod with its queue bookkeeping (upstream's `QueuedPodInfo`).
#[derive(Clone, Debug)]
pub struct QueuedPod {
    /// `namespace/name`.
    pub key: String,
    /// `metadata.uid` (empty if unset).
    pub uid: String,
    /// `spec.priority`, 0 when unset.
    pub priority: i32,
    /// When the pod entered the queue, refreshed at every failed attempt; orders pods of
    /// equal priority and starts the backoff and unschedulable clocks.
    pub timestamp: Instant,
    /// When the pod was first popped, if ever.
    pub initial_attempt: Option<Instant>,
    /// Scheduling attempts so far (incremented by `pop`).
    pub attempts: u32,
    /// Plugins that rejected the pod in its last attempt.
    pub unschedulable_plugins: BTreeSet<String>,
    /// The latest pod object.
    pub pod: Arc<Pod>,
}

impl QueuedPod {
    /// Wraps a pod seen for the first time at `now`.
    pub fn new(pod: Arc<Pod>, now: Instant) -> Result<Self, QueueError> {
        Ok(Self {
            key: pod_key(&pod)?,
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            priority: pod_priority(&pod),
            timestamp: now,
            initial_attempt: None,
            attempts: 0,
            unschedulable_plugins: BTreeSet::new(),
            pod,
        })
    }

    /// Replaces the pod object, keeping the bookkeeping.
    pub(super) fn set_pod(&mut self, pod: Arc<Pod>) {
        self.priority = pod_priority(&pod);
        self.uid = pod.metadata.uid.clone().unwrap_or_default();
        self.pod = pod;
    }
}

/// The queue key of a pod, `namespace/name` (namespace `default` when unset).
pub fn pod_key(pod: &Pod) -> Result<String, QueueError> {
    let name = pod
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or(QueueError::MissingName)?;
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    Ok(format!("{ns}/{name}"))
}

/// `spec.priority`, 0 when unset (what the Priority admission plugin defaults to).
pub fn pod_priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

/// `status.nominatedNodeName`, if set and non-empty.
pub fn nominated_node(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.nominated_node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// Whether an update changed the pod in a way scheduling may care about: anything but
/// resourceVersion, generation, managedFields, finalizers and status.
pub fn pod_meaningfully_changed(old: &Pod, new: &Pod) -> bool {
    fn strip(pod: &Pod) -> Pod {
        let mut p = pod.clone();
        p.metadata.resource_version = None;
        p.metadata.generation = None;
        p.metadata.managed_fields = None;
        p.metadata.finalizers = None;
        p.status = Some(PodStatus::default());
        p
    }
    strip(old) != strip(new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodSpec;
    use std::collections::BTreeMap;

    fn pod(ns: Option<&str>, name: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = ns.map(Into::into);
        p
    }

    #[test]
    fn keys() {
        assert_eq!(pod_key(&pod(Some("a"), "p")).unwrap(), "a/p");
        assert_eq!(pod_key(&pod(None, "p")).unwrap(), "default/p");
        assert!(matches!(
            pod_key(&pod(Some("a"), "")),
            Err(QueueError::MissingName)
        ));
    }

    #[test]
    fn meaningful_changes() {
        let base = pod(Some("a"), "p");
        let mut rv = base.clone();
        rv.metadata.resource_version = Some("7".into());
        let mut status = base.clone();
        status.status = Some(PodStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        });
        let mut labels = base.clone();
        labels.metadata.labels = Some(BTreeMap::from([("k".into(), "v".into())]));
        let mut spec = base.clone();
        spec.spec = Some(PodSpec {
            node_selector: Some(BTreeMap::from([("k".into(), "v".into())])),
            ..Default::default()
        });
        let cases = [
            ("resourceVersion", rv, false),
            ("status", status, false),
            ("labels", labels, true),
            ("spec", spec, true),
        ];
        for (name, new, want) in cases {
            assert_eq!(pod_meaningfully_changed(&base, &new), want, "{name}");
        }
    }
}

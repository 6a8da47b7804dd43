//! What the EndpointSlice controller does with informer changes: which Services to sync.

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::Controller;
use super::desired::{CONTROLLER, MANAGED_BY, SERVICE_NAME, ZONE};
use crate::informers::Change;
use crate::service_pods as sp;
use crate::workqueue::WorkQueue;

/// The Service key of a slice this controller manages.
pub(super) fn managed_service(slice: &EndpointSlice) -> Option<String> {
    let labels = slice.metadata.labels.as_ref()?;
    (labels.get(MANAGED_BY).map(String::as_str) == Some(CONTROLLER)).then_some(())?;
    let name = labels.get(SERVICE_NAME)?;
    Some(format!(
        "{}/{name}",
        slice.metadata.namespace.as_deref().unwrap_or_default()
    ))
}

impl Controller {
    pub(super) fn enqueue_all(&self, queue: &WorkQueue<String>) {
        sp::enqueue_all(&self.services, queue);
    }

    pub(super) fn on_pod(&self, queue: &WorkQueue<String>, change: &Change<Pod>) {
        sp::enqueue_for_pod(&self.services, queue, change);
    }

    /// A node's arrival, departure or zone change can change endpoints (pods on unknown
    /// nodes are left out; zones are copied).
    pub(super) fn on_node(&self, queue: &WorkQueue<String>, change: &Change<Node>) {
        let zone = |n: &Node| {
            n.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(ZONE).cloned())
        };
        let relevant = match change {
            Change::Applied { old: None, .. } | Change::Deleted(_) => true,
            Change::Applied {
                old: Some(old),
                new,
            } => zone(old) != zone(new),
        };
        if relevant {
            self.enqueue_all(queue);
        }
    }

    pub(super) fn on_slice(&self, queue: &WorkQueue<String>, change: &Change<EndpointSlice>) {
        match change {
            Change::Applied { old, new } => {
                if let Some(key) = old.as_deref().and_then(managed_service)
                    && Some(&key) != managed_service(new).as_ref()
                {
                    queue.add(key);
                }
                if let Some(key) = managed_service(new)
                    && self.tracker.should_sync(new)
                {
                    queue.add(key);
                }
            }
            Change::Deleted(slice) => {
                if let Some(key) = managed_service(slice)
                    && !self.tracker.handle_deletion(slice)
                {
                    queue.add(key);
                }
            }
        }
    }
}

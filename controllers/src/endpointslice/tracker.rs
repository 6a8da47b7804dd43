//! Upstream's `EndpointSliceTracker`: the generation of every slice this controller wrote
//! (or that it deleted), per Service, so a sync never acts on an informer cache that has
//! not yet seen those writes — acting on it would create duplicate slices.

use std::collections::HashMap;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use parking_lot::Mutex;

use super::desired::SERVICE_NAME;

/// A slice whose deletion is expected.
const DELETION_EXPECTED: i64 = -1;

#[derive(Debug, Default)]
struct Tracked {
    service_uid: Option<String>,
    /// Slice uid → generation written (or [`DELETION_EXPECTED`]).
    slices: HashMap<String, i64>,
}

/// The tracker, shared by the workers and the event handlers.
#[derive(Debug, Default)]
pub struct SliceTracker {
    services: Mutex<HashMap<String, Tracked>>,
}

fn service_key(slice: &EndpointSlice) -> String {
    let name = slice
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SERVICE_NAME))
        .cloned()
        .unwrap_or_default();
    format!(
        "{}/{name}",
        slice.metadata.namespace.as_deref().unwrap_or_default()
    )
}

fn uid(slice: &EndpointSlice) -> String {
    slice.metadata.uid.clone().unwrap_or_default()
}

impl SliceTracker {
    /// Records a slice as written (created or updated) with its new generation.
    pub fn update(&self, slice: &EndpointSlice) {
        let generation = slice.metadata.generation.unwrap_or_default();
        self.services
            .lock()
            .entry(service_key(slice))
            .or_default()
            .slices
            .insert(uid(slice), generation);
    }

    /// Records a slice as deleted by us.
    pub fn expect_deletion(&self, slice: &EndpointSlice) {
        self.services
            .lock()
            .entry(service_key(slice))
            .or_default()
            .slices
            .insert(uid(slice), DELETION_EXPECTED);
    }

    /// Whether a change to `slice` is news (not our own write).
    pub fn should_sync(&self, slice: &EndpointSlice) -> bool {
        let services = self.services.lock();
        let tracked = services
            .get(&service_key(slice))
            .and_then(|t| t.slices.get(&uid(slice)));
        tracked.is_none_or(|g| slice.metadata.generation.unwrap_or_default() > *g)
    }

    /// Forgets a deleted slice; whether its deletion was ours.
    pub fn handle_deletion(&self, slice: &EndpointSlice) -> bool {
        let mut services = self.services.lock();
        let removed = services
            .get_mut(&service_key(slice))
            .and_then(|t| t.slices.remove(&uid(slice)));
        removed == Some(DELETION_EXPECTED)
    }

    /// Whether `slices` (the informer's, for Service `key` with `service_uid`) lag behind
    /// our writes: an older generation than written, a slice we deleted, or a slice we
    /// wrote missing. Writes for a previous Service of the same name are forgotten.
    pub fn stale(
        &self,
        key: &str,
        service_uid: Option<&str>,
        slices: &[std::sync::Arc<EndpointSlice>],
    ) -> bool {
        let mut services = self.services.lock();
        let tracked = services.entry(key.to_owned()).or_default();
        if let (Some(had), Some(now)) = (tracked.service_uid.as_deref(), service_uid)
            && had != now
        {
            tracked.slices.clear();
        }
        tracked.service_uid = service_uid.map(str::to_owned);
        let mut seen = std::collections::HashSet::new();
        for slice in slices {
            let id = uid(slice);
            if let Some(&g) = tracked.slices.get(&id)
                && (g == DELETION_EXPECTED || g > slice.metadata.generation.unwrap_or_default())
            {
                return true;
            }
            seen.insert(id);
        }
        tracked
            .slices
            .iter()
            .any(|(id, g)| *g != DELETION_EXPECTED && !seen.contains(id))
    }

    /// Forgets a deleted Service.
    pub fn delete_service(&self, key: &str) {
        self.services.lock().remove(key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn slice(uid: &str, generation: i64) -> Arc<EndpointSlice> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": uid, "namespace": "ns", "uid": uid, "generation": generation,
                             "labels": {SERVICE_NAME: "web"}},
                "addressType": "IPv4", "endpoints": [],
            }))
            .unwrap(),
        )
    }

    #[test]
    fn writes_not_yet_seen_are_stale() {
        let t = SliceTracker::default();
        assert!(!t.stale("ns/web", Some("s1"), &[]));
        t.update(&slice("a", 2));
        assert!(
            t.stale("ns/web", Some("s1"), &[]),
            "created slice not listed yet"
        );
        assert!(
            t.stale("ns/web", Some("s1"), &[slice("a", 1)]),
            "older generation"
        );
        assert!(!t.stale("ns/web", Some("s1"), &[slice("a", 2)]));
        assert!(!t.should_sync(&slice("a", 2)), "our own write");
        assert!(t.should_sync(&slice("a", 3)), "someone else's write");
        t.expect_deletion(&slice("a", 2));
        assert!(
            t.stale("ns/web", Some("s1"), &[slice("a", 2)]),
            "deleted but listed"
        );
        assert!(!t.stale("ns/web", Some("s1"), &[]));
        assert!(t.handle_deletion(&slice("a", 2)));
        t.update(&slice("b", 1));
        assert!(
            !t.handle_deletion(&slice("b", 1)),
            "deleted by someone else"
        );
        t.update(&slice("c", 1));
        assert!(
            !t.stale("ns/web", Some("s2"), &[]),
            "a recreated Service starts afresh"
        );
    }
}

//! What a ReplicaSet's sync concluded about each pod it looked at, kept for the next sync.
//!
//! Upstream's sync matches the selector against every candidate pod, decides its claim and
//! counts its labels and readiness, on every pod event. With 150,000 pods in one
//! ReplicaSet that was most of a core, spent again for each burst of creates. The
//! conclusions depend only on the pod version and on the ReplicaSet's uid, deletion,
//! selector and template labels, so they are kept:
//!
//! - per pod version, by the address of the informer's `Arc` (the informer makes a new one
//!   for every new version); the entry holds that `Arc`, so the address is not reused
//!   while it is remembered;
//! - until the ReplicaSet's side changes, which forgets everything.
//!
//! Each sync keeps exactly the pods it was given, so a pod gone from the informer is
//! forgotten at the next sync.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt as _;
use kube::core::{Selector, SelectorExt as _};
use parking_lot::Mutex;

use super::status::{fully_labeled, template_labels};
use crate::owner::{self, Claim};
use crate::podutil;

/// What a sync needs to know about one pod version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Not finished and not being deleted (a candidate at all).
    pub active: bool,
    /// What claiming does with it.
    pub claim: Claim,
    /// It carries every template label.
    pub labeled: bool,
    /// Its Ready condition is True.
    pub ready: bool,
}

impl Facts {
    fn of(side: &Side, selector: &Selector, pod: &Pod) -> Self {
        let matches = selector.matches(pod.labels());
        Self {
            active: podutil::is_active(pod),
            claim: owner::decide(&side.uid, side.deleting, matches, &pod.metadata),
            labeled: fully_labeled(&side.template, pod),
            ready: podutil::is_ready(pod),
        }
    }
}

/// The ReplicaSet's inputs to [`Facts`].
#[derive(Debug, PartialEq)]
struct Side {
    uid: String,
    deleting: bool,
    selector: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    template: BTreeMap<String, String>,
}

impl Side {
    fn of(rs: &ReplicaSet) -> Self {
        Self {
            uid: rs.uid().unwrap_or_default(),
            deleting: rs.metadata.deletion_timestamp.is_some(),
            selector: rs.spec.as_ref().map(|s| s.selector.clone()),
            template: template_labels(rs),
        }
    }
}

#[derive(Debug)]
struct Remembered {
    side: Side,
    pods: HashMap<usize, (Arc<Pod>, Facts)>,
}

/// Every ReplicaSet's remembered facts, by ReplicaSet key.
#[derive(Debug, Default)]
pub struct Memo {
    sets: Mutex<HashMap<String, Remembered>>,
}

fn address(pod: &Arc<Pod>) -> usize {
    Arc::as_ptr(pod) as usize
}

impl Memo {
    /// The facts of each of `pods` for the ReplicaSet `rs` (key `key`) with `selector`,
    /// remembered from the last sync where the pod and the ReplicaSet's side are the same.
    pub fn facts(
        &self,
        key: &str,
        rs: &ReplicaSet,
        selector: &Selector,
        pods: Vec<Arc<Pod>>,
    ) -> Vec<(Arc<Pod>, Facts)> {
        let side = Side::of(rs);
        let mut sets = self.sets.lock();
        let old = sets
            .remove(key)
            .filter(|r| r.side == side)
            .map(|r| r.pods)
            .unwrap_or_default();
        let mut kept = HashMap::with_capacity(pods.len());
        let mut out = Vec::with_capacity(pods.len());
        for pod in pods {
            let facts = match old.get(&address(&pod)) {
                Some((_, facts)) => *facts,
                None => Facts::of(&side, selector, &pod),
            };
            kept.insert(address(&pod), (pod.clone(), facts));
            out.push((pod, facts));
        }
        sets.insert(key.to_owned(), Remembered { side, pods: kept });
        out
    }

    /// Forgets the ReplicaSet `key` (it is gone).
    pub fn forget(&self, key: &str) {
        self.sets.lock().remove(key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rs(uid: &str, template_tier: &str) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": { "name": "rs", "namespace": "ns", "uid": uid },
            "spec": { "replicas": 2, "selector": { "matchLabels": { "app": "x" } },
                      "template": { "metadata": { "labels": { "app": "x", "tier": template_tier } } } },
        }))
        .unwrap()
    }

    fn pod(owner: Option<&str>, ready: bool) -> Arc<Pod> {
        let refs = owner.map(|uid| {
            json!([{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                     "uid": uid, "controller": true }])
        });
        Arc::new(
            serde_json::from_value(json!({
                "metadata": { "name": "p", "namespace": "ns",
                              "labels": { "app": "x", "tier": "web" }, "ownerReferences": refs },
                "status": { "phase": "Running",
                            "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }] },
            }))
            .unwrap(),
        )
    }

    fn selector(rs: &ReplicaSet) -> Selector {
        Selector::try_from(rs.spec.clone().unwrap().selector).unwrap()
    }

    #[test]
    fn facts_are_computed_then_reused_for_the_same_pod_version() {
        let memo = Memo::default();
        let set = rs("u1", "web");
        let (owned, orphan) = (pod(Some("u1"), true), pod(None, false));
        let first = memo.facts("ns/rs", &set, &selector(&set), vec![owned.clone(), orphan]);
        let facts: Vec<Facts> = first.iter().map(|(_, f)| *f).collect();
        let expected = |claim, ready| Facts {
            active: true,
            claim,
            labeled: true,
            ready,
        };
        assert_eq!(
            facts,
            [expected(Claim::Owned, true), expected(Claim::Adopt, false)]
        );

        // A remembered version is not looked at again: a selector that matches nothing
        // (as if the ReplicaSet's side had not changed) still gets the old answer...
        let nothing =
            Selector::try_from(
                serde_json::from_value::<
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
                >(json!({ "matchLabels": { "app": "other" } }))
                .unwrap(),
            )
            .unwrap();
        let again = memo.facts("ns/rs", &set, &nothing, vec![owned.clone()]);
        assert_eq!(again[0].1.claim, Claim::Owned);
        // ...while a new version of the same pod is.
        let newer = Arc::new((*owned).clone());
        let fresh = memo.facts("ns/rs", &set, &nothing, vec![newer]);
        assert_eq!(fresh[0].1.claim, Claim::Release);
    }

    #[test]
    fn a_changed_replicaset_side_forgets_everything() {
        let memo = Memo::default();
        let owned = pod(Some("u1"), true);
        let facts_for =
            |set: &ReplicaSet| memo.facts("ns/rs", set, &selector(set), vec![owned.clone()])[0].1;
        facts_for(&rs("u1", "web"));
        // Another template: no longer fully labeled.
        assert!(!facts_for(&rs("u1", "db")).labeled);
        // Another ReplicaSet of the same name: the pod is someone else's.
        assert_eq!(facts_for(&rs("u2", "db")).claim, Claim::Ignore);
        memo.forget("ns/rs");
        assert!(memo.sets.lock().is_empty());
    }
}

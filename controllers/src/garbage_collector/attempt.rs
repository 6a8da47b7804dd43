//! What attemptToDelete decides for one object, given what its owners turned out to be —
//! upstream's `classifyReferences` and the switch that follows it. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::{Value, json};

use super::graph::{FOREGROUND, ORPHAN};

/// What a live lookup found for one owner reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    /// The owner exists and is not waiting for its dependents.
    Solid,
    /// The owner does not exist (or another object took its name).
    Dangling,
    /// The owner is being deleted in the foreground.
    WaitingForDependents,
}

/// A deletion's propagation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents are collected after the object is gone.
    Background,
    /// The object waits for its blocking dependents.
    Foreground,
    /// Dependents lose their references to it.
    Orphan,
}

/// What to do with the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Leave it.
    Keep,
    /// Remove the references to these owner uids (it keeps a solid owner).
    RemoveOwners(Vec<String>),
    /// Delete it; first unblock its own owner references when asked (a cycle of
    /// foreground deletions would otherwise never end).
    Delete {
        /// The propagation policy.
        policy: Propagation,
        /// Whether to set `blockOwnerDeletion: false` on its references first.
        unblock: bool,
    },
}

/// Upstream's decision for an object with owner references `owners` classified as
/// `states` (same order), its `finalizers`, whether it has dependents in the graph and
/// whether one of those is itself deleting its dependents.
pub fn decide(
    owners: &[OwnerReference],
    states: &[OwnerState],
    finalizers: &[String],
    has_dependents: bool,
    dependent_deleting_dependents: bool,
) -> Decision {
    let with = |s: OwnerState| {
        owners
            .iter()
            .zip(states)
            .filter(move |(_, st)| **st == s)
            .map(|(o, _)| o.uid.clone())
    };
    let solid = with(OwnerState::Solid).count();
    let dangling: Vec<String> = with(OwnerState::Dangling).collect();
    let waiting: Vec<String> = with(OwnerState::WaitingForDependents).collect();
    if solid > 0 {
        if dangling.is_empty() && waiting.is_empty() {
            return Decision::Keep;
        }
        return Decision::RemoveOwners(dangling.into_iter().chain(waiting).collect());
    }
    if !waiting.is_empty() && has_dependents {
        return Decision::Delete {
            policy: Propagation::Foreground,
            unblock: dependent_deleting_dependents,
        };
    }
    let has = |f: &str| finalizers.iter().any(|x| x == f);
    let policy = if has(ORPHAN) {
        Propagation::Orphan
    } else if has(FOREGROUND) {
        Propagation::Foreground
    } else {
        Propagation::Background
    };
    Decision::Delete {
        policy,
        unblock: false,
    }
}

/// The strategic merge patch that removes references to `owner_uids` from the object
/// `uid` (the uid doubles as a precondition).
pub fn remove_owners_patch(uid: &str, owner_uids: &[String]) -> Value {
    let refs: Vec<Value> = owner_uids
        .iter()
        .map(|o| json!({"$patch": "delete", "uid": o}))
        .collect();
    json!({"metadata": {"ownerReferences": refs, "uid": uid}})
}

/// The strategic merge patch that sets `blockOwnerDeletion: false` on every blocking
/// reference of `owners`.
pub fn unblock_patch(uid: &str, owners: &[OwnerReference]) -> Value {
    let refs: Vec<Value> = owners
        .iter()
        .filter(|o| o.block_owner_deletion == Some(true))
        .map(|o| json!({"uid": o.uid, "blockOwnerDeletion": false}))
        .collect();
    json!({"metadata": {"ownerReferences": refs, "uid": uid}})
}

/// The merge patch that leaves `finalizers` without `finalizer`, guarded by
/// `resource_version`; `None` when it is not there.
pub fn remove_finalizer_patch(
    finalizers: &[String],
    finalizer: &str,
    resource_version: &str,
) -> Option<Value> {
    if !finalizers.iter().any(|f| f == finalizer) {
        return None;
    }
    let rest: Vec<&String> = finalizers.iter().filter(|f| *f != finalizer).collect();
    Some(json!({"metadata": {"finalizers": rest, "resourceVersion": resource_version}}))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use OwnerState::*;

    fn refs(n: usize) -> Vec<OwnerReference> {
        (0..n)
            .map(|i| OwnerReference {
                uid: format!("o{i}"),
                block_owner_deletion: Some(i == 0),
                ..OwnerReference::default()
            })
            .collect()
    }

    #[test]
    fn decisions_follow_upstream() {
        let bg = Decision::Delete {
            policy: Propagation::Background,
            unblock: false,
        };
        let fg = |unblock| Decision::Delete {
            policy: Propagation::Foreground,
            unblock,
        };
        let none: &[String] = &[];
        let orphan = ["orphan".to_owned()];
        let foreground = ["foregroundDeletion".to_owned()];
        // (states, finalizers, has dependents, a dependent deleting its own) → decision
        type Case<'a> = (Vec<OwnerState>, &'a [String], bool, bool, Decision);
        let cases: Vec<Case> = vec![
            (vec![Solid], none, false, false, Decision::Keep),
            (vec![Solid, Solid], none, true, false, Decision::Keep),
            (
                vec![Solid, Dangling],
                none,
                false,
                false,
                Decision::RemoveOwners(vec!["o1".into()]),
            ),
            (
                vec![WaitingForDependents, Solid, Dangling],
                none,
                true,
                false,
                Decision::RemoveOwners(vec!["o2".into(), "o0".into()]),
            ),
            (vec![Dangling], none, false, false, bg.clone()),
            (vec![Dangling, Dangling], none, true, false, bg.clone()),
            (vec![WaitingForDependents], none, false, false, bg.clone()),
            (vec![WaitingForDependents], none, true, false, fg(false)),
            (
                vec![WaitingForDependents, Dangling],
                none,
                true,
                true,
                fg(true),
            ),
            (
                vec![Dangling],
                &orphan,
                false,
                false,
                Decision::Delete {
                    policy: Propagation::Orphan,
                    unblock: false,
                },
            ),
            (vec![Dangling], &foreground, false, false, fg(false)),
        ];
        for (states, finalizers, deps, dep_fg, want) in cases {
            let owners = refs(states.len());
            assert_eq!(
                decide(&owners, &states, finalizers, deps, dep_fg),
                want,
                "{states:?} {finalizers:?} {deps} {dep_fg}"
            );
        }
    }

    #[test]
    fn patches() {
        assert_eq!(
            remove_owners_patch("me", &["a".into()]),
            json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "a"}], "uid": "me"}})
        );
        assert_eq!(
            unblock_patch("me", &refs(2)),
            json!({"metadata": {"ownerReferences": [{"uid": "o0", "blockOwnerDeletion": false}], "uid": "me"}})
        );
        let f = ["a".to_owned(), "orphan".to_owned()];
        assert_eq!(
            remove_finalizer_patch(&f, "orphan", "7"),
            Some(json!({"metadata": {"finalizers": ["a"], "resourceVersion": "7"}}))
        );
        assert_eq!(remove_finalizer_patch(&f, "foregroundDeletion", "7"), None);
    }
}

//! Controller references (`ownerReferences` with `controller: true`) and upstream's
//! ControllerRefManager rules for claiming children: adopt orphans that match, release
//! owned children that stopped matching, never touch another controller's children.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use serde_json::{Value, json};

/// The controller reference among `meta`'s owner references, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// A controller reference to `owner` (controller and blockOwnerDeletion set), as the
/// children it creates carry.
pub fn controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    let meta = owner.meta();
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// What to do with one candidate child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Already ours and matching: count it.
    Owned,
    /// An orphan that matches: adopt it (patch a controller reference in), then count it.
    Adopt,
    /// Ours but no longer matching: release it (patch our reference out).
    Release,
    /// Not ours to touch.
    Ignore,
}

/// Upstream's `ClaimObject` decision for a child with `child` metadata, given the owner's
/// uid, whether the owner is being deleted, and whether the owner's selector matches the
/// child's labels.
pub fn decide(owner_uid: &str, owner_deleting: bool, matches: bool, child: &ObjectMeta) -> Claim {
    let child_deleting = child.deletion_timestamp.is_some();
    match controller_of(child) {
        Some(r) if r.uid != owner_uid => Claim::Ignore,
        Some(_) if matches => Claim::Owned,
        // Ours but not matching: released, unless either side is going away anyway.
        Some(_) if owner_deleting || child_deleting => Claim::Ignore,
        Some(_) => Claim::Release,
        None if !matches || owner_deleting || child_deleting => Claim::Ignore,
        None => Claim::Adopt,
    }
}

/// The strategic merge patch that adopts a child (uid precondition included, so a
/// recreated child of the same name is not adopted by mistake).
pub fn adopt_patch(owner: &OwnerReference, child_uid: &str) -> Value {
    json!({ "metadata": { "ownerReferences": [owner], "uid": child_uid } })
}

/// The strategic merge patch that removes the owner `owner_uid` from a child.
pub fn release_patch(owner_uid: &str, child_uid: &str) -> Value {
    json!({ "metadata": {
        "ownerReferences": [{ "$patch": "delete", "uid": owner_uid }],
        "uid": child_uid,
    }})
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn child(owner: Option<&str>, deleting: bool) -> ObjectMeta {
        ObjectMeta {
            owner_references: owner.map(|uid| {
                vec![OwnerReference {
                    uid: uid.into(),
                    controller: Some(true),
                    ..OwnerReference::default()
                }]
            }),
            deletion_timestamp: deleting.then_some(Time(jiff::Timestamp::UNIX_EPOCH)),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn claims_follow_upstream() {
        use Claim::*;
        // (owner of child, child deleting, owner deleting, matches) → claim
        let cases = [
            (Some("me"), false, false, true, Owned),
            (Some("me"), false, false, false, Release),
            (Some("me"), false, true, false, Ignore),
            (Some("me"), true, false, false, Ignore),
            (Some("me"), false, true, true, Owned),
            (Some("other"), false, false, true, Ignore),
            (None, false, false, true, Adopt),
            (None, false, false, false, Ignore),
            (None, false, true, true, Ignore),
            (None, true, false, true, Ignore),
        ];
        for (owner, child_deleting, owner_deleting, matches, want) in cases {
            let meta = child(owner, child_deleting);
            assert_eq!(
                decide("me", owner_deleting, matches, &meta),
                want,
                "{owner:?} {child_deleting} {owner_deleting} {matches}"
            );
        }
    }

    #[test]
    fn non_controller_references_do_not_count() {
        let mut meta = child(Some("me"), false);
        meta.owner_references.as_mut().unwrap()[0].controller = None;
        assert_eq!(controller_of(&meta), None);
        assert_eq!(decide("me", false, true, &meta), Claim::Adopt);
    }
}

#![allow(clippy::unwrap_used)]

use super::*;

fn id(kind: &str, ns: &str, name: &str, uid: &str) -> Identity {
    Identity {
        api_version: "v1".into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
        uid: uid.into(),
    }
}

fn owner(of: &Identity, block: bool) -> OwnerReference {
    OwnerReference {
        api_version: of.api_version.clone(),
        kind: of.kind.clone(),
        name: of.name.clone(),
        uid: of.uid.clone(),
        block_owner_deletion: Some(block),
        controller: None,
    }
}

fn seen(identity: &Identity, owners: Vec<OwnerReference>) -> Observed {
    Observed {
        identity: identity.clone(),
        owners,
        ..Observed::default()
    }
}

fn deleting(identity: &Identity, finalizer: &str) -> Observed {
    Observed {
        identity: identity.clone(),
        deleting: true,
        finalizers: vec![finalizer.into()],
        ..Observed::default()
    }
}

fn delete(uid: &str) -> Action {
    Action::AttemptDelete(uid.into())
}

#[test]
fn an_unseen_owner_gets_a_virtual_node_that_is_verified() {
    let mut g = Graph::default();
    let o = id("ConfigMap", "ns", "o", "u-o");
    let d = id("ConfigMap", "ns", "d", "u-d");
    assert_eq!(g.upsert(seen(&d, vec![owner(&o, false)])), [delete("u-o")]);
    let v = g.node("u-o").unwrap();
    assert!(v.virtual_node);
    assert_eq!(v.identity, o);
    assert!(v.dependents.contains("u-d"));
    // Observed: no longer virtual, nothing to check.
    assert_eq!(g.upsert(seen(&o, vec![])), []);
    assert!(!g.node("u-o").unwrap().virtual_node);
}

#[test]
fn a_deleted_owner_queues_its_dependents_and_is_remembered_absent() {
    let mut g = Graph::default();
    let o = id("ConfigMap", "ns", "o", "u-o");
    let d = id("ConfigMap", "ns", "d", "u-d");
    g.upsert(seen(&o, vec![]));
    assert_eq!(g.upsert(seen(&d, vec![owner(&o, false)])), []);
    assert_eq!(g.delete(&o), [delete("u-d")]);
    assert!(g.is_absent(&o));
    assert!(g.node("u-o").is_none());
}

#[test]
fn foreground_and_orphan_transitions() {
    let mut g = Graph::default();
    let o = id("ConfigMap", "ns", "o", "u-o");
    let d = id("ConfigMap", "ns", "d", "u-d");
    g.upsert(seen(&o, vec![]));
    g.upsert(seen(&d, vec![owner(&o, true)]));
    assert_eq!(
        g.upsert(deleting(&o, FOREGROUND)),
        [delete("u-d"), delete("u-o")]
    );
    assert!(g.node("u-o").unwrap().deleting_dependents);
    assert_eq!(g.blocking_dependents("u-o").len(), 1);
    // Seen again unchanged: no new transition.
    assert_eq!(g.upsert(deleting(&o, FOREGROUND)), []);
    // The dependent goes: the owner is looked at again.
    assert_eq!(g.delete(&d), [delete("u-o")]);
    assert!(g.blocking_dependents("u-o").is_empty());

    let p = id("ConfigMap", "ns", "p", "u-p");
    g.upsert(seen(&p, vec![]));
    assert_eq!(
        g.upsert(deleting(&p, ORPHAN)),
        [Action::AttemptOrphan("u-p".into())]
    );
}

#[test]
fn unblocking_a_reference_queues_the_owner() {
    let mut g = Graph::default();
    let o = id("ConfigMap", "ns", "o", "u-o");
    let d = id("ConfigMap", "ns", "d", "u-d");
    g.upsert(seen(&o, vec![]));
    g.upsert(seen(&d, vec![owner(&o, true)]));
    assert_eq!(g.upsert(seen(&d, vec![owner(&o, false)])), [delete("u-o")]);
    // Removing the reference drops the edge.
    assert_eq!(g.upsert(seen(&d, vec![])), []);
    assert!(g.node("u-o").unwrap().dependents.is_empty());
}

#[test]
fn an_owner_in_another_namespace_is_reported_and_its_dependent_checked() {
    let mut g = Graph::default();
    let o = id("ConfigMap", "a", "o", "u-o");
    let d = id("ConfigMap", "b", "d", "u-d");
    // Owner observed first.
    g.upsert(seen(&o, vec![]));
    let actions = g.upsert(seen(&d, vec![owner(&o, false)]));
    assert_eq!(
        actions,
        [
            Action::InvalidNamespace {
                dependent: Box::new(d.clone()),
                owner: Box::new(id("ConfigMap", "b", "o", "u-o")),
            },
            delete("u-d"),
        ]
    );
    // Dependent observed first: the owner's observation reports it.
    let mut g = Graph::default();
    g.upsert(seen(&d, vec![owner(&o, false)]));
    let actions = g.upsert(seen(&o, vec![]));
    assert_eq!(
        actions,
        [
            Action::InvalidNamespace {
                dependent: Box::new(d.clone()),
                owner: Box::new(id("ConfigMap", "b", "o", "u-o")),
            },
            delete("u-d"),
        ]
    );
}

#[test]
fn a_virtual_delete_removes_a_virtual_node_or_only_the_matching_dependents() {
    let mut g = Graph::default();
    let o = id("ConfigMap", "ns", "o", "u-o");
    let d = id("ConfigMap", "ns", "d", "u-d");
    g.upsert(seen(&d, vec![owner(&o, false)]));
    assert_eq!(g.virtual_delete(&o), [delete("u-d")]);
    assert!(g.node("u-o").is_none());
    assert!(g.is_absent(&o));

    // An observed node is not removed by a virtual delete of other coordinates.
    let mut g = Graph::default();
    let real = id("Secret", "ns", "o", "u-o");
    g.upsert(seen(&real, vec![]));
    g.upsert(seen(&d, vec![owner(&o, false)]));
    assert_eq!(g.virtual_delete(&o), [delete("u-d")]);
    assert!(g.node("u-o").is_some());
}

#[test]
fn a_namespaced_owner_recorded_absent_without_a_namespace_stays_unknown_elsewhere() {
    // A cluster-scoped dependent is seen before its (namespaced) owner: the virtual node
    // it makes has no namespace, no object has those coordinates, and the virtual delete
    // records them absent.
    let mut g = Graph::default();
    let virtual_owner = id("ConfigMap", "", "o", "u-o");
    let cluster_scoped = id("Namespace", "", "c", "u-c");
    let kept = id("ConfigMap", "a", "kept", "u-k");
    g.upsert(seen(&cluster_scoped, vec![owner(&virtual_owner, false)]));
    g.upsert(seen(&kept, vec![owner(&virtual_owner, false)]));
    let mut actions = g.virtual_delete(&virtual_owner);
    actions.sort_by_key(|a| format!("{a:?}"));
    assert_eq!(actions, [delete("u-c"), delete("u-k")]);
    assert!(g.is_absent(&virtual_owner));
    // The owner, a ConfigMap, may well exist in the namespace of `kept`.
    let reference = owner(&virtual_owner, false);
    assert!(!g.recorded_absent(&reference, "a", true));
    // A cluster-scoped kind recorded absent is absent for dependents in any namespace.
    assert!(g.recorded_absent(&reference, "a", false));
    g.mark_absent(id("ConfigMap", "a", "o", "u-o"));
    assert!(g.recorded_absent(&reference, "a", true));
    assert!(!g.recorded_absent(&reference, "b", true));
}

#![allow(clippy::unwrap_used)]

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::Event;
use serde_json::json;

use super::*;
use crate::informers::index::{BY_CONTROLLER, controller_keys, orphan_key};
use crate::informers::key_of;

fn pod(name: &str, rv: &str, controller: Option<&str>) -> Pod {
    let owners = controller.map(|uid| {
        json!([{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": uid,
                 "controller": true }])
    });
    serde_json::from_value(json!({
        "metadata": { "name": name, "namespace": "ns", "resourceVersion": rv,
                      "ownerReferences": owners },
    }))
    .unwrap()
}

fn dispatch() -> (Dispatch<Pod>, Arc<Indexes<Pod>>) {
    let writer = Writer::<Pod>::default();
    let store = writer.as_reader();
    let indexes = Arc::new(Indexes::default());
    indexes.add(BY_CONTROLLER, Arc::new(controller_keys::<Pod>), || {
        store.state()
    });
    (Dispatch::new(writer, indexes.clone()), indexes)
}

fn under(indexes: &Indexes<Pod>, key: &str) -> Vec<String> {
    let mut found: Vec<String> = indexes
        .by_index(BY_CONTROLLER, key)
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}@{}",
                key_of(p.as_ref()),
                p.metadata.resource_version.as_deref().unwrap_or("")
            )
        })
        .collect();
    found.sort();
    found
}

fn list(d: &mut Dispatch<Pod>, pods: &[Pod]) -> Vec<Change<Pod>> {
    let mut changes = d.handle(&Event::Init);
    for p in pods {
        changes.extend(d.handle(&Event::InitApply(p.clone())));
    }
    changes.extend(d.handle(&Event::InitDone));
    changes
}

#[test]
fn the_first_list_fills_the_index_only_when_it_is_done() {
    let (mut d, indexes) = dispatch();
    assert!(d.handle(&Event::Init).is_empty());
    assert!(
        d.handle(&Event::InitApply(pod("a", "1", Some("u1"))))
            .is_empty()
    );
    // The store swaps the list in at its end; so does the index.
    assert!(under(&indexes, "u1").is_empty());
    let changes = d.handle(&Event::InitDone);
    assert_eq!(changes.len(), 1);
    assert_eq!(under(&indexes, "u1"), ["ns/a@1"]);
}

#[test]
fn watch_events_update_the_index_before_they_are_returned() {
    let (mut d, indexes) = dispatch();
    list(&mut d, &[pod("a", "1", None)]);
    assert_eq!(under(&indexes, &orphan_key("ns")), ["ns/a@1"]);
    let changes = d.handle(&Event::Apply(pod("a", "2", Some("u1"))));
    assert!(matches!(
        &changes[..],
        [Change::Applied { old: Some(_), .. }]
    ));
    assert!(under(&indexes, &orphan_key("ns")).is_empty());
    assert_eq!(under(&indexes, "u1"), ["ns/a@2"]);
    let changes = d.handle(&Event::Delete(pod("a", "3", Some("u1"))));
    assert!(matches!(&changes[..], [Change::Deleted(_)]));
    assert!(under(&indexes, "u1").is_empty());
}

#[test]
fn a_relist_moves_changed_objects_and_drops_the_missing_ones() {
    let (mut d, indexes) = dispatch();
    list(
        &mut d,
        &[
            pod("same", "1", Some("u1")),
            pod("moved", "1", Some("u1")),
            pod("gone", "1", Some("u1")),
        ],
    );
    assert_eq!(
        under(&indexes, "u1"),
        ["ns/gone@1", "ns/moved@1", "ns/same@1"]
    );
    // The watch broke; meanwhile `moved` was released, `gone` deleted, `new` created.
    let changes = list(
        &mut d,
        &[
            pod("same", "1", Some("u1")),
            pod("moved", "5", None),
            pod("new", "6", Some("u1")),
        ],
    );
    let mut seen: Vec<String> = changes
        .iter()
        .map(|c| match c {
            Change::Applied { new, .. } => format!("applied {}", key_of(new.as_ref())),
            Change::Deleted(obj) => format!("deleted {}", key_of(obj.as_ref())),
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        ["applied ns/moved", "applied ns/new", "deleted ns/gone"]
    );
    assert_eq!(under(&indexes, "u1"), ["ns/new@6", "ns/same@1"]);
    assert_eq!(under(&indexes, &orphan_key("ns")), ["ns/moved@5"]);
}

#[test]
fn an_index_added_after_the_list_is_built_from_the_store() {
    let writer = Writer::<Pod>::default();
    let store = writer.as_reader();
    let indexes = Arc::new(Indexes::default());
    let mut d = Dispatch::new(writer, indexes.clone());
    list(&mut d, &[pod("a", "1", Some("u1")), pod("b", "1", None)]);
    indexes.add(BY_CONTROLLER, Arc::new(controller_keys::<Pod>), || {
        store.state()
    });
    assert_eq!(under(&indexes, "u1"), ["ns/a@1"]);
    assert_eq!(under(&indexes, &orphan_key("ns")), ["ns/b@1"]);
    d.handle(&Event::Apply(pod("b", "2", Some("u1"))));
    assert_eq!(under(&indexes, "u1"), ["ns/a@1", "ns/b@2"]);
}

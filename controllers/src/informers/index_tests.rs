#![allow(clippy::unwrap_used)]

use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::*;

fn pod(ns: &str, name: &str, controller: Option<&str>, app: &str) -> Arc<Pod> {
    let owners = controller.map(|uid| {
        json!([
            // A non-controller owner does not count.
            { "apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "not-a-controller" },
            { "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": uid,
              "controller": true },
        ])
    });
    Arc::new(
        serde_json::from_value(json!({
            "metadata": { "name": name, "namespace": ns, "labels": { "app": app },
                          "ownerReferences": owners },
        }))
        .unwrap(),
    )
}

fn by_app() -> IndexFn<Pod> {
    Arc::new(|p: &Pod| {
        let app = p.metadata.labels.as_ref().and_then(|l| l.get("app"));
        app.map(|a| vec![a.clone(), "any".to_owned()])
            .unwrap_or_default()
    })
}

fn names(indexes: &Indexes<Pod>, name: &str, key: &str) -> Vec<String> {
    let mut names: Vec<String> = indexes
        .by_index(name, key)
        .unwrap()
        .iter()
        .map(|p| key_of(p.as_ref()))
        .collect();
    names.sort();
    names
}

fn controller_index(current: Vec<Arc<Pod>>) -> Indexes<Pod> {
    let indexes = Indexes::default();
    indexes.add(BY_CONTROLLER, Arc::new(controller_keys::<Pod>), || current);
    indexes
}

#[test]
fn objects_are_found_by_controller_uid_or_their_namespaces_orphan_key() {
    let indexes = controller_index(vec![pod("a", "p1", Some("u1"), "web")]);
    indexes.apply(&pod("a", "p2", Some("u1"), "web"));
    indexes.apply(&pod("a", "p3", Some("u2"), "web"));
    indexes.apply(&pod("a", "o1", None, "web"));
    indexes.apply(&pod("b", "o2", None, "web"));
    assert_eq!(names(&indexes, BY_CONTROLLER, "u1"), ["a/p1", "a/p2"]);
    assert_eq!(names(&indexes, BY_CONTROLLER, "u2"), ["a/p3"]);
    assert_eq!(names(&indexes, BY_CONTROLLER, &orphan_key("a")), ["a/o1"]);
    assert_eq!(names(&indexes, BY_CONTROLLER, &orphan_key("b")), ["b/o2"]);
    assert!(names(&indexes, BY_CONTROLLER, "not-a-controller").is_empty());
    assert!(names(&indexes, BY_CONTROLLER, "u3").is_empty());
}

#[test]
fn updates_move_objects_between_keys_and_return_the_new_state() {
    let indexes = controller_index(Vec::new());
    indexes.apply(&pod("a", "p", None, "web"));
    // Adopted.
    indexes.apply(&pod("a", "p", Some("u1"), "web"));
    assert!(names(&indexes, BY_CONTROLLER, &orphan_key("a")).is_empty());
    assert_eq!(names(&indexes, BY_CONTROLLER, "u1"), ["a/p"]);
    // Updated without moving: the index returns the new object.
    indexes.apply(&pod("a", "p", Some("u1"), "db"));
    let found = indexes.by_index(BY_CONTROLLER, "u1").unwrap();
    assert_eq!(found.len(), 1);
    let labels = found[0].metadata.labels.as_ref().unwrap();
    assert_eq!(labels.get("app").map(String::as_str), Some("db"));
    // Released.
    indexes.apply(&pod("a", "p", None, "db"));
    assert!(names(&indexes, BY_CONTROLLER, "u1").is_empty());
    assert_eq!(names(&indexes, BY_CONTROLLER, &orphan_key("a")), ["a/p"]);
}

#[test]
fn deletes_remove_objects_from_every_index() {
    let indexes = controller_index(vec![pod("a", "p1", Some("u1"), "web")]);
    indexes.add("app", by_app(), Vec::new);
    indexes.apply(&pod("a", "p2", Some("u1"), "web"));
    assert_eq!(names(&indexes, "app", "web"), ["a/p1", "a/p2"]);
    indexes.delete(&pod("a", "p1", Some("u1"), "web"));
    // A deletion of an object never seen changes nothing.
    indexes.delete(&pod("a", "ghost", Some("u1"), "web"));
    assert_eq!(names(&indexes, BY_CONTROLLER, "u1"), ["a/p2"]);
    assert_eq!(names(&indexes, "app", "web"), ["a/p2"]);
    assert_eq!(names(&indexes, "app", "any"), ["a/p2"]);
    indexes.delete(&pod("a", "p2", Some("u1"), "web"));
    assert!(names(&indexes, BY_CONTROLLER, "u1").is_empty());
    assert!(names(&indexes, "app", "any").is_empty());
    assert!(
        indexes
            .inner
            .read()
            .indexes
            .iter()
            .all(|i| i.entries.is_empty())
    );
    assert!(indexes.inner.read().objects.is_empty());
}

#[test]
fn a_later_index_is_built_from_the_objects_already_indexed() {
    let indexes = controller_index(vec![
        pod("a", "p1", Some("u1"), "web"),
        pod("a", "p2", None, "db"),
    ]);
    // Objects come from the first index's store; this `current` is not read.
    indexes.add("app", by_app(), || vec![pod("a", "stale", None, "web")]);
    assert_eq!(names(&indexes, "app", "web"), ["a/p1"]);
    assert_eq!(names(&indexes, "app", "any"), ["a/p1", "a/p2"]);
    // Adding an existing name again keeps the first function.
    indexes.add("app", Arc::new(|_: &Pod| vec!["x".to_owned()]), Vec::new);
    assert!(names(&indexes, "app", "x").is_empty());
    // Objects the function leaves out are still kept for the other indexes.
    let mut unlabeled = (*pod("a", "p3", Some("u1"), "web")).clone();
    unlabeled.metadata.labels = None;
    indexes.apply(&Arc::new(unlabeled));
    assert_eq!(names(&indexes, BY_CONTROLLER, "u1"), ["a/p1", "a/p3"]);
    assert_eq!(names(&indexes, "app", "any"), ["a/p1", "a/p2"]);
}

#[test]
fn without_an_index_nothing_is_kept_and_queries_fail() {
    let indexes: Indexes<Pod> = Indexes::default();
    indexes.apply(&pod("a", "p1", Some("u1"), "web"));
    assert!(indexes.inner.read().objects.is_empty());
    let error = indexes.by_index(BY_CONTROLLER, "u1").unwrap_err();
    assert_eq!(error.to_string(), "no index named controllerUID");
}

#[test]
fn applying_a_change_again_is_harmless() {
    // An index added while the informer runs may see a change from the store and then
    // again from the dispatch task.
    let p = pod("a", "p1", Some("u1"), "web");
    let indexes = controller_index(vec![p.clone()]);
    indexes.apply(&p);
    indexes.apply(&p);
    assert_eq!(names(&indexes, BY_CONTROLLER, "u1"), ["a/p1"]);
    indexes.delete(&p);
    indexes.delete(&p);
    assert!(names(&indexes, BY_CONTROLLER, "u1").is_empty());
}

#[test]
fn pods_are_indexed_by_their_node_once_bound() {
    let on = |node: Option<&str>| -> Pod {
        serde_json::from_value(json!({
            "metadata": { "name": "p", "namespace": "a" },
            "spec": { "containers": [], "nodeName": node },
        }))
        .unwrap()
    };
    assert_eq!(node_keys(&on(Some("n1"))), ["n1"]);
    assert!(node_keys(&on(None)).is_empty());
    assert!(node_keys(&on(Some(""))).is_empty());
}

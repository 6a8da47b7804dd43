#![allow(clippy::unwrap_used)]

use super::*;
use crate::service_pods::HEADLESS;
use serde_json::{Value, json};

fn svc(spec: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid", "labels": {"app": "web"}},
        "spec": spec,
    }))
    .unwrap()
}

fn pod(i: usize, ready: bool) -> Arc<Pod> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": format!("p{i}"), "namespace": "ns", "uid": format!("uid-{i}")},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "web", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIPs": [{"ip": format!("10.0.{}.{}", i / 250, i % 250 + 1)}, {"ip": format!("fd00::{}", i + 1)}],
                       "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        }))
        .unwrap(),
    )
}

fn node(name: &str) -> Option<Arc<Node>> {
    (name == "n1").then(|| {
        Arc::new(serde_json::from_value(json!({"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "z1"}}})).unwrap())
    })
}

fn ipv4() -> Service {
    svc(
        json!({"clusterIP": "10.96.0.5", "ipFamilies": ["IPv4"], "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}),
    )
}

/// Applies a plan as the apiserver would (names for creations, generation ignored).
fn apply(existing: &mut Vec<Arc<EndpointSlice>>, plan: Plan, next: &mut usize) {
    let deleted: Vec<_> = plan
        .delete
        .iter()
        .map(|s| s.metadata.name.clone())
        .collect();
    existing.retain(|s| !deleted.contains(&s.metadata.name));
    for slice in plan.update {
        existing.retain(|s| s.metadata.name != slice.metadata.name);
        existing.push(Arc::new(slice));
    }
    for mut slice in plan.create {
        *next += 1;
        slice.metadata.name = Some(format!("web-{next}"));
        existing.push(Arc::new(slice));
    }
}

fn sizes(slices: &[Arc<EndpointSlice>]) -> Vec<usize> {
    let mut v: Vec<usize> = slices.iter().map(|s| s.endpoints.len()).collect();
    v.sort_unstable();
    v
}

#[test]
fn endpoints_carry_conditions_zone_ports_and_labels() {
    let s = ipv4();
    let mut terminating = (*pod(2, true)).clone();
    terminating.metadata.deletion_timestamp = Some(
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::UNIX_EPOCH),
    );
    let pods = [pod(0, true), pod(1, false), Arc::new(terminating)];
    let plan = plan(&s, &pods, node, &[], None, MAX_ENDPOINTS_PER_SLICE);
    assert_eq!(
        (plan.create.len(), plan.update.len(), plan.delete.len()),
        (1, 0, 0)
    );
    let slice = &plan.create[0];
    assert_eq!(slice.address_type, "IPv4");
    assert_eq!(slice.metadata.generate_name.as_deref(), Some("web-"));
    let labels = slice.metadata.labels.as_ref().unwrap();
    assert_eq!(
        labels.get("kubernetes.io/service-name").map(String::as_str),
        Some("web")
    );
    assert_eq!(
        labels.get(d::MANAGED_BY).map(String::as_str),
        Some(d::CONTROLLER)
    );
    assert_eq!(labels.get("app").map(String::as_str), Some("web"));
    assert!(!labels.contains_key(HEADLESS));
    let owner = &slice.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("Service", "svc-uid", Some(true))
    );
    let port = &slice.ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.port, port.protocol.as_deref()),
        (Some("http"), Some(8080), Some("TCP"))
    );
    let by_name = |n: &str| {
        slice
            .endpoints
            .iter()
            .find(|e| e.target_ref.as_ref().unwrap().name.as_deref() == Some(n))
            .unwrap()
    };
    let cond = |n: &str| {
        let c = by_name(n).conditions.clone().unwrap();
        (c.ready.unwrap(), c.serving.unwrap(), c.terminating.unwrap())
    };
    assert_eq!(cond("p0"), (true, true, false));
    assert_eq!(cond("p1"), (false, false, false));
    assert_eq!(cond("p2"), (false, true, true));
    assert_eq!(by_name("p0").addresses, ["10.0.0.1"]);
    assert_eq!(by_name("p0").zone.as_deref(), Some("z1"));
    assert_eq!(by_name("p0").node_name.as_deref(), Some("n1"));
}

#[test]
fn slices_hold_at_most_100_and_are_reused() {
    let s = ipv4();
    let mut pods: Vec<Arc<Pod>> = (0..250).map(|i| pod(i, true)).collect();
    let mut slices = Vec::new();
    let mut next = 0;
    apply(
        &mut slices,
        plan(&s, &pods, node, &[], None, 100),
        &mut next,
    );
    assert_eq!(sizes(&slices), [50, 100, 100]);
    // Nothing changed: nothing to do.
    let again = plan(&s, &pods, node, &slices, None, 100);
    assert!(again.create.is_empty() && again.update.is_empty() && again.delete.is_empty());
    // One pod gone, two new: the emptied slot and the half-full slice take them.
    pods.remove(0);
    pods.push(pod(300, true));
    pods.push(pod(301, true));
    let p = plan(&s, &pods, node, &slices, None, 100);
    assert!(p.create.is_empty() && p.delete.is_empty(), "{p:?}");
    apply(&mut slices, p, &mut next);
    assert_eq!(sizes(&slices).iter().sum::<usize>(), 251);
    assert!(sizes(&slices).iter().all(|n| *n <= 100));
    assert_eq!(slices.len(), 3);
    // Every pod gone: one empty placeholder remains, reusing a slice.
    let p = plan(&s, &[], node, &slices, None, 100);
    assert!(p.create.is_empty());
    assert_eq!((p.update.len(), p.delete.len()), (1, 2));
    apply(&mut slices, p, &mut next);
    assert_eq!(sizes(&slices), [0]);
    assert!(slices[0].ports.as_ref().unwrap().is_empty());
    let p = plan(&s, &[], node, &slices, None, 100);
    assert!(p.create.is_empty() && p.update.is_empty() && p.delete.is_empty());
}

#[test]
fn changed_endpoints_and_labels_update_in_place() {
    let s = ipv4();
    let mut slices = Vec::new();
    let mut next = 0;
    apply(
        &mut slices,
        plan(&s, &[pod(0, true), pod(1, true)], node, &[], None, 100),
        &mut next,
    );
    let p = plan(&s, &[pod(0, false), pod(1, true)], node, &slices, None, 100);
    assert_eq!((p.create.len(), p.update.len(), p.delete.len()), (0, 1, 0));
    let mut relabelled = s.clone();
    relabelled.metadata.labels = Some([("app".to_owned(), "other".to_owned())].into());
    let p = plan(
        &relabelled,
        &[pod(0, true), pod(1, true)],
        node,
        &slices,
        None,
        100,
    );
    assert_eq!(p.update.len(), 1);
    assert_eq!(
        p.update[0]
            .metadata
            .labels
            .as_ref()
            .unwrap()
            .get("app")
            .map(String::as_str),
        Some("other")
    );
}

#[test]
fn address_types_follow_families_and_foreign_owners_are_replaced() {
    let dual =
        svc(json!({"clusterIP": "None", "ipFamilies": ["IPv4", "IPv6"], "ports": [{"port": 80}]}));
    let p = plan(&dual, &[pod(0, true)], node, &[], None, 100);
    let mut types: Vec<&str> = p.create.iter().map(|s| s.address_type.as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["IPv4", "IPv6"]);
    let v6 = p.create.iter().find(|s| s.address_type == "IPv6").unwrap();
    assert_eq!(v6.endpoints[0].addresses, ["fd00::1"]);
    assert!(v6.metadata.labels.as_ref().unwrap().contains_key(HEADLESS));

    // A slice of another address type goes; one owned by an old Service of the same name
    // is not reused.
    let mut stale = p
        .create
        .iter()
        .find(|s| s.address_type == "IPv6")
        .unwrap()
        .clone();
    stale.metadata.name = Some("web-old6".into());
    let mut foreign = p
        .create
        .iter()
        .find(|s| s.address_type == "IPv4")
        .unwrap()
        .clone();
    foreign.metadata.name = Some("web-old4".into());
    foreign.metadata.owner_references.as_mut().unwrap()[0].uid = "older".into();
    let existing = [Arc::new(stale), Arc::new(foreign)];
    let p = plan(&ipv4(), &[pod(0, true)], node, &existing, None, 100);
    let mut deleted: Vec<_> = p
        .delete
        .iter()
        .filter_map(|s| s.metadata.name.as_deref())
        .collect();
    deleted.sort_unstable();
    assert_eq!(deleted, ["web-old4", "web-old6"]);
    assert_eq!(p.create.len(), 1);
}

#[test]
fn pods_on_unknown_nodes_are_skipped_unless_published() {
    let s = ipv4();
    let mut lost = (*pod(1, true)).clone();
    lost.spec.as_mut().unwrap().node_name = Some("gone".into());
    let pods = [pod(0, true), Arc::new(lost)];
    let p = plan(&s, &pods, node, &[], None, 100);
    assert_eq!(p.create[0].endpoints.len(), 1);
    assert_eq!(
        p.skipped,
        ["skipping Pod p1 for Service ns/web: Node gone Not Found"]
    );
    let mut publish = s.clone();
    publish.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
    let p = plan(&publish, &pods, node, &[], None, 100);
    assert_eq!(p.create[0].endpoints.len(), 2);
    assert!(p.skipped.is_empty());
}

#[test]
fn trigger_time_is_annotated_on_writes() {
    let t = Timestamp::from_second(1000).unwrap();
    let p = plan(&ipv4(), &[pod(0, true)], node, &[], Some(t), 100);
    let annotations = p.create[0].metadata.annotations.as_ref().unwrap();
    assert_eq!(
        annotations.get(crate::service_pods::LAST_CHANGE_TRIGGER_TIME),
        Some(&t.to_string())
    );
}

//! VolumeBinding's PreFilter, Filter and plan against upstream's cases.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::{Value, json};

use super::*;
use crate::plugins::Code;

fn node(name: &str, zone: &str) -> Node {
    serde_json::from_value(json!({"metadata": {"name": name,
        "labels": {"kubernetes.io/hostname": name, "zone": zone}}}))
    .unwrap()
}

fn pod(claims: &[&str]) -> Pod {
    let volumes: Vec<Value> = claims
        .iter()
        .map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": c}}))
        .collect();
    serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [], "volumes": volumes}}))
    .unwrap()
}

fn claim(name: &str, class: &str, volume: Option<&str>, size: &str) -> Arc<PersistentVolumeClaim> {
    Arc::new(
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"},
            "spec": {"storageClassName": class, "volumeName": volume,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": size}}}}))
        .unwrap(),
    )
}

/// A volume of `class`, pinned to `host` when given.
fn volume(name: &str, class: &str, size: &str, host: Option<&str>) -> Arc<PersistentVolume> {
    let affinity = host.map(|h| {
        json!({"required": {"nodeSelectorTerms": [{"matchExpressions":
        [{"key": "kubernetes.io/hostname", "operator": "In", "values": [h]}]}]}})
    });
    Arc::new(
        serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"storageClassName": class, "capacity": {"storage": size},
                "accessModes": ["ReadWriteOnce"], "nodeAffinity": affinity}}))
        .unwrap(),
    )
}

fn class(name: &str, mode: &str, provisioner: &str, zones: &[&str]) -> Arc<StorageClass> {
    let topologies = (!zones.is_empty())
        .then(|| json!([{"matchLabelExpressions": [{"key": "zone", "values": zones}]}]));
    Arc::new(
        serde_json::from_value(
            json!({"metadata": {"name": name}, "provisioner": provisioner,
            "volumeBindingMode": mode, "allowedTopologies": topologies}),
        )
        .unwrap(),
    )
}

fn state() -> VolumeState {
    let mut s = VolumeState::default();
    s.set_class(class("local", "WaitForFirstConsumer", NO_PROVISIONER, &[]));
    s.set_class(class("fast", "WaitForFirstConsumer", "csi.example", &["a"]));
    s.set_class(class("now", "Immediate", "csi.example", &[]));
    s.set_volume(volume("pv-n2", "", "1Gi", Some("n2")));
    s.set_volume(volume("local-big", "local", "10Gi", Some("n1")));
    s.set_volume(volume("local-small", "local", "2Gi", Some("n1")));
    s.set_volume(volume("local-n3", "local", "5Gi", Some("n3")));
    s.set_claim(claim("bound", "", Some("pv-n2"), "1Gi"));
    s.set_claim(claim("dangling", "", Some("gone"), "1Gi"));
    s.set_claim(claim("wait", "local", None, "1Gi"));
    s.set_claim(claim("wait-huge", "local", None, "100Gi"));
    s.set_claim(claim("dyn", "fast", None, "1Gi"));
    s.set_claim(claim("imm", "now", None, "1Gi"));
    s.set_claim(claim("nocls", "missing", None, "1Gi"));
    s.set_claim(claim("wait2", "local", None, "1Gi"));
    let mut selected = (*claim("dyn-sel", "fast", None, "1Gi")).clone();
    selected.metadata.annotations =
        Some([(SELECTED_NODE_ANNOTATION.to_owned(), "n2".to_owned())].into());
    s.set_claim(Arc::new(selected));
    s
}

#[test]
fn pre_filter_rejects_as_upstream() {
    let s = state();
    let cases: &[(&[&str], Option<&str>)] = &[
        (
            &["absent"],
            Some("persistentvolumeclaim \"absent\" not found"),
        ),
        (&["imm"], Some(REASON_UNBOUND_IMMEDIATE)),
        (&["bound", "imm"], Some(REASON_UNBOUND_IMMEDIATE)),
        (
            &["nocls"],
            Some("storageclass.storage.k8s.io \"missing\" not found"),
        ),
        (&["bound", "wait"], None),
    ];
    for (claims, want) in cases {
        let got = pre_filter(&pod(claims), &s).unwrap();
        match (got, want) {
            (Ok(_), None) => {}
            (Err(status), Some(text)) => {
                assert_eq!(status.code, Code::UnschedulableAndUnresolvable);
                assert_eq!(status.reasons, [*text], "{claims:?}");
            }
            (got, _) => panic!("{claims:?}: {got:?}"),
        }
    }
    assert!(pre_filter(&pod(&[]), &s).is_none(), "no claims: skipped");
    let mut lost = (*claim("lost", "", Some("old"), "1Gi")).clone();
    lost.status = Some(k8s_openapi::api::core::v1::PersistentVolumeClaimStatus {
        phase: Some("Lost".into()),
        ..Default::default()
    });
    let mut s = s;
    s.set_claim(Arc::new(lost));
    let status = pre_filter(&pod(&["lost"]), &s).unwrap().unwrap_err();
    assert_eq!(
        status.reasons,
        ["persistentvolumeclaim \"lost\" bound to non-existent persistentvolume \"old\""]
    );
    let mut deleting = (*claim("bye", "", Some("pv-n2"), "1Gi")).clone();
    deleting.metadata.deletion_timestamp = Some(
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
    );
    s.set_claim(Arc::new(deleting));
    let status = pre_filter(&pod(&["bye"]), &s).unwrap().unwrap_err();
    assert_eq!(
        status.reasons,
        ["persistentvolumeclaim \"bye\" is being deleted"]
    );
}

#[test]
fn filter_per_node() {
    let s = state();
    // (claims, node, zone, want reasons)
    let cases: &[(&[&str], &str, &str, &[&str])] = &[
        (&["bound"], "n2", "a", &[]),
        (&["bound"], "n1", "a", &[REASON_NODE_CONFLICT]),
        (&["dangling"], "n1", "a", &[REASON_PV_NOT_EXIST]),
        (&["wait"], "n1", "a", &[]),
        (&["wait"], "n3", "a", &[]),
        (&["wait"], "n2", "a", &[REASON_BIND_CONFLICT]),
        (&["wait-huge"], "n1", "a", &[REASON_BIND_CONFLICT]),
        (&["dyn"], "n2", "a", &[]),
        (&["dyn"], "n2", "b", &[REASON_BIND_CONFLICT]),
        (&["bound", "wait"], "n1", "a", &[REASON_NODE_CONFLICT]),
        // The bound claims are checked up to the first failure.
        (&["bound", "dangling"], "n1", "a", &[REASON_NODE_CONFLICT]),
        // Two claims cannot share n1's volumes; a third finds none left.
        (&["wait", "wait2"], "n1", "a", &[]),
        (&["wait", "wait2"], "n3", "a", &[REASON_BIND_CONFLICT]),
        // An earlier attempt chose n2 for provisioning: only n2 fits.
        (&["dyn-sel"], "n2", "a", &[]),
        (&["dyn-sel"], "n1", "a", &[REASON_BIND_CONFLICT]),
        (
            &["dangling", "wait"],
            "n2",
            "a",
            &[REASON_BIND_CONFLICT, REASON_PV_NOT_EXIST],
        ),
    ];
    for (claims, name, zone, want) in cases {
        let st = pre_filter(&pod(claims), &s).unwrap().unwrap();
        let status = filter(&st, &node(name, zone));
        assert_eq!(status.reasons, *want, "{claims:?} on {name}/{zone}");
        let code = if want.is_empty() {
            Code::Success
        } else {
            Code::UnschedulableAndUnresolvable
        };
        assert_eq!(status.code, code);
    }
}

#[test]
fn plan_picks_the_smallest_fitting_volume_and_skips_assumed_ones() {
    let mut s = state();
    let st = pre_filter(&pod(&["wait", "dyn"]), &s).unwrap().unwrap();
    let plan = plan(&st, &node("n1", "a")).unwrap();
    let names: Vec<_> = plan
        .static_bindings
        .iter()
        .map(|(c, v)| {
            (
                c.metadata.name.clone().unwrap(),
                v.metadata.name.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(names, [("wait".to_owned(), "local-small".to_owned())]);
    assert_eq!(plan.provisions.len(), 1);
    assert!(!plan.is_empty());

    // Another claim's binding in flight holds local-small: the next best is chosen.
    s.assume("local-small", "default/other".to_owned(), "default/q");
    let st = pre_filter(&pod(&["wait"]), &s).unwrap().unwrap();
    let plan = super::plan(&st, &node("n1", "a")).unwrap();
    assert_eq!(
        plan.static_bindings[0].1.metadata.name.as_deref(),
        Some("local-big")
    );
    assert!(s.forget_pod("default/q"));
    assert!(!s.forget_pod("default/q"));
    // A volume whose claimRef is set is no longer free.
    let mut taken = (*volume("local-small", "local", "2Gi", Some("n1"))).clone();
    taken.spec.as_mut().unwrap().claim_ref = Some(k8s_openapi::api::core::v1::ObjectReference {
        name: Some("x".into()),
        namespace: Some("default".into()),
        ..Default::default()
    });
    s.set_volume(Arc::new(taken));
    let st = pre_filter(&pod(&["wait"]), &s).unwrap().unwrap();
    let names: Vec<_> = st.delayed[0]
        .candidates
        .iter()
        .map(|v| v.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["local-n3", "local-big"]);
}

#[test]
fn ephemeral_volumes_use_the_pods_own_claim() {
    let mut p: Pod = serde_json::from_value(json!({"metadata": {"name": "p",
        "namespace": "default", "uid": "u1"}, "spec": {"containers": [],
        "volumes": [{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}]}}))
    .unwrap();
    let mut s = state();
    let status = pre_filter(&p, &s).unwrap().unwrap_err();
    assert_eq!(
        status.reasons,
        [
            "waiting for ephemeral volume controller to create the persistentvolumeclaim \"p-scratch\""
        ]
    );
    let mut c = (*claim("p-scratch", "", Some("pv-n2"), "1Gi")).clone();
    c.metadata.owner_references = Some(vec![
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u1", "controller": true,
        }))
        .unwrap(),
    ]);
    s.set_claim(Arc::new(c));
    let state = pre_filter(&p, &s).unwrap().unwrap();
    assert_eq!(state.bound.len(), 1);
    p.metadata.uid = Some("u2".into());
    let status = pre_filter(&p, &s).unwrap().unwrap_err();
    assert_eq!(
        status.reasons,
        ["PVC default/p-scratch was not created for pod default/p (pod is not owner)"]
    );
}

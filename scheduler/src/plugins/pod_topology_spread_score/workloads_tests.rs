//! Tests for the default selector and its upkeep from watch updates.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::*;

fn pod_with(name: &str, ns: &str, labels: &[&str], extra_meta: Value, spec: Value) -> PodInfo {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|k| ((*k).to_owned(), json!("")))
        .collect();
    let mut meta = json!({"name": name, "namespace": ns, "labels": labels});
    if let (Some(m), Some(extra)) = (meta.as_object_mut(), extra_meta.as_object()) {
        m.extend(extra.clone());
    }
    let mut spec = spec;
    spec["containers"] = json!([]);
    let p: Pod = serde_json::from_value(json!({"metadata": meta, "spec": spec})).unwrap();
    PodInfo::new(Arc::new(p))
}

#[test]
fn default_selector_from_services_and_the_controller() {
    let owner = |api: &str, kind: &str| {
        json!({"ownerReferences": [{"apiVersion": api, "kind": kind, "name": "w",
            "uid": "u", "controller": true}]})
    };
    let rs_selector: LabelSelector = serde_json::from_value(json!({"matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "Exists"}]}))
    .unwrap();
    let mut w = WorkloadSelectors::default();
    let labels = |pairs: &[(&str, &str)]| -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    w.services
        .insert(("default".into(), "web".into()), labels(&[("app", "")]));
    w.services
        .insert(("other".into(), "web".into()), labels(&[("foo", "")]));
    w.services
        .insert(("default".into(), "db".into()), labels(&[("db", "")]));
    w.controllers.insert(
        (WorkloadKind::ReplicaSet, "default".into(), "w".into()),
        rs_selector,
    );
    w.controllers.insert(
        (
            WorkloadKind::ReplicationController,
            "default".into(),
            "w".into(),
        ),
        LabelSelector {
            match_labels: Some(labels(&[("rc", "")])),
            match_expressions: None,
        },
    );
    let spec = json!({});
    // (pod labels, owner, expected matchLabels keys, expected expression keys, or None).
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&[&str], Value, Option<(Vec<&str>, Vec<&str>)>)> = vec![
        (&["foo"], json!({}), None),
        (&["app"], json!({}), Some((vec!["app"], vec![]))),
        (
            &["app", "foo"],
            owner("apps/v1", "ReplicaSet"),
            Some((vec!["app"], vec!["app", "tier"])),
        ),
        (
            &["x"],
            owner("apps/v1", "ReplicaSet"),
            Some((vec![], vec!["app", "tier"])),
        ),
        (
            &["x"],
            owner("v1", "ReplicationController"),
            Some((vec!["rc"], vec![])),
        ),
        (&["x"], owner("apps/v1", "StatefulSet"), None),
        (&["x"], owner("batch/v1", "Job"), None),
    ];
    for (pod_labels, meta, want) in cases {
        let p = pod_with("p", "default", pod_labels, meta.clone(), spec.clone());
        let got = w.default_selector(&p).map(|s| {
            let ls: Vec<String> = s.match_labels.unwrap_or_default().into_keys().collect();
            let es: Vec<String> = s
                .match_expressions
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.key)
                .collect();
            (ls, es)
        });
        let want = want.map(|(l, e)| {
            (
                l.into_iter().map(str::to_owned).collect::<Vec<_>>(),
                e.into_iter().map(str::to_owned).collect::<Vec<_>>(),
            )
        });
        assert_eq!(got, want, "{pod_labels:?} {meta}");
    }
}

#[test]
fn selectors_follow_watch_updates() {
    let sel = |k: &str| LabelSelector {
        match_labels: Some([(k.to_owned(), String::new())].into_iter().collect()),
        match_expressions: None,
    };
    let rs = SelectorSource::Controller(WorkloadKind::ReplicaSet);
    let rc = SelectorSource::Controller(WorkloadKind::ReplicationController);
    let mut w = WorkloadSelectors::default();
    w.set(
        SelectorSource::Service,
        "d".into(),
        "a".into(),
        Some(sel("a")),
    );
    w.set(
        SelectorSource::Service,
        "d".into(),
        "b".into(),
        Some(sel("b")),
    );
    w.set(SelectorSource::Service, "d".into(), "b".into(), None);
    w.set(rs, "d".into(), "r".into(), Some(sel("r")));
    w.set(rc, "d".into(), "c".into(), Some(sel("c")));
    let services = |w: &WorkloadSelectors| {
        let mut v: Vec<String> = w.services.keys().map(|(_, n)| n.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(services(&w), ["a"]);
    assert_eq!(w.controllers.len(), 2);
    // A relist of ReplicaSets replaces only ReplicaSets.
    w.replace_all(rs, vec![("d".into(), "r2".into(), sel("r2"))]);
    let mut names: Vec<&str> = w.controllers.keys().map(|(_, _, n)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["c", "r2"]);
    w.replace_all(
        SelectorSource::Service,
        vec![("d".into(), "z".into(), sel("z"))],
    );
    assert_eq!(services(&w), ["z"]);
}

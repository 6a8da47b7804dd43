//! Tests of the create strategy.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::pointer::At;

fn def(group: &str, version: &str, plural: &str) -> &'static ResourceDef {
    crate::registry::find(group, version, plural).unwrap()
}

fn prepared(group: &str, plural: &str, obj: Value) -> Value {
    let mut obj = obj;
    prepare_create(def(group, "v1", plural), &mut obj);
    obj
}

/// `status` with its timestamps replaced by "<now>" after checking they look like one.
fn status_without_time(obj: &Value) -> Value {
    let mut status = obj["status"].clone();
    let fix = |v: &mut Value| {
        if let Some(t) = v.as_str() {
            assert!(
                t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
                "{t}"
            );
            *v = json!("<now>");
        }
    };
    if let Some(t) = status.get_mut("lastPhaseTransitionTime") {
        fix(t);
    }
    for c in status
        .get_mut("conditions")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        fix(&mut c["lastTransitionTime"]);
    }
    status
}

#[test]
fn initial_status_per_kind() {
    let cases = [
        (
            "",
            "pods",
            json!({"spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running", "podIP": "1.2.3.4"}}),
            json!({"phase": "Pending", "qosClass": "BestEffort"}),
        ),
        (
            "",
            "persistentvolumes",
            json!({"spec": {}, "status": {"phase": "Bound"}}),
            json!({"phase": "Pending", "lastPhaseTransitionTime": "<now>"}),
        ),
        (
            "",
            "persistentvolumeclaims",
            json!({"spec": {}, "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}}),
            json!({"phase": "Pending"}),
        ),
        (
            "",
            "services",
            json!({"spec": {}, "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}}),
            json!({"loadBalancer": {}}),
        ),
        (
            "",
            "namespaces",
            json!({"metadata": {"name": "n"}, "status": {"phase": "Terminating"}}),
            json!({"phase": "Active"}),
        ),
        (
            "apps",
            "deployments",
            json!({"spec": {}, "status": {"replicas": 3}}),
            json!({}),
        ),
        (
            "apps",
            "replicasets",
            json!({"spec": {}, "status": {"replicas": 3}}),
            json!({}),
        ),
        (
            "",
            "nodes",
            json!({"status": {"capacity": {"cpu": "4"}}}),
            json!({"capacity": {"cpu": "4"}}),
        ),
    ];
    for (group, plural, obj, want) in cases {
        let got = prepared(group, plural, obj);
        assert_eq!(status_without_time(&got), want, "{plural}");
    }
    // Kinds without a status are left alone.
    let got = prepared("", "configmaps", json!({"data": {"a": "b"}}));
    assert_eq!(got, json!({"data": {"a": "b"}}));
}

#[test]
fn pod_qos_class() {
    let cases = [
        (
            json!({"containers": [{"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}),
            "Guaranteed",
        ),
        (
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}),
            "Burstable",
        ),
        (json!({"containers": [{"name": "c"}]}), "BestEffort"),
    ];
    for (spec, want) in cases {
        let got = prepared("", "pods", json!({"spec": spec}));
        assert_eq!(got["status"]["qosClass"], want, "{spec}");
    }
    // A class given on create is kept (upstream reads the status before computing one).
    let got = prepared(
        "",
        "pods",
        json!({"spec": {"containers": [{"name": "c"}]},
        "status": {"qosClass": "Guaranteed"}}),
    );
    assert_eq!(
        got["status"],
        json!({"phase": "Pending", "qosClass": "Guaranteed"})
    );
}

#[test]
fn gated_pods_start_unscheduled() {
    let got = prepared(
        "",
        "pods",
        json!({"spec": {"containers": [{"name": "c"}],
        "schedulingGates": [{"name": "example.com/wait"}]}}),
    );
    assert_eq!(
        status_without_time(&got),
        json!({"phase": "Pending", "qosClass": "BestEffort", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "SchedulingGated",
            "message": "Scheduling is blocked due to non-empty scheduling gates",
            "lastProbeTime": null, "lastTransitionTime": "<now>",
        }]})
    );
    let got = prepared(
        "",
        "pods",
        json!({"spec": {"containers": [], "schedulingGates": []}}),
    );
    assert!(got["status"].get("conditions").is_none());
}

#[test]
fn affinity_label_keys_join_the_selector() {
    let term = |extra: Value| {
        let mut t =
            json!({"topologyKey": "zone", "labelSelector": {"matchLabels": {"app": "web"}}});
        for (k, v) in extra.as_object().unwrap() {
            t[k] = v.clone();
        }
        t
    };
    let pod = json!({
        "metadata": {"labels": {"app": "web", "track": "canary"}},
        "spec": {"containers": [], "affinity": {
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                term(json!({"matchLabelKeys": ["track", "absent"]})),
                term(json!({})),
                {"topologyKey": "zone", "matchLabelKeys": ["track"]},
            ]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 1, "podAffinityTerm": term(json!({"mismatchLabelKeys": ["track"]}))},
            ]},
        }},
    });
    let got = prepared("", "pods", pod);
    let required =
        &got["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(
        required[0]["labelSelector"],
        json!({"matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "track", "operator": "In", "values": ["canary"]},
        ]})
    );
    assert_eq!(
        required[1]["labelSelector"],
        json!({"matchLabels": {"app": "web"}})
    );
    assert!(
        required[2].get("labelSelector").is_none(),
        "no selector: matches nothing"
    );
    let preferred = &got["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        [0]["podAffinityTerm"];
    assert_eq!(
        preferred["labelSelector"]["matchExpressions"],
        json!([{"key": "track", "operator": "NotIn", "values": ["canary"]}])
    );
}

#[test]
fn apparmor_annotations_become_fields() {
    let annotations = json!({
        "container.apparmor.security.beta.kubernetes.io/a": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/b": "localhost/my-profile",
        "container.apparmor.security.beta.kubernetes.io/c": "unconfined",
        "container.apparmor.security.beta.kubernetes.io/d": "localhost/ ",
        "container.apparmor.security.beta.kubernetes.io/e": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/f": "unconfined",
    });
    let pod = json!({
        "metadata": {"annotations": annotations},
        "spec": {
            "securityContext": {"appArmorProfile": {"type": "Unconfined"}},
            "containers": [
                {"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"},
                {"name": "e", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}},
                {"name": "g"},
            ],
            "initContainers": [{"name": "f"}],
        },
    });
    let got = prepared("", "pods", pod);
    let profile = |i: usize| {
        got["spec"]["containers"][i]
            .at("/securityContext/appArmorProfile")
            .cloned()
    };
    assert_eq!(profile(0), Some(json!({"type": "RuntimeDefault"})));
    assert_eq!(
        profile(1),
        Some(json!({"type": "Localhost", "localhostProfile": "my-profile"}))
    );
    assert_eq!(profile(2), None, "same as the pod's profile");
    assert_eq!(profile(3), None, "invalid");
    assert_eq!(
        profile(4),
        Some(json!({"type": "Unconfined"})),
        "field wins"
    );
    assert_eq!(profile(5), None, "no annotation");
    assert!(
        got["spec"]["initContainers"][0]
            .get("securityContext")
            .is_none()
    );

    // Windows pods are left alone.
    let got = prepared(
        "",
        "pods",
        json!({
            "metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/a": "runtime/default"}},
            "spec": {"os": {"name": "windows"}, "containers": [{"name": "a"}]},
        }),
    );
    assert!(
        got["spec"]["containers"][0]
            .get("securityContext")
            .is_none()
    );
}

#[test]
fn namespace_finalizer_and_label() {
    let cases = [
        (json!({}), json!(["kubernetes"])),
        (json!({"finalizers": []}), json!(["kubernetes"])),
        (
            json!({"finalizers": ["example.com/x"]}),
            json!(["example.com/x", "kubernetes"]),
        ),
        (
            json!({"finalizers": ["kubernetes", "example.com/x"]}),
            json!(["kubernetes", "example.com/x"]),
        ),
    ];
    for (spec, want) in cases {
        let got = prepared(
            "",
            "namespaces",
            json!({"metadata": {"name": "team"}, "spec": spec}),
        );
        assert_eq!(got["spec"]["finalizers"], want, "{spec}");
        assert_eq!(
            got["metadata"]["labels"],
            json!({"kubernetes.io/metadata.name": "team"})
        );
    }
    let got = prepared(
        "",
        "namespaces",
        json!({"metadata": {"generateName": "t-"}}),
    );
    assert!(got["metadata"].get("labels").is_none());
}

#[test]
fn claim_data_sources_mirror() {
    let snapshot =
        json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "s"});
    let cases = [
        (
            json!({"dataSource": snapshot}),
            json!({"dataSource": snapshot, "dataSourceRef": snapshot}),
        ),
        (
            json!({"dataSourceRef": snapshot}),
            json!({"dataSource": snapshot, "dataSourceRef": snapshot}),
        ),
        (
            json!({"dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "p", "namespace": ""}}),
            json!({"dataSource": {"kind": "PersistentVolumeClaim", "name": "p"},
                "dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "p", "namespace": ""}}),
        ),
        (
            json!({"dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "p", "namespace": "other"}}),
            json!({"dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "p", "namespace": "other"}}),
        ),
        (
            json!({"dataSource": {"kind": "PersistentVolumeClaim", "name": "a"}, "dataSourceRef": snapshot}),
            json!({"dataSource": {"kind": "PersistentVolumeClaim", "name": "a"}, "dataSourceRef": snapshot}),
        ),
        (json!({}), json!({})),
    ];
    for (spec, want) in cases {
        let got = prepared("", "persistentvolumeclaims", json!({"spec": spec}));
        assert_eq!(got["spec"], want, "{spec}");
    }
}

#[test]
fn updates_keep_what_only_the_server_changes() {
    let namespaces = def("", "v1", "namespaces");
    let old = json!({"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes"]}});
    let cases = [
        (
            json!({"metadata": {"name": "n"}}),
            json!({"finalizers": ["kubernetes"]}),
        ),
        (
            json!({"metadata": {"name": "n"}, "spec": {"finalizers": []}}),
            json!({"finalizers": ["kubernetes"]}),
        ),
        (
            json!({"metadata": {"name": "n"}, "spec": {"finalizers": ["x/y"]}}),
            json!({"finalizers": ["kubernetes"]}),
        ),
    ];
    for (given, want) in cases {
        let mut new = given.clone();
        prepare_update(namespaces, &old, &mut new);
        assert_eq!(new["spec"], want, "{given}");
    }
    let mut new = json!({"spec": {"finalizers": ["kubernetes"]}});
    prepare_update(namespaces, &json!({"spec": {}}), &mut new);
    assert_eq!(new["spec"], json!({}));

    let claims = def("", "v1", "persistentvolumeclaims");
    let mut new = json!({"spec": {"dataSource": {"kind": "PersistentVolumeClaim", "name": "a"}}});
    prepare_update(claims, &json!({}), &mut new);
    assert_eq!(
        new["spec"]["dataSourceRef"],
        json!({"kind": "PersistentVolumeClaim", "name": "a"})
    );

    // Other kinds are left alone.
    let mut new = json!({"spec": {"replicas": 3}});
    prepare_update(def("apps", "v1", "deployments"), &json!({}), &mut new);
    assert_eq!(new, json!({"spec": {"replicas": 3}}));
}

#[test]
fn generated_namespace_names_get_their_label() {
    let namespaces = def("", "v1", "namespaces");
    let mut ns =
        json!({"metadata": {"generateName": "t-", "name": "t-x7k2p", "labels": {"a": "b"}}});
    canonicalize(namespaces, &mut ns);
    assert_eq!(
        ns["metadata"]["labels"],
        json!({"a": "b", "kubernetes.io/metadata.name": "t-x7k2p"})
    );
    // Other kinds are left alone.
    let mut cm = json!({"metadata": {"name": "c"}});
    canonicalize(def("", "v1", "configmaps"), &mut cm);
    assert_eq!(cm, json!({"metadata": {"name": "c"}}));
}

//! The admission plugins: Priority, DefaultTolerationSeconds, DefaultStorageClass,
//! NamespaceLifecycle.

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

use crate::support::TestServer;

fn pod(name: &str, extra: serde_json::Value) -> Pod {
    let mut spec = json!({"containers": [{"name": "c", "image": "busybox:1.36"}]});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap()
}

fn class(name: &str, value: i64, global_default: bool) -> PriorityClass {
    serde_json::from_value(json!({
        "metadata": {"name": name}, "value": value, "globalDefault": global_default
    }))
    .unwrap()
}

fn forbidden(err: kube::Error, text: &str) {
    match err {
        kube::Error::Api(s) => {
            assert_eq!(
                (s.code, s.reason.as_str()),
                (403, "Forbidden"),
                "{}",
                s.message
            );
            assert!(s.message.contains(text), "{}", s.message);
        }
        other => panic!("expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn priority_is_resolved_from_the_class() {
    let t = TestServer::start().await;
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    let classes: Api<PriorityClass> = Api::all(t.client.clone());
    let pp = PostParams::default();

    // No class at all: priority 0.
    let p = pods.create(&pp, &pod("plain", json!({}))).await.unwrap();
    let spec = p.spec.unwrap();
    assert_eq!(spec.priority, Some(0));
    assert_eq!(
        spec.preemption_policy.as_deref(),
        Some("PreemptLowerPriority")
    );

    // A built-in class.
    let p = pods
        .create(
            &pp,
            &pod(
                "critical",
                json!({"priorityClassName": "system-cluster-critical"}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(p.spec.unwrap().priority, Some(2_000_000_000));

    // An unknown class is refused, a stored one resolved, and the global default applies
    // to pods that name none.
    let err = pods
        .create(&pp, &pod("lost", json!({"priorityClassName": "nope"})))
        .await
        .unwrap_err();
    forbidden(err, "no PriorityClass with name nope was found");
    classes
        .create(&pp, &class("high", 1000, false))
        .await
        .unwrap();
    classes
        .create(&pp, &class("usual", 10, true))
        .await
        .unwrap();
    let p = pods
        .create(&pp, &pod("high", json!({"priorityClassName": "high"})))
        .await
        .unwrap();
    assert_eq!(p.spec.unwrap().priority, Some(1000));
    let p = pods
        .create(&pp, &pod("defaulted", json!({})))
        .await
        .unwrap();
    let spec = p.spec.unwrap();
    assert_eq!(spec.priority_class_name.as_deref(), Some("usual"));
    assert_eq!(spec.priority, Some(10));

    // A priority given in the pod must match its class.
    let err = pods
        .create(
            &pp,
            &pod("liar", json!({"priorityClassName": "high", "priority": 5})),
        )
        .await
        .unwrap_err();
    forbidden(
        err,
        "the integer value of priority (5) must not be provided in pod spec",
    );

    // Only one global default.
    let err = classes
        .create(&pp, &class("other-default", 20, true))
        .await
        .unwrap_err();
    forbidden(err, "PriorityClass usual is already marked as default");
}

#[tokio::test]
async fn new_pods_tolerate_lost_nodes_for_five_minutes() {
    let t = TestServer::start().await;
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    let p = pods
        .create(&PostParams::default(), &pod("p", json!({})))
        .await
        .unwrap();
    let tolerations = serde_json::to_value(p.spec.unwrap().tolerations).unwrap();
    assert_eq!(
        tolerations,
        json!([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ])
    );
}

#[tokio::test]
async fn system_namespaces_cannot_be_deleted() {
    let t = TestServer::start().await;
    let namespaces: Api<Namespace> = Api::all(t.client.clone());
    for ns in ["default", "kube-system", "kube-public"] {
        let err = namespaces
            .delete(ns, &DeleteParams::default())
            .await
            .unwrap_err();
        forbidden(err, "this namespace may not be deleted");
        assert!(
            namespaces
                .get(ns)
                .await
                .unwrap()
                .metadata
                .deletion_timestamp
                .is_none()
        );
    }
}

#[tokio::test]
async fn claims_without_a_class_get_the_default_class() {
    let t = TestServer::start().await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(t.client.clone(), "default");
    let classes: Api<StorageClass> = Api::all(t.client.clone());
    let pp = PostParams::default();
    let claim = |name: &str, class: Option<&str>| -> PersistentVolumeClaim {
        let mut spec = json!({"accessModes": ["ReadWriteOnce"],
                              "resources": {"requests": {"storage": "1Gi"}}});
        if let Some(class) = class {
            spec["storageClassName"] = json!(class);
        }
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap()
    };
    let class_of = |c: PersistentVolumeClaim| c.spec.unwrap().storage_class_name;

    // No default class: the claim keeps no class.
    let c = claims.create(&pp, &claim("before", None)).await.unwrap();
    assert_eq!(class_of(c), None);

    let sc: StorageClass = serde_json::from_value(json!({
        "metadata": {"name": "standard",
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "example.com/p"
    }))
    .unwrap();
    classes.create(&pp, &sc).await.unwrap();
    let c = claims.create(&pp, &claim("after", None)).await.unwrap();
    assert_eq!(class_of(c).as_deref(), Some("standard"));
    // "" asks for no class; a named class is kept.
    let c = claims.create(&pp, &claim("none", Some(""))).await.unwrap();
    assert_eq!(class_of(c).as_deref(), Some(""));
    let c = claims
        .create(&pp, &claim("named", Some("fast")))
        .await
        .unwrap();
    assert_eq!(class_of(c).as_deref(), Some("fast"));
    // Only creates are defaulted: the earlier claim is left to the binder.
    assert_eq!(class_of(claims.get("before").await.unwrap()), None);
}

//! The namespace controller against an in-process apiserver: a deleted namespace is
//! emptied of every kind, reports what remains in its conditions, and goes once empty.
#![allow(clippy::unwrap_used)]

mod support;

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, NamespaceCondition, Pod, PodSpec, Secret, Service,
    ServicePort, ServiceSpec,
};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::ObjectMeta;
use serde_json::json;
use support::{Cluster, eventually};

fn named(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        ..ObjectMeta::default()
    }
}

async fn fill(cluster: &Cluster, ns: &str) {
    let client = cluster.client.clone();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = Namespace {
        metadata: named(ns),
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let pp = PostParams::default();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    cms.create(
        &pp,
        &ConfigMap {
            metadata: named("plain"),
            ..ConfigMap::default()
        },
    )
    .await
    .unwrap();
    let held = ConfigMap {
        metadata: ObjectMeta {
            finalizers: Some(vec!["example.com/hold".into()]),
            ..named("held")
        },
        ..ConfigMap::default()
    };
    cms.create(&pp, &held).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    secrets
        .create(
            &pp,
            &Secret {
                metadata: named("s"),
                ..Secret::default()
            },
        )
        .await
        .unwrap();
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let svc = Service {
        metadata: named("svc"),
        spec: Some(ServiceSpec {
            ports: Some(vec![ServicePort {
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    services.create(&pp, &svc).await.unwrap();
    // Scheduled, so its deletion is graceful and waits for its (played) kubelet.
    let pods: Api<Pod> = Api::namespaced(client, ns);
    let pod = Pod {
        metadata: named("p"),
        spec: Some(PodSpec {
            node_name: Some("node-1".into()),
            termination_grace_period_seconds: Some(20),
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox".into()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    };
    pods.create(&pp, &pod).await.unwrap();
}

fn condition<'a>(ns: &'a Namespace, type_: &str) -> Option<&'a NamespaceCondition> {
    ns.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

#[tokio::test]
async fn a_deleted_namespace_is_emptied_then_removed() {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["namespace"]);
    fill(&cluster, "doomed").await;
    fill(&cluster, "kept").await;
    let client = cluster.client.clone();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "doomed");
    let services: Api<Service> = Api::namespaced(client.clone(), "doomed");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "doomed");

    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    let terminating = namespaces.get("doomed").await.unwrap();
    assert_eq!(
        terminating.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Terminating")
    );

    // What can go goes; the finalized ConfigMap and the graceful pod remain, and the
    // conditions say so.
    let ns = eventually("conditions naming the remaining content", || async {
        let ns = namespaces.get("doomed").await.unwrap();
        let remaining = condition(&ns, "NamespaceContentRemaining")?;
        let finalizers = condition(&ns, "NamespaceFinalizersRemaining")?;
        (remaining.status == "True"
            && remaining.message.as_deref()
                == Some(
                    "Some resources are remaining: configmaps. has 1 resource instances, \
                     pods. has 1 resource instances",
                )
            && finalizers.status == "True")
            .then_some(ns)
    })
    .await;
    let finalizers = condition(&ns, "NamespaceFinalizersRemaining").unwrap();
    assert_eq!(finalizers.reason.as_deref(), Some("SomeFinalizersRemain"));
    assert_eq!(
        finalizers.message.as_deref(),
        Some(
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        )
    );
    let remaining = condition(&ns, "NamespaceContentRemaining").unwrap();
    assert_eq!(remaining.reason.as_deref(), Some("SomeResourcesRemain"));
    let discovery = condition(&ns, "NamespaceDeletionDiscoveryFailure").unwrap();
    assert_eq!(
        (discovery.status.as_str(), discovery.reason.as_deref()),
        ("False", Some("ResourcesDiscovered"))
    );
    let parsing = condition(&ns, "NamespaceDeletionGroupVersionParsingFailure").unwrap();
    assert_eq!(parsing.reason.as_deref(), Some("ParsedGroupVersions"));
    assert!(cms.get_opt("plain").await.unwrap().is_none());
    assert!(secrets.get_opt("s").await.unwrap().is_none());
    assert!(services.get_opt("svc").await.unwrap().is_none());
    let pod = pods.get("p").await.unwrap();
    assert!(pod.metadata.deletion_timestamp.is_some());
    let held = cms.get("held").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    assert!(
        ns.spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_some_and(|f| f.contains(&"kubernetes".to_owned()))
    );

    // Play the finalizer's owner and the kubelet.
    let release = json!({"metadata": {"finalizers": null}});
    cms.patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .unwrap();
    pods.delete("p", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    eventually("the namespace to be removed", || async {
        namespaces
            .get_opt("doomed")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;

    // The other namespace is untouched.
    let kept: Api<ConfigMap> = Api::namespaced(client, "kept");
    assert!(kept.get_opt("plain").await.unwrap().is_some());
    let kept_ns = namespaces.get("kept").await.unwrap();
    assert!(kept_ns.metadata.deletion_timestamp.is_none());
    manager.stop().await;
}

#[tokio::test]
async fn an_empty_namespace_goes_at_once() {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["namespace"]);
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    let ns = Namespace {
        metadata: named("empty"),
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    namespaces
        .delete("empty", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the namespace to be removed", || async {
        namespaces
            .get_opt("empty")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    manager.stop().await;
}

#[tokio::test]
async fn content_that_outlives_its_estimate_is_a_content_failure() {
    let cluster = Cluster::start().await;
    let manager = cluster.controllers(&["namespace"]);
    let client = cluster.client.clone();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: named("stuck"),
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    // A scheduled pod with a 1 s grace period and no kubelet to finish it.
    let pods: Api<Pod> = Api::namespaced(client, "stuck");
    let pod = Pod {
        metadata: named("p"),
        spec: Some(PodSpec {
            node_name: Some("node-1".into()),
            termination_grace_period_seconds: Some(1),
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox".into()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    };
    pods.create(&PostParams::default(), &pod).await.unwrap();
    namespaces
        .delete("stuck", &DeleteParams::default())
        .await
        .unwrap();
    let failure = eventually("NamespaceDeletionContentFailure", || async {
        let ns = namespaces.get("stuck").await.unwrap();
        condition(&ns, "NamespaceDeletionContentFailure")
            .filter(|c| c.status == "True")
            .cloned()
    })
    .await;
    assert_eq!(failure.reason.as_deref(), Some("ContentDeletionFailed"));
    assert_eq!(
        failure.message.as_deref(),
        Some(
            "Failed to delete all resource types, 1 remaining: unexpected items still remain \
             in namespace: stuck for gvr: /v1, Resource=pods"
        )
    );
    // The kubelet's part, played: the namespace then goes.
    pods.delete("p", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    eventually("the namespace to be removed", || async {
        namespaces
            .get_opt("stuck")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    manager.stop().await;
}

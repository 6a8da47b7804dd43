//! Protobuf request bodies, as client-go's typed clients (kubectl `create`, `drain`) send
//! them: decoded, stored, answered in JSON.

use k8s_pb::api::core::v1 as core;
use k8s_pb::api::policy::v1 as policy;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message;

use crate::support::TestServer;

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
const ACCEPT: &str = "application/vnd.kubernetes.protobuf, application/json";

fn body(api_version: &str, kind: &str, message: &impl Message) -> Vec<u8> {
    let mut out = b"k8s\0".to_vec();
    out.extend(
        Unknown {
            type_meta: Some(TypeMeta {
                api_version: Some(api_version.into()),
                kind: Some(kind.into()),
            }),
            raw: Some(message.encode_to_vec()),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        }
        .encode_to_vec(),
    );
    out
}

fn named(name: &str) -> Option<meta::ObjectMeta> {
    Some(meta::ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    })
}

#[tokio::test]
async fn create_evict_and_delete_with_protobuf_bodies() {
    let t = TestServer::start().await;
    let secret = core::Secret {
        metadata: named("creds"),
        string_data: [("user".to_owned(), "admin".to_owned())].into(),
        ..Default::default()
    };
    let (s, headers, v) = t
        .raw(
            "POST",
            "/api/v1/namespaces/default/secrets?fieldManager=kubectl-create&fieldValidation=Strict",
            Some(PROTOBUF),
            Some(ACCEPT),
            body("v1", "Secret", &secret),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(v["data"]["user"], "YWRtaW4=", "{v}");
    assert!(v["metadata"]["uid"].is_string());

    // An eviction (kubectl drain) of a pod without a node.
    let pod = core::Pod {
        metadata: named("p"),
        spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: Some("c".into()),
                image: Some("busybox".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    };
    let (s, _, v) = t
        .raw(
            "POST",
            "/api/v1/namespaces/default/pods",
            Some(PROTOBUF),
            Some(ACCEPT),
            body("v1", "Pod", &pod),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let eviction = policy::Eviction {
        metadata: Some(meta::ObjectMeta {
            name: Some("p".into()),
            namespace: Some("default".into()),
            ..Default::default()
        }),
        delete_options: None,
    };
    let (s, _, v) = t
        .raw(
            "POST",
            "/api/v1/namespaces/default/pods/p/eviction",
            Some(PROTOBUF),
            Some(ACCEPT),
            body("policy/v1", "Eviction", &eviction),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = t.get_json("/api/v1/namespaces/default/pods/p").await;
    assert_eq!(s, 404);

    // DeleteOptions with a failing precondition: the protobuf body is read.
    let options = meta::DeleteOptions {
        preconditions: Some(meta::Preconditions {
            uid: Some("not-the-uid".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let (s, _, v) = t
        .raw(
            "DELETE",
            "/api/v1/namespaces/default/secrets/creds",
            Some(PROTOBUF),
            Some(ACCEPT),
            body("v1", "DeleteOptions", &options),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("not-the-uid"),
        "{v}"
    );
}

#[tokio::test]
async fn a_body_of_the_wrong_kind_is_refused() {
    let t = TestServer::start().await;
    let cm = core::ConfigMap {
        metadata: named("x"),
        ..Default::default()
    };
    let (s, _, v) = t
        .raw(
            "POST",
            "/api/v1/namespaces/default/secrets",
            Some(PROTOBUF),
            Some(ACCEPT),
            body("v1", "ConfigMap", &cm),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("ConfigMap"), "{v}");
}

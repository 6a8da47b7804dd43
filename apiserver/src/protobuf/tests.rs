//! Bodies encoded with the `k8s-pb` bindings (Kubernetes' own .proto files, compiled by
//! prost), decoded back to the JSON the Go types would produce.

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::json;

use super::*;

fn envelope(api_version: &str, kind: &str, message: &impl Message) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(message.encode_to_vec()),
        // Go writes every plain string, empty or not.
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

fn s(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// What Go writes for an object's metadata when only the name is set.
fn meta_named(name: &str) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: s(name),
        generate_name: s(""),
        namespace: s(""),
        resource_version: s(""),
        uid: s(""),
        creation_timestamp: Some(meta::Time::default()),
        ..Default::default()
    }
}

#[test]
fn a_config_map_as_kubectl_create_sends_it() {
    let cm = core::ConfigMap {
        metadata: Some(meta_named("settings")),
        data: [
            ("a".to_owned(), "1".to_owned()),
            ("empty".to_owned(), String::new()),
        ]
        .into(),
        binary_data: [("bin".to_owned(), vec![0u8, 1, 2])].into(),
        immutable: None,
    };
    let value = decode(&envelope("v1", "ConfigMap", &cm)).unwrap();
    assert_eq!(
        value,
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"a": "1", "empty": ""},
            "binaryData": {"bin": "AAEC"},
        })
    );
}

#[test]
fn a_deployment_with_quantities_int_or_strings_and_embedded_volume_sources() {
    let container = core::Container {
        name: s("web"),
        image: s("busybox:1.36"),
        ports: vec![core::ContainerPort {
            container_port: Some(8080),
            protocol: s("TCP"),
            ..Default::default()
        }],
        resources: Some(core::ResourceRequirements {
            limits: [("memory".to_owned(), Quantity { string: s("64Mi") })].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let volume = core::Volume {
        name: s("config"),
        volume_source: Some(core::VolumeSource {
            config_map: Some(core::ConfigMapVolumeSource {
                local_object_reference: Some(core::LocalObjectReference {
                    name: s("settings"),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    let deployment = apps::Deployment {
        metadata: Some(meta::ObjectMeta {
            labels: [("app".to_owned(), "web".to_owned())].into(),
            creation_timestamp: Some(meta::Time {
                seconds: Some(1_700_000_000),
                nanos: Some(0),
            }),
            ..meta_named("web")
        }),
        spec: Some(apps::DeploymentSpec {
            // A pointer in Go: zero is a value and must survive.
            replicas: Some(0),
            selector: Some(meta::LabelSelector {
                match_labels: [("app".to_owned(), "web".to_owned())].into(),
                ..Default::default()
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(meta::ObjectMeta {
                    labels: [("app".to_owned(), "web".to_owned())].into(),
                    ..Default::default()
                }),
                spec: Some(core::PodSpec {
                    containers: vec![container],
                    volumes: vec![volume],
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: s("RollingUpdate"),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString {
                        r#type: Some(0),
                        int_val: Some(1),
                        str_val: s(""),
                    }),
                    max_surge: Some(IntOrString {
                        r#type: Some(1),
                        int_val: Some(0),
                        str_val: s("25%"),
                    }),
                }),
            }),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus::default()),
    };
    let value = decode(&envelope("apps/v1", "Deployment", &deployment)).unwrap();
    assert_eq!(
        value,
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "labels": {"app": "web"},
                "creationTimestamp": "2023-11-14T22:13:20Z",
            },
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [{
                            "name": "web",
                            "image": "busybox:1.36",
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "resources": {"limits": {"memory": "64Mi"}},
                        }],
                        "volumes": [{"name": "config", "configMap": {"name": "settings"}}],
                    },
                },
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"},
                },
            },
            "status": {},
        })
    );
    // And the typed form accepts it.
    serde_json::from_value::<k8s_openapi::api::apps::v1::Deployment>(value).unwrap();
}

#[test]
fn secrets_services_and_delete_options() {
    let secret = core::Secret {
        metadata: Some(meta_named("token")),
        data: [("key".to_owned(), b"s3cret".to_vec())].into(),
        r#type: s("Opaque"),
        ..Default::default()
    };
    let value = decode(&envelope("v1", "Secret", &secret)).unwrap();
    assert_eq!(value["data"], json!({"key": "czNjcmV0"}));
    assert_eq!(value["type"], "Opaque");

    let service = core::Service {
        metadata: Some(meta_named("web")),
        spec: Some(core::ServiceSpec {
            ports: vec![core::ServicePort {
                name: s("http"),
                port: Some(80),
                target_port: Some(IntOrString {
                    r#type: Some(0),
                    int_val: Some(8080),
                    str_val: s(""),
                }),
                ..Default::default()
            }],
            selector: [("app".to_owned(), "web".to_owned())].into(),
            r#type: s("ClusterIP"),
            ..Default::default()
        }),
        status: Some(core::ServiceStatus::default()),
    };
    let value = decode(&envelope("v1", "Service", &service)).unwrap();
    assert_eq!(
        value["spec"],
        json!({
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            "selector": {"app": "web"},
            "type": "ClusterIP",
        })
    );

    let options = meta::DeleteOptions {
        grace_period_seconds: Some(0),
        propagation_policy: s("Foreground"),
        ..Default::default()
    };
    let value = decode(&envelope("apps/v1", "DeleteOptions", &options)).unwrap();
    assert_eq!(value["gracePeriodSeconds"], 0);
    assert_eq!(value["propagationPolicy"], "Foreground");
}

#[test]
fn a_pvc_keeps_an_empty_storage_class() {
    let pvc = core::PersistentVolumeClaim {
        metadata: Some(meta_named("data")),
        spec: Some(core::PersistentVolumeClaimSpec {
            storage_class_name: s(""),
            ..Default::default()
        }),
        status: None,
    };
    let value = decode(&envelope("v1", "PersistentVolumeClaim", &pvc)).unwrap();
    assert_eq!(value["spec"], json!({"storageClassName": ""}));
}

#[test]
fn bad_bodies_are_refused_with_a_reason() {
    assert_eq!(decode(b"{}"), Err(ProtobufError::NoMagic));
    assert!(matches!(
        decode(b"k8s\0\x0a\x05"),
        Err(ProtobufError::Malformed(_))
    ));
    let cm = core::ConfigMap::default();
    assert_eq!(
        decode(&envelope("v1", "Widget", &cm)),
        Err(ProtobufError::UnknownKind {
            api_version: "v1".into(),
            kind: "Widget".into()
        })
    );
    let mut body = MAGIC.to_vec();
    body.extend(
        Unknown {
            type_meta: Some(TypeMeta {
                api_version: s("v1"),
                kind: s("ConfigMap"),
            }),
            raw: Some(Vec::new()),
            content_encoding: s("gzip"),
            content_type: None,
        }
        .encode_to_vec(),
    );
    assert_eq!(decode(&body), Err(ProtobufError::Encoding("gzip".into())));
}

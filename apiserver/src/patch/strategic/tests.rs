//! Cases for strategic merge patch, including the patches kubectl 1.33 sends.

use serde_json::{Value, json};

use super::{StrategicPatchError, apply};
use crate::pointer::At;

const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";
const POD: &str = "io.k8s.api.core.v1.Pod";
const SERVICE: &str = "io.k8s.api.core.v1.Service";

struct Case {
    name: &'static str,
    definition: &'static str,
    original: Value,
    patch: Value,
    expected: Value,
}

fn deployment(containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": containers, "dnsPolicy": "ClusterFirst"}
            }
        }
    })
}

fn pod_spec(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

fn service(ports: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"type": "ClusterIP", "ports": ports}})
}

/// `value` with the member at `pointer` set to `new` (its parent must exist).
fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    match value.at_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key.to_owned(), new);
        }
        Some(Value::Array(items)) => match key.parse::<usize>() {
            Ok(index) if index < items.len() => items[index] = new,
            _ => panic!("no {pointer} in {value}"),
        },
        _ => panic!("no {pointer} in {value}"),
    }
    value
}

fn nginx(image: &str) -> Value {
    json!({
        "name": "web",
        "image": image,
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]
    })
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "kubectl apply changes a container image",
            definition: DEPLOYMENT,
            original: deployment(json!([nginx("nginx:1.24")])),
            patch: json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}],
                "containers": [{"image": "nginx:1.25", "name": "web"}]
            }}}}),
            expected: deployment(json!([nginx("nginx:1.25")])),
        },
        Case {
            name: "kubectl apply removes an env var with $patch: delete",
            definition: DEPLOYMENT,
            original: deployment(json!([nginx("nginx")])),
            patch: json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}],
                "containers": [{
                    "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                    "env": [{"$patch": "delete", "name": "B"}],
                    "name": "web"
                }]
            }}}}),
            expected: with(
                deployment(json!([nginx("nginx")])),
                "/spec/template/spec/containers/0/env",
                json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]),
            ),
        },
        Case {
            name: "kubectl apply switches the strategy to Recreate with $retainKeys",
            definition: DEPLOYMENT,
            original: deployment(json!([nginx("nginx")])),
            patch: json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
            expected: with(
                deployment(json!([nginx("nginx")])),
                "/spec/strategy",
                json!({"type": "Recreate"}),
            ),
        },
        Case {
            name: "without $retainKeys the other union members stay",
            definition: DEPLOYMENT,
            original: deployment(json!([nginx("nginx")])),
            patch: json!({"spec": {"strategy": {"type": "Recreate"}}}),
            expected: with(
                deployment(json!([nginx("nginx")])),
                "/spec/strategy/type",
                json!("Recreate"),
            ),
        },
        Case {
            name: "null deletes a label",
            definition: DEPLOYMENT,
            original: deployment(json!([])),
            patch: json!({"metadata": {"labels": {"tier": null, "new": "x"}}}),
            expected: with(
                deployment(json!([])),
                "/metadata/labels",
                json!({"app": "web", "new": "x"}),
            ),
        },
        Case {
            name: "kubectl apply removes a finalizer",
            definition: DEPLOYMENT,
            original: with(
                deployment(json!([])),
                "/metadata/finalizers",
                json!(["a", "b", "server"]),
            ),
            patch: json!({"metadata": {
                "$deleteFromPrimitiveList/finalizers": ["b"],
                "$setElementOrder/finalizers": ["a"]
            }}),
            expected: with(
                deployment(json!([])),
                "/metadata/finalizers",
                json!(["a", "server"]),
            ),
        },
        Case {
            name: "finalizers merge as a set, new ones before the server's",
            definition: DEPLOYMENT,
            original: with(
                deployment(json!([])),
                "/metadata/finalizers",
                json!(["a", "b"]),
            ),
            patch: json!({"metadata": {"finalizers": ["a", "x"]}}),
            expected: with(
                deployment(json!([])),
                "/metadata/finalizers",
                json!(["a", "x", "b"]),
            ),
        },
        Case {
            name: "$deleteFromPrimitiveList on an absent list creates nothing",
            definition: DEPLOYMENT,
            original: deployment(json!([])),
            patch: json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            expected: deployment(json!([])),
        },
        Case {
            name: "kubectl apply adds a service port",
            definition: SERVICE,
            original: service(
                json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]),
            ),
            patch: json!({"spec": {
                "$setElementOrder/ports": [{"port": 80}, {"port": 443}],
                "ports": [{"name": "https", "port": 443, "targetPort": 8443}]
            }}),
            expected: service(json!([
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": 8443}
            ])),
        },
        Case {
            name: "kubectl apply removes a service port",
            definition: SERVICE,
            original: service(
                json!([{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}]),
            ),
            patch: json!({"spec": {
                "$setElementOrder/ports": [{"port": 443}],
                "ports": [{"$patch": "delete", "port": 80}]
            }}),
            expected: service(json!([{"port": 443, "protocol": "TCP"}])),
        },
        Case {
            name: "a container added by kubectl patch comes first",
            definition: DEPLOYMENT,
            original: deployment(json!([{"name": "nginx", "image": "nginx"}])),
            patch: json!({"spec": {"template": {"spec": {"containers": [{"name": "redis", "image": "redis"}]}}}}),
            expected: deployment(json!([
                {"name": "redis", "image": "redis"},
                {"name": "nginx", "image": "nginx"}
            ])),
        },
        Case {
            name: "patch order wins for named elements; new ones precede later server ones",
            definition: POD,
            original: pod_spec(json!({"containers": [{"name": "c", "env": [
                {"name": "A"}, {"name": "B"}, {"name": "C"}
            ]}]})),
            patch: json!({"spec": {"containers": [{"name": "c", "env": [
                {"name": "B", "value": "2"}, {"name": "D"}
            ]}]}}),
            expected: pod_spec(json!({"containers": [{"name": "c", "env": [
                {"name": "A"}, {"name": "B", "value": "2"}, {"name": "D"}, {"name": "C"}
            ]}]})),
        },
        Case {
            name: "kubectl apply adds a container next to a server-injected sidecar",
            definition: POD,
            original: pod_spec(json!({"containers": [{"name": "a"}, {"name": "sidecar"}]})),
            patch: json!({"spec": {
                "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                "containers": [{"name": "b", "image": "b"}]
            }}),
            expected: pod_spec(json!({"containers": [
                {"name": "a"}, {"name": "b", "image": "b"}, {"name": "sidecar"}
            ]})),
        },
        Case {
            name: "$deleteFromPrimitiveList works on lists without a strategy",
            definition: POD,
            original: pod_spec(json!({"containers": [{"name": "a", "args": ["x", "y", "x"]}]})),
            patch: json!({"spec": {"containers": [
                {"name": "a", "$deleteFromPrimitiveList/args": ["x"]}
            ]}}),
            expected: pod_spec(json!({"containers": [{"name": "a", "args": ["y"]}]})),
        },
        Case {
            name: "host aliases merge by ip, image pull secrets by name",
            definition: POD,
            original: pod_spec(json!({
                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
                "imagePullSecrets": [{"name": "one"}]
            })),
            patch: json!({"spec": {
                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}],
                "imagePullSecrets": [{"name": "two"}]
            }}),
            expected: pod_spec(json!({
                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}],
                "imagePullSecrets": [{"name": "two"}, {"name": "one"}]
            })),
        },
        Case {
            name: "$setElementOrder alone reorders",
            definition: POD,
            original: pod_spec(json!({"containers": [{"name": "a"}, {"name": "b"}]})),
            patch: json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}),
            expected: pod_spec(json!({"containers": [{"name": "b"}, {"name": "a"}]})),
        },
        Case {
            name: "lists without a merge key are replaced",
            definition: POD,
            original: pod_spec(json!({"tolerations": [{"key": "a", "operator": "Exists"}]})),
            patch: json!({"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}),
            expected: pod_spec(json!({"tolerations": [{"key": "b", "operator": "Exists"}]})),
        },
        Case {
            name: "directives left in a replaced list are dropped",
            definition: POD,
            original: pod_spec(json!({"tolerations": [{"key": "a"}]})),
            patch: json!({"spec": {"tolerations": [{"key": "b", "$patch": "delete"}]}}),
            expected: pod_spec(json!({"tolerations": [{"key": "b"}]})),
        },
        Case {
            name: "$patch: replace on a map",
            definition: POD,
            original: pod_spec(json!({"nodeSelector": {"zone": "a"}})),
            patch: json!({"spec": {"nodeSelector": {"$patch": "replace", "disk": "ssd"}}}),
            expected: pod_spec(json!({"nodeSelector": {"disk": "ssd"}})),
        },
        Case {
            name: "$patch: delete on a map empties it",
            definition: POD,
            original: pod_spec(json!({"securityContext": {"runAsUser": 1}})),
            patch: json!({"spec": {"securityContext": {"$patch": "delete"}}}),
            expected: pod_spec(json!({"securityContext": {}})),
        },
        Case {
            name: "$patch: replace in a list element replaces the list",
            definition: POD,
            original: pod_spec(json!({"containers": [{"name": "a"}, {"name": "b"}]})),
            patch: json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "x"}]}}),
            expected: pod_spec(json!({"containers": [{"name": "c", "image": "x"}]})),
        },
        Case {
            name: "volume sources switch with $retainKeys inside a merged element",
            definition: POD,
            original: pod_spec(
                json!({"volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]}),
            ),
            patch: json!({"spec": {
                "$setElementOrder/volumes": [{"name": "data"}, {"name": "tmp"}],
                "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "cfg"}, "name": "data"}]
            }}),
            expected: pod_spec(json!({"volumes": [
                {"name": "data", "configMap": {"name": "cfg"}},
                {"name": "tmp", "emptyDir": {}}
            ]})),
        },
        Case {
            name: "owner references merge by uid",
            definition: POD,
            original: with(
                pod_spec(json!({})),
                "/metadata/ownerReferences",
                json!([{"uid": "1", "name": "a"}]),
            ),
            patch: json!({"metadata": {"ownerReferences": [{"uid": "1", "controller": true}, {"uid": "2", "name": "b"}]}}),
            expected: with(
                pod_spec(json!({})),
                "/metadata/ownerReferences",
                json!([{"uid": "1", "name": "a", "controller": true}, {"uid": "2", "name": "b"}]),
            ),
        },
        Case {
            name: "status conditions merge by type",
            definition: POD,
            original: json!({"status": {"conditions": [
                {"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}
            ]}}),
            patch: json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            expected: json!({"status": {"conditions": [
                {"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}
            ]}}),
        },
        Case {
            name: "unknown fields merge like a JSON merge patch",
            definition: POD,
            original: pod_spec(json!({"future": {"a": 1, "list": [{"k": 1}]}})),
            patch: json!({"spec": {"future": {"b": 2, "list": [{"k": 2}]}}}),
            expected: pod_spec(json!({"future": {"a": 1, "b": 2, "list": [{"k": 2}]}})),
        },
        Case {
            name: "an added value loses its nulls and directive objects",
            definition: POD,
            original: pod_spec(json!({})),
            patch: json!({"spec": {
                "nodeSelector": {"a": "1", "b": null},
                "securityContext": {"$patch": "replace", "runAsUser": 1},
                "containers": [{"name": "a", "env": [{"name": "X"}, {"name": "Y", "$patch": "delete"}]}]
            }}),
            expected: pod_spec(json!({
                "nodeSelector": {"a": "1"},
                "containers": [{"name": "a", "env": [{"name": "X"}]}]
            })),
        },
        Case {
            name: "a value of another type replaces the original",
            definition: POD,
            original: pod_spec(json!({"containers": [{"name": "a", "args": ["x"]}]})),
            patch: json!({"spec": {"containers": [{"name": "a", "args": "y"}]}}),
            expected: pod_spec(json!({"containers": [{"name": "a", "args": "y"}]})),
        },
        Case {
            name: "a null patch changes nothing",
            definition: POD,
            original: pod_spec(json!({"hostname": "h"})),
            patch: Value::Null,
            expected: pod_spec(json!({"hostname": "h"})),
        },
        Case {
            name: "removing a field with null and the whole object with $patch: delete",
            definition: DEPLOYMENT,
            original: deployment(json!([])),
            patch: json!({"spec": {"replicas": null}, "$patch": "delete"}),
            expected: json!({}),
        },
        Case {
            name: "a container port merges by containerPort",
            definition: POD,
            original: pod_spec(
                json!({"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]}),
            ),
            patch: json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "protocol": "UDP"}]}]}}),
            expected: pod_spec(json!({"containers": [{"name": "a", "ports": [
                {"containerPort": 80, "name": "http", "protocol": "UDP"}
            ]}]})),
        },
    ]
}

#[test]
fn applies_patches_as_upstream() {
    for case in cases() {
        match apply(&case.original, &case.patch, case.definition) {
            Ok(merged) => assert_eq!(merged, case.expected, "{}", case.name),
            Err(error) => panic!("{}: {error}", case.name),
        }
    }
}

/// A patch that must be refused, and what the refusal must say.
struct Refusal {
    name: &'static str,
    definition: &'static str,
    original: Value,
    patch: Value,
    check: fn(&StrategicPatchError) -> bool,
    message: &'static str,
}

fn refusals() -> Vec<Refusal> {
    let pod = pod_spec(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
    vec![
        Refusal {
            name: "unknown $patch value on a map",
            definition: POD,
            original: pod.clone(),
            patch: json!({"spec": {"$patch": "bogus"}}),
            check: |e| matches!(e, StrategicPatchError::InvalidDirective { .. }),
            message: "invalid $patch directive \"bogus\" at spec",
        },
        Refusal {
            name: "$patch: merge is not accepted on a map",
            definition: POD,
            original: with(pod.clone(), "/metadata/labels", json!({"a": "b"})),
            patch: json!({"metadata": {"labels": {"$patch": "merge"}}}),
            check: |e| matches!(e, StrategicPatchError::InvalidDirective { .. }),
            message: "at metadata.labels",
        },
        Refusal {
            name: "$patch: merge in a list element",
            definition: POD,
            original: pod.clone(),
            patch: json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}),
            check: |e| matches!(e, StrategicPatchError::InvalidDirective { .. }),
            message: "at spec.containers[0]",
        },
        Refusal {
            name: "merge list element without its merge key",
            definition: POD,
            original: pod.clone(),
            patch: json!({"spec": {"containers": [{"image": "x"}]}}),
            check: |e| matches!(e, StrategicPatchError::MissingMergeKey { key: "name", .. }),
            message: "spec.containers: list element {\"image\":\"x\"} does not contain the merge key \"name\"",
        },
        Refusal {
            name: "$patch: delete without the merge key",
            definition: POD,
            original: pod.clone(),
            patch: json!({"spec": {"containers": [{"$patch": "delete"}]}}),
            check: |e| matches!(e, StrategicPatchError::MissingMergeKey { .. }),
            message: "merge key \"name\"",
        },
        Refusal {
            name: "scalars in a list of objects",
            definition: POD,
            original: pod.clone(),
            patch: json!({"spec": {"containers": ["a"]}}),
            check: |e| matches!(e, StrategicPatchError::MixedList { .. }),
            message: "spec.containers: list elements are not all of the same type",
        },
        Refusal {
            name: "a list of lists",
            definition: POD,
            original: with(pod.clone(), "/metadata/finalizers", json!([])),
            patch: json!({"metadata": {"finalizers": [["a"]]}}),
            check: |e| {
                matches!(e, StrategicPatchError::ListOfLists { .. }) && e.status_code() == 422
            },
            message: "lists of lists",
        },
        Refusal {
            name: "patch body not an object",
            definition: POD,
            original: pod.clone(),
            patch: json!([{"op": "add"}]),
            check: |e| matches!(e, StrategicPatchError::NotAnObject { found: "a list" }),
            message: "must be a JSON object, not a list",
        },
        Refusal {
            name: "type without a schema",
            definition: "io.k8s.api.batch.v1.Job",
            original: json!({}),
            patch: json!({}),
            check: |e| e.status_code() == 415,
            message: "not supported for io.k8s.api.batch.v1.Job",
        },
        Refusal {
            name: "$retainKeys not retaining a patched field",
            definition: DEPLOYMENT,
            original: deployment(json!([])),
            patch: json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1}}}}),
            check: |e| matches!(e, StrategicPatchError::InvalidRetainKeys { .. }),
            message: "spec.strategy: invalid $retainKeys directive: the patch sets \"rollingUpdate\"",
        },
        Refusal {
            name: "$retainKeys that is not a list",
            definition: DEPLOYMENT,
            original: deployment(json!([])),
            patch: json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
            check: |e| matches!(e, StrategicPatchError::InvalidRetainKeys { .. }),
            message: "expected a list of field names, found a string",
        },
        Refusal {
            name: "$setElementOrder that is not a list",
            definition: POD,
            original: pod.clone(),
            patch: json!({"spec": {"$setElementOrder/containers": {"name": "a"}}}),
            check: |e| matches!(e, StrategicPatchError::WrongType { .. }),
            message: "expected a list, found an object",
        },
        Refusal {
            name: "patch list out of $setElementOrder's order",
            definition: POD,
            original: pod.clone(),
            patch: json!({"spec": {
                "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                "containers": [{"name": "b"}, {"name": "a"}]
            }}),
            check: |e| matches!(e, StrategicPatchError::OrderMismatch { .. }),
            message: "does not match $setElementOrder/containers",
        },
        Refusal {
            name: "directive key without a field",
            definition: POD,
            original: pod.clone(),
            patch: json!({"metadata": {"$deleteFromPrimitiveList": ["a"]}}),
            check: |e| matches!(e, StrategicPatchError::MalformedDirectiveKey { .. }),
            message: "expected $deleteFromPrimitiveList/<field>",
        },
        Refusal {
            name: "$setElementOrder element without the merge key",
            definition: POD,
            original: pod,
            patch: json!({"spec": {"$setElementOrder/containers": [{"image": "a"}]}}),
            check: |e| matches!(e, StrategicPatchError::MissingMergeKey { .. }),
            message: "does not contain the merge key \"name\"",
        },
    ]
}

#[test]
fn refuses_invalid_patches() {
    for refusal in refusals() {
        match apply(&refusal.original, &refusal.patch, refusal.definition) {
            Ok(merged) => panic!("{}: applied as {merged}", refusal.name),
            Err(error) => {
                assert!((refusal.check)(&error), "{}: {error:?}", refusal.name);
                let message = error.to_string();
                assert!(
                    message.contains(refusal.message),
                    "{}: {message:?} does not contain {:?}",
                    refusal.name,
                    refusal.message
                );
                assert!(error.status_code() >= 400, "{}", refusal.name);
            }
        }
    }
}

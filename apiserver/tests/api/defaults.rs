//! Defaulting and the create strategy, per kind: a minimal manifest is created and read
//! back, and must equal a pinned fixture (`fixtures/defaults/<name>.json`) — the object as
//! kube-apiserver v1.33 returns it for that manifest. Volatile values are replaced by
//! placeholders before comparing: `<uid>`, `<resourceVersion>`, `<timestamp>` (null
//! timestamps, which Go prints for unset `metav1.Time` structs, are dropped), and the
//! allocated `<clusterIP>` and `<nodePort>` (after checking they come from the default
//! ranges). `managedFields` are not compared.
//!
//! The fixtures leave out the service-account token volume upstream's ServiceAccount
//! admission mounts into pods; that plugin comes with a later issue.

use serde_json::{Value, json};

use crate::support::TestServer;

const JSON: &str = "application/json";

/// Timestamp fields, wherever they appear.
const TIMESTAMPS: &[&str] = &[
    "creationTimestamp",
    "lastTransitionTime",
    "lastProbeTime",
    "lastPhaseTransitionTime",
    "eventTime",
    "firstTimestamp",
    "lastTimestamp",
    "lastHeartbeatTime",
    "acquireTime",
    "renewTime",
];

/// One kind's manifest and the fixture it must come back as.
struct Case {
    /// The collection the manifest is POSTed to.
    collection: &'static str,
    manifest: Value,
    fixture: &'static str,
}

fn case(collection: &'static str, manifest: Value, fixture: &'static str) -> Case {
    Case {
        collection,
        manifest,
        fixture,
    }
}

fn cases() -> Vec<(&'static str, Case)> {
    let web_template = |image: &str| {
        json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": image}]}})
    };
    vec![
        (
            "pod",
            case(
                "/api/v1/namespaces/default/pods",
                json!({
                    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "minimal"},
                    "spec": {"containers": [{"name": "app", "image": "nginx"}]},
                }),
                include_str!("fixtures/defaults/pod.json"),
            ),
        ),
        (
            "pod-resources",
            case(
                "/api/v1/namespaces/default/pods",
                json!({
                    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "resources"},
                    "spec": {
                        "initContainers": [{"name": "init", "image": "busybox:latest",
                            "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}],
                        "containers": [{
                            "name": "app", "image": "registry.k8s.io/pause:3.10",
                            "ports": [{"containerPort": 8080}],
                            "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                            "readinessProbe": {"httpGet": {"port": 8080}},
                            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"},
                                {"name": "config", "mountPath": "/config"}],
                        }],
                        "volumes": [{"name": "scratch"}, {"name": "config", "configMap": {"name": "app-config"}}],
                    },
                }),
                include_str!("fixtures/defaults/pod-resources.json"),
            ),
        ),
        (
            "pod-gated",
            case(
                "/api/v1/namespaces/default/pods",
                json!({
                    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gated"},
                    "spec": {"schedulingGates": [{"name": "example.com/quota"}],
                        "containers": [{"name": "app", "image": "nginx"}]},
                }),
                include_str!("fixtures/defaults/pod-gated.json"),
            ),
        ),
        (
            "deployment",
            case(
                "/apis/apps/v1/namespaces/default/deployments",
                json!({
                    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                    "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": web_template("nginx:1.27")},
                }),
                include_str!("fixtures/defaults/deployment.json"),
            ),
        ),
        (
            "replicaset",
            case(
                "/apis/apps/v1/namespaces/default/replicasets",
                json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
                    "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": web_template(
                        "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")},
                }),
                include_str!("fixtures/defaults/replicaset.json"),
            ),
        ),
        (
            "service-clusterip",
            case(
                "/api/v1/namespaces/default/services",
                json!({
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
                }),
                include_str!("fixtures/defaults/service-clusterip.json"),
            ),
        ),
        (
            "service-nodeport",
            case(
                "/api/v1/namespaces/default/services",
                json!({
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-nodeport"},
                    "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [
                        {"name": "http", "port": 80, "targetPort": 8080},
                        {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"},
                    ]},
                }),
                include_str!("fixtures/defaults/service-nodeport.json"),
            ),
        ),
        (
            "service-loadbalancer",
            case(
                "/api/v1/namespaces/default/services",
                json!({
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-lb"},
                    "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 443}]},
                }),
                include_str!("fixtures/defaults/service-loadbalancer.json"),
            ),
        ),
        (
            "service-externalname",
            case(
                "/api/v1/namespaces/default/services",
                json!({
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "upstream"},
                    "spec": {"type": "ExternalName", "externalName": "example.com"},
                }),
                include_str!("fixtures/defaults/service-externalname.json"),
            ),
        ),
        (
            "service-headless",
            case(
                "/api/v1/namespaces/default/services",
                json!({
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
                    "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"name": "pg", "port": 5432}]},
                }),
                include_str!("fixtures/defaults/service-headless.json"),
            ),
        ),
        (
            "service-headless-selectorless",
            case(
                "/api/v1/namespaces/default/services",
                json!({
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "external-db"},
                    "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]},
                }),
                include_str!("fixtures/defaults/service-headless-selectorless.json"),
            ),
        ),
        (
            "persistentvolume",
            case(
                "/api/v1/persistentvolumes",
                json!({
                    "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "data"},
                    "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                        "hostPath": {"path": "/data"}},
                }),
                include_str!("fixtures/defaults/persistentvolume.json"),
            ),
        ),
        (
            "persistentvolumeclaim",
            case(
                "/api/v1/namespaces/default/persistentvolumeclaims",
                json!({
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }),
                include_str!("fixtures/defaults/persistentvolumeclaim.json"),
            ),
        ),
        (
            "persistentvolumeclaim-clone",
            case(
                "/api/v1/namespaces/default/persistentvolumeclaims",
                json!({
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "clone"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                        "dataSource": {"kind": "PersistentVolumeClaim", "name": "data"}},
                }),
                include_str!("fixtures/defaults/persistentvolumeclaim-clone.json"),
            ),
        ),
        (
            "storageclass",
            case(
                "/apis/storage.k8s.io/v1/storageclasses",
                json!({
                    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
                    "provisioner": "example.com/fake",
                }),
                include_str!("fixtures/defaults/storageclass.json"),
            ),
        ),
        (
            "secret",
            case(
                "/api/v1/namespaces/default/secrets",
                json!({
                    "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                    "data": {"password": "czNjcmV0"},
                }),
                include_str!("fixtures/defaults/secret.json"),
            ),
        ),
        (
            "configmap",
            case(
                "/api/v1/namespaces/default/configmaps",
                json!({
                    "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                    "data": {"mode": "blue"},
                }),
                include_str!("fixtures/defaults/configmap.json"),
            ),
        ),
        (
            "namespace",
            case(
                "/api/v1/namespaces",
                json!({
                    "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"},
                }),
                include_str!("fixtures/defaults/namespace.json"),
            ),
        ),
        (
            "node",
            case(
                "/api/v1/nodes",
                json!({
                    "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
                }),
                include_str!("fixtures/defaults/node.json"),
            ),
        ),
        (
            "endpoints",
            case(
                "/api/v1/namespaces/default/endpoints",
                json!({
                    "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"},
                    "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}],
                }),
                include_str!("fixtures/defaults/endpoints.json"),
            ),
        ),
        (
            "endpointslice",
            case(
                "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                json!({
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "web-abc"},
                    "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"port": 80}],
                }),
                include_str!("fixtures/defaults/endpointslice.json"),
            ),
        ),
        (
            "priorityclass",
            case(
                "/apis/scheduling.k8s.io/v1/priorityclasses",
                json!({
                    "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"},
                    "value": 1000,
                }),
                include_str!("fixtures/defaults/priorityclass.json"),
            ),
        ),
        (
            "lease",
            case(
                "/apis/coordination.k8s.io/v1/namespaces/default/leases",
                json!({
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader"},
                }),
                include_str!("fixtures/defaults/lease.json"),
            ),
        ),
        (
            "event",
            case(
                "/api/v1/namespaces/default/events",
                json!({
                    "apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-0.1"},
                    "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "default"},
                    "reason": "Started", "message": "Started container web", "type": "Normal",
                }),
                include_str!("fixtures/defaults/event.json"),
            ),
        ),
    ]
}

/// Replaces the volatile values of `obj` by placeholders (see the module docs).
fn scrub(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        for (key, placeholder) in [("uid", "<uid>"), ("resourceVersion", "<resourceVersion>")] {
            if meta.contains_key(key) {
                meta.insert(key.into(), json!(placeholder));
            }
        }
    }
    scrub_timestamps(obj);
    if obj.get("kind").and_then(Value::as_str) == Some("Service") {
        scrub_allocations(obj);
    }
}

fn scrub_timestamps(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for key in TIMESTAMPS {
                match m.get(*key) {
                    Some(Value::Null) => {
                        m.remove(*key);
                    }
                    Some(_) => {
                        m.insert((*key).into(), json!("<timestamp>"));
                    }
                    None => {}
                }
            }
            m.values_mut().for_each(scrub_timestamps);
        }
        Value::Array(a) => a.iter_mut().for_each(scrub_timestamps),
        _ => {}
    }
}

/// Cluster IPs from 10.96.0.0/12 and node ports from 30000–32767 become placeholders.
fn scrub_allocations(svc: &mut Value) {
    let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let placeholder = |ip: &mut Value| {
        let Some(s) = ip.as_str() else { return };
        if s == "None" {
            return;
        }
        let addr: std::net::Ipv4Addr = s.parse().unwrap_or_else(|_| panic!("clusterIP {s}"));
        let [a, b, ..] = addr.octets();
        assert!(
            a == 10 && (96..112).contains(&b),
            "clusterIP {s} outside 10.96.0.0/12"
        );
        *ip = json!("<clusterIP>");
    };
    if let Some(ip) = spec.get_mut("clusterIP") {
        placeholder(ip);
    }
    for ip in spec
        .get_mut("clusterIPs")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        placeholder(ip);
    }
    for port in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(n) = port.get("nodePort").and_then(Value::as_i64) {
            assert!((30000..=32767).contains(&n), "nodePort {n}");
            port["nodePort"] = json!("<nodePort>");
        }
    }
}

/// POSTs `manifest` to `collection`, reads the object back, and returns both answers
/// scrubbed.
async fn create_and_get(t: &TestServer, collection: &str, manifest: &Value) -> (Value, Value) {
    let (code, mut created) = t.send_json("POST", collection, JSON, manifest).await;
    assert_eq!(code, 201, "POST {collection}: {created}");
    let name = created["metadata"]["name"].as_str().unwrap().to_owned();
    let (code, mut read) = t.get_json(&format!("{collection}/{name}")).await;
    assert_eq!(code, 200, "GET {collection}/{name}: {read}");
    scrub(&mut created);
    scrub(&mut read);
    (created, read)
}

#[tokio::test]
async fn every_kind_comes_back_with_upstreams_defaults() {
    let t = TestServer::start().await;
    let mut failures = Vec::new();
    for (name, case) in cases() {
        let want: Value =
            serde_json::from_str(case.fixture).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
        let (created, read) = create_and_get(&t, case.collection, &case.manifest).await;
        if read != want {
            failures.push(format!(
                "{name}: read back\n{}\nwant\n{}",
                serde_json::to_string_pretty(&read).unwrap(),
                serde_json::to_string_pretty(&want).unwrap()
            ));
        }
        if created != read {
            failures.push(format!(
                "{name}: the create answer differs from the read: {created}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn given_values_are_never_overwritten() {
    let t = TestServer::start().await;
    let cases = [
        (
            "/api/v1/namespaces/default/pods",
            json!({"metadata": {"name": "custom"}, "spec": {
                "restartPolicy": "Never", "dnsPolicy": "Default", "schedulerName": "custom",
                "terminationGracePeriodSeconds": 0, "enableServiceLinks": false,
                "securityContext": {"runAsUser": 1000}, "serviceAccountName": "robot",
                "containers": [{
                    "name": "c", "image": "nginx", "imagePullPolicy": "Never",
                    "terminationMessagePath": "/tmp/msg",
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "ports": [{"containerPort": 53, "protocol": "UDP"}],
                    "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}},
                }],
            }}),
            vec![
                ("/spec/restartPolicy", json!("Never")),
                ("/spec/dnsPolicy", json!("Default")),
                ("/spec/schedulerName", json!("custom")),
                ("/spec/terminationGracePeriodSeconds", json!(0)),
                ("/spec/enableServiceLinks", json!(false)),
                ("/spec/securityContext", json!({"runAsUser": 1000})),
                ("/spec/serviceAccountName", json!("robot")),
                ("/spec/serviceAccount", json!("robot")),
                ("/spec/containers/0/imagePullPolicy", json!("Never")),
                (
                    "/spec/containers/0/terminationMessagePath",
                    json!("/tmp/msg"),
                ),
                (
                    "/spec/containers/0/terminationMessagePolicy",
                    json!("FallbackToLogsOnError"),
                ),
                ("/spec/containers/0/ports/0/protocol", json!("UDP")),
                (
                    "/spec/containers/0/resources/requests",
                    json!({"cpu": "100m"}),
                ),
                ("/status/qosClass", json!("Burstable")),
            ],
        ),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            json!({"metadata": {"name": "custom"}, "spec": {
                "replicas": 0, "revisionHistoryLimit": 0, "progressDeadlineSeconds": 60,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": {"app": "c"}},
                "template": {"metadata": {"labels": {"app": "c"}}, "spec": {
                    "restartPolicy": "Always", "dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"]},
                    "containers": [{"name": "c", "image": "nginx:latest", "imagePullPolicy": "IfNotPresent"}],
                }},
            }}),
            vec![
                ("/spec/replicas", json!(0)),
                ("/spec/revisionHistoryLimit", json!(0)),
                ("/spec/progressDeadlineSeconds", json!(60)),
                ("/spec/strategy", json!({"type": "Recreate"})),
                ("/spec/template/spec/dnsPolicy", json!("None")),
                (
                    "/spec/template/spec/containers/0/imagePullPolicy",
                    json!("IfNotPresent"),
                ),
            ],
        ),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            json!({"metadata": {"name": "rolling"}, "spec": {
                "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "selector": {"matchLabels": {"app": "r"}},
                "template": {"metadata": {"labels": {"app": "r"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
            }}),
            vec![(
                "/spec/strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
            )],
        ),
        (
            "/api/v1/namespaces/default/services",
            json!({"metadata": {"name": "custom"}, "spec": {
                "type": "NodePort", "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Local",
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
                "ports": [{"port": 53, "protocol": "UDP", "targetPort": 5353}],
            }}),
            vec![
                ("/spec/externalTrafficPolicy", json!("Local")),
                ("/spec/internalTrafficPolicy", json!("Local")),
                ("/spec/sessionAffinity", json!("ClientIP")),
                (
                    "/spec/sessionAffinityConfig",
                    json!({"clientIP": {"timeoutSeconds": 60}}),
                ),
                ("/spec/ports/0/protocol", json!("UDP")),
                ("/spec/ports/0/targetPort", json!(5353)),
            ],
        ),
        (
            "/api/v1/persistentvolumes",
            json!({"metadata": {"name": "custom"}, "spec": {
                "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete", "volumeMode": "Block",
                "hostPath": {"path": "/dev/sdb", "type": "BlockDevice"},
            }}),
            vec![
                ("/spec/persistentVolumeReclaimPolicy", json!("Delete")),
                ("/spec/volumeMode", json!("Block")),
                ("/spec/hostPath/type", json!("BlockDevice")),
            ],
        ),
        (
            "/api/v1/namespaces/default/persistentvolumeclaims",
            json!({"metadata": {"name": "custom"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "volumeMode": "Block",
                "resources": {"requests": {"storage": "1Gi"}},
            }}),
            vec![("/spec/volumeMode", json!("Block"))],
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            json!({"metadata": {"name": "custom"}, "provisioner": "example.com/fake",
                "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"}),
            vec![
                ("/reclaimPolicy", json!("Retain")),
                ("/volumeBindingMode", json!("WaitForFirstConsumer")),
            ],
        ),
        (
            "/api/v1/namespaces/default/secrets",
            json!({"metadata": {"name": "custom"}, "type": "example.com/custom"}),
            vec![("/type", json!("example.com/custom"))],
        ),
        (
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            json!({"metadata": {"name": "custom"}, "value": 5, "preemptionPolicy": "Never"}),
            vec![("/preemptionPolicy", json!("Never"))],
        ),
        (
            "/api/v1/namespaces",
            json!({"metadata": {"name": "custom"}, "spec": {"finalizers": ["example.com/keep"]}}),
            vec![(
                "/spec/finalizers",
                json!(["example.com/keep", "kubernetes"]),
            )],
        ),
    ];
    for (collection, manifest, expected) in cases {
        let (_, read) = create_and_get(&t, collection, &manifest).await;
        for (pointer, want) in expected {
            assert_eq!(
                read.pointer(pointer),
                Some(&want),
                "{collection} {pointer}: {read}"
            );
        }
    }
}

/// Removes the fields at `pointers` (JSON pointers) from `obj`.
fn remove_fields(obj: &mut Value, pointers: &[&str]) {
    for pointer in pointers {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let removed = obj
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .and_then(|m| m.remove(key));
        assert!(removed.is_some(), "{pointer} was not set: {obj}");
    }
}

#[tokio::test]
async fn updates_are_defaulted_again() {
    let t = TestServer::start().await;
    let updates = [
        (
            "deployment",
            "/apis/apps/v1/namespaces/default/deployments",
            vec![
                "/spec/replicas",
                "/spec/strategy",
                "/spec/revisionHistoryLimit",
                "/spec/progressDeadlineSeconds",
                "/spec/template/spec/dnsPolicy",
                "/spec/template/spec/securityContext",
                "/spec/template/spec/containers/0/imagePullPolicy",
                "/spec/template/spec/containers/0/resources",
                "/status",
            ],
        ),
        (
            "pod",
            "/api/v1/namespaces/default/pods",
            vec![
                "/spec/dnsPolicy",
                "/spec/schedulerName",
                "/spec/enableServiceLinks",
                "/spec/terminationGracePeriodSeconds",
                "/spec/serviceAccount",
                "/spec/containers/0/imagePullPolicy",
                "/spec/containers/0/terminationMessagePath",
                "/spec/containers/0/terminationMessagePolicy",
                "/status",
            ],
        ),
        (
            "service-clusterip",
            "/api/v1/namespaces/default/services",
            vec![
                "/spec/type",
                "/spec/sessionAffinity",
                "/spec/internalTrafficPolicy",
                "/spec/ports/0/protocol",
                "/spec/ports/0/targetPort",
                "/status",
            ],
        ),
        (
            "service-nodeport",
            "/api/v1/namespaces/default/services",
            vec!["/spec/externalTrafficPolicy", "/spec/ports/0/protocol"],
        ),
        (
            "persistentvolume",
            "/api/v1/persistentvolumes",
            vec![
                "/spec/persistentVolumeReclaimPolicy",
                "/spec/volumeMode",
                "/spec/hostPath/type",
            ],
        ),
        (
            "storageclass",
            "/apis/storage.k8s.io/v1/storageclasses",
            vec!["/reclaimPolicy", "/volumeBindingMode"],
        ),
        (
            "secret",
            "/api/v1/namespaces/default/secrets",
            vec!["/type"],
        ),
        // Only `/finalize` changes a namespace's finalizers; the name label comes back.
        (
            "namespace",
            "/api/v1/namespaces",
            vec!["/spec/finalizers", "/metadata/labels", "/status"],
        ),
    ];
    let manifests: std::collections::HashMap<_, _> = cases()
        .into_iter()
        .map(|(name, c)| (name, c.manifest))
        .collect();
    for (name, collection, removed) in updates {
        let (_, before) = create_and_get(&t, collection, &manifests[name]).await;
        let object = format!(
            "{collection}/{}",
            before["metadata"]["name"].as_str().unwrap()
        );
        let (_, mut body) = t.get_json(&object).await;
        remove_fields(&mut body, &removed);
        let (code, mut updated) = t.send_json("PUT", &object, JSON, &body).await;
        assert_eq!(code, 200, "PUT {object}: {updated}");
        scrub(&mut updated);
        // Same object, same generation: the defaults came back, so the spec did not change.
        assert_eq!(updated, before, "{name}");
    }
}

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
use keelson_apiserver::pointer::At;

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

const PODS: &str = "/api/v1/namespaces/default/pods";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
const REPLICA_SETS: &str = "/apis/apps/v1/namespaces/default/replicasets";
const SERVICES: &str = "/api/v1/namespaces/default/services";
const CLAIMS: &str = "/api/v1/namespaces/default/persistentvolumeclaims";

/// One kind's case: the manifest POSTed to `collection`
/// (`fixtures/defaults/manifests/<name>.json`) and the object it must come back as
/// (`fixtures/defaults/<name>.json`).
struct Case {
    name: &'static str,
    collection: &'static str,
    manifest: &'static str,
    fixture: &'static str,
}

macro_rules! case {
    ($name:literal, $collection:expr) => {
        Case {
            name: $name,
            collection: $collection,
            manifest: include_str!(concat!("fixtures/defaults/manifests/", $name, ".json")),
            fixture: include_str!(concat!("fixtures/defaults/", $name, ".json")),
        }
    };
}

/// Every kind with defaults (and a few without), minimal manifests.
const CASES: &[Case] = &[
    case!("pod", PODS),
    case!("pod-resources", PODS),
    case!("pod-gated", PODS),
    case!("deployment", DEPLOYMENTS),
    case!("replicaset", REPLICA_SETS),
    case!("service-clusterip", SERVICES),
    case!("service-nodeport", SERVICES),
    case!("service-loadbalancer", SERVICES),
    case!("service-externalname", SERVICES),
    case!("service-headless", SERVICES),
    case!("service-headless-selectorless", SERVICES),
    case!("persistentvolume", "/api/v1/persistentvolumes"),
    case!("persistentvolumeclaim", CLAIMS),
    case!("persistentvolumeclaim-clone", CLAIMS),
    case!("storageclass", "/apis/storage.k8s.io/v1/storageclasses"),
    case!("secret", "/api/v1/namespaces/default/secrets"),
    case!("configmap", "/api/v1/namespaces/default/configmaps"),
    case!("namespace", "/api/v1/namespaces"),
    case!("node", "/api/v1/nodes"),
    case!("endpoints", "/api/v1/namespaces/default/endpoints"),
    case!(
        "endpointslice",
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
    ),
    case!(
        "priorityclass",
        "/apis/scheduling.k8s.io/v1/priorityclasses"
    ),
    case!(
        "lease",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases"
    ),
    case!("event", "/api/v1/namespaces/default/events"),
];

fn parse(what: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The manifest of the case `name`.
fn manifest(name: &str) -> Value {
    let case = CASES.iter().find(|c| c.name == name).unwrap();
    parse(case.name, case.manifest)
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
    for case in CASES {
        let want = parse(case.name, case.fixture);
        let manifest = parse(case.name, case.manifest);
        let (created, read) = create_and_get(&t, case.collection, &manifest).await;
        if read != want {
            failures.push(format!(
                "{}: read back\n{}\nwant\n{}",
                case.name,
                serde_json::to_string_pretty(&read).unwrap(),
                serde_json::to_string_pretty(&want).unwrap()
            ));
        }
        if created != read {
            failures.push(format!(
                "{}: the create answer differs from the read: {created}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Manifests that set every defaulted field to something else, each with the values it
/// must come back with (`{collection, manifest, expect: {<JSON pointer>: value}}`).
const GIVEN_VALUES: &str = include_str!("fixtures/defaults/given-values.json");

#[tokio::test]
async fn given_values_are_never_overwritten() {
    let t = TestServer::start().await;
    let cases = parse("given-values", GIVEN_VALUES);
    for case in cases.as_array().unwrap() {
        let collection = case["collection"].as_str().unwrap();
        let (_, read) = create_and_get(&t, collection, &case["manifest"]).await;
        for (pointer, want) in case["expect"].as_object().unwrap() {
            assert_eq!(
                read.at(pointer),
                Some(want),
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
            .at_mut(parent)
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
    for (name, collection, removed) in updates {
        let (_, before) = create_and_get(&t, collection, &manifest(name)).await;
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

#[tokio::test]
async fn status_writes_are_defaulted() {
    let t = TestServer::start().await;

    // A load balancer's ingress points with an IP get the VIP mode.
    let (_, svc) = create_and_get(&t, SERVICES, &manifest("service-loadbalancer")).await;
    let object = format!("{SERVICES}/{}", svc["metadata"]["name"].as_str().unwrap());
    let (_, mut body) = t.get_json(&object).await;
    body["status"] = json!({"loadBalancer": {"ingress": [
        {"ip": "203.0.113.10"}, {"hostname": "lb.example.com"},
    ]}});
    let (code, updated) = t
        .send_json("PUT", &format!("{object}/status"), JSON, &body)
        .await;
    assert_eq!(code, 200, "{updated}");
    assert_eq!(
        updated["status"],
        json!({"loadBalancer": {"ingress": [
            {"ip": "203.0.113.10", "ipMode": "VIP"}, {"hostname": "lb.example.com"},
        ]}})
    );

    // A node reporting capacity only can allocate all of it.
    let nodes = "/api/v1/nodes";
    create_and_get(&t, nodes, &manifest("node")).await;
    let (_, mut body) = t.get_json(&format!("{nodes}/node-1")).await;
    body["status"] = json!({"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}});
    let (code, updated) = t
        .send_json("PUT", &format!("{nodes}/node-1/status"), JSON, &body)
        .await;
    assert_eq!(code, 200, "{updated}");
    assert_eq!(
        updated["status"]["allocatable"],
        json!({"cpu": "4", "memory": "8Gi", "pods": "110"})
    );
    assert_eq!(
        updated["status"]["daemonEndpoints"],
        json!({"kubeletEndpoint": {"Port": 0}})
    );
}

#[tokio::test]
async fn quantities_are_stored_in_canonical_form() {
    let t = TestServer::start().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"},
        "spec": {"containers": [{"name": "c", "image": "busybox",
            "resources": {"limits": {"cpu": "0.5", "memory": "2000M"},
                          "requests": {"cpu": 0.1}}}]}});
    let (_, read) = create_and_get(&t, "/api/v1/namespaces/default/pods", &pod).await;
    assert_eq!(
        read["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "2G"},
               "requests": {"cpu": "100m", "memory": "2G"}})
    );
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "c"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}}});
    let (_, read) = create_and_get(
        &t,
        "/api/v1/namespaces/default/persistentvolumeclaims",
        &claim,
    )
    .await;
    assert_eq!(read["spec"]["resources"]["requests"]["storage"], "1Gi");
}

#[tokio::test]
async fn generated_namespace_names_are_labelled() {
    let t = TestServer::start().await;
    let manifest =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"generateName": "team-"}});
    let (_, read) = create_and_get(&t, "/api/v1/namespaces", &manifest).await;
    let name = read["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("team-") && name.len() == 10, "{name}");
    assert_eq!(
        read["metadata"]["labels"],
        json!({"kubernetes.io/metadata.name": name})
    );
}

#[tokio::test]
async fn patches_that_remove_defaults_get_them_back() {
    let t = TestServer::start().await;
    let (_, before) = create_and_get(&t, DEPLOYMENTS, &manifest("deployment")).await;
    let object = format!("{DEPLOYMENTS}/web");
    let patches = [
        (
            "application/json-patch+json",
            json!([
                {"op": "remove", "path": "/spec/template/spec/dnsPolicy"},
                {"op": "remove", "path": "/spec/strategy/rollingUpdate"},
            ]),
        ),
        (
            "application/merge-patch+json",
            json!({"spec": {"revisionHistoryLimit": null, "template": {"spec": {"schedulerName": null}}}}),
        ),
    ];
    for (content_type, patch) in patches {
        let (code, mut patched) = t.send_json("PATCH", &object, content_type, &patch).await;
        assert_eq!(code, 200, "{content_type}: {patched}");
        scrub(&mut patched);
        assert_eq!(patched, before, "{content_type}");
    }
}

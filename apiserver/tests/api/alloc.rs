//! Service cluster IPs and node ports: allocated, honoured, refused, freed, kept across a
//! restart and repaired; the `default/kubernetes` Service and its endpoints.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::TestServer;

const SVCS: &str = "/api/v1/namespaces/default/services";
const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";

fn svc(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    if spec.get("ports").is_none() && spec.get("type") != Some(&json!("ExternalName")) {
        spec["ports"] = json!([{"name": "http", "port": 80}]);
    }
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

async fn create(t: &TestServer, name: &str, spec: Value) -> (u16, Value) {
    t.send_json("POST", SVCS, JSON, &svc(name, spec)).await
}

async fn created(t: &TestServer, name: &str, spec: Value) -> Value {
    let (s, v) = create(t, name, spec).await;
    assert_eq!(s, 201, "{name}: {v}");
    v
}

async fn patch(t: &TestServer, name: &str, body: Value) -> (u16, Value) {
    t.send_json("PATCH", &format!("{SVCS}/{name}"), MERGE, &body)
        .await
}

async fn delete(t: &TestServer, name: &str) {
    let (s, _, v) = t
        .raw("DELETE", &format!("{SVCS}/{name}"), None, None, Vec::new())
        .await;
    assert_eq!(s, 200, "{v}");
}

/// `field: message` of every cause of a 422.
fn causes(v: &Value) -> Vec<String> {
    v["details"]["causes"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}: {}",
                        c["field"].as_str().unwrap_or(""),
                        c["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn node_port(v: &Value, i: usize) -> i64 {
    v["spec"]["ports"][i]["nodePort"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn cluster_ips_are_allocated_honoured_and_refused() {
    let t = TestServer::start().await;
    let a = created(&t, "a", json!({})).await;
    let ip: std::net::Ipv4Addr = a["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
    assert_eq!(ip.octets()[0], 10);
    assert!((96..112).contains(&ip.octets()[1]), "{ip}");
    assert_eq!(a["spec"]["clusterIPs"], json!([ip.to_string()]));
    assert_eq!(a["spec"]["ipFamilies"], json!(["IPv4"]));
    assert_eq!(a["spec"]["ipFamilyPolicy"], "SingleStack");

    let b = created(&t, "b", json!({"clusterIP": "10.96.0.10"})).await;
    assert_eq!(b["spec"]["clusterIPs"], json!(["10.96.0.10"]));
    let (s, v) = create(&t, "c", json!({"clusterIP": "10.96.0.10"})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        v["message"],
        r#"Service "c" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated"#
    );
    let (s, v) = create(
        &t,
        "d",
        json!({"clusterIPs": ["10.0.0.1"], "clusterIP": "10.0.0.1"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        causes(&v),
        [
            r#"spec.clusterIPs: Invalid value: []string{"10.0.0.1"}: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"#
        ]
    );

    let headless = created(
        &t,
        "headless",
        json!({"clusterIP": "None", "selector": {"app": "x"}}),
    )
    .await;
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
    let ext = created(
        &t,
        "ext",
        json!({"type": "ExternalName", "externalName": "db.example.com"}),
    )
    .await;
    assert!(ext["spec"].get("clusterIP").is_none(), "{ext}");
    assert!(ext["spec"].get("clusterIPs").is_none(), "{ext}");
}

#[tokio::test]
async fn node_ports_are_allocated_honoured_shared_and_refused() {
    let t = TestServer::start().await;
    let np = created(
        &t,
        "np",
        json!({"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}),
    )
    .await;
    let (p0, p1) = (node_port(&np, 0), node_port(&np, 1));
    assert!(
        (30000..=32767).contains(&p0) && (30000..=32767).contains(&p1) && p0 != p1,
        "{np}"
    );

    let fixed = created(
        &t,
        "fixed",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}),
    )
    .await;
    assert_eq!(node_port(&fixed, 0), 30080);
    let (s, v) = create(
        &t,
        "taken",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        causes(&v),
        ["spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"]
    );
    let (s, v) = create(
        &t,
        "far",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        causes(&v),
        [
            "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
        ]
    );

    let dns = created(
        &t,
        "dns",
        json!({"type": "NodePort", "ports": [
            {"name": "udp", "port": 53, "protocol": "UDP"},
            {"name": "tcp", "port": 53, "protocol": "TCP"}]}),
    )
    .await;
    assert_eq!(node_port(&dns, 0), node_port(&dns, 1), "{dns}");
    assert_ne!(node_port(&dns, 0), 0);

    let lb = created(
        &t,
        "lb-none",
        json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false}),
    )
    .await;
    assert_eq!(node_port(&lb, 0), 0, "{lb}");
    let local = created(
        &t,
        "lb-local",
        json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local"}),
    )
    .await;
    let hc = local["spec"]["healthCheckNodePort"].as_i64().unwrap();
    assert!(
        (30000..=32767).contains(&hc) && hc != node_port(&local, 0),
        "{local}"
    );
    let plain = created(&t, "plain", json!({})).await;
    assert!(
        plain["spec"]["ports"][0].get("nodePort").is_none(),
        "{plain}"
    );
}

#[tokio::test]
async fn fifty_concurrent_creates_get_fifty_distinct_numbers() {
    let t = TestServer::start().await;
    let creates = (0..50).map(|i| {
        let t = &t;
        async move { created(t, &format!("s{i}"), json!({"type": "NodePort"})).await }
    });
    let all = futures::future::join_all(creates).await;
    let ips: BTreeSet<String> = all
        .iter()
        .map(|v| v["spec"]["clusterIP"].as_str().unwrap().to_owned())
        .collect();
    let ports: BTreeSet<i64> = all.iter().map(|v| node_port(v, 0)).collect();
    assert_eq!((ips.len(), ports.len()), (50, 50));
    assert!(
        !ips.contains("10.96.0.1"),
        "the kubernetes Service's address is never handed out"
    );
}

#[tokio::test]
async fn deletes_free_their_numbers() {
    let t = TestServer::start().await;
    let spec = json!({"type": "NodePort", "clusterIP": "10.96.0.20", "ports": [{"port": 80, "nodePort": 30020}]});
    created(&t, "first", spec.clone()).await;
    let (s, _) = create(&t, "second", spec.clone()).await;
    assert_eq!(s, 422);
    delete(&t, "first").await;
    let second = created(&t, "second", spec).await;
    assert_eq!(
        (second["spec"]["clusterIP"].as_str(), node_port(&second, 0)),
        (Some("10.96.0.20"), 30020)
    );
}

#[tokio::test]
async fn type_changes_allocate_and_free() {
    let t = TestServer::start().await;
    created(&t, "web", json!({"clusterIP": "10.96.0.40"})).await;

    // ClusterIP → NodePort: ports allocated, the IP kept.
    let (s, v) = patch(&t, "web", json!({"spec": {"type": "NodePort"}})).await;
    assert_eq!(s, 200, "{v}");
    let port = node_port(&v, 0);
    assert!(port >= 30000, "{v}");
    assert_eq!(v["spec"]["clusterIP"], "10.96.0.40");

    // A client that leaves the allocated values out (PUT without them) keeps them.
    let mut put = svc("web", json!({"type": "NodePort"}));
    put["metadata"]["resourceVersion"] = v["metadata"]["resourceVersion"].clone();
    let (s, v) = t.send_json("PUT", &format!("{SVCS}/web"), JSON, &put).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["spec"]["clusterIP"].as_str(), node_port(&v, 0)),
        (Some("10.96.0.40"), port)
    );

    // NodePort → ClusterIP: node ports cleared and free again.
    let (s, v) = patch(&t, "web", json!({"spec": {"type": "ClusterIP"}})).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["spec"]["ports"][0].get("nodePort").is_none(), "{v}");
    created(
        &t,
        "reuse-port",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": port}]}),
    )
    .await;

    // → ExternalName: the IP is cleared and free again.
    let (s, v) = patch(
        &t,
        "web",
        json!({"spec": {"type": "ExternalName", "externalName": "web.example.com"}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["spec"].get("clusterIP").is_none(), "{v}");
    created(&t, "reuse-ip", json!({"clusterIP": "10.96.0.40"})).await;

    // ExternalName → ClusterIP: a new IP.
    let (s, v) = patch(
        &t,
        "web",
        json!({"spec": {"type": "ClusterIP", "externalName": null}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let ip = v["spec"]["clusterIP"].as_str().unwrap();
    assert!(ip.starts_with("10.") && ip != "10.96.0.40", "{v}");

    // Ports removed by an update are freed; kept ones keep their numbers.
    let two = created(
        &t,
        "two",
        json!({"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}),
    )
    .await;
    let (a, b) = (node_port(&two, 0), node_port(&two, 1));
    let (s, v) = patch(
        &t,
        "two",
        json!({"spec": {"ports": [{"name": "a", "port": 80, "nodePort": a}]}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(node_port(&v, 0), a);
    created(
        &t,
        "reuse-b",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": b}]}),
    )
    .await;
}

#[tokio::test]
async fn failed_writes_leak_nothing() {
    let t = TestServer::start().await;
    // Refused after allocation by namespace admission (no such namespace).
    let (s, v) = t
        .send_json(
            "POST",
            "/api/v1/namespaces/missing/services",
            JSON,
            &svc("x", json!({"clusterIP": "10.96.0.30"})),
        )
        .await;
    assert!(s >= 400, "{v}");
    // Refused by the store: the name exists.
    created(&t, "dup", json!({})).await;
    let (s, v) = create(&t, "dup", json!({"clusterIP": "10.96.0.31"})).await;
    assert_eq!(s, 409, "{v}");
    // Refused at the node port after the IP was taken.
    created(
        &t,
        "holder",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30033}]}),
    )
    .await;
    let (s, v) = create(&t, "y", json!({"clusterIP": "10.96.0.32", "type": "NodePort", "ports": [{"port": 80, "nodePort": 30033}]})).await;
    assert_eq!(s, 422, "{v}");
    // A dry run takes nothing.
    let (s, v) = t
        .send_json(
            "POST",
            &format!("{SVCS}?dryRun=All"),
            JSON,
            &svc("dry", json!({"clusterIP": "10.96.0.33"})),
        )
        .await;
    assert_eq!(
        (s, v["spec"]["clusterIP"].as_str()),
        (201, Some("10.96.0.33")),
        "{v}"
    );
    for (i, ip) in ["10.96.0.30", "10.96.0.31", "10.96.0.32", "10.96.0.33"]
        .iter()
        .enumerate()
    {
        created(&t, &format!("after{i}"), json!({"clusterIP": ip})).await;
    }
}

#[tokio::test]
async fn restart_keeps_allocations_and_repairs_a_corrupted_range() {
    let mut t = TestServer::start().await;
    created(&t, "kept", json!({"type": "NodePort", "clusterIP": "10.96.0.50", "ports": [{"port": 80, "nodePort": 30050}]})).await;
    let server = t.server.take().unwrap();
    // Lose every IP and claim a node port nobody holds.
    for (key, range, data) in [
        ("/registry/ranges/serviceips", "10.96.0.0/12", ""),
        ("/registry/ranges/servicenodeports", "30000-32767", "9AM="), // offset 500: 30500
    ] {
        let kv = server.storage().get(key).await.unwrap();
        let body = json!({"kind": "RangeAllocation", "apiVersion": "v1", "metadata": {"name": "x"}, "range": range, "data": data});
        server
            .storage()
            .update(
                key,
                kv.mod_revision,
                serde_json::to_vec(&body).unwrap().into(),
            )
            .await
            .unwrap();
    }
    server.stop().await.unwrap();
    let restarted = keelson_apiserver::server::start(crate::support::config(t.dir.path()))
        .await
        .unwrap();
    t.client = crate::support::client_for(&restarted.url());
    t.server = Some(restarted);

    let (s, v) = create(&t, "ip-clash", json!({"clusterIP": "10.96.0.50"})).await;
    assert_eq!(s, 422, "repaired: the stored Service holds its IP: {v}");
    let (s, v) = create(
        &t,
        "port-clash",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30050}]}),
    )
    .await;
    assert_eq!(s, 422, "repaired: the stored Service holds its port: {v}");
    let (s, v) = create(&t, "kube", json!({"clusterIP": "10.96.0.1"})).await;
    assert_eq!(s, 422, "the kubernetes Service holds the first IP: {v}");
    created(
        &t,
        "leaked",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30500}]}),
    )
    .await;
}

#[tokio::test]
async fn the_kubernetes_service_and_its_endpoints_point_at_the_server() {
    let t = TestServer::start().await;
    let port = t.server.as_ref().unwrap().addr.port();
    let (s, v) = t.get_json(&format!("{SVCS}/kubernetes")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["metadata"]["labels"],
        json!({"component": "apiserver", "provider": "kubernetes"})
    );
    assert_eq!(v["spec"]["clusterIP"], "10.96.0.1");
    assert_eq!(v["spec"]["clusterIPs"], json!(["10.96.0.1"]));
    assert_eq!(v["spec"]["type"], "ClusterIP");
    assert_eq!(
        v["spec"]["ports"],
        json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}])
    );
    let (s, ep) = t
        .get_json("/api/v1/namespaces/default/endpoints/kubernetes")
        .await;
    assert_eq!(s, 200, "{ep}");
    assert_eq!(
        ep["subsets"],
        json!([{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}])
    );
    let (s, slice) = t
        .get_json("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
        .await;
    assert_eq!(s, 200, "{slice}");
    assert_eq!(
        slice["metadata"]["labels"]["kubernetes.io/service-name"],
        "kubernetes"
    );
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(slice["endpoints"][0]["addresses"], json!(["127.0.0.1"]));
    assert_eq!(slice["ports"][0]["port"], port);
}

#[tokio::test]
async fn configured_ranges_are_used() {
    let t = TestServer::start_with(|mut c| {
        c.api.service_cidr = "10.0.0.0/28".parse().unwrap();
        c.api.node_port_range = "31000-31001".parse().unwrap();
        c
    })
    .await;
    let (_, k) = t.get_json(&format!("{SVCS}/kubernetes")).await;
    assert_eq!(k["spec"]["clusterIP"], "10.0.0.1");
    // 14 usable addresses, one taken by the kubernetes Service.
    let mut ips = BTreeSet::new();
    for i in 0..13 {
        let v = created(&t, &format!("s{i}"), json!({})).await;
        ips.insert(v["spec"]["clusterIP"].as_str().unwrap().to_owned());
    }
    assert_eq!(ips.len(), 13);
    assert!(ips.iter().all(|ip| ip.starts_with("10.0.0.")), "{ips:?}");
    let (s, v) = create(&t, "full", json!({})).await;
    assert_eq!(
        (s, v["message"].as_str()),
        (
            500,
            Some("Internal error occurred: failed to allocate a serviceIP: range is full")
        )
    );
    let (s, v) = create(&t, "elsewhere", json!({"clusterIP": "10.96.0.10"})).await;
    assert_eq!(s, 422);
    assert!(
        causes(&v)[0].ends_with("The range of valid IPs is 10.0.0.0/28"),
        "{v}"
    );
    delete(&t, "s0").await;
    delete(&t, "s1").await;
    let np = created(
        &t,
        "np",
        json!({"type": "NodePort", "ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]}),
    )
    .await;
    let mut ports = vec![node_port(&np, 0), node_port(&np, 1)];
    ports.sort_unstable();
    assert_eq!(ports, [31000, 31001]);
}

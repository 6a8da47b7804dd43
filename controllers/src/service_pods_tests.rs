#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;

fn pod(v: serde_json::Value) -> Pod {
    serde_json::from_value(v).unwrap()
}

fn svc(v: serde_json::Value) -> Service {
    serde_json::from_value(v).unwrap()
}

#[test]
fn pods_in_endpoints_as_upstream() {
    let base = |phase: &str, ip: Option<&str>, deleting: bool| {
        let mut p =
            pod(json!({"metadata": {"name": "p"}, "status": {"phase": phase, "podIP": ip}}));
        if deleting {
            p.metadata.deletion_timestamp = Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::UNIX_EPOCH),
            );
        }
        p
    };
    // (phase, ip, deleting, include terminating) → in endpoints
    let cases = [
        ("Running", Some("10.0.0.1"), false, false, true),
        ("Pending", Some("10.0.0.1"), false, false, true),
        ("Running", None, false, true, false),
        ("Succeeded", Some("10.0.0.1"), false, true, false),
        ("Failed", Some("10.0.0.1"), false, true, false),
        ("Running", Some("10.0.0.1"), true, false, false),
        ("Running", Some("10.0.0.1"), true, true, true),
    ];
    for (phase, ip, deleting, include, want) in cases {
        assert_eq!(
            should_pod_be_in_endpoints(&base(phase, ip, deleting), include),
            want,
            "{phase} {ip:?} {deleting} {include}"
        );
    }
}

#[test]
fn ports_resolve_per_pod_and_protocol() {
    let p = pod(json!({"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "ports": [
            {"name": "http", "containerPort": 8080},
            {"name": "dns", "containerPort": 5353, "protocol": "UDP"}]}],
        "initContainers": [
            {"name": "side", "restartPolicy": "Always", "ports": [{"name": "metrics", "containerPort": 9090}]},
            {"name": "init", "ports": [{"name": "once", "containerPort": 7070}]}]}}));
    let port = |target: serde_json::Value, protocol: &str| -> ServicePort {
        serde_json::from_value(json!({"port": 80, "targetPort": target, "protocol": protocol}))
            .unwrap()
    };
    assert_eq!(find_port(&p, &port(json!(9376), "TCP")), Some(9376));
    assert_eq!(find_port(&p, &port(json!("http"), "TCP")), Some(8080));
    assert_eq!(find_port(&p, &port(json!("http"), "UDP")), None);
    assert_eq!(find_port(&p, &port(json!("dns"), "UDP")), Some(5353));
    assert_eq!(find_port(&p, &port(json!("metrics"), "TCP")), Some(9090));
    assert_eq!(find_port(&p, &port(json!("once"), "TCP")), None);
    assert_eq!(find_port(&p, &port(json!("nope"), "TCP")), None);
    let unset: ServicePort = serde_json::from_value(json!({"port": 81})).unwrap();
    assert_eq!(find_port(&p, &unset), Some(81));
}

#[test]
fn handled_services_and_hostnames() {
    assert!(selector(&svc(json!({"spec": {"selector": {"a": "b"}}}))).is_some());
    assert!(selector(&svc(json!({"spec": {"selector": {}}}))).is_none());
    assert!(selector(&svc(json!({"spec": {}}))).is_none());
    assert!(
        selector(&svc(
            json!({"spec": {"type": "ExternalName", "selector": {"a": "b"}}})
        ))
        .is_none()
    );
    assert!(is_ip_set(&svc(json!({"spec": {"clusterIP": "10.96.0.9"}}))));
    assert!(!is_ip_set(&svc(json!({"spec": {"clusterIP": "None"}}))));
    let s = svc(json!({"metadata": {"name": "web", "namespace": "ns"}, "spec": {}}));
    let with = |sub: &str, ns: &str| {
        pod(
            json!({"metadata": {"name": "p", "namespace": ns}, "spec": {"containers": [], "hostname": "h", "subdomain": sub}}),
        )
    };
    assert!(should_set_hostname(&with("web", "ns"), &s));
    assert!(!should_set_hostname(&with("other", "ns"), &s));
    assert!(!should_set_hostname(&with("web", "elsewhere"), &s));
}

#[test]
fn pod_changes_map_to_services() {
    let services: Vec<Arc<Service>> = [
        ("a", json!({"app": "a"})),
        ("b", json!({"app": "b"})),
        ("none", json!(null)),
    ]
    .into_iter()
    .map(|(name, sel)| {
        Arc::new(svc(
            json!({"metadata": {"name": name, "namespace": "ns"}, "spec": {"selector": sel}}),
        ))
    })
    .collect();
    let p = |rv: &str, app: &str, ready: &str| {
        pod(
            json!({"metadata": {"name": "p", "namespace": "ns", "resourceVersion": rv, "labels": {"app": app}},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}),
        )
    };
    let keys = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>();
    assert_eq!(
        keys(services_to_update(&services, None, &p("1", "a", "True"))),
        ["ns/a"]
    );
    assert!(
        services_to_update(&services, Some(&p("1", "a", "True")), &p("2", "a", "True")).is_empty()
    );
    assert_eq!(
        keys(services_to_update(
            &services,
            Some(&p("1", "a", "False")),
            &p("2", "a", "True")
        )),
        ["ns/a"]
    );
    assert_eq!(
        keys(services_to_update(
            &services,
            Some(&p("1", "a", "True")),
            &p("2", "b", "True")
        )),
        ["ns/a", "ns/b"]
    );
}

#[test]
fn trigger_time_is_the_earliest_change_since_the_last_sync() {
    let t = |s: i64| Timestamp::from_second(s).unwrap();
    let s = svc(json!({"metadata": {"name": "s", "creationTimestamp": t(10).to_string()}}));
    let p = |name: &str, at: i64| {
        Arc::new(pod(
            json!({"metadata": {"name": name}, "status": {"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": t(at).to_string()}]}}),
        ))
    };
    let tracker = TriggerTimes::default();
    let sync = |pods: &[Arc<Pod>], ok: bool| {
        let (time, state) = tracker.compute("ns/s", &s, pods);
        if ok {
            tracker.commit("ns/s", state);
        }
        time
    };
    assert_eq!(sync(&[p("a", 20)], true), Some(t(10)), "a new Service");
    assert_eq!(sync(&[p("a", 20)], true), None, "nothing changed");
    assert_eq!(sync(&[p("a", 30), p("b", 25)], false), Some(t(25)));
    assert_eq!(
        sync(&[p("a", 30), p("b", 25)], true),
        Some(t(25)),
        "a failed sync is retried with its time"
    );
    assert_eq!(sync(&[p("a", 30), p("b", 25)], true), None);
    tracker.forget("ns/s");
    assert_eq!(sync(&[p("a", 30)], true), Some(t(10)));
}

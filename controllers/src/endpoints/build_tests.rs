#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::{Value, json};

fn svc(spec: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
        "spec": spec,
    }))
    .unwrap()
}

fn pod(name: &str, ip: &str, ready: bool, ports: Value) -> Arc<Pod> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}")},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": ports}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        }))
        .unwrap(),
    )
}

type Seen<'a> = (Vec<&'a str>, Vec<(Option<&'a str>, i32)>);

fn ips(v: &Option<Vec<EndpointAddress>>) -> Vec<&str> {
    v.iter().flatten().map(|a| a.ip.as_str()).collect()
}

fn ports(s: &EndpointSubset) -> Vec<(Option<&str>, i32)> {
    s.ports
        .iter()
        .flatten()
        .map(|p| (p.name.as_deref(), p.port))
        .collect()
}

#[test]
fn ready_and_not_ready_addresses_share_a_subset() {
    let s = svc(json!({"clusterIP": "10.96.0.5", "ports": [{"port": 80, "targetPort": 8080}]}));
    let pods = [
        pod("a", "10.0.0.2", true, json!([])),
        pod("b", "10.0.0.1", false, json!([])),
    ];
    let got = subsets(&s, &pods);
    assert_eq!(got.len(), 1);
    assert_eq!(ips(&got[0].addresses), ["10.0.0.2"]);
    assert_eq!(ips(&got[0].not_ready_addresses), ["10.0.0.1"]);
    assert_eq!(ports(&got[0]), [(None, 8080)]);
    let a = &got[0].addresses.as_ref().unwrap()[0];
    assert_eq!(a.node_name.as_deref(), Some("n1"));
    let r = a.target_ref.as_ref().unwrap();
    assert_eq!(
        (r.kind.as_deref(), r.name.as_deref(), r.uid.as_deref()),
        (Some("Pod"), Some("a"), Some("uid-a"))
    );

    let publish = svc(
        json!({"clusterIP": "10.96.0.5", "publishNotReadyAddresses": true, "ports": [{"port": 80}]}),
    );
    let got = subsets(&publish, &pods);
    assert_eq!(ips(&got[0].addresses), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(got[0].not_ready_addresses, None);
}

#[test]
fn named_ports_resolve_per_pod_and_group_subsets() {
    let s = svc(json!({"clusterIP": "10.96.0.5", "ports": [
        {"name": "http", "port": 80, "targetPort": "web"},
        {"name": "admin", "port": 81, "targetPort": 9000}]}));
    let pods = [
        pod(
            "a",
            "10.0.0.1",
            true,
            json!([{"name": "web", "containerPort": 8080}]),
        ),
        pod(
            "b",
            "10.0.0.2",
            true,
            json!([{"name": "web", "containerPort": 8081}]),
        ),
        pod("c", "10.0.0.3", true, json!([])),
    ];
    let got = subsets(&s, &pods);
    let mut seen: Vec<Seen<'_>> = got.iter().map(|s| (ips(&s.addresses), ports(s))).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (vec!["10.0.0.1"], vec![(Some("http"), 8080)]),
            (
                vec!["10.0.0.1", "10.0.0.2", "10.0.0.3"],
                vec![(Some("admin"), 9000)]
            ),
            (vec!["10.0.0.2"], vec![(Some("http"), 8081)]),
        ]
    );
}

#[test]
fn headless_without_ports_and_hostnames() {
    let s = svc(json!({"clusterIP": "None"}));
    let mut p = (*pod("a", "10.0.0.1", true, json!([]))).clone();
    let spec = p.spec.as_mut().unwrap();
    spec.hostname = Some("a-host".into());
    spec.subdomain = Some("web".into());
    let got = subsets(&s, &[Arc::new(p)]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].ports, None);
    assert_eq!(
        got[0].addresses.as_ref().unwrap()[0].hostname.as_deref(),
        Some("a-host")
    );
    // A Service with a cluster IP and no ports has no endpoints.
    let plain = svc(json!({"clusterIP": "10.96.0.5"}));
    assert!(subsets(&plain, &[pod("a", "10.0.0.1", true, json!([]))]).is_empty());
}

#[test]
fn terminating_and_finished_pods_are_left_out() {
    let s = svc(json!({"clusterIP": "10.96.0.5", "ports": [{"port": 80}]}));
    let mut gone = (*pod("a", "10.0.0.1", true, json!([]))).clone();
    gone.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        Timestamp::UNIX_EPOCH,
    ));
    let mut done = (*pod("b", "10.0.0.2", true, json!([]))).clone();
    done.status.as_mut().unwrap().phase = Some("Succeeded".into());
    assert!(subsets(&s, &[Arc::new(gone), Arc::new(done)]).is_empty());
}

#[test]
fn repack_merges_and_prefers_ready() {
    let addr = |ip: &str| EndpointAddress {
        ip: ip.into(),
        ..EndpointAddress::default()
    };
    let port = |n: i32| EndpointPort {
        port: n,
        protocol: Some("TCP".into()),
        ..EndpointPort::default()
    };
    let input = vec![
        EndpointSubset {
            addresses: Some(vec![addr("1.1.1.1")]),
            ports: Some(vec![port(1)]),
            ..Default::default()
        },
        EndpointSubset {
            not_ready_addresses: Some(vec![addr("1.1.1.1")]),
            ports: Some(vec![port(1)]),
            ..Default::default()
        },
        EndpointSubset {
            addresses: Some(vec![addr("1.1.1.1")]),
            ports: Some(vec![port(2)]),
            ..Default::default()
        },
        EndpointSubset {
            addresses: Some(vec![addr("2.2.2.2")]),
            ports: Some(vec![port(1)]),
            ..Default::default()
        },
    ];
    let got = repack(&input);
    let seen: Vec<Seen<'_>> = got.iter().map(|s| (ips(&s.addresses), ports(s))).collect();
    assert_eq!(
        seen,
        [
            (vec!["1.1.1.1"], vec![(None, 2)]),
            (vec!["1.1.1.1", "2.2.2.2"], vec![(None, 1)])
        ]
    );
    assert!(got.iter().all(|s| s.not_ready_addresses.is_none()));
}

fn many(n: usize, ready: bool, port: i32) -> EndpointSubset {
    let list = Some(
        (0..n)
            .map(|i| EndpointAddress {
                ip: format!("10.{port}.{}.{}", i / 256, i % 256),
                ..Default::default()
            })
            .collect(),
    );
    EndpointSubset {
        addresses: if ready { list.clone() } else { None },
        not_ready_addresses: if ready { None } else { list },
        ports: Some(vec![EndpointPort {
            port,
            ..Default::default()
        }]),
    }
}

#[test]
fn truncation_keeps_1000_in_proportion() {
    let count = |s: &[EndpointSubset]| -> (usize, usize) {
        let n = |v: &Option<Vec<EndpointAddress>>| v.as_ref().map_or(0, Vec::len);
        (
            s.iter().map(|x| n(&x.addresses)).sum(),
            s.iter().map(|x| n(&x.not_ready_addresses)).sum(),
        )
    };
    let mut fits = vec![many(600, true, 1), many(400, false, 2)];
    assert!(!truncate(&mut fits));
    assert_eq!(count(&fits), (600, 400));
    // Too many ready: ready ones share 1000 in proportion, not-ready ones go.
    let mut ready = vec![many(900, true, 1), many(300, true, 2), many(50, false, 3)];
    assert!(truncate(&mut ready));
    assert_eq!(count(&ready), (1000, 0));
    assert_eq!(ready[0].addresses.as_ref().unwrap().len(), 750);
    // Only not-ready ones are cut.
    let mut not_ready = vec![many(800, true, 1), many(300, false, 2), many(100, false, 3)];
    assert!(truncate(&mut not_ready));
    assert_eq!(count(&not_ready), (800, 200));
    assert_eq!(
        not_ready[1].not_ready_addresses.as_ref().unwrap().len(),
        150
    );
}

#[test]
fn desired_writes_only_on_change() {
    let s = svc(json!({"clusterIP": "None", "ports": [{"port": 80}]}));
    let subs = subsets(&s, &[pod("a", "10.0.0.1", true, json!([]))]);
    let t = Timestamp::from_second(1000).unwrap();
    let first = desired(&s, None, subs.clone(), Some(t)).unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("web"));
    let labels = first.metadata.labels.clone().unwrap();
    assert_eq!(labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(labels.get(HEADLESS).map(String::as_str), Some(""));
    let annotations = first.metadata.annotations.clone().unwrap();
    assert_eq!(
        annotations.get(LAST_CHANGE_TRIGGER_TIME),
        Some(&t.to_string())
    );
    assert!(!annotations.contains_key(OVER_CAPACITY));
    assert!(
        desired(&s, Some(&first), subs.clone(), None).is_none(),
        "nothing changed"
    );
    let mut edited = first.clone();
    edited.subsets = None;
    let fixed = desired(&s, Some(&edited), subs, None).unwrap();
    assert_eq!(fixed.subsets, first.subsets);
    assert!(
        !fixed
            .metadata
            .annotations
            .unwrap()
            .contains_key(LAST_CHANGE_TRIGGER_TIME)
    );

    let big = vec![many(1200, true, 1)];
    let over = desired(&s, None, big.clone(), None).unwrap();
    assert_eq!(
        over.metadata
            .annotations
            .as_ref()
            .unwrap()
            .get(OVER_CAPACITY)
            .map(String::as_str),
        Some("truncated")
    );
    assert!(desired(&s, Some(&over), big, None).is_none());
}

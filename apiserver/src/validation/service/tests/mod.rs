//! Table-driven cases: a Service as allocation leaves it, one edit, and exactly the
//! causes upstream v1.33 reports.

mod create;

use serde_json::{Value, json};

use super::validate;
use crate::admission::Operation;
use crate::api::Part;
use crate::pointer::At;
use crate::validation::errors::Errors;

fn cluster_ip() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "type": "ClusterIP",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "web"},
            "sessionAffinity": "None",
            "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        }
    })
}

fn node_port() -> Value {
    edited(
        cluster_ip(),
        &[
            ("/spec/type", json!("NodePort")),
            (
                "/spec/ports",
                json!([{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30080}]),
            ),
            ("/spec/externalTrafficPolicy", json!("Cluster")),
        ],
    )
}

fn load_balancer() -> Value {
    edited(
        node_port(),
        &[
            ("/spec/type", json!("LoadBalancer")),
            ("/spec/allocateLoadBalancerNodePorts", json!(true)),
        ],
    )
}

fn external_name() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"type": "ExternalName", "externalName": "db.example.com.", "sessionAffinity": "None"}
    })
}

/// `obj` with each `(JSON pointer, value)` set; `null` removes the member.
fn edited(mut obj: Value, edits: &[(&str, Value)]) -> Value {
    for (pointer, value) in edits {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = obj.at_mut(parent).unwrap().as_object_mut().unwrap();
        if value.is_null() {
            parent.remove(key);
        } else {
            parent.insert(key.to_owned(), value.clone());
        }
    }
    obj
}

fn causes(obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
    let mut e = Errors::default();
    validate(obj, op, &mut e);
    e.0.into_iter().map(|c| (c.field, c.message)).collect()
}

fn owned(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter()
        .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
        .collect()
}

/// An old object, the new one, and the causes.
type Update<'a> = (Value, Value, Vec<(&'a str, &'a str)>);

/// A base object, edits to it, and the causes.
type Case<'a> = (Value, Vec<(&'a str, Value)>, Vec<(&'a str, &'a str)>);

const BAD_IP: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

#[test]
fn updates_keep_cluster_ips() {
    let dual = edited(
        cluster_ip(),
        &[
            ("/spec/clusterIPs", json!(["10.96.0.10", "fd00::10"])),
            ("/spec/ipFamilies", json!(["IPv4", "IPv6"])),
            ("/spec/ipFamilyPolicy", json!("RequireDualStack")),
        ],
    );
    let lb_class = edited(
        load_balancer(),
        &[("/spec/loadBalancerClass", json!("example.com/a"))],
    );
    let cases: Vec<Update<'_>> = vec![
        (cluster_ip(), cluster_ip(), vec![]),
        (
            cluster_ip(),
            edited(
                cluster_ip(),
                &[
                    ("/spec/clusterIP", json!("10.96.0.99")),
                    ("/spec/clusterIPs", json!(["10.96.0.99"])),
                ],
            ),
            vec![(
                "spec.clusterIPs[0]",
                "Invalid value: []string{\"10.96.0.99\"}: may not change once set",
            )],
        ),
        (
            cluster_ip(),
            edited(
                cluster_ip(),
                &[
                    ("/spec/clusterIP", Value::Null),
                    ("/spec/clusterIPs", Value::Null),
                ],
            ),
            vec![(
                "spec.clusterIPs[0]",
                "Invalid value: []string(nil): primary clusterIP can not be unset",
            )],
        ),
        // To and from ExternalName, cluster IPs come and go.
        (cluster_ip(), external_name(), vec![]),
        (external_name(), cluster_ip(), vec![]),
        // Adding a secondary IP is an upgrade; releasing it needs SingleStack.
        (cluster_ip(), dual.clone(), vec![]),
        (
            dual.clone(),
            edited(
                dual,
                &[
                    ("/spec/clusterIPs", json!(["10.96.0.10"])),
                    ("/spec/ipFamilies", json!(["IPv4"])),
                ],
            ),
            vec![
                (
                    "spec.ipFamilyPolicy",
                    "Invalid value: \"RequireDualStack\": must be set to 'SingleStack' when releasing the secondary clusterIP",
                ),
                (
                    "spec.ipFamilyPolicy",
                    "Invalid value: \"RequireDualStack\": must be set to 'SingleStack' when releasing the secondary ipFamily",
                ),
            ],
        ),
        (
            lb_class.clone(),
            edited(
                lb_class,
                &[("/spec/loadBalancerClass", json!("example.com/b"))],
            ),
            vec![(
                "spec.loadBalancerClass",
                "Invalid value: \"example.com/b\": may not change once set",
            )],
        ),
    ];
    for (old, new, want) in cases {
        let op = Operation::Update {
            old: &old,
            part: Part::Main,
        };
        assert_eq!(causes(&new, op), owned(&want), "{old} -> {new}");
    }
}

#[test]
fn status_updates_check_ingress_points() {
    let old = load_balancer();
    let op = Operation::Update {
        old: &old,
        part: Part::Status,
    };
    let with_ingress = |base: Value, ingress: Value| {
        edited(
            base,
            &[("/status", json!({"loadBalancer": {"ingress": ingress}}))],
        )
    };
    let ok = with_ingress(
        load_balancer(),
        json!([{"ip": "192.0.2.1", "ipMode": "VIP"}, {"hostname": "lb.example.com"}]),
    );
    assert!(causes(&ok, op).is_empty());
    let bad = with_ingress(
        load_balancer(),
        json!([{"ip": "x", "ipMode": "Direct"}, {"hostname": "192.0.2.1", "ipMode": "VIP"}]),
    );
    assert_eq!(
        causes(&bad, op),
        owned(&[
            (
                "status.loadBalancer.ingress[0].ip",
                &format!("Invalid value: \"x\": {BAD_IP}")
            ),
            (
                "status.loadBalancer.ingress[0].ipMode",
                "Unsupported value: \"Direct\": supported values: \"Proxy\", \"VIP\""
            ),
            (
                "status.loadBalancer.ingress[1].ipMode",
                "Forbidden: may not be specified when `ip` is not set"
            ),
            (
                "status.loadBalancer.ingress[1].hostname",
                "Invalid value: \"192.0.2.1\": must be a DNS name, not an IP address"
            ),
        ])
    );
    let not_lb = with_ingress(cluster_ip(), json!([{"ip": "192.0.2.1", "ipMode": "VIP"}]));
    assert_eq!(
        causes(&not_lb, op),
        owned(&[(
            "status.loadBalancer.ingress",
            "Forbidden: may only be used when `spec.type` is 'LoadBalancer'"
        )])
    );
}

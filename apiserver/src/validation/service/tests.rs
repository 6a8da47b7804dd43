//! Table-driven cases: a Service as allocation leaves it, one edit, and exactly the
//! causes upstream v1.33 reports.

use serde_json::{Value, json};

use super::validate;
use crate::admission::Operation;
use crate::api::Part;
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
        let parent = obj.pointer_mut(parent).unwrap().as_object_mut().unwrap();
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
fn creates() {
    let dup_port = "Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}";
    let loopback =
        "Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)";
    let bad_ip = format!("Invalid value: \"nope\": {BAD_IP}");
    let bad_cluster_ip = format!("Invalid value: \"bad\": {BAD_IP}");
    let cases: Vec<Case<'_>> = vec![
        (cluster_ip(), vec![], vec![]),
        (node_port(), vec![], vec![]),
        (load_balancer(), vec![], vec![]),
        (external_name(), vec![], vec![]),
        (
            cluster_ip(),
            vec![("/spec/ports", Value::Null)],
            vec![("spec.ports", "Required value")],
        ),
        (
            cluster_ip(),
            vec![
                ("/spec/ports", Value::Null),
                ("/spec/clusterIP", json!("None")),
                ("/spec/clusterIPs", json!(["None"])),
            ],
            vec![],
        ),
        (
            cluster_ip(),
            vec![(
                "/spec/ports",
                json!([{"port": 80, "protocol": "TCP", "targetPort": 80},
                       {"port": 443, "protocol": "TCP", "targetPort": 443}]),
            )],
            vec![
                ("spec.ports[0].name", "Required value"),
                ("spec.ports[1].name", "Required value"),
            ],
        ),
        (
            cluster_ip(),
            vec![(
                "/spec/ports",
                json!([{"name": "a", "port": 80, "protocol": "TCP", "targetPort": 80},
                       {"name": "a", "port": 80, "protocol": "TCP", "targetPort": 81}]),
            )],
            vec![
                ("spec.ports[1].name", "Duplicate value: \"a\""),
                ("spec.ports[1]", dup_port),
            ],
        ),
        (
            cluster_ip(),
            vec![(
                "/spec/ports",
                json!([{"port": 0, "protocol": "HTTP", "targetPort": 70000, "nodePort": 30001}]),
            )],
            vec![
                (
                    "spec.ports[0].port",
                    "Invalid value: 0: must be between 1 and 65535, inclusive",
                ),
                (
                    "spec.ports[0].protocol",
                    "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                ),
                (
                    "spec.ports[0].targetPort",
                    "Invalid value: 70000: must be between 1 and 65535, inclusive",
                ),
                (
                    "spec.ports[0].nodePort",
                    "Forbidden: may not be used when `type` is 'ClusterIP'",
                ),
            ],
        ),
        (
            cluster_ip(),
            vec![("/spec/ports/0/targetPort", json!("Http"))],
            vec![(
                "spec.ports[0].targetPort",
                "Invalid value: \"Http\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            )],
        ),
        (
            cluster_ip(),
            vec![("/spec/type", json!("Magic"))],
            vec![(
                "spec.type",
                "Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            )],
        ),
        (
            cluster_ip(),
            vec![("/spec/sessionAffinity", json!("Sticky"))],
            vec![(
                "spec.sessionAffinity",
                "Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\"",
            )],
        ),
        (
            cluster_ip(),
            vec![
                ("/spec/sessionAffinity", json!("ClientIP")),
                (
                    "/spec/sessionAffinityConfig",
                    json!({"clientIP": {"timeoutSeconds": 0}}),
                ),
            ],
            vec![(
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                "Invalid value: 0: must be greater than 0 and less than 86400",
            )],
        ),
        (
            cluster_ip(),
            vec![(
                "/spec/sessionAffinityConfig",
                json!({"clientIP": {"timeoutSeconds": 10}}),
            )],
            vec![(
                "spec.sessionAffinityConfig",
                "Forbidden: must not be set when session affinity is None",
            )],
        ),
        (
            external_name(),
            vec![
                ("/spec/externalName", json!("Bad_Name")),
                ("/spec/clusterIPs", json!(["10.96.0.3"])),
                ("/spec/ipFamilies", json!(["IPv4"])),
                ("/spec/ipFamilyPolicy", json!("SingleStack")),
            ],
            vec![
                (
                    "spec.clusterIPs",
                    "Forbidden: may not be set for ExternalName services",
                ),
                (
                    "spec.ipFamilies",
                    "Forbidden: may not be set for ExternalName services",
                ),
                (
                    "spec.ipFamilyPolicy",
                    "Forbidden: may not be set for ExternalName services",
                ),
                (
                    "spec.externalName",
                    "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                ),
            ],
        ),
        (
            external_name(),
            vec![("/spec/externalName", Value::Null)],
            vec![("spec.externalName", "Required value")],
        ),
        (
            cluster_ip(),
            vec![("/spec/clusterIPs", json!(["10.96.0.11"]))],
            vec![(
                "spec.clusterIPs",
                "Invalid value: []string{\"10.96.0.11\"}: first value must match `clusterIP`",
            )],
        ),
        (
            cluster_ip(),
            vec![
                ("/spec/clusterIP", json!("bad")),
                ("/spec/clusterIPs", json!(["bad"])),
            ],
            vec![("spec.clusterIPs[0]", &bad_cluster_ip)],
        ),
        (
            cluster_ip(),
            vec![
                ("/spec/clusterIPs", json!(["10.96.0.10", "10.96.0.11"])),
                ("/spec/ipFamilies", json!(["IPv4", "IPv6"])),
                ("/spec/ipFamilyPolicy", json!("RequireDualStack")),
            ],
            vec![
                (
                    "spec.clusterIPs",
                    "Invalid value: []string{\"10.96.0.10\", \"10.96.0.11\"}: may specify no more than one IP for each IP family",
                ),
                (
                    "spec.clusterIPs[1]",
                    "Invalid value: \"10.96.0.11\": expected an IPv6 value as indicated by `ipFamilies[1]`",
                ),
            ],
        ),
        (
            cluster_ip(),
            vec![
                ("/spec/ipFamilies", json!(["IPv5", "IPv5"])),
                ("/spec/ipFamilyPolicy", json!("Maybe")),
            ],
            vec![
                (
                    "spec.ipFamilies[0]",
                    "Unsupported value: \"IPv5\": supported values: \"IPv4\", \"IPv6\"",
                ),
                (
                    "spec.ipFamilies[1]",
                    "Unsupported value: \"IPv5\": supported values: \"IPv4\", \"IPv6\"",
                ),
                ("spec.ipFamilies[1]", "Duplicate value: \"IPv5\""),
                (
                    "spec.ipFamilyPolicy",
                    "Unsupported value: \"Maybe\": supported values: \"PreferDualStack\", \"RequireDualStack\", \"SingleStack\"",
                ),
            ],
        ),
        (
            cluster_ip(),
            vec![
                ("/spec/externalIPs", json!(["127.0.0.1", "nope"])),
                ("/spec/externalTrafficPolicy", json!("Cluster")),
            ],
            vec![
                ("spec.externalIPs[0]", loopback),
                ("spec.externalIPs[1]", &bad_ip),
            ],
        ),
        (
            cluster_ip(),
            vec![("/spec/externalTrafficPolicy", json!("Local"))],
            vec![(
                "spec.externalTrafficPolicy",
                "Invalid value: \"Local\": may only be set for externally-accessible services",
            )],
        ),
        (
            node_port(),
            vec![("/spec/externalTrafficPolicy", Value::Null)],
            vec![("spec.externalTrafficPolicy", "Required value")],
        ),
        (
            cluster_ip(),
            vec![("/spec/internalTrafficPolicy", Value::Null)],
            vec![("spec.internalTrafficPolicy", "Required value")],
        ),
        (
            cluster_ip(),
            vec![("/spec/internalTrafficPolicy", json!("Everywhere"))],
            vec![(
                "spec.internalTrafficPolicy",
                "Unsupported value: \"Everywhere\": supported values: \"Cluster\", \"Local\"",
            )],
        ),
        (
            cluster_ip(),
            vec![(
                "/spec/loadBalancerSourceRanges",
                json!(["10.0.0.0/8", "10.0.0.0/40"]),
            )],
            vec![
                (
                    "spec.LoadBalancerSourceRanges",
                    "Forbidden: may only be used when `type` is 'LoadBalancer'",
                ),
                (
                    "spec.LoadBalancerSourceRanges[1]",
                    "Invalid value: \"10.0.0.0/40\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                ),
            ],
        ),
        (
            load_balancer(),
            vec![("/spec/externalTrafficPolicy", json!("Local"))],
            vec![("spec.healthCheckNodePort", "Required value")],
        ),
        (
            load_balancer(),
            vec![("/spec/allocateLoadBalancerNodePorts", Value::Null)],
            vec![("allocateLoadBalancerNodePorts", "Required value")],
        ),
        (
            load_balancer(),
            vec![
                ("/spec/clusterIP", json!("None")),
                ("/spec/clusterIPs", json!(["None"])),
            ],
            vec![(
                "spec.clusterIPs[0]",
                "Invalid value: \"None\": may not be set to 'None' for LoadBalancer services",
            )],
        ),
        (
            cluster_ip(),
            vec![
                ("/spec/loadBalancerClass", json!("example.com/lb")),
                ("/spec/trafficDistribution", json!("Anywhere")),
            ],
            vec![
                (
                    "spec.loadBalancerClass",
                    "Forbidden: may only be used when `type` is 'LoadBalancer'",
                ),
                (
                    "spec.trafficDistribution",
                    "Unsupported value: \"Anywhere\": supported values: \"PreferClose\"",
                ),
            ],
        ),
    ];
    for (base, edits, want) in cases {
        let obj = edited(base, &edits);
        assert_eq!(
            causes(&obj, Operation::Create),
            owned(&want),
            "edits {edits:?}"
        );
    }
}

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

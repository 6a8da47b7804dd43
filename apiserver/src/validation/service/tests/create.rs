//! Creates: each case is a valid Service, one edit, and the causes it must produce.

use serde_json::{Value, json};

use super::{
    BAD_IP, Case, causes, cluster_ip, edited, external_name, load_balancer, node_port, owned,
};
use crate::admission::Operation;

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
        (
            cluster_ip(),
            vec![(
                "/metadata/annotations",
                json!({
                    "service.kubernetes.io/topology-mode": "Auto",
                    "service.kubernetes.io/topology-aware-hints": "Disabled",
                    "service.beta.kubernetes.io/load-balancer-source-ranges": " 10.0.0.0/8, nope",
                }),
            )],
            vec![
                (
                    "metadata.annotations[service.kubernetes.io/topology-mode]",
                    "Invalid value: \"Auto\": must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified",
                ),
                (
                    "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]",
                    "Forbidden: may only be used when `type` is 'LoadBalancer'",
                ),
                (
                    "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]",
                    "Invalid value: \"nope\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                ),
            ],
        ),
        (
            load_balancer(),
            vec![
                ("/spec/loadBalancerClass", json!("-bad")),
                ("/spec/loadBalancerSourceRanges", json!([" 10.0.0.0/8 "])),
                ("/spec/ports/0/appProtocol", json!("kubernetes.io/h2c")),
            ],
            vec![(
                "spec.loadBalancerClass",
                "Invalid value: \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            )],
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

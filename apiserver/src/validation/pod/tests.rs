//! Table tests: pod manifests (defaulted as the admission chain would) and exactly the
//! causes upstream v1.33 reports for them.

use serde_json::{Value, json};

use super::super::errors::{Errors, Path};
use super::super::meta;
use super::{template, validate};
use crate::admission::Operation;

/// A defaulted pod whose spec is a single valid container plus `extra`.
pub(super) fn pod(extra: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "c", "image": "nginx:1.27"}]});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    let mut obj = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": spec,
    });
    crate::defaults::apply("Pod", &mut obj);
    obj
}

pub(super) fn causes(obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
    let mut e = Errors::default();
    validate(obj, op, &mut e);
    e.0.into_iter().map(|c| (c.field, c.message)).collect()
}

pub(super) fn owned(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter()
        .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
        .collect()
}

fn label_msg(s: &str) -> String {
    format!("Invalid value: \"{s}\": {}", meta::dns1123_label(s)[0])
}

fn subdomain_msg(s: &str) -> String {
    format!("Invalid value: \"{s}\": {}", meta::dns1123_subdomain(s)[0])
}

#[test]
fn create_reports_every_cause() {
    let bad_label = label_msg("App_1");
    let bad_host = label_msg("Bad_Host");
    let bad_account = subdomain_msg("Bad!");
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (json!({}), vec![]),
        (
            json!({"containers": []}),
            vec![("spec.containers", "Required value")],
        ),
        (
            json!({"containers": [{"name": "app", "image": "x"}, {"name": "app"}]}),
            vec![
                ("spec.containers[1].image", "Required value"),
                ("spec.containers[1].name", "Duplicate value: \"app\""),
            ],
        ),
        (
            json!({"containers": [{"name": "App_1", "image": "x"}]}),
            vec![("spec.containers[0].name", &bad_label)],
        ),
        (
            json!({"initContainers": [{"name": "c", "image": "x", "livenessProbe": {"exec": {"command": ["true"]}}}]}),
            vec![
                ("spec.initContainers[0].name", "Duplicate value: \"c\""),
                (
                    "spec.initContainers[0].livenessProbe",
                    "Forbidden: may not be set for init containers without restartPolicy=Always",
                ),
            ],
        ),
        (
            json!({"containers": [{"name": "c", "image": "x", "ports": [
                {"name": "HTTP", "containerPort": 70000, "hostPort": 70000, "protocol": "ICMP"},
                {"name": "web", "containerPort": 80},
                {"name": "web", "containerPort": 81, "hostPort": 8080},
                {"containerPort": 82, "hostPort": 8080},
            ]}]}),
            vec![
                (
                    "spec.containers[0].ports[0].name",
                    "Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                ),
                (
                    "spec.containers[0].ports[0].name",
                    "Invalid value: \"HTTP\": must contain at least one letter (a-z)",
                ),
                (
                    "spec.containers[0].ports[0].containerPort",
                    "Invalid value: 70000: must be between 1 and 65535, inclusive",
                ),
                (
                    "spec.containers[0].ports[0].hostPort",
                    "Invalid value: 70000: must be between 1 and 65535, inclusive",
                ),
                (
                    "spec.containers[0].ports[0].protocol",
                    "Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                ),
                (
                    "spec.containers[0].ports[2].name",
                    "Duplicate value: \"web\"",
                ),
                (
                    "spec.containers[0].ports[3].hostPort",
                    "Duplicate value: \"TCP//8080\"",
                ),
            ],
        ),
        (
            json!({"containers": [{"name": "c", "image": "x", "env": [
                {"name": "A=B", "value": "x"},
                {"name": "", "valueFrom": {}},
                {"name": "C", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                {"name": "D", "valueFrom": {"configMapKeyRef": {"name": "m", "key": "a/b"}, "fieldRef": {"fieldPath": "status.phase"}}},
            ]}]}),
            vec![
                (
                    "spec.containers[0].env[0].name",
                    "Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                ),
                ("spec.containers[0].env[1].name", "Required value"),
                (
                    "spec.containers[0].env[1].name",
                    "Invalid value: \"\": environment variable name must be non-empty",
                ),
                (
                    "spec.containers[0].env[1].valueFrom",
                    "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                ),
                (
                    "spec.containers[0].env[2].valueFrom",
                    "Invalid value: \"\": may not be specified when `value` is not empty",
                ),
                (
                    "spec.containers[0].env[3].valueFrom.fieldRef.fieldPath",
                    "Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
                ),
                (
                    "spec.containers[0].env[3].valueFrom.configMapKeyRef.key",
                    "Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                ),
                (
                    "spec.containers[0].env[3].valueFrom",
                    "Invalid value: \"\": may not have more than one field specified at a time",
                ),
            ],
        ),
        (
            json!({"containers": [{"name": "c", "image": "x", "resources": {
                "requests": {"cpu": "2", "memory": "128Mi"},
                "limits": {"cpu": "1", "memory": "0.5Gi"},
            }}]}),
            vec![(
                "spec.containers[0].resources.requests",
                "Invalid value: \"2\": must be less than or equal to cpu limit of 1",
            )],
        ),
        (
            json!({"containers": [{"name": "c", "image": "x", "resources": {
                "requests": {"cpu": "abc", "foo": "1", "memory": "-1", "example.com/gpu": "1"},
            }}]}),
            vec![
                (
                    "spec.containers[0].resources.requests[cpu]",
                    "Invalid value: \"abc\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                ),
                (
                    "spec.containers[0].resources.limits",
                    "Required value: Limit must be set for non overcommitable resources",
                ),
                (
                    "spec.containers[0].resources.requests[foo]",
                    "Invalid value: \"foo\": must be a standard resource for containers",
                ),
                (
                    "spec.containers[0].resources.requests[memory]",
                    "Invalid value: \"-1\": must be greater than or equal to 0",
                ),
            ],
        ),
        (
            json!({
                "containers": [{"name": "c", "image": "x", "volumeMounts": [
                    {"name": "data", "mountPath": "/d"},
                    {"name": "missing", "mountPath": "/d"},
                    {"name": "bad", "mountPath": "/e"},
                ]}],
                "volumes": [
                    {"name": "data", "emptyDir": {}},
                    {"name": "data", "configMap": {"name": "m"}},
                    {"name": "bad", "hostPath": {"path": ""}, "secret": {"secretName": "s"}},
                    {"name": "pvc", "persistentVolumeClaim": {"claimName": ""}},
                ],
            }),
            vec![
                ("spec.volumes[1].name", "Duplicate value: \"data\""),
                ("spec.volumes[2].hostPath.path", "Required value"),
                (
                    "spec.volumes[2].secret",
                    "Forbidden: may not specify more than 1 volume type",
                ),
                (
                    "spec.volumes[3].persistentVolumeClaim.claimName",
                    "Required value",
                ),
                (
                    "spec.containers[0].volumeMounts[1].name",
                    "Not found: \"missing\"",
                ),
                (
                    "spec.containers[0].volumeMounts[1].mountPath",
                    "Invalid value: \"/d\": must be unique",
                ),
                (
                    "spec.containers[0].volumeMounts[2].name",
                    "Not found: \"bad\"",
                ),
            ],
        ),
        (
            json!({"restartPolicy": "Sometimes", "dnsPolicy": "Bad", "activeDeadlineSeconds": 0,
                   "hostname": "Bad_Host", "serviceAccountName": "Bad!",
                   "securityContext": {"runAsUser": -1}}),
            vec![
                (
                    "spec.restartPolicy",
                    "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                ),
                (
                    "spec.dnsPolicy",
                    "Unsupported value: \"Bad\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
                ),
                (
                    "spec.securityContext.runAsUser",
                    "Invalid value: -1: must be between 0 and 2147483647, inclusive",
                ),
                ("spec.serviceAccountName", &bad_account),
                (
                    "spec.activeDeadlineSeconds",
                    "Invalid value: 0: must be between 1 and 2147483647, inclusive",
                ),
                ("spec.hostname", &bad_host),
            ],
        ),
        (
            json!({"tolerations": [
                {"operator": "Equal", "value": "v"},
                {"key": "k", "operator": "Exists", "value": "v"},
                {"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5},
                {"key": "k", "operator": "Foo", "effect": "Bad"},
            ]}),
            vec![
                (
                    "spec.tolerations[0].operator",
                    "Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                ),
                (
                    "spec.tolerations[1].operator",
                    "Invalid value: core.Toleration{Key:\"k\", Operator:\"Exists\", Value:\"v\", Effect:\"\", TolerationSeconds:(*int64)(nil)}: value must be empty when `operator` is 'Exists'",
                ),
                (
                    "spec.tolerations[2].effect",
                    "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
                ),
                (
                    "spec.tolerations[3].operator",
                    "Unsupported value: \"Foo\": supported values: \"Equal\", \"Exists\"",
                ),
                (
                    "spec.tolerations[3].effect",
                    "Unsupported value: \"Bad\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
                ),
            ],
        ),
        (
            json!({"affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []},
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "preference": {
                        "matchExpressions": [{"key": "zone", "operator": "In"}]
                    }}],
                },
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Has"}]},
                    "topologyKey": "kubernetes.io/hostname",
                }]},
            }}),
            vec![
                (
                    "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
                    "Required value: must have at least one node selector term",
                ),
                (
                    "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
                    "Invalid value: 0: must be in the range 1-100",
                ),
                (
                    "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values",
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                ),
                (
                    "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].operator",
                    "Invalid value: \"Has\": not a valid selector operator",
                ),
            ],
        ),
        (
            json!({"topologySpreadConstraints": [
                {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "Maybe"},
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "minDomains": 0},
            ]}),
            vec![
                (
                    "spec.topologySpreadConstraints[0].maxSkew",
                    "Invalid value: 0: must be greater than zero",
                ),
                (
                    "spec.topologySpreadConstraints[0].whenUnsatisfiable",
                    "Unsupported value: \"Maybe\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
                ),
                (
                    "spec.topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}",
                    "Duplicate value: \"{zone, DoNotSchedule}\"",
                ),
                (
                    "spec.topologySpreadConstraints[2].minDomains",
                    "Invalid value: 0: must be greater than zero",
                ),
            ],
        ),
        (
            json!({"containers": [{"name": "c", "image": " nginx",
                "livenessProbe": {"successThreshold": 2},
                "readinessProbe": {"exec": {"command": []}, "httpGet": {"port": "http"}},
            }]}),
            vec![
                (
                    "spec.containers[0].livenessProbe",
                    "Required value: must specify a handler type",
                ),
                (
                    "spec.containers[0].livenessProbe.successThreshold",
                    "Invalid value: 2: must be 1",
                ),
                (
                    "spec.containers[0].readinessProbe.exec.command",
                    "Required value",
                ),
                (
                    "spec.containers[0].readinessProbe.httpGet",
                    "Forbidden: may not specify more than 1 handler type",
                ),
                (
                    "spec.containers[0].image",
                    "Invalid value: \" nginx\": must not have leading or trailing whitespace",
                ),
            ],
        ),
        (
            json!({"ephemeralContainers": [{"name": "debug", "image": "busybox"}],
                   "nodeName": "n1", "schedulingGates": [{"name": "wait"}]}),
            vec![
                (
                    "spec.ephemeralContainers",
                    "Forbidden: cannot be set on create",
                ),
                (
                    "spec.nodeName",
                    "Forbidden: cannot be set until all schedulingGates have been cleared",
                ),
            ],
        ),
    ];
    for (spec, want) in cases {
        let obj = pod(spec.clone());
        assert_eq!(causes(&obj, Operation::Create), owned(&want), "{spec}");
    }
}

#[test]
fn templates_use_their_own_paths() {
    let mut deployment = json!({"spec": {"template": {
        "metadata": {"labels": {"-bad": "web"}},
        "spec": {
            "containers": [{"name": "c"}],
            "ephemeralContainers": [{"name": "e", "image": "x"}],
        },
    }}});
    crate::defaults::apply("Deployment", &mut deployment);
    let mut e = Errors::default();
    let path = Path::root("spec").child("template");
    template(&deployment["spec"]["template"], &path, &mut e);
    let got: Vec<(String, String)> = e.0.into_iter().map(|c| (c.field, c.message)).collect();
    let label = format!(
        "Invalid value: \"-bad\": {}",
        meta::qualified_name("-bad")[0]
    );
    assert_eq!(
        got,
        owned(&[
            ("spec.template.labels", &label),
            ("spec.template.spec.containers[0].image", "Required value"),
            (
                "spec.template.spec.ephemeralContainers",
                "Forbidden: ephemeral containers not allowed in pod template",
            ),
        ])
    );
}

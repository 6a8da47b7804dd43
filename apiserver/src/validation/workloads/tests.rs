//! Table-driven cases: a valid (defaulted) object, one edit, and exactly the causes
//! upstream v1.33 reports for it.

use serde_json::{Value, json};

use super::validate;
use crate::admission::Operation;
use crate::api::Part;
use crate::pointer::At;
use crate::validation::errors::Errors;

/// A pod template spec as defaulting leaves it.
fn pod_spec() -> Value {
    json!({
        "containers": [{
            "name": "c", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }],
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
    })
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        }
    })
}

fn replica_set() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()},
        }
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

fn causes(kind: &str, obj: &Value, op: Operation<'_>) -> Vec<(String, String)> {
    let mut e = Errors::default();
    validate(kind, obj, op, &mut e);
    e.0.into_iter().map(|c| (c.field, c.message)).collect()
}

fn check(kind: &str, base: &Value, cases: Vec<Case<'_>>) {
    for (edits, want) in cases {
        let obj = edited(base.clone(), &edits);
        let got = causes(kind, &obj, Operation::Create);
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(f, m)| (f.to_owned(), m.to_owned()))
            .collect();
        assert_eq!(got, want, "{kind} with {edits:?}");
    }
}

/// Edits to a valid object, and the causes they must produce.
type Case<'a> = (Vec<(&'a str, Value)>, Vec<(&'a str, &'a str)>);

const NO_LABELS: &str = "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}";

#[test]
fn deployment_specs() {
    let mismatch = "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`";
    let empty = format!("Invalid value: {NO_LABELS}: empty selector is invalid for deployment");
    let near = "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"app\", Operator:\"Near\", Values:[]string{\"web\"}}}}: invalid label selector";
    let cases: Vec<Case<'_>> = vec![
        (vec![], vec![]),
        (
            vec![("/spec/selector", Value::Null)],
            vec![
                ("spec.selector", "Required value"),
                ("spec.template.metadata.labels", mismatch),
            ],
        ),
        (
            vec![("/spec/selector", json!({}))],
            vec![("spec.selector", &empty)],
        ),
        (
            vec![("/spec/template/metadata/labels", json!({"app": "other"}))],
            vec![(
                "spec.template.metadata.labels",
                "Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`",
            )],
        ),
        (
            vec![(
                "/spec/selector",
                json!({"matchExpressions": [{"key": "app", "operator": "Near", "values": ["web"]}]}),
            )],
            vec![
                (
                    "spec.selector.matchExpressions[0].operator",
                    "Invalid value: \"Near\": not a valid selector operator",
                ),
                ("spec.selector", near),
            ],
        ),
        (
            vec![(
                "/spec/selector",
                json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}),
            )],
            vec![],
        ),
        (
            vec![("/spec/replicas", json!(-1))],
            vec![(
                "spec.replicas",
                "Invalid value: -1: must be greater than or equal to 0",
            )],
        ),
        (
            vec![("/spec/template/spec/restartPolicy", json!("Never"))],
            vec![(
                "spec.template.spec.restartPolicy",
                "Unsupported value: \"Never\": supported values: \"Always\"",
            )],
        ),
        (
            vec![("/spec/template/spec/activeDeadlineSeconds", json!(5))],
            vec![(
                "spec.template.spec.activeDeadlineSeconds",
                "Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
            )],
        ),
        (
            vec![("/spec/strategy", json!({"type": "Sometimes"}))],
            vec![(
                "spec.strategy",
                "Unsupported value: apps.DeploymentStrategy{Type:\"Sometimes\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\"",
            )],
        ),
        (
            vec![("/spec/strategy/type", json!("Recreate"))],
            vec![(
                "spec.strategy.rollingUpdate",
                "Forbidden: may not be specified when strategy `type` is 'Recreate'",
            )],
        ),
        (
            vec![("/spec/strategy", json!({"type": "Recreate"}))],
            vec![],
        ),
        (
            vec![(
                "/spec/strategy/rollingUpdate",
                json!({"maxUnavailable": 0, "maxSurge": "0%"}),
            )],
            vec![(
                "spec.strategy.rollingUpdate.maxUnavailable",
                "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0",
            )],
        ),
        (
            vec![(
                "/spec/strategy/rollingUpdate",
                json!({"maxUnavailable": "150%", "maxSurge": "200%"}),
            )],
            vec![(
                "spec.strategy.rollingUpdate.maxUnavailable",
                "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%",
            )],
        ),
        (
            vec![(
                "/spec/strategy/rollingUpdate",
                json!({"maxUnavailable": -1, "maxSurge": "a lot"}),
            )],
            vec![
                (
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    "Invalid value: -1: must be greater than or equal to 0",
                ),
                (
                    "spec.strategy.rollingUpdate.maxSurge",
                    "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"a lot\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                ),
            ],
        ),
        (
            vec![
                ("/spec/minReadySeconds", json!(-5)),
                ("/spec/revisionHistoryLimit", json!(-1)),
            ],
            vec![
                (
                    "spec.minReadySeconds",
                    "Invalid value: -5: must be greater than or equal to 0",
                ),
                (
                    "spec.revisionHistoryLimit",
                    "Invalid value: -1: must be greater than or equal to 0",
                ),
            ],
        ),
        (
            vec![
                ("/spec/minReadySeconds", json!(10)),
                ("/spec/progressDeadlineSeconds", json!(10)),
            ],
            vec![(
                "spec.progressDeadlineSeconds",
                "Invalid value: 10: must be greater than minReadySeconds",
            )],
        ),
    ];
    check("Deployment", &deployment(), cases);
}

#[test]
fn replica_set_specs() {
    let empty = format!("Invalid value: {NO_LABELS}: empty selector is invalid for deployment");
    let cases: Vec<Case<'_>> = vec![
        (vec![], vec![]),
        (
            vec![
                ("/spec/replicas", json!(-1)),
                ("/spec/minReadySeconds", json!(-1)),
            ],
            vec![
                (
                    "spec.replicas",
                    "Invalid value: -1: must be greater than or equal to 0",
                ),
                (
                    "spec.minReadySeconds",
                    "Invalid value: -1: must be greater than or equal to 0",
                ),
            ],
        ),
        (
            vec![("/spec/selector", json!({}))],
            vec![("spec.selector", &empty)],
        ),
        (
            vec![(
                "/spec/selector",
                json!({"matchLabels": {"app": "web", "tier": "bad value"}}),
            )],
            vec![
                (
                    "spec.selector.matchLabels",
                    "Invalid value: \"bad value\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                ),
                (
                    "spec.selector",
                    "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"bad value\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: invalid label selector",
                ),
            ],
        ),
    ];
    check("ReplicaSet", &replica_set(), cases);
}

#[test]
fn selectors_are_immutable() {
    let old = deployment();
    let moved = edited(
        deployment(),
        &[
            (
                "/spec/selector/matchLabels",
                json!({"app": "web", "tier": "x"}),
            ),
            (
                "/spec/template/metadata/labels",
                json!({"app": "web", "tier": "x"}),
            ),
        ],
    );
    let main = Operation::Update {
        old: &old,
        part: Part::Main,
    };
    for kind in ["Deployment", "ReplicaSet"] {
        assert_eq!(
            causes(kind, &moved, main),
            [(
                "spec.selector".to_owned(),
                "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable".to_owned()
            )]
        );
    }
    // An empty expression list is the same selector; other spec fields may change.
    let same = edited(
        deployment(),
        &[
            ("/spec/selector/matchExpressions", json!([])),
            ("/spec/replicas", json!(5)),
        ],
    );
    assert!(causes("Deployment", &same, main).is_empty());
}

#[test]
fn status_updates_check_only_the_status() {
    let old = edited(deployment(), &[("/status", json!({"collisionCount": 2}))]);
    let status = Operation::Update {
        old: &old,
        part: Part::Status,
    };
    // A broken spec is not looked at on /status.
    let obj = edited(
        deployment(),
        &[
            ("/spec/replicas", json!(-1)),
            (
                "/status",
                json!({"replicas": 1, "readyReplicas": 2, "availableReplicas": 3,
                       "updatedReplicas": -1, "collisionCount": 1}),
            ),
        ],
    );
    let got = causes("Deployment", &obj, status);
    let want = [
        (
            "status.updatedReplicas",
            "Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "status.readyReplicas",
            "Invalid value: 2: cannot be greater than status.replicas",
        ),
        (
            "status.availableReplicas",
            "Invalid value: 3: cannot be greater than status.replicas",
        ),
        (
            "status.availableReplicas",
            "Invalid value: 3: cannot be greater than readyReplicas",
        ),
        (
            "status.collisionCount",
            "Invalid value: 1: cannot be decremented",
        ),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(got, want);

    let rs = edited(
        replica_set(),
        &[(
            "/status",
            json!({"replicas": 2, "fullyLabeledReplicas": 3, "observedGeneration": -1}),
        )],
    );
    assert_eq!(
        causes("ReplicaSet", &rs, status),
        [
            (
                "status.observedGeneration".to_owned(),
                "Invalid value: -1: must be greater than or equal to 0".to_owned()
            ),
            (
                "status.fullyLabeledReplicas".to_owned(),
                "Invalid value: 3: cannot be greater than status.replicas".to_owned()
            ),
        ]
    );
}

//! Table tests: pod updates (what may change) and status updates.

use serde_json::{Value, json};

use super::tests::{causes, owned, pod};
use crate::admission::Operation;
use crate::api::Part;
use crate::pointer::At;

/// `obj` with each `(JSON pointer, value)` set; `null` removes the member.
fn edited(mut obj: Value, edits: &[(&str, Value)]) -> Value {
    for (pointer, value) in edits {
        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        let Some(parent) = obj.at_mut(parent).and_then(Value::as_object_mut) else {
            panic!("no parent for {pointer}");
        };
        if value.is_null() {
            parent.remove(key);
        } else {
            parent.insert(key.to_owned(), value.clone());
        }
    }
    obj
}

/// Edits to apply and the causes they yield.
type Case = (
    Vec<(&'static str, Value)>,
    Vec<(&'static str, &'static str)>,
);

const PREFIX: &str = "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n";

#[test]
fn spec_updates_allow_only_upstreams_fields() {
    let old = pod(json!({
        "activeDeadlineSeconds": 60,
        "tolerations": [{"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}],
        "schedulingGates": [{"name": "wait"}],
        "containers": [{"name": "c", "image": "nginx:1.27", "resources": {"requests": {"cpu": "100m"}}}],
    }));
    let cases: Vec<Case> = vec![
        (vec![], vec![]),
        (
            vec![("/spec/containers/0/image", json!("nginx:1.28"))],
            vec![],
        ),
        (vec![("/spec/activeDeadlineSeconds", json!(30))], vec![]),
        (
            vec![("/spec/containers/0/resources/requests/cpu", json!("0.1"))],
            vec![],
        ),
        (
            vec![(
                "/spec/tolerations",
                json!([
                    {"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5},
                    {"key": "b", "operator": "Exists"},
                ]),
            )],
            vec![],
        ),
        (vec![("/spec/schedulingGates", json!([]))], vec![]),
        (vec![("/spec/nodeSelector", json!({"disk": "ssd"}))], vec![]),
        (
            vec![("/spec/activeDeadlineSeconds", json!(90))],
            vec![(
                "spec.activeDeadlineSeconds",
                "Invalid value: 90: must be less than or equal to previous value",
            )],
        ),
        (
            vec![("/spec/activeDeadlineSeconds", Value::Null)],
            vec![(
                "spec.activeDeadlineSeconds",
                "Invalid value: null: must not update from a positive integer to nil value",
            )],
        ),
        (
            vec![("/spec/tolerations", json!([]))],
            vec![(
                "spec.tolerations",
                "Forbidden: existing toleration can not be modified except its tolerationSeconds",
            )],
        ),
        (
            vec![(
                "/spec/schedulingGates",
                json!([{"name": "wait"}, {"name": "more"}]),
            )],
            vec![(
                "spec.schedulingGates[1].name",
                "Forbidden: only deletion is allowed, but found new scheduling gate 'more'",
            )],
        ),
        (
            vec![(
                "/spec/containers",
                json!([
                    {"name": "c", "image": "x", "imagePullPolicy": "IfNotPresent", "terminationMessagePolicy": "File"},
                    {"name": "d", "image": "x", "imagePullPolicy": "IfNotPresent", "terminationMessagePolicy": "File"},
                ]),
            )],
            vec![(
                "spec.containers",
                "Forbidden: pod updates may not add or remove containers",
            )],
        ),
    ];
    for (edits, want) in cases {
        let new = edited(old.clone(), &edits);
        let op = Operation::Update {
            old: &old,
            part: Part::Main,
        };
        assert_eq!(causes(&new, op), owned(&want), "{edits:?}");
    }
}

#[test]
fn node_name_and_other_fields_are_immutable() {
    let old = pod(json!({"nodeName": "node-a"}));
    for (edits, field) in [
        (vec![("/spec/nodeName", json!("node-b"))], "NodeName"),
        (
            vec![("/spec/restartPolicy", json!("Never"))],
            "RestartPolicy",
        ),
        (vec![("/spec/hostname", json!("h"))], "Hostname"),
    ] {
        let new = edited(old.clone(), &edits);
        let op = Operation::Update {
            old: &old,
            part: Part::Main,
        };
        let got = causes(&new, op);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "spec");
        let diff = got[0]
            .1
            .strip_prefix(PREFIX)
            .unwrap_or_else(|| panic!("{}", got[0].1));
        assert!(diff.starts_with("  core.PodSpec{\n"), "{diff}");
        assert!(diff.contains(&format!("- \t{field}: ")), "{diff}");
        assert!(diff.contains(&format!("+ \t{field}: ")), "{diff}");
    }
}

#[test]
fn status_updates_check_only_status() {
    let mut old = pod(json!({"restartPolicy": "Never", "nodeName": "n1"}));
    old["status"] = json!({
        "phase": "Failed",
        "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 1}}}],
    });
    let cases: Vec<Case> = vec![
        (vec![("/status/phase", json!("Failed"))], vec![]),
        (
            vec![(
                "/status/conditions",
                json!([{"type": "Ready", "status": "False"}, {"type": "bad type", "status": "True"}]),
            )],
            vec![(
                "metadata.conditions[1].Type",
                "Invalid value: \"bad type\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            )],
        ),
        (
            vec![("/spec/nodeName", json!("n2"))],
            vec![("status.nodeName", "Forbidden: may not be changed directly")],
        ),
        (
            vec![(
                "/status/containerStatuses",
                json!([{"name": "c", "state": {"running": {}}}]),
            )],
            vec![(
                "status.containerStatuses[0].state",
                "Forbidden: may not be transitioned to non-terminated state",
            )],
        ),
        (
            vec![(
                "/status/podIPs",
                json!([{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "nope"}]),
            )],
            vec![
                (
                    "status.podIPs[2]",
                    "Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                ),
                (
                    "status.podIPs",
                    "Invalid value: []core.PodIP{core.PodIP{IP:\"10.0.0.1\"}, core.PodIP{IP:\"10.0.0.2\"}, core.PodIP{IP:\"nope\"}}: may specify no more than one IP for each IP family",
                ),
            ],
        ),
    ];
    for (edits, want) in cases {
        let new = edited(old.clone(), &edits);
        let op = Operation::Update {
            old: &old,
            part: Part::Status,
        };
        assert_eq!(causes(&new, op), owned(&want), "{edits:?}");
    }
}

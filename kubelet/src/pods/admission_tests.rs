use serde_json::{Value, json};

use super::*;

/// A node `n1` with 4 cpu, 1000 bytes of memory, 3 pods, 2 `example.com/gpu`, and
/// `extra` merged into it.
fn node(extra: Value) -> Node {
    let mut node = json!({
        "metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux", "zone": "a"}},
        "spec": {},
        "status": {"allocatable": {
            "cpu": "4", "memory": "1000", "pods": "3", "ephemeral-storage": "100",
            "example.com/gpu": "2",
        }},
    });
    merge(&mut node, extra);
    serde_json::from_value(node).unwrap()
}

/// A pod `name` bound to `n1` with one container requesting `requests`, and `extra`
/// merged into it.
fn pod(name: &str, requests: Value, extra: Value) -> Pod {
    let mut pod = json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
        "spec": {"nodeName": "n1", "containers": [
            {"name": "c", "image": "i", "resources": {"requests": requests}},
        ]},
    });
    merge(&mut pod, extra);
    serde_json::from_value(pod).unwrap()
}

fn merge(into: &mut Value, patch: Value) {
    match (into, patch) {
        (Value::Object(into), Value::Object(patch)) => {
            for (k, v) in patch {
                merge(into.entry(k).or_insert(Value::Null), v);
            }
        }
        (into, patch) => *into = patch,
    }
}

fn rejection(pod: &Pod, node: &Node, admitted: &[Pod]) -> Option<(String, String)> {
    let admitted: Vec<&Pod> = admitted.iter().collect();
    admit(pod, node, &admitted)
        .err()
        .map(|r| (r.reason, r.message))
}

/// (case, pod, node, admitted pods, expected (reason, message) or None)
type Case = (
    &'static str,
    Pod,
    Node,
    Vec<Pod>,
    Option<(&'static str, &'static str)>,
);

#[test]
fn rejects_for_each_upstream_reason() {
    let busy = vec![pod(
        "a",
        json!({"cpu": "3500m", "memory": "600"}),
        json!({}),
    )];
    let full = vec![
        pod("a", json!({}), json!({})),
        pod("b", json!({}), json!({})),
        pod("c", json!({}), json!({})),
    ];
    let host_port = json!({"spec": {"containers": [
        {"name": "c", "image": "i", "ports": [{"containerPort": 80, "hostPort": 8080}]},
    ]}});
    let no_execute =
        json!({"spec": {"taints": [{"key": "k", "value": "v", "effect": "NoExecute"}]}});
    // (case, pod, node, admitted pods, expected (reason, message) or None)
    let cases: Vec<Case> = vec![
        (
            "fits",
            pod("p", json!({"cpu": "500m"}), json!({})),
            node(json!({})),
            busy.clone(),
            None,
        ),
        (
            "cpu",
            pod("p", json!({"cpu": "2"}), json!({})),
            node(json!({})),
            busy.clone(),
            Some((
                "OutOfcpu",
                "Node didn't have enough resource: cpu, requested: 2000, used: 3500, capacity: 4000",
            )),
        ),
        (
            "memory",
            pod("p", json!({"memory": "500"}), json!({})),
            node(json!({})),
            busy.clone(),
            Some((
                "OutOfmemory",
                "Node didn't have enough resource: memory, requested: 500, used: 600, capacity: 1000",
            )),
        ),
        (
            "ephemeral storage",
            pod("p", json!({"ephemeral-storage": "101"}), json!({})),
            node(json!({})),
            vec![],
            Some((
                "OutOfephemeral-storage",
                "Node didn't have enough resource: ephemeral-storage, requested: 101, used: 0, capacity: 100",
            )),
        ),
        (
            "extended resource",
            pod("p", json!({"example.com/gpu": "3"}), json!({})),
            node(json!({})),
            vec![],
            Some((
                "OutOfexample.com/gpu",
                "Node didn't have enough resource: example.com/gpu, requested: 3, used: 0, capacity: 2",
            )),
        ),
        (
            "extended resource the node does not advertise is ignored",
            pod("p", json!({"example.com/fpga": "1"}), json!({})),
            node(json!({})),
            vec![],
            None,
        ),
        (
            "pods, before cpu",
            pod("p", json!({"cpu": "5"}), json!({})),
            node(json!({})),
            full.clone(),
            Some((
                "OutOfpods",
                "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3",
            )),
        ),
        (
            "the pod itself among the admitted is not counted",
            pod("a", json!({}), json!({})),
            node(json!({})),
            full,
            None,
        ),
        (
            "init container max and sidecar",
            pod(
                "p",
                json!({"cpu": "1"}),
                json!({"spec": {"initContainers": [
                    {"name": "side", "image": "i", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                    {"name": "init", "image": "i", "resources": {"requests": {"cpu": "3500m"}}},
                ]}}),
            ),
            node(json!({})),
            vec![],
            // The init step runs next to the sidecar: 3500m + 1, above the steady 1 + 1.
            Some((
                "OutOfcpu",
                "Node didn't have enough resource: cpu, requested: 4500, used: 0, capacity: 4000",
            )),
        ),
        (
            "overhead counts",
            pod(
                "p",
                json!({"cpu": "1"}),
                json!({"spec": {"overhead": {"cpu": "3500m"}}}),
            ),
            node(json!({})),
            vec![],
            Some((
                "OutOfcpu",
                "Node didn't have enough resource: cpu, requested: 4500, used: 0, capacity: 4000",
            )),
        ),
        (
            "node selector",
            pod(
                "p",
                json!({}),
                json!({"spec": {"nodeSelector": {"zone": "b"}}}),
            ),
            node(json!({})),
            vec![],
            Some((
                "NodeAffinity",
                "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
            )),
        ),
        (
            "required node affinity",
            pod(
                "p",
                json!({}),
                json!({"spec": {"affinity": {"nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b", "c"]}]},
                    ]},
                }}}}),
            ),
            node(json!({})),
            vec![],
            Some((
                "NodeAffinity",
                "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
            )),
        ),
        (
            "node name",
            pod("p", json!({}), json!({"spec": {"nodeName": "n2"}})),
            node(json!({})),
            vec![],
            Some((
                "NodeName",
                "Predicate NodeName failed: node(s) didn't match the requested node name",
            )),
        ),
        (
            "host port",
            pod("p", json!({}), host_port.clone()),
            node(json!({})),
            vec![pod("a", json!({}), host_port)],
            Some((
                "NodePorts",
                "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
            )),
        ),
        (
            "NoExecute taint",
            pod("p", json!({}), json!({})),
            node(no_execute.clone()),
            vec![],
            Some((
                "TaintToleration",
                "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate",
            )),
        ),
        (
            "NoExecute taint tolerated",
            pod(
                "p",
                json!({}),
                json!({"spec": {"tolerations": [{"key": "k", "operator": "Exists"}]}}),
            ),
            node(no_execute.clone()),
            vec![],
            None,
        ),
        (
            "NoExecute taint, static pod",
            pod(
                "p",
                json!({}),
                json!({"metadata": {"annotations": {"kubernetes.io/config.source": "file"}}}),
            ),
            node(no_execute),
            vec![],
            None,
        ),
        (
            "NoSchedule taint is the scheduler's business",
            pod("p", json!({}), json!({})),
            node(json!({"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}})),
            vec![],
            None,
        ),
        (
            "os field",
            pod("p", json!({}), json!({"spec": {"os": {"name": "windows"}}})),
            node(json!({})),
            vec![],
            Some((
                "PodOSNotSupported",
                "Failed to admit pod as the OS field doesn't match node OS",
            )),
        ),
        (
            "os label, before resources",
            pod(
                "p",
                json!({"cpu": "9"}),
                json!({"metadata": {"labels": {"kubernetes.io/os": "windows"}}}),
            ),
            node(json!({})),
            vec![],
            Some((
                "PodOSSelectorNodeLabelDoesNotMatch",
                "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
            )),
        ),
        (
            "os label matching",
            pod(
                "p",
                json!({}),
                json!({"metadata": {"labels": {"kubernetes.io/os": "linux"}}, "spec": {"os": {"name": "linux"}}}),
            ),
            node(json!({})),
            vec![],
            None,
        ),
    ];
    for (case, pod, node, admitted, expected) in cases {
        let expected = expected.map(|(r, m)| (r.to_owned(), m.to_owned()));
        assert_eq!(rejection(&pod, &node, &admitted), expected, "{case}");
    }
}

#[test]
fn status_message_has_upstream_prefix() {
    let node = node(json!({}));
    let pod = pod("p", json!({"cpu": "5"}), json!({}));
    let rejection = admit(&pod, &node, &[]).unwrap_err();
    assert_eq!(
        rejection.status_message(),
        "Pod was rejected: Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000"
    );
}

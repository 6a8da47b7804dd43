//! Validation of the smaller kinds through the server (Nodes, Namespaces, Endpoints,
//! EndpointSlices, Events, Leases, PriorityClasses): 422 Invalid with upstream's message
//! and causes, and a refused update leaves the stored object as it was.

use serde_json::{Value, json};

use crate::support::TestServer;

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";

/// Asserts a 422 Invalid with `message` and exactly `causes` (field, message).
fn invalid(status: u16, body: &Value, message: &str, causes: &[(&str, &str)]) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["reason"], "Invalid", "{body}");
    assert_eq!(body["message"], message, "{body}");
    let got: Vec<(String, String)> = body["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = causes
        .iter()
        .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(got, want, "{body}");
}

#[tokio::test]
async fn node_taints_and_pod_cidr() {
    let t = TestServer::start().await;
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "spec": {"taints": [
            {"key": "gpu", "effect": "NoSchedule"},
            {"key": "gpu", "value": "x", "effect": "NoSchedule"},
            {"key": "zone", "effect": "Sometimes"}]}});
    let (s, body) = t.send_json("POST", "/api/v1/nodes", JSON, &node).await;
    let dup = "Duplicate value: core.Taint{Key:\"gpu\", Value:\"x\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair";
    let effect = "Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"";
    invalid(
        s,
        &body,
        &format!(
            "Node \"n1\" is invalid: [metadata.taints[1]: {dup}, metadata.taints[2].effect: {effect}]"
        ),
        &[
            ("metadata.taints[1]", dup),
            ("metadata.taints[2].effect", effect),
        ],
    );
    let (_, missing) = t.get_json("/api/v1/nodes/n1").await;
    assert_eq!(missing["code"], 404, "{missing}");

    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}});
    let (s, body) = t.send_json("POST", "/api/v1/nodes", JSON, &node).await;
    assert_eq!(s, 201, "{body}");
    let patch = json!({"spec": {"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]}});
    let (s, body) = t
        .send_json("PATCH", "/api/v1/nodes/n1", MERGE, &patch)
        .await;
    let once = "Forbidden: node updates may not change podCIDR except from \"\" to valid";
    invalid(
        s,
        &body,
        &format!("Node \"n1\" is invalid: spec.podCIDRs: {once}"),
        &[("spec.podCIDRs", once)],
    );
    let (_, stored) = t.get_json("/api/v1/nodes/n1").await;
    assert_eq!(stored["spec"]["podCIDRs"], json!(["10.244.1.0/24"]));
}

#[tokio::test]
async fn priority_classes_reserved_and_immutable() {
    let t = TestServer::start().await;
    let path = "/apis/scheduling.k8s.io/v1/priorityclasses";
    let class = |name: &str, value: i64| {
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value})
    };
    let (s, body) = t
        .send_json("POST", path, JSON, &class("huge", 1_000_000_001))
        .await;
    let max = "Forbidden: maximum allowed value of a user defined priority is 1000000000";
    invalid(
        s,
        &body,
        &format!("PriorityClass.scheduling.k8s.io \"huge\" is invalid: value: {max}"),
        &[("value", max)],
    );
    let (s, body) = t
        .send_json("POST", path, JSON, &class("system-mine", 10))
        .await;
    let reserved = "Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class";
    invalid(
        s,
        &body,
        &format!(
            "PriorityClass.scheduling.k8s.io \"system-mine\" is invalid: metadata.name: {reserved}"
        ),
        &[("metadata.name", reserved)],
    );
    let (s, body) = t.send_json("POST", path, JSON, &class("high", 1000)).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = t
        .send_json(
            "PATCH",
            &format!("{path}/high"),
            MERGE,
            &json!({"value": 5}),
        )
        .await;
    let changed = "Forbidden: may not be changed in an update.";
    invalid(
        s,
        &body,
        &format!("PriorityClass.scheduling.k8s.io \"high\" is invalid: value: {changed}"),
        &[("value", changed)],
    );
    let (_, stored) = t.get_json(&format!("{path}/high")).await;
    assert_eq!(stored["value"], 1000);
}

#[tokio::test]
async fn namespaces_endpoints_slices_and_leases() {
    let t = TestServer::start().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"},
        "spec": {"finalizers": ["mine"]}});
    let (s, body) = t.send_json("POST", "/api/v1/namespaces", JSON, &ns).await;
    let fin = "Invalid value: \"mine\": name is neither a standard finalizer name nor is it fully qualified";
    invalid(
        s,
        &body,
        &format!("Namespace \"team\" is invalid: spec.finalizers[0]: {fin}"),
        &[("spec.finalizers[0]", fin)],
    );

    let ep = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80}]}]});
    let (s, body) = t
        .send_json("POST", "/api/v1/namespaces/default/endpoints", JSON, &ep)
        .await;
    let loopback =
        "Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)";
    invalid(
        s,
        &body,
        &format!("Endpoints \"web\" is invalid: subsets[0].addresses[0].ip: {loopback}"),
        &[("subsets[0].addresses[0].ip", loopback)],
    );

    let slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
    let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-1"}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.0.9"]}]});
    let (s, body) = t.send_json("POST", slices, JSON, &slice).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = t
        .send_json(
            "PATCH",
            &format!("{slices}/web-1"),
            MERGE,
            &json!({"addressType": "IPv6", "endpoints": [{"addresses": ["fd00::9"]}]}),
        )
        .await;
    let immutable = "Invalid value: \"IPv6\": field is immutable";
    invalid(
        s,
        &body,
        &format!("EndpointSlice.discovery.k8s.io \"web-1\" is invalid: addressType: {immutable}"),
        &[("addressType", immutable)],
    );
    let (_, stored) = t.get_json(&format!("{slices}/web-1")).await;
    assert_eq!(stored["addressType"], "IPv4");

    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "l"}, "spec": {"leaseDurationSeconds": 0}});
    let (s, body) = t
        .send_json(
            "POST",
            "/apis/coordination.k8s.io/v1/namespaces/default/leases",
            JSON,
            &lease,
        )
        .await;
    let duration = "Invalid value: 0: must be greater than 0";
    invalid(
        s,
        &body,
        &format!(
            "Lease.coordination.k8s.io \"l\" is invalid: spec.leaseDurationSeconds: {duration}"
        ),
        &[("spec.leaseDurationSeconds", duration)],
    );
}

#[tokio::test]
async fn events_strict_through_events_v1_lenient_through_v1() {
    let t = TestServer::start().await;
    let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "other"},
        "reason": "Started"});
    let (s, body) = t
        .send_json("POST", "/api/v1/namespaces/default/events", JSON, &core)
        .await;
    let ns = "Invalid value: \"other\": does not match event.namespace";
    invalid(
        s,
        &body,
        &format!("Event \"e1\" is invalid: involvedObject.namespace: {ns}"),
        &[("involvedObject.namespace", ns)],
    );
    let mut ok = core.clone();
    ok["involvedObject"]["namespace"] = json!("default");
    let (s, body) = t
        .send_json("POST", "/api/v1/namespaces/default/events", JSON, &ok)
        .await;
    assert_eq!(s, 201, "{body}");

    let v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "e2"}, "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reportingController": "keelson/test", "reportingInstance": "t-1", "action": "Testing",
        "reason": "Tested", "type": "Info"});
    let (s, body) = t
        .send_json(
            "POST",
            "/apis/events.k8s.io/v1/namespaces/default/events",
            JSON,
            &v1,
        )
        .await;
    invalid(
        s,
        &body,
        "Event \"e2\" is invalid: [eventTime: Required value, type: Invalid value: \"\": has invalid value: Info]",
        &[
            ("eventTime", "Required value"),
            ("type", "Invalid value: \"\": has invalid value: Info"),
        ],
    );
}

//! Validation of pods through the server: invalid pods are refused with 422 Invalid,
//! upstream's message and every cause; updates may change only what upstream allows (an
//! image, yes; the restart policy or a bound pod's node, no) and a refused update leaves
//! the stored pod as it was.

use serde_json::{Value, json};

use crate::support::TestServer;

const JSON: &str = "application/json";
const PODS: &str = "/api/v1/namespaces/default/pods";
const FORBIDDEN_PREFIX: &str = "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n";

fn pod(name: &str, containers: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": containers},
    })
}

/// The causes of a Status as (field, reason, message).
fn causes(body: &Value) -> Vec<(String, String, String)> {
    body["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["reason"].as_str().unwrap().to_owned(),
                c["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn invalid_pods_are_refused_with_every_cause() {
    let t = TestServer::start().await;
    let body = pod(
        "bad",
        json!([
            {"name": "app", "image": "nginx:1.27",
             "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}},
            {"name": "app"},
        ]),
    );
    let (s, status) = t.send_json("POST", PODS, JSON, &body).await;
    assert_eq!(s, 422, "{status}");
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["kind"], "Pod", "{status}");
    assert_eq!(
        status["message"],
        "Pod \"bad\" is invalid: [spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1, spec.containers[1].image: Required value, spec.containers[1].name: Duplicate value: \"app\"]"
    );
    let want = [
        (
            "spec.containers[0].resources.requests",
            "FieldValueInvalid",
            "Invalid value: \"2\": must be less than or equal to cpu limit of 1",
        ),
        (
            "spec.containers[1].image",
            "FieldValueRequired",
            "Required value",
        ),
        (
            "spec.containers[1].name",
            "FieldValueDuplicate",
            "Duplicate value: \"app\"",
        ),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(f, r, m)| ((*f).to_owned(), (*r).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(causes(&status), want);
    let (s, _) = t.get_json(&format!("{PODS}/bad")).await;
    assert_eq!(s, 404);

    // A volume mount naming no volume, and an unsupported restart policy.
    let mut body = pod(
        "mounts",
        json!([{"name": "c", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}]),
    );
    body["spec"]["restartPolicy"] = json!("Sometimes");
    let (s, status) = t.send_json("POST", PODS, JSON, &body).await;
    assert_eq!(s, 422, "{status}");
    let fields: Vec<(String, String, String)> = causes(&status);
    assert_eq!(
        fields,
        vec![
            (
                "spec.containers[0].volumeMounts[0].name".to_owned(),
                "FieldValueNotFound".to_owned(),
                "Not found: \"data\"".to_owned()
            ),
            (
                "spec.restartPolicy".to_owned(),
                "FieldValueNotSupported".to_owned(),
                "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
                    .to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn updates_change_only_what_upstream_allows() {
    let t = TestServer::start().await;
    let (s, created) = t
        .send_json(
            "POST",
            PODS,
            JSON,
            &pod("web", json!([{"name": "c", "image": "nginx:1.27"}])),
        )
        .await;
    assert_eq!(s, 201, "{created}");

    // Another restart policy: refused, the stored pod unchanged.
    let mut changed = created.clone();
    changed["spec"]["restartPolicy"] = json!("Never");
    let (s, status) = t
        .send_json("PUT", &format!("{PODS}/web"), JSON, &changed)
        .await;
    assert_eq!(s, 422, "{status}");
    let got = causes(&status);
    assert_eq!(got.len(), 1, "{status}");
    assert_eq!(got[0].0, "spec");
    assert_eq!(got[0].1, "FieldValueForbidden");
    assert!(got[0].2.starts_with(FORBIDDEN_PREFIX), "{}", got[0].2);
    assert!(got[0].2.contains("RestartPolicy"), "{}", got[0].2);
    let (_, stored) = t.get_json(&format!("{PODS}/web")).await;
    assert_eq!(stored["spec"]["restartPolicy"], "Always");
    assert_eq!(
        stored["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    // A new image: accepted.
    let mut changed = stored.clone();
    changed["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let (s, updated) = t
        .send_json("PUT", &format!("{PODS}/web"), JSON, &changed)
        .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["spec"]["containers"][0]["image"], "nginx:1.28");

    // An added container: refused.
    let mut changed = updated.clone();
    let extra = json!({"name": "d", "image": "busybox"});
    changed["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(extra);
    let (s, status) = t
        .send_json("PUT", &format!("{PODS}/web"), JSON, &changed)
        .await;
    assert_eq!(s, 422, "{status}");
    assert_eq!(
        status["message"],
        "Pod \"web\" is invalid: spec.containers: Forbidden: pod updates may not add or remove containers"
    );
}

#[tokio::test]
async fn a_bound_pods_node_cannot_be_changed_by_update() {
    let t = TestServer::start().await;
    let (s, _) = t
        .send_json(
            "POST",
            PODS,
            JSON,
            &pod("bound", json!([{"name": "c", "image": "nginx:1.27"}])),
        )
        .await;
    assert_eq!(s, 201);
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": "bound"},
        "target": {"kind": "Node", "name": "node-a"},
    });
    let (s, body) = t
        .send_json("POST", &format!("{PODS}/bound/binding"), JSON, &binding)
        .await;
    assert_eq!(s, 201, "{body}");
    let (_, stored) = t.get_json(&format!("{PODS}/bound")).await;
    assert_eq!(stored["spec"]["nodeName"], "node-a");

    let mut moved = stored.clone();
    moved["spec"]["nodeName"] = json!("node-b");
    let (s, status) = t
        .send_json("PUT", &format!("{PODS}/bound"), JSON, &moved)
        .await;
    assert_eq!(s, 422, "{status}");
    let got = causes(&status);
    assert_eq!(got.len(), 1, "{status}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1.as_str()),
        ("spec", "FieldValueForbidden")
    );
    assert!(got[0].2.starts_with(FORBIDDEN_PREFIX), "{}", got[0].2);
    assert!(
        got[0].2.contains("- \tNodeName: \"node-a\""),
        "{}",
        got[0].2
    );
    assert!(
        got[0].2.contains("+ \tNodeName: \"node-b\""),
        "{}",
        got[0].2
    );
    let (_, after) = t.get_json(&format!("{PODS}/bound")).await;
    assert_eq!(after["spec"]["nodeName"], "node-a");
}

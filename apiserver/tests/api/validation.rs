//! Validation of Deployments, ReplicaSets and Services through the server: invalid
//! objects are refused with 422 Invalid, upstream's message (`Deployment.apps "x" is
//! invalid: spec.selector: …`) and every cause in `details.causes`; refused updates of
//! immutable fields leave the stored object as it was.

use serde_json::{Value, json};

use crate::support::{TestServer, invalid};

const JSON: &str = "application/json";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
const REPLICA_SETS: &str = "/apis/apps/v1/namespaces/default/replicasets";
const SERVICES: &str = "/api/v1/namespaces/default/services";

fn template(labels: Value) -> Value {
    json!({"metadata": {"labels": labels},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
}

fn deployment(name: &str, selector: Value, labels: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"selector": selector, "template": template(labels)}
    })
}

fn service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn deployments_need_a_matching_non_empty_selector() {
    let t = TestServer::start().await;
    let empty_selector = "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment";
    let (s, body) = t
        .send_json(
            "POST",
            DEPLOYMENTS,
            JSON,
            &deployment("empty", json!({}), json!({"app": "web"})),
        )
        .await;
    invalid(
        s,
        &body,
        &format!("Deployment.apps \"empty\" is invalid: spec.selector: {empty_selector}"),
        &[("spec.selector", "FieldValueInvalid", empty_selector)],
    );
    assert_eq!(body["details"]["group"], "apps");
    assert_eq!(body["details"]["kind"], "Deployment");
    assert_eq!(body["details"]["name"], "empty");

    // No selector at all: required, and then the template's labels match nothing.
    let mut missing = deployment("missing", json!({}), json!({"app": "web"}));
    missing["spec"].as_object_mut().unwrap().remove("selector");
    let (s, body) = t.send_json("POST", DEPLOYMENTS, JSON, &missing).await;
    let unmatched = "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`";
    invalid(
        s,
        &body,
        &format!(
            "Deployment.apps \"missing\" is invalid: [spec.selector: Required value, spec.template.metadata.labels: {unmatched}]"
        ),
        &[
            ("spec.selector", "FieldValueRequired", "Required value"),
            (
                "spec.template.metadata.labels",
                "FieldValueInvalid",
                unmatched,
            ),
        ],
    );

    // Every cause at once, in upstream's order.
    let mut broken = deployment(
        "broken",
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "other"}),
    );
    broken["spec"]["replicas"] = json!(-1);
    broken["spec"]["revisionHistoryLimit"] = json!(-1);
    let negative = "Invalid value: -1: must be greater than or equal to 0";
    let mismatch = "Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`";
    let (s, body) = t.send_json("POST", DEPLOYMENTS, JSON, &broken).await;
    invalid(
        s,
        &body,
        &format!(
            "Deployment.apps \"broken\" is invalid: [spec.replicas: {negative}, spec.template.metadata.labels: {mismatch}, spec.revisionHistoryLimit: {negative}]"
        ),
        &[
            ("spec.replicas", "FieldValueInvalid", negative),
            (
                "spec.template.metadata.labels",
                "FieldValueInvalid",
                mismatch,
            ),
            ("spec.revisionHistoryLimit", "FieldValueInvalid", negative),
        ],
    );

    // A strategy with nothing to roll.
    let mut stuck = deployment(
        "stuck",
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
    );
    stuck["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}});
    let zero = "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0";
    let (s, body) = t.send_json("POST", DEPLOYMENTS, JSON, &stuck).await;
    invalid(
        s,
        &body,
        &format!(
            "Deployment.apps \"stuck\" is invalid: spec.strategy.rollingUpdate.maxUnavailable: {zero}"
        ),
        &[(
            "spec.strategy.rollingUpdate.maxUnavailable",
            "FieldValueInvalid",
            zero,
        )],
    );

    // Nothing was stored.
    let (s, _) = t.get_json(&format!("{DEPLOYMENTS}/broken")).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn deployment_selectors_are_immutable() {
    let t = TestServer::start().await;
    let (s, created) = t
        .send_json(
            "POST",
            DEPLOYMENTS,
            JSON,
            &deployment(
                "web",
                json!({"matchLabels": {"app": "web"}}),
                json!({"app": "web"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{created}");

    let mut moved = created.clone();
    moved["spec"]["selector"] = json!({"matchLabels": {"app": "web", "tier": "front"}});
    moved["spec"]["template"]["metadata"]["labels"] = json!({"app": "web", "tier": "front"});
    let (s, body) = t
        .send_json("PUT", &format!("{DEPLOYMENTS}/web"), JSON, &moved)
        .await;
    let immutable = "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"front\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable";
    invalid(
        s,
        &body,
        &format!("Deployment.apps \"web\" is invalid: spec.selector: {immutable}"),
        &[("spec.selector", "FieldValueInvalid", immutable)],
    );

    let (_, stored) = t.get_json(&format!("{DEPLOYMENTS}/web")).await;
    assert_eq!(stored["spec"], created["spec"]);
    assert_eq!(
        stored["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    // Other fields still change.
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(3);
    let (s, body) = t
        .send_json("PUT", &format!("{DEPLOYMENTS}/web"), JSON, &scaled)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["spec"]["replicas"], 3);
}

#[tokio::test]
async fn replica_sets_are_checked_like_deployments() {
    let t = TestServer::start().await;
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "rs"},
        "spec": {
            "replicas": -1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template(json!({"app": "other"})),
        }
    });
    let negative = "Invalid value: -1: must be greater than or equal to 0";
    let mismatch = "Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`";
    let (s, body) = t.send_json("POST", REPLICA_SETS, JSON, &rs).await;
    invalid(
        s,
        &body,
        &format!(
            "ReplicaSet.apps \"rs\" is invalid: [spec.replicas: {negative}, spec.template.metadata.labels: {mismatch}]"
        ),
        &[
            ("spec.replicas", "FieldValueInvalid", negative),
            (
                "spec.template.metadata.labels",
                "FieldValueInvalid",
                mismatch,
            ),
        ],
    );

    // A valid one keeps its selector.
    let mut rs = rs;
    rs["spec"]["replicas"] = json!(1);
    rs["spec"]["template"] = template(json!({"app": "web"}));
    let (s, created) = t.send_json("POST", REPLICA_SETS, JSON, &rs).await;
    assert_eq!(s, 201, "{created}");
    let mut moved = created.clone();
    moved["spec"]["selector"] = json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]});
    let (s, body) = t
        .send_json("PUT", &format!("{REPLICA_SETS}/rs"), JSON, &moved)
        .await;
    let immutable = "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"app\", Operator:\"Exists\", Values:[]string(nil)}}}: field is immutable";
    invalid(
        s,
        &body,
        &format!("ReplicaSet.apps \"rs\" is invalid: spec.selector: {immutable}"),
        &[("spec.selector", "FieldValueInvalid", immutable)],
    );
    let (_, stored) = t.get_json(&format!("{REPLICA_SETS}/rs")).await;
    assert_eq!(stored["spec"], created["spec"]);
}

#[tokio::test]
async fn deployment_status_counts_stay_consistent() {
    let t = TestServer::start().await;
    let (s, created) = t
        .send_json(
            "POST",
            DEPLOYMENTS,
            JSON,
            &deployment(
                "web",
                json!({"matchLabels": {"app": "web"}}),
                json!({"app": "web"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let mut status = created.clone();
    status["status"] = json!({"replicas": 1, "readyReplicas": 2, "availableReplicas": 1});
    let (s, body) = t
        .send_json("PUT", &format!("{DEPLOYMENTS}/web/status"), JSON, &status)
        .await;
    let above = "Invalid value: 2: cannot be greater than status.replicas";
    invalid(
        s,
        &body,
        &format!("Deployment.apps \"web\" is invalid: status.readyReplicas: {above}"),
        &[("status.readyReplicas", "FieldValueInvalid", above)],
    );
    status["status"]["readyReplicas"] = json!(1);
    let (s, body) = t
        .send_json("PUT", &format!("{DEPLOYMENTS}/web/status"), JSON, &status)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"]["readyReplicas"], 1);
}

#[tokio::test]
async fn services_name_and_number_their_ports() {
    let t = TestServer::start().await;
    let svc = service(
        "web",
        json!({"selector": {"app": "web"}, "ports": [{"port": 80}, {"port": 70000, "targetPort": "Http"}]}),
    );
    let range = "Invalid value: 70000: must be between 1 and 65535, inclusive";
    let name = "Invalid value: \"Http\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
    let (s, body) = t.send_json("POST", SERVICES, JSON, &svc).await;
    invalid(
        s,
        &body,
        &format!(
            "Service \"web\" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value, spec.ports[1].port: {range}, spec.ports[1].targetPort: {name}]"
        ),
        &[
            ("spec.ports[0].name", "FieldValueRequired", "Required value"),
            ("spec.ports[1].name", "FieldValueRequired", "Required value"),
            ("spec.ports[1].port", "FieldValueInvalid", range),
            ("spec.ports[1].targetPort", "FieldValueInvalid", name),
        ],
    );
    assert_eq!(body["details"]["group"], "");

    let bad_name = service(
        "alias",
        json!({"type": "ExternalName", "externalName": "Not_A_Host"}),
    );
    let (s, body) = t.send_json("POST", SERVICES, JSON, &bad_name).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["details"]["causes"][0]["field"], "spec.externalName");
}

#[tokio::test]
async fn service_cluster_ips_are_immutable() {
    let t = TestServer::start().await;
    let (s, created) = t
        .send_json(
            "POST",
            SERVICES,
            JSON,
            &service(
                "web",
                json!({"selector": {"app": "web"}, "ports": [{"port": 80}]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let ip = created["spec"]["clusterIP"].as_str().unwrap().to_owned();
    assert_eq!(created["spec"]["clusterIPs"], json!([ip]));

    let other = if ip == "10.96.0.99" {
        "10.96.0.98"
    } else {
        "10.96.0.99"
    };
    let mut moved = created.clone();
    moved["spec"]["clusterIP"] = json!(other);
    moved["spec"]["clusterIPs"] = json!([other]);
    let (s, body) = t
        .send_json("PUT", &format!("{SERVICES}/web"), JSON, &moved)
        .await;
    let changed = format!("Invalid value: []string{{\"{other}\"}}: may not change once set");
    invalid(
        s,
        &body,
        &format!("Service \"web\" is invalid: spec.clusterIPs[0]: {changed}"),
        &[("spec.clusterIPs[0]", "FieldValueInvalid", &changed)],
    );
    let (_, stored) = t.get_json(&format!("{SERVICES}/web")).await;
    assert_eq!(stored["spec"], created["spec"]);

    // An older client changes only `clusterIP`: the same answer, as upstream syncs
    // `clusterIPs` from it before validating.
    let mut moved = created.clone();
    moved["spec"]["clusterIP"] = json!(other);
    let (s, body) = t
        .send_json("PUT", &format!("{SERVICES}/web"), JSON, &moved)
        .await;
    invalid(
        s,
        &body,
        &format!("Service \"web\" is invalid: spec.clusterIPs[0]: {changed}"),
        &[("spec.clusterIPs[0]", "FieldValueInvalid", &changed)],
    );
    let (_, stored) = t.get_json(&format!("{SERVICES}/web")).await;
    assert_eq!(stored["spec"], created["spec"]);
    assert_eq!(
        stored["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    // Turning it into an ExternalName drops the IPs; that is allowed.
    let mut alias = created.clone();
    alias["spec"] = json!({"type": "ExternalName", "externalName": "web.example.com",
        "sessionAffinity": "None"});
    let (s, body) = t
        .send_json("PUT", &format!("{SERVICES}/web"), JSON, &alias)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["spec"]["type"], "ExternalName");
}

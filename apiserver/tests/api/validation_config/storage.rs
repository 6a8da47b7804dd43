//! Validation of PersistentVolumeClaims and PersistentVolumes through the server: a
//! claim's request grows only while it is bound and never shrinks to its recorded
//! capacity, the rest of its spec is immutable, and a volume needs capacity, access
//! modes and a source, each answered as upstream v1.33 answers.

use serde_json::{Value, json};

use super::{JSON, MERGE, create};
use crate::support::{TestServer, invalid};

const PVCS: &str = "/api/v1/namespaces/default/persistentvolumeclaims";
const PVS: &str = "/api/v1/persistentvolumes";
const SPEC_IMMUTABLE: &str = "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";

fn claim(name: &str, storage: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
            "volumeName": "pv-1", "resources": {"requests": {"storage": storage}}}})
}

fn storage_patch(storage: &str) -> Value {
    json!({"spec": {"resources": {"requests": {"storage": storage}}}})
}

#[tokio::test]
async fn claims_need_access_modes_and_a_positive_request() {
    let t = TestServer::start().await;
    let modes = "Required value: at least 1 access mode is required";
    let zero = "Invalid value: \"0\": must be greater than zero";
    let mode = "Unsupported value: \"Sometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"";
    let empty = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "empty"}, "spec": {}});
    let mut odd = claim("odd", "0Gi");
    odd["spec"]["accessModes"] = json!(["Sometimes"]);
    let cases = [
        (
            empty,
            vec![
                ("spec.accessModes", "FieldValueRequired", modes),
                (
                    "spec.resources[storage]",
                    "FieldValueRequired",
                    "Required value",
                ),
            ],
        ),
        (
            odd,
            vec![
                ("spec.accessModes", "FieldValueNotSupported", mode),
                ("spec.resources[storage]", "FieldValueInvalid", zero),
            ],
        ),
    ];
    for (obj, causes) in cases {
        let name = obj["metadata"]["name"].as_str().unwrap();
        let (s, body) = t.send_json("POST", PVCS, JSON, &obj).await;
        let listed: Vec<String> = causes.iter().map(|(f, _, m)| format!("{f}: {m}")).collect();
        invalid(
            s,
            &body,
            &format!(
                "PersistentVolumeClaim \"{name}\" is invalid: [{}]",
                listed.join(", ")
            ),
            &causes,
        );
    }
}

#[tokio::test]
async fn a_claim_is_bound_to_its_volume_once() {
    let t = TestServer::start().await;
    let mut unbound = claim("late", "1Gi");
    unbound["spec"]
        .as_object_mut()
        .unwrap()
        .remove("volumeName");
    create(&t, PVCS, &unbound).await;
    let url = format!("{PVCS}/late");
    let bind = |volume: &str| json!({"spec": {"volumeName": volume}});
    let (s, body) = t.send_json("PATCH", &url, MERGE, &bind("pv-9")).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["spec"]["volumeName"], "pv-9");

    let (s, body) = t.send_json("PATCH", &url, MERGE, &bind("pv-10")).await;
    assert_eq!(s, 422, "{body}");
    let causes = body["details"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1, "{body}");
    assert_eq!(causes[0]["field"], "spec", "{body}");
    let cause = causes[0]["message"].as_str().unwrap();
    assert!(cause.starts_with(&format!("{SPEC_IMMUTABLE}\n")), "{cause}");
    assert!(cause.contains("pv-9") && cause.contains("pv-10"), "{cause}");
    let (_, stored) = t.get_json(&url).await;
    assert_eq!(stored["spec"]["volumeName"], "pv-9");
}

async fn stored_request(t: &TestServer, url: &str) -> Value {
    let (s, stored) = t.get_json(url).await;
    assert_eq!(s, 200, "{stored}");
    stored["spec"]["resources"]["requests"]["storage"].clone()
}

#[tokio::test]
async fn claims_grow_only_while_bound_and_never_below_capacity() {
    let t = TestServer::start().await;
    let created = create(&t, PVCS, &claim("data", "1Gi")).await;
    assert_eq!(created["spec"]["volumeMode"], "Filesystem", "{created}");
    assert_eq!(created["status"]["phase"], "Pending", "{created}");
    let url = format!("{PVCS}/data");

    // Not bound yet: the request is part of the immutable spec.
    let (s, body) = t
        .send_json("PATCH", &url, MERGE, &storage_patch("2Gi"))
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["reason"], "Invalid", "{body}");
    let causes = body["details"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1, "{body}");
    assert_eq!(causes[0]["field"], "spec", "{body}");
    assert_eq!(causes[0]["reason"], "FieldValueForbidden", "{body}");
    // The spec diff follows the rule on its own lines; upstream's diff text is go-cmp's
    // (deliberately unstable), so only its head and the changed amounts are pinned.
    let cause = causes[0]["message"].as_str().unwrap();
    assert!(cause.starts_with(&format!("{SPEC_IMMUTABLE}\n")), "{cause}");
    assert!(cause.contains("1Gi") && cause.contains("2Gi"), "{cause}");
    let message = body["message"].as_str().unwrap();
    assert_eq!(
        message,
        format!("PersistentVolumeClaim \"data\" is invalid: spec: {cause}")
    );
    assert_eq!(stored_request(&t, &url).await, "1Gi");

    // Bound through /status, with the capacity the volume gave it.
    let status = json!({"status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "1Gi"}}});
    let (s, body) = t
        .send_json("PATCH", &format!("{url}/status"), MERGE, &status)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"]["phase"], "Bound");

    // Growth is accepted and stored.
    let (s, body) = t
        .send_json("PATCH", &url, MERGE, &storage_patch("2Gi"))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(stored_request(&t, &url).await, "2Gi");

    // Shrinking to or below the recorded capacity is refused; the claim keeps 2Gi.
    let below = "Forbidden: field can not be less than status.capacity";
    for storage in ["512Mi", "1Gi", "1024Mi"] {
        let (s, body) = t
            .send_json("PATCH", &url, MERGE, &storage_patch(storage))
            .await;
        invalid(
            s,
            &body,
            &format!(
                "PersistentVolumeClaim \"data\" is invalid: spec.resources.requests.storage: {below}"
            ),
            &[(
                "spec.resources.requests.storage",
                "FieldValueForbidden",
                below,
            )],
        );
        assert_eq!(stored_request(&t, &url).await, "2Gi", "{storage}");
    }

    // Above the capacity a smaller request is allowed (recovery from a failed expansion,
    // RecoverVolumeExpansionFailure is on by default in v1.33).
    let (s, body) = t
        .send_json("PATCH", &url, MERGE, &storage_patch("1536Mi"))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(stored_request(&t, &url).await, "1536Mi");

    // Everything else in the spec stays immutable even while bound.
    let (s, body) = t
        .send_json(
            "PATCH",
            &url,
            MERGE,
            &json!({"spec": {"accessModes": ["ReadWriteMany"]}}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let cause = body["details"]["causes"][0]["message"].as_str().unwrap();
    assert!(cause.starts_with(&format!("{SPEC_IMMUTABLE}\n")), "{cause}");
    assert!(cause.contains("ReadWriteMany"), "{cause}");
    let (_, stored) = t.get_json(&url).await;
    assert_eq!(stored["spec"]["accessModes"], json!(["ReadWriteOnce"]));
}

fn pv(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
        "spec": spec})
}

/// A volume with a source but neither capacity nor access modes.
fn bare_volume() -> Value {
    pv("bare", json!({"hostPath": {"path": "/data"}}))
}

#[tokio::test]
async fn volumes_need_capacity_access_modes_and_a_source() {
    let t = TestServer::start().await;
    let (s, body) = t.send_json("POST", PVS, JSON, &bare_volume()).await;
    assert_eq!(s, 422, "{body}");
    let causes = body["details"]["causes"].as_array().unwrap();
    let got: Vec<(&Value, &Value)> = causes.iter().map(|c| (&c["field"], &c["reason"])).collect();
    assert_eq!(
        got,
        [
            (&json!("spec.accessModes"), &json!("FieldValueRequired")),
            (&json!("spec.capacity"), &json!("FieldValueRequired")),
            (&json!("spec.capacity"), &json!("FieldValueNotSupported")),
        ],
        "{body}"
    );
    assert_eq!(causes[0]["message"], "Required value");
    assert_eq!(causes[1]["message"], "Required value");
    // The unsupported value's rendering is pinned by `missing_capacity_shows_a_nil_list`.
    let unsupported = causes[2]["message"].as_str().unwrap();
    assert!(
        unsupported.starts_with("Unsupported value: ")
            && unsupported.ends_with(": supported values: \"storage\""),
        "{body}"
    );
    assert_eq!(
        body["message"],
        format!(
            "PersistentVolume \"bare\" is invalid: [spec.accessModes: Required value, spec.capacity: Required value, spec.capacity: {unsupported}]"
        )
    );

    let (s, body) = t
        .send_json(
            "POST",
            PVS,
            JSON,
            &pv(
                "sourceless",
                json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}),
            ),
        )
        .await;
    let no_source = "Required value: must specify a volume type";
    invalid(
        s,
        &body,
        &format!("PersistentVolume \"sourceless\" is invalid: spec: {no_source}"),
        &[("spec", "FieldValueRequired", no_source)],
    );
    for name in ["bare", "sourceless"] {
        let (s, _) = t.get_json(&format!("{PVS}/{name}")).await;
        assert_eq!(s, 404);
    }

    let good = pv(
        "local-1",
        json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"},
            "hostPath": {"path": "/data/pv-1"}}),
    );
    let created = create(&t, PVS, &good).await;
    assert_eq!(created["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(created["spec"]["volumeMode"], "Filesystem");
    assert_eq!(created["spec"]["capacity"], json!({"storage": "10Gi"}));
    assert_eq!(
        created["spec"]["hostPath"],
        json!({"path": "/data/pv-1", "type": ""})
    );
    assert_eq!(created["status"]["phase"], "Pending");
    assert!(
        created["status"]["lastPhaseTransitionTime"].is_string(),
        "{created}"
    );
}

/// Upstream prints the missing capacity as Go prints a nil `core.ResourceList`.
#[tokio::test]
async fn missing_capacity_shows_a_nil_list() {
    let t = TestServer::start().await;
    let (s, body) = t.send_json("POST", PVS, JSON, &bare_volume()).await;
    let unsupported = "Unsupported value: core.ResourceList(nil): supported values: \"storage\"";
    invalid(
        s,
        &body,
        &format!(
            "PersistentVolume \"bare\" is invalid: [spec.accessModes: Required value, spec.capacity: Required value, spec.capacity: {unsupported}]"
        ),
        &[
            ("spec.accessModes", "FieldValueRequired", "Required value"),
            ("spec.capacity", "FieldValueRequired", "Required value"),
            ("spec.capacity", "FieldValueNotSupported", unsupported),
        ],
    );
}

#[tokio::test]
async fn a_volume_keeps_its_source() {
    let t = TestServer::start().await;
    let spec = json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
        "hostPath": {"path": "/data/a"}});
    create(&t, PVS, &pv("kept", spec)).await;
    let url = format!("{PVS}/kept");

    // Capacity, reclaim policy and claimRef may change.
    let grow = json!({"spec": {"capacity": {"storage": "2Gi"},
        "persistentVolumeReclaimPolicy": "Delete",
        "claimRef": {"namespace": "default", "name": "data"}}});
    let (s, body) = t.send_json("PATCH", &url, MERGE, &grow).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["spec"]["capacity"]["storage"], "2Gi");

    // The source may not; the diff text after the rule is go-cmp's upstream.
    let moved = json!({"spec": {"hostPath": {"path": "/data/b"}}});
    let (s, body) = t.send_json("PATCH", &url, MERGE, &moved).await;
    assert_eq!(s, 422, "{body}");
    let causes = body["details"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1, "{body}");
    assert_eq!(causes[0]["field"], "spec.persistentvolumesource", "{body}");
    assert_eq!(causes[0]["reason"], "FieldValueForbidden", "{body}");
    let cause = causes[0]["message"].as_str().unwrap();
    assert!(
        cause.starts_with("Forbidden: spec.persistentvolumesource is immutable after creation\n")
            && cause.contains("/data/b"),
        "{cause}"
    );
    assert_eq!(
        body["message"],
        format!("PersistentVolume \"kept\" is invalid: spec.persistentvolumesource: {cause}")
    );
    let (_, stored) = t.get_json(&url).await;
    assert_eq!(stored["spec"]["hostPath"]["path"], "/data/a");
    assert_eq!(stored["spec"]["capacity"]["storage"], "2Gi");
}

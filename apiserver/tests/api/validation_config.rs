//! Validation of ConfigMaps and Secrets through the server: `immutable: true` honoured,
//! the 1 MiB total, config key names, Secret types and undecodable base64, each answered
//! as upstream v1.33 answers; a refused update leaves the stored object as it was.
//! PersistentVolumeClaims and PersistentVolumes are in `storage`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::{TestServer, invalid};

mod storage;

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";
const CMS: &str = "/api/v1/namespaces/default/configmaps";
const SECRETS: &str = "/api/v1/namespaces/default/secrets";
const MIB: usize = 1024 * 1024;
const IMMUTABLE_SET: &str = "Forbidden: field is immutable when `immutable` is set";
const TOO_LONG: &str = "Too long: may not be more than 1048576 bytes";
const KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

fn config_map(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

fn secret(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": data})
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub(crate) async fn create(t: &TestServer, collection: &str, obj: &Value) -> Value {
    let (s, body) = t.send_json("POST", collection, JSON, obj).await;
    assert_eq!(s, 201, "{body}");
    body
}

/// Asserts a 422 Invalid with a single cause.
fn refused(status: u16, body: &Value, subject: &str, field: &str, reason: &str, message: &str) {
    invalid(
        status,
        body,
        &format!("{subject} is invalid: {field}: {message}"),
        &[(field, reason, message)],
    );
}

/// The frozen ConfigMap is stored exactly as created.
async fn assert_frozen(t: &TestServer, url: &str, what: &str) {
    let (s, stored) = t.get_json(url).await;
    assert_eq!(s, 200);
    assert_eq!(stored["data"], json!({"a": "1"}), "{what}: {stored}");
    assert_eq!(stored["immutable"], true, "{what}: {stored}");
    assert!(stored.get("binaryData").is_none(), "{what}: {stored}");
}

#[tokio::test]
async fn immutable_config_maps_keep_their_data() {
    let t = TestServer::start().await;
    let mut cm = config_map("frozen", json!({"a": "1"}));
    cm["immutable"] = json!(true);
    create(&t, CMS, &cm).await;
    let url = format!("{CMS}/frozen");

    // (what, merge patch, the one field refused)
    let cases = [
        ("data changed", json!({"data": {"a": "2"}}), "data"),
        ("data added", json!({"data": {"b": "2"}}), "data"),
        ("immutable unset", json!({"immutable": false}), "immutable"),
        ("immutable removed", json!({"immutable": null}), "immutable"),
        (
            "binaryData added",
            json!({"binaryData": {"bin": b64(b"x")}}),
            "binaryData",
        ),
    ];
    for (what, patch, field) in cases {
        let (s, body) = t.send_json("PATCH", &url, MERGE, &patch).await;
        assert_eq!(s, 422, "{what}: {body}");
        refused(
            s,
            &body,
            "ConfigMap \"frozen\"",
            field,
            "FieldValueForbidden",
            IMMUTABLE_SET,
        );
        assert_frozen(&t, &url, what).await;
    }
    // Several at once, in upstream's order.
    let (s, body) = t
        .send_json(
            "PATCH",
            &url,
            MERGE,
            &json!({"data": {"a": "2"}, "immutable": false}),
        )
        .await;
    invalid(
        s,
        &body,
        &format!(
            "ConfigMap \"frozen\" is invalid: [immutable: {IMMUTABLE_SET}, data: {IMMUTABLE_SET}]"
        ),
        &[
            ("immutable", "FieldValueForbidden", IMMUTABLE_SET),
            ("data", "FieldValueForbidden", IMMUTABLE_SET),
        ],
    );
    assert_frozen(&t, &url, "both").await;

    // Metadata stays editable.
    let (s, body) = t
        .send_json(
            "PATCH",
            &url,
            MERGE,
            &json!({"metadata": {"labels": {"tier": "web"}}}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (_, stored) = t.get_json(&url).await;
    assert_eq!(stored["metadata"]["labels"], json!({"tier": "web"}));
    assert_eq!(stored["data"], json!({"a": "1"}));

    // A mutable one may change its data and then freeze itself.
    create(&t, CMS, &config_map("open", json!({"a": "1"}))).await;
    let (s, body) = t
        .send_json(
            "PATCH",
            &format!("{CMS}/open"),
            MERGE,
            &json!({"data": {"a": "2"}, "immutable": true}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"], json!({"a": "2"}));
    assert_eq!(body["immutable"], true);
}

#[tokio::test]
async fn secrets_are_limited_to_one_mebibyte() {
    let t = TestServer::start().await;
    // Exactly 1 MiB of decoded bytes, over two keys, is accepted.
    let exact = secret(
        "exact",
        json!({"a": b64(&vec![7u8; MIB - 10]), "b": b64(&[1u8; 10])}),
    );
    let created = create(&t, SECRETS, &exact).await;
    assert_eq!(created["type"], "Opaque");
    let (s, stored) = t.get_json(&format!("{SECRETS}/exact")).await;
    assert_eq!(s, 200);
    assert_eq!(stored["data"], exact["data"]);

    // One byte more is refused, at `data`.
    let over = secret(
        "over",
        json!({"a": b64(&vec![7u8; MIB - 10]), "b": b64(&[1u8; 11])}),
    );
    let (s, body) = t.send_json("POST", SECRETS, JSON, &over).await;
    invalid(
        s,
        &body,
        &format!("Secret \"over\" is invalid: data: {TOO_LONG}"),
        &[("data", "FieldValueTooLong", TOO_LONG)],
    );
    let (s, _) = t.get_json(&format!("{SECRETS}/over")).await;
    assert_eq!(s, 404);

    // Growing the accepted one past the limit by an update is refused too.
    let (s, body) = t
        .send_json(
            "PATCH",
            &format!("{SECRETS}/exact"),
            MERGE,
            &json!({"data": {"c": b64(b"x")}}),
        )
        .await;
    invalid(
        s,
        &body,
        &format!("Secret \"exact\" is invalid: data: {TOO_LONG}"),
        &[("data", "FieldValueTooLong", TOO_LONG)],
    );

    // stringData is merged into data before validation, so it counts too.
    let mut mixed = secret("mixed", json!({"a": b64(&vec![7u8; MIB - 10])}));
    mixed["stringData"] = json!({"b": "x".repeat(11)});
    let (s, body) = t.send_json("POST", SECRETS, JSON, &mixed).await;
    refused(
        s,
        &body,
        "Secret \"mixed\"",
        "data",
        "FieldValueTooLong",
        TOO_LONG,
    );
    mixed["stringData"] = json!({"b": "x".repeat(10)});
    let created = create(&t, SECRETS, &mixed).await;
    assert_eq!(created["data"]["b"], b64(b"xxxxxxxxxx"), "{created}");
}

/// A ConfigMap over the limit: `data` counts its string bytes, `binaryData` its decoded
/// bytes, and the limit is on their sum.
fn big_config_map(name: &str, binary_bytes: usize) -> Value {
    let mut cm = config_map(name, json!({"a": "x".repeat(MIB - 4)}));
    cm["binaryData"] = json!({"b": b64(&vec![0u8; binary_bytes])});
    cm
}

#[tokio::test]
async fn config_maps_are_limited_to_one_mebibyte_as_a_whole() {
    let t = TestServer::start().await;
    create(&t, CMS, &big_config_map("exact", 4)).await;
    let plain = config_map("plain", json!({"a": "x".repeat(MIB + 1)}));
    for obj in [big_config_map("over", 5), plain] {
        let name = obj["metadata"]["name"].as_str().unwrap();
        let (s, body) = t.send_json("POST", CMS, JSON, &obj).await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(body["reason"], "Invalid", "{body}");
        // The whole object is reported: an empty field path (its rendering is pinned
        // by `config_map_total_has_no_field`).
        let causes = body["details"]["causes"].as_array().unwrap();
        assert_eq!(causes.len(), 1, "{body}");
        assert!(causes[0].get("field").is_none_or(|f| f == ""), "{body}");
        assert_eq!(causes[0]["reason"], "FieldValueTooLong", "{body}");
        assert_eq!(causes[0]["message"], TOO_LONG, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("ConfigMap \"{name}\" is invalid: "))
                && message.ends_with(TOO_LONG),
            "{body}"
        );
        let (s, _) = t.get_json(&format!("{CMS}/{name}")).await;
        assert_eq!(s, 404);
    }
}

/// Upstream renders the empty path as is (`is invalid: : Too long…`) and its cause has
/// no `field` at all (omitempty).
#[tokio::test]
async fn config_map_total_has_no_field() {
    let t = TestServer::start().await;
    let (s, body) = t
        .send_json("POST", CMS, JSON, &big_config_map("over", 5))
        .await;
    invalid(
        s,
        &body,
        &format!("ConfigMap \"over\" is invalid: : {TOO_LONG}"),
        &[("", "FieldValueTooLong", TOO_LONG)],
    );
    assert!(
        body["details"]["causes"][0].get("field").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn secret_keys_and_types() {
    let t = TestServer::start().await;
    let bad_key = format!("Invalid value: \"a b\": {KEY_MSG}");
    let mut tls = secret("tls", json!({"tls.crt": b64(b"c")}));
    tls["type"] = json!("kubernetes.io/tls");
    // (secret, the one field refused, reason, cause message)
    let cases = [
        (
            secret("spaced", json!({"a b": b64(b"v")})),
            "data[a b]",
            "FieldValueInvalid",
            bad_key.as_str(),
        ),
        (
            secret("dot", json!({".": b64(b"w")})),
            "data[.]",
            "FieldValueInvalid",
            "Invalid value: \".\": must not be '.'",
        ),
        (
            secret("dots", json!({"..x": b64(b"v")})),
            "data[..x]",
            "FieldValueInvalid",
            "Invalid value: \"..x\": must not start with '..'",
        ),
        (tls, "data[tls.key]", "FieldValueRequired", "Required value"),
    ];
    for (obj, field, reason, message) in cases {
        let (s, body) = t.send_json("POST", SECRETS, JSON, &obj).await;
        let subject = format!("Secret {}", obj["metadata"]["name"]);
        refused(s, &body, &subject, field, reason, message);
    }

    // The type never changes after creation.
    create(&t, SECRETS, &secret("typed", json!({"k": b64(b"v")}))).await;
    let url = format!("{SECRETS}/typed");
    let (s, body) = t
        .send_json("PATCH", &url, MERGE, &json!({"type": "example.com/other"}))
        .await;
    let msg = "Invalid value: \"example.com/other\": field is immutable";
    invalid(
        s,
        &body,
        &format!("Secret \"typed\" is invalid: type: {msg}"),
        &[("type", "FieldValueInvalid", msg)],
    );
    let (_, stored) = t.get_json(&url).await;
    assert_eq!(stored["type"], "Opaque");

    // An immutable Secret keeps its data, and a key rename is a data change.
    let mut frozen = secret("frozen", json!({"k": b64(b"v")}));
    frozen["immutable"] = json!(true);
    create(&t, SECRETS, &frozen).await;
    let (s, body) = t
        .send_json(
            "PATCH",
            &format!("{SECRETS}/frozen"),
            MERGE,
            &json!({"data": {"k": null, "j": b64(b"v")}}),
        )
        .await;
    invalid(
        s,
        &body,
        &format!("Secret \"frozen\" is invalid: data: {IMMUTABLE_SET}"),
        &[("data", "FieldValueForbidden", IMMUTABLE_SET)],
    );
    let (s, body) = t
        .send_json(
            "PATCH",
            &format!("{SECRETS}/frozen"),
            MERGE,
            &json!({"immutable": false}),
        )
        .await;
    refused(
        s,
        &body,
        "Secret \"frozen\"",
        "immutable",
        "FieldValueForbidden",
        IMMUTABLE_SET,
    );
    let (_, stored) = t.get_json(&format!("{SECRETS}/frozen")).await;
    assert_eq!(stored["data"], json!({"k": b64(b"v")}));
    assert_eq!(stored["immutable"], true);
}

/// Asserts upstream's decoding failure: a 400 BadRequest Status saying the body cannot
/// be handled as its kind, then Go's base64 wording.
fn bad_request(status: u16, body: &Value, kind: &str, byte: usize) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["status"], "Failure", "{body}");
    assert_eq!(body["reason"], "BadRequest", "{body}");
    assert_eq!(body["code"], 400, "{body}");
    let prefix = format!("{kind} in version \"v1\" cannot be handled as a {kind}: ");
    let message = body["message"].as_str().unwrap();
    assert_eq!(
        message,
        format!("{prefix}illegal base64 data at input byte {byte}"),
        "{body}"
    );
}

#[tokio::test]
async fn undecodable_base64_is_a_bad_request() {
    let t = TestServer::start().await;
    for (name, value, byte) in [("spaces", "not base64!", 3), ("cut", "YWJjZA", 4)] {
        let (s, body) = t
            .send_json("POST", SECRETS, JSON, &secret(name, json!({"k": value})))
            .await;
        bad_request(s, &body, "Secret", byte);
        let (s, _) = t.get_json(&format!("{SECRETS}/{name}")).await;
        assert_eq!(s, 404);
    }
    // An update is decoded the same way and leaves the stored data alone.
    create(&t, SECRETS, &secret("kept", json!({"k": b64(b"v")}))).await;
    let url = format!("{SECRETS}/kept");
    let (s, body) = t
        .send_json("PUT", &url, JSON, &secret("kept", json!({"k": "%%%"})))
        .await;
    bad_request(s, &body, "Secret", 0);
    let (_, stored) = t.get_json(&url).await;
    assert_eq!(stored["data"], json!({"k": b64(b"v")}));

    // So is a ConfigMap's binaryData.
    let mut cm = config_map("bin", json!({}));
    cm["binaryData"] = json!({"k": "%%%"});
    let (s, body) = t.send_json("POST", CMS, JSON, &cm).await;
    bad_request(s, &body, "ConfigMap", 0);
}

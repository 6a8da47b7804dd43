//! Bad requests get upstream's Status objects and change nothing stored.

use serde_json::{Value, json};

use crate::support::TestServer;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

#[tokio::test]
async fn malformed_bodies_are_400_and_store_nothing() {
    let t = TestServer::start().await;
    let (s, _, v) = t
        .raw(
            "POST",
            CMS,
            Some("application/json"),
            None,
            b"{\"metadata\": ".to_vec(),
        )
        .await;
    assert_eq!(
        (s, v["kind"].as_str(), v["reason"].as_str()),
        (400, Some("Status"), Some("BadRequest"))
    );
    let (s, _, v) = t
        .raw(
            "POST",
            CMS,
            Some("application/yaml"),
            None,
            b"metadata: [unclosed".to_vec(),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = t
        .send_json(
            "POST",
            CMS,
            "application/json",
            &json!({"kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": 5}}),
        )
        .await;
    assert_eq!(s, 400, "a wrongly typed field: {v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("cannot be handled as a ConfigMap"),
        "{v}"
    );
    let (s, v) = t.get_json(&format!("{CMS}?limit=abc")).await;
    assert_eq!(s, 400, "{v}");
    let (s, list) = t.get_json(CMS).await;
    assert_eq!((s, list["items"].as_array().map(Vec::len)), (200, Some(0)));
}

#[tokio::test]
async fn yaml_bodies_are_accepted() {
    let t = TestServer::start().await;
    let body =
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n".to_vec();
    let (s, _, v) = t
        .raw("POST", CMS, Some("application/yaml"), None, body)
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["data"]["a"], "b");
}

#[tokio::test]
async fn strict_field_validation_names_every_unknown_and_duplicate_field() {
    let t = TestServer::start().await;
    let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s","name":"s","bogus":1},"data":{"k":"v"},"extra":true}"#.to_vec();
    let (s, _, v) = t
        .raw(
            "POST",
            &format!("{CMS}?fieldValidation=Strict"),
            Some("application/json"),
            None,
            body.clone(),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let msg = v["message"].as_str().unwrap();
    for field in [
        "duplicate field \"metadata.name\"",
        "unknown field \"metadata.bogus\"",
        "unknown field \"extra\"",
    ] {
        assert!(msg.contains(field), "{field} not in {msg}");
    }
    let (s, headers, v) = t
        .raw(
            "POST",
            &format!("{CMS}?fieldValidation=Warn"),
            Some("application/json"),
            None,
            body,
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(headers.get_all("warning").iter().count(), 3);
    assert!(v.get("extra").is_none(), "unknown fields are dropped");
}

#[tokio::test]
async fn media_types_and_methods() {
    let t = TestServer::start().await;
    let (s, _, v) = t
        .raw(
            "POST",
            CMS,
            Some("application/vnd.kubernetes.protobuf"),
            None,
            vec![1, 2],
        )
        .await;
    assert_eq!((s, v["reason"].as_str()), (400, Some("BadRequest")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("protobuf"), "{v}");
    let (s, _, v) = t
        .raw("POST", CMS, Some("text/csv"), None, b"a,b".to_vec())
        .await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    t.send_json("POST", CMS, "application/json", &cm("a")).await;
    let (s, v) = t
        .send_json(
            "PATCH",
            &format!("{CMS}/a"),
            "application/apply-patch+yaml",
            &cm("a"),
        )
        .await;
    assert_eq!(s, 415, "{v}");
    assert!(v["message"].as_str().unwrap().contains("server-side apply"));
    let (s, _, v) = t
        .raw(
            "POST",
            "/api/v1/namespaces/default/pods/x/log",
            None,
            None,
            vec![],
        )
        .await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (405, Some("MethodNotAllowed")),
        "{v}"
    );
    let (s, v) = t.get_json("/api/v1/namespaces/default/pods/x/log").await;
    assert_eq!(s, 501, "{v}");
    assert!(v["message"].as_str().unwrap().contains("not yet available"));
    let (s, v) = t.get_json("/apis/nope/v1/things").await;
    assert_eq!((s, v["reason"].as_str()), (404, Some("NotFound")));
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let t = TestServer::start().await;
    let big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"k": "x".repeat(3 * 1024 * 1024 + 10)}});
    let (s, v) = t.send_json("POST", CMS, "application/json", &big).await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (413, Some("RequestEntityTooLarge")),
        "{v}"
    );
}

#[tokio::test]
async fn bad_selectors_name_the_problem() {
    let t = TestServer::start().await;
    let (s, v) = t
        .get_json("/api/v1/pods?fieldSelector=spec.bogus%3Dx")
        .await;
    assert_eq!(s, 400);
    assert!(v["message"].as_str().unwrap().contains("spec.bogus"), "{v}");
    let (s, _) = t
        .get_json("/api/v1/pods?fieldSelector=spec.nodeName%3Dn1")
        .await;
    assert_eq!(s, 200);
    let (s, _) = t.get_json("/api/v1/pods?labelSelector=a%20in%20(b").await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn update_name_mismatch_and_conflicting_resource_version() {
    let t = TestServer::start().await;
    let (_, created) = t.send_json("POST", CMS, "application/json", &cm("a")).await;
    let (s, v) = t
        .send_json("PUT", &format!("{CMS}/b"), "application/json", &cm("a"))
        .await;
    assert_eq!(s, 400, "{v}");
    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    let (s, v) = t
        .send_json("PUT", &format!("{CMS}/a"), "application/json", &stale)
        .await;
    assert_eq!((s, v["reason"].as_str()), (409, Some("Conflict")));
    let (_, now) = t.get_json(&format!("{CMS}/a")).await;
    assert_eq!(
        now["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
}

/// One HTTP/1.1 exchange over a plain socket (kube-rs would retry a 429 by itself).
async fn raw_http(url: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    socket.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn the_in_flight_cap_answers_429_with_retry_after() {
    let t = TestServer::start_with(|mut c| {
        c.api.max_inflight_mutating = 0;
        c
    })
    .await;
    let body = serde_json::to_string(&cm("a")).unwrap();
    let answer = raw_http(
        &t.url(),
        &format!(
            "POST {CMS} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(
        answer.contains("\"reason\":\"TooManyRequests\""),
        "{answer}"
    );
    let (s, _) = t.get_json(CMS).await;
    assert_eq!(s, 200, "reads have their own cap");
}

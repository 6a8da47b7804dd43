//! `/openapi/v2` as kubectl 1.27/1.28 fetch it (gnostic protobuf) and as JSON, with
//! entity tags and refusals of media types the server cannot produce.

use http_body_util::BodyExt as _;
use keelson_apiserver::openapi::gnostic::{self, Document};
use prost::Message as _;
use serde_json::Value;

use crate::support::TestServer;

/// GET `/openapi/v2` with the given headers: (status, headers, body).
async fn get_v2(t: &TestServer, headers: &[(&str, &str)]) -> (u16, http::HeaderMap, Vec<u8>) {
    let mut req = http::Request::builder().method("GET").uri("/openapi/v2");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(kube::client::Body::empty()).unwrap();
    let resp = t.client.send(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

fn content_type(headers: &http::HeaderMap) -> &str {
    headers[http::header::CONTENT_TYPE].to_str().unwrap()
}

#[tokio::test]
async fn kubectl_gets_the_gnostic_protobuf_document() {
    let t = TestServer::start().await;
    // kubectl 1.27/1.28 (client-go's OpenAPISchema), then with JSON as a fallback.
    for accept in [
        gnostic::ACCEPT_TYPE,
        "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json;q=0.9",
        "application/json;q=0.5, application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    ] {
        let (status, headers, body) = get_v2(&t, &[("accept", accept)]).await;
        assert_eq!(status, 200, "{accept}");
        assert_eq!(content_type(&headers), gnostic::CONTENT_TYPE, "{accept}");
        let doc = Document::decode(body.as_slice()).unwrap();
        assert_eq!(doc.swagger, "2.0");
        let definitions = &doc.definitions.unwrap().additional_properties;
        let deployment = definitions
            .iter()
            .find(|d| d.name == "io.k8s.api.apps.v1.Deployment")
            .and_then(|d| d.value.as_ref())
            .unwrap();
        let gvk = deployment
            .vendor_extension
            .iter()
            .find(|e| e.name == "x-kubernetes-group-version-kind")
            .and_then(|e| e.value.as_ref())
            .unwrap();
        assert!(gvk.yaml.contains("kind: Deployment"), "{}", gvk.yaml);
        assert!(
            doc.paths
                .unwrap()
                .path
                .iter()
                .any(|p| p.name == "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        );
    }
}

#[tokio::test]
async fn json_is_served_when_json_is_preferred_or_nothing_is_asked() {
    let t = TestServer::start().await;
    for headers in [
        vec![("accept", "application/json")],
        vec![("accept", "*/*")],
        vec![(
            "accept",
            "application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.5",
        )],
        vec![],
    ] {
        let (status, h, body) = get_v2(&t, &headers).await;
        assert_eq!(status, 200, "{headers:?}");
        assert_eq!(content_type(&h), "application/json", "{headers:?}");
        let doc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["swagger"], "2.0");
        assert!(doc["definitions"]["io.k8s.api.core.v1.Pod"].is_object());
    }
}

#[tokio::test]
async fn entity_tags_answer_not_modified() {
    let t = TestServer::start().await;
    let proto = [("accept", gnostic::ACCEPT_TYPE)];
    let (_, headers, _) = get_v2(&t, &proto).await;
    let etag = headers[http::header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "{etag}");

    let (status, headers, body) = get_v2(&t, &[proto[0], ("if-none-match", &etag)]).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(headers[http::header::ETAG].to_str().unwrap(), etag);

    // The JSON encoding has a tag of its own.
    let (status, headers, _) = get_v2(&t, &[("if-none-match", &etag)]).await;
    assert_eq!(status, 200);
    assert_ne!(headers[http::header::ETAG].to_str().unwrap(), etag);
}

#[tokio::test]
async fn unservable_media_types_are_not_acceptable() {
    let t = TestServer::start().await;
    let (status, headers, body) = get_v2(&t, &[("accept", "application/yaml, text/html")]).await;
    assert_eq!(status, 406);
    assert_eq!(content_type(&headers), "application/json");
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "NotAcceptable");
    assert_eq!(status["code"], 406);
}

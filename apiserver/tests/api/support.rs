//! A server per test, and small helpers for raw requests.

use std::time::Duration;

use http_body_util::BodyExt as _;
use keelson_apiserver::api::ApiConfig;
use keelson_apiserver::cache::CacheConfig;
use keelson_apiserver::server::{self, RunningServer, ServerConfig};
use keelson_apiserver::storage::StorageUrl;
use serde_json::{Value, json};

pub(crate) struct TestServer {
    pub(crate) server: Option<RunningServer>,
    pub(crate) client: kube::Client,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) fn config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        storage: StorageUrl::default_for(dir),
        api: ApiConfig {
            bookmark_interval: Duration::from_millis(200),
            ..ApiConfig::default()
        },
        cache: CacheConfig::default(),
        drain_timeout: Duration::from_secs(2),
    }
}

pub(crate) fn client_for(url: &str) -> kube::Client {
    let config = kube::Config::new(url.parse().unwrap());
    kube::Client::try_from(config).unwrap()
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::start_with(|c| c).await
    }

    pub(crate) async fn start_with(tune: impl FnOnce(ServerConfig) -> ServerConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = server::start(tune(config(dir.path()))).await.unwrap();
        let client = client_for(&server.url());
        Self {
            server: Some(server),
            client,
            dir,
        }
    }

    pub(crate) fn url(&self) -> String {
        self.server.as_ref().unwrap().url()
    }

    /// A raw request: (status, headers, body as JSON or string).
    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        accept: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, http::HeaderMap, Value) {
        let mut req = http::Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let req = req.body(kube::client::Body::from(body)).unwrap();
        let resp = self.client.send(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, value)
    }

    pub(crate) async fn get_json(&self, path: &str) -> (u16, Value) {
        let (s, _, v) = self.raw("GET", path, None, None, Vec::new()).await;
        (s, v)
    }

    pub(crate) async fn send_json(
        &self,
        method: &str,
        path: &str,
        ct: &str,
        body: &Value,
    ) -> (u16, Value) {
        let (s, _, v) = self
            .raw(
                method,
                path,
                Some(ct),
                None,
                serde_json::to_vec(body).unwrap(),
            )
            .await;
        (s, v)
    }
}

/// Asserts a 422 Invalid with `message` and exactly `causes` (field, reason, message);
/// an empty field stands for a cause without one, as upstream leaves it out.
pub(crate) fn invalid(status: u16, body: &Value, message: &str, causes: &[(&str, &str, &str)]) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["status"], "Failure", "{body}");
    assert_eq!(body["reason"], "Invalid", "{body}");
    assert_eq!(body["code"], 422, "{body}");
    assert_eq!(body["message"], message, "{body}");
    let want: Vec<Value> = causes
        .iter()
        .map(|(field, reason, message)| {
            json!({"field": field, "reason": reason, "message": message})
        })
        .collect();
    let got: Vec<Value> = body["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            json!({"field": c.get("field").cloned().unwrap_or(json!("")),
                "reason": c["reason"], "message": c["message"]})
        })
        .collect();
    assert_eq!(got, want, "{body}");
}

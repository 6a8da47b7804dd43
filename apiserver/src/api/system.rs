//! Non-resource endpoints: discovery, OpenAPI, version, health and metrics.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::respond;
use crate::openapi::{V2Encoding, gnostic};

/// The routes of everything that is not a resource.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api", get(api_root))
        .route("/api/v1", get(core_v1))
        .route("/apis", get(apis_root))
        .route("/apis/{group}", get(group))
        .route("/apis/{group}/{version}", get(group_version))
        .route("/version", get(version))
        .route("/healthz", get(ok))
        .route("/livez", get(ok))
        .route("/readyz", get(ok))
        .route("/healthz/{*check}", get(ok))
        .route("/livez/{*check}", get(ok))
        .route("/readyz/{*check}", get(ok))
        .route("/metrics", get(metrics))
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(openapi_v3_index))
        .route("/openapi/v3/{*path}", get(openapi_v3))
}

/// The aggregated discovery version the client asks for, if any (`v2` or `v2beta1`).
fn aggregated(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    for item in accept.split(',') {
        let params: Vec<&str> = item.split(';').map(str::trim).collect();
        if !params.contains(&"as=APIGroupDiscoveryList")
            || !params.contains(&"g=apidiscovery.k8s.io")
        {
            continue;
        }
        if params.contains(&"v=v2") {
            return Some("v2");
        }
        if params.contains(&"v=v2beta1") {
            return Some("v2beta1");
        }
    }
    None
}

fn aggregated_response(legacy: bool, version: &'static str) -> Response {
    let doc = crate::discovery::aggregated(legacy, version);
    let mut r = respond::json(StatusCode::OK, doc);
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    if let Ok(v) = HeaderValue::from_str(&ct) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    r
}

async fn api_root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(v) = aggregated(&headers) {
        return aggregated_response(true, v);
    }
    respond::json(
        StatusCode::OK,
        &crate::discovery::api_versions(&state.config().advertise_address),
    )
}

async fn core_v1() -> Response {
    match crate::discovery::resource_list("", "v1") {
        Some(doc) => respond::json(StatusCode::OK, doc),
        None => ApiError::no_route().into_response(),
    }
}

async fn apis_root(headers: HeaderMap) -> Response {
    if let Some(v) = aggregated(&headers) {
        return aggregated_response(false, v);
    }
    respond::json(StatusCode::OK, crate::discovery::api_group_list())
}

async fn group(Path(group): Path<String>) -> Response {
    match crate::discovery::api_group(&group) {
        Some(doc) => respond::json(StatusCode::OK, doc),
        None => ApiError::no_route().into_response(),
    }
}

async fn group_version(Path((group, version)): Path<(String, String)>) -> Response {
    match crate::discovery::resource_list(&group, &version) {
        Some(doc) => respond::json(StatusCode::OK, doc),
        None => ApiError::no_route().into_response(),
    }
}

/// The Kubernetes version this server speaks.
pub(crate) fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": concat!("v1.33.0-keelson.", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, match std::env::consts::ARCH { "x86_64" => "amd64", "aarch64" => "arm64", a => a }),
    })
}

async fn version() -> Response {
    respond::json(StatusCode::OK, &version_info())
}

async fn ok() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok",
    )
        .into_response()
}

async fn metrics() -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(),
    )
        .into_response()
}

/// The encoding of `/openapi/v2` that `Accept` prefers: the first of the client's media
/// ranges, by quality and then by order, that names one we serve. No `Accept` means JSON.
fn openapi_v2_encoding(headers: &HeaderMap) -> Result<V2Encoding, ApiError> {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.trim().is_empty())
    else {
        return Ok(V2Encoding::Json);
    };
    let mut ranges: Vec<(f32, V2Encoding)> = Vec::new();
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.split_once('='))
            .find(|(name, _)| name.trim() == "q")
            .and_then(|(_, q)| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let encoding = match media.as_str() {
            "application/json" | "application/*" | "*/*" => V2Encoding::Json,
            gnostic::ACCEPT_TYPE | gnostic::CONTENT_TYPE => V2Encoding::Protobuf,
            _ => continue,
        };
        if quality > 0.0 {
            ranges.push((quality, encoding));
        }
    }
    // A stable sort keeps the client's order among equal qualities.
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranges.first().map(|(_, e)| *e).ok_or_else(|| {
        ApiError::not_acceptable(format!(
            "only the following media types are accepted: application/json, {} (asked for {accept})",
            gnostic::CONTENT_TYPE
        ))
    })
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// `GET /openapi/v2` as JSON or gnostic protobuf, with an `ETag`. Building a document
/// the first time takes a while, so it happens off the async workers.
async fn openapi_v2(headers: HeaderMap) -> Response {
    let encoding = match openapi_v2_encoding(&headers) {
        Ok(encoding) => encoding,
        Err(e) => return e.into_response(),
    };
    let Ok(doc) = tokio::task::spawn_blocking(move || crate::openapi::v2_document(encoding)).await
    else {
        return ApiError::internal("building the OpenAPI v2 document failed").into_response();
    };
    let mut r = if not_modified(&headers, &doc.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let content_type = match encoding {
            V2Encoding::Json => "application/json",
            V2Encoding::Protobuf => gnostic::CONTENT_TYPE,
        };
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type)],
            doc.body.clone(),
        )
            .into_response()
    };
    if let Ok(etag) = HeaderValue::from_str(&doc.etag) {
        r.headers_mut().insert(header::ETAG, etag);
    }
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    r
}

async fn openapi_v3_index() -> Response {
    respond::json(StatusCode::OK, crate::openapi::v3_index())
}

async fn openapi_v3(Path(path): Path<String>) -> Response {
    match crate::openapi::v3_document(path.trim_matches('/')) {
        Some(doc) => {
            let mut r = respond::json_bytes(StatusCode::OK, doc);
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, immutable"),
            );
            r
        }
        None => ApiError::no_route().into_response(),
    }
}

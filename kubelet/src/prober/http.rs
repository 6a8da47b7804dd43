//! The `httpGet` handler (upstream's `pkg/probe/http`): an HTTP/1.1 GET without
//! keep-alive; 200 ≤ status < 400 passes; redirects to the same host are followed (at
//! most 9, as Go's client checker), others end the probe with a warning (a pass).
//!
//! HTTPS: no TLS client is in the dependency tree, so an `HTTPS` probe fails with a
//! message saying so.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONNECTION, HOST, LOCATION, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{Container, HTTPGetAction};
use tokio::net::TcpStream;

use super::run::{self, Answer, join_host_port, resolve_port};

/// Upstream reads at most this much of a response body.
const MAX_BODY: usize = 10 * 1024;
/// Go's client refuses the tenth redirect.
const MAX_REDIRECTS: usize = 10;

/// A probe's request, before it is sent.
#[derive(Debug, Clone)]
pub(super) struct Request {
    url: Uri,
    headers: HeaderMap,
    /// The probe set the `Host` header itself.
    custom_host: bool,
}

/// The request an `httpGet` action makes: scheme (default http), host (default the pod
/// IP), port (resolved against the container's ports), path, the action's headers, and
/// upstream's `User-Agent` and `Accept: */*` unless the action sets them (an empty
/// `Accept` removes it).
pub(super) fn request(
    action: &HTTPGetAction,
    container: &Container,
    pod_ip: &str,
) -> Result<Request, String> {
    let scheme = match action.scheme.as_deref().unwrap_or("") {
        "" => "http".to_owned(),
        scheme => scheme.to_ascii_lowercase(),
    };
    let host = action
        .host
        .as_deref()
        .filter(|h| !h.is_empty())
        .unwrap_or(pod_ip);
    let port = resolve_port(&action.port, container)?;
    let path = action.path.as_deref().unwrap_or("");
    let slash = if path.starts_with('/') { "" } else { "/" };
    let url = format!("{scheme}://{}{slash}{path}", join_host_port(host, port));
    let url = url
        .parse::<Uri>()
        .map_err(|e| format!("probe URL {url:?}: {e}"))?;
    let mut headers = HeaderMap::new();
    for header in action.http_headers.iter().flatten() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|e| format!("header name {:?}: {e}", header.name))?;
        let value = HeaderValue::from_str(&header.value)
            .map_err(|e| format!("header {:?} value: {e}", header.name))?;
        headers.append(name, value);
    }
    if !headers.contains_key(USER_AGENT) {
        headers.insert(USER_AGENT, HeaderValue::from_static(run::USER_AGENT));
    }
    match headers.get(ACCEPT) {
        None => {
            headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        Some(value) if value.is_empty() => {
            headers.remove(ACCEPT);
        }
        Some(_) => {}
    }
    // Only the first Host value is the request's host.
    let custom_host = headers
        .get(HOST)
        .cloned()
        .map(|first| headers.insert(HOST, first))
        .is_some();
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    Ok(Request {
        url,
        headers,
        custom_host,
    })
}

/// Sends the request, follows same-host redirects, all within `timeout`.
pub(super) async fn probe(request: Request, timeout: Duration) -> Answer {
    let url = request.url.to_string();
    match tokio::time::timeout(timeout, follow(request)).await {
        Ok(answer) => answer,
        Err(_) => Answer::Failure(format!(
            "Get {url:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
    }
}

async fn follow(mut request: Request) -> Answer {
    let first_host = request.url.host().unwrap_or_default().to_owned();
    let mut redirects = 0;
    loop {
        let response = match get(&request).await {
            Ok(response) => response,
            Err(error) => {
                return Answer::Failure(format!("Get {:?}: {error}", request.url.to_string()));
            }
        };
        let next = response
            .location
            .as_deref()
            .filter(|_| is_redirect(response.status))
            .and_then(|location| resolve(&request.url, location));
        match next {
            Some((url, relative)) if url.host() == Some(first_host.as_str()) => {
                redirects += 1;
                if redirects >= MAX_REDIRECTS {
                    return Answer::Failure(format!(
                        "Get {:?}: stopped after 10 redirects",
                        url.to_string()
                    ));
                }
                if !relative && request.custom_host {
                    request.headers.remove(HOST);
                    request.custom_host = false;
                }
                request.url = url;
            }
            _ => return classify(response.status, &response.body),
        }
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Upstream's verdict on a final response.
fn classify(status: StatusCode, body: &str) -> Answer {
    match status.as_u16() {
        200..=299 => Answer::Success,
        300..=399 => Answer::Warning(format!("Probe terminated redirects, Response body: {body}")),
        code => Answer::Failure(format!("HTTP probe failed with statuscode: {code}")),
    }
}

/// A `Location` resolved against the request's URL; whether it was relative (no scheme).
fn resolve(base: &Uri, location: &str) -> Option<(Uri, bool)> {
    if location.contains("://") {
        return Some((location.parse().ok()?, false));
    }
    let scheme = base.scheme_str()?;
    if let Some(rest) = location.strip_prefix("//") {
        return Some((format!("{scheme}://{rest}").parse().ok()?, false));
    }
    let authority = base.authority()?;
    let path = if location.starts_with('/') {
        location.to_owned()
    } else if location.starts_with('?') {
        format!("{}{location}", base.path())
    } else {
        let dir = base.path().rfind('/').map_or("/", |i| &base.path()[..=i]);
        format!("{dir}{location}")
    };
    Some((format!("{scheme}://{authority}{path}").parse().ok()?, true))
}

#[derive(Debug)]
struct Response {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

/// One GET over a fresh connection.
async fn get(request: &Request) -> Result<Response, String> {
    let url = &request.url;
    if url.scheme_str() != Some("http") {
        return Err(
            "HTTPS probes are not supported by this kubelet (it has no TLS client)".to_owned(),
        );
    }
    let host = url.host().ok_or("the URL has no host")?;
    let address = join_host_port(
        host.trim_start_matches('[').trim_end_matches(']'),
        url.port_u16().unwrap_or(80),
    );
    let stream = TcpStream::connect(address.as_str())
        .await
        .map_err(|e| format!("dial tcp {address}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let target = url.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = http::Request::get(target)
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    *outgoing.headers_mut() = request.headers.clone();
    if !request.custom_host {
        let authority = url.authority().map_or(host, |a| a.as_str());
        let value = HeaderValue::from_str(authority).map_err(|e| e.to_string())?;
        outgoing.headers_mut().insert(HOST, value);
    }
    let exchange = async move {
        let response = sender
            .send_request(outgoing)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_at_most(response.into_body(), MAX_BODY).await?;
        Ok(Response {
            status,
            location,
            body,
        })
    };
    tokio::pin!(exchange, connection);
    tokio::select! {
        result = &mut exchange => result,
        _ = &mut connection => exchange.await,
    }
}

/// The body, cut at `limit` bytes (a longer body is not an error).
async fn read_at_most(mut body: hyper::body::Incoming, limit: usize) -> Result<String, String> {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match body.frame().await {
            None => break,
            Some(Err(error)) => return Err(error.to_string()),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
        }
    }
    bytes.truncate(limit);
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;

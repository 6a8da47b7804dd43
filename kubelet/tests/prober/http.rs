//! `run_probe` with `httpGet` against a local axum server.
//! exec and simulated answers).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use k8s_openapi::api::core::v1::{HTTPGetAction, HTTPHeader, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use keelson_kubelet::runtime::ProbeOutcome;
use parking_lot::Mutex;
use tokio::net::TcpListener;

use crate::fake::Fake;
use crate::handlers::{closed_port, container, failure_containing, run};

// ---- httpGet ----

type Seen = Arc<Mutex<Vec<HeaderMap>>>;

async fn http_server() -> (u16, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "broken") }),
        )
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/headers",
            get(move |headers: HeaderMap| async move {
                record.lock().push(headers);
                "seen"
            }),
        )
        .route("/local", get(|| async { redirect("/ok") }))
        .route("/local-to-fail", get(|| async { redirect("/fail") }))
        .route(
            "/away",
            get(|| async { redirect("http://elsewhere.invalid:1/ok") }),
        )
        .route("/loop", get(|| async { redirect("/loop") }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, seen)
}

fn redirect(to: &'static str) -> impl IntoResponse {
    (StatusCode::FOUND, [(header::LOCATION, to)], "moving")
}

fn http_probe(path: &str, port: IntOrString, headers: &[(&str, &str)]) -> Probe {
    let headers = headers.iter().map(|(name, value)| HTTPHeader {
        name: (*name).to_owned(),
        value: (*value).to_owned(),
    });
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port,
            http_headers: Some(headers.collect()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn http_get_passes_on_2xx_and_3xx_and_fails_otherwise() {
    let (port, _) = http_server().await;
    let fake = Fake::new();
    let c = container(port);
    let named = IntOrString::String("web".to_owned());
    let number = IntOrString::Int(i32::from(port));
    let cases = [
        ("/ok", Ok(())),
        ("/fail", Err("HTTP probe failed with statuscode: 500")),
        ("/missing", Err("HTTP probe failed with statuscode: 404")),
        // Same host: followed.
        ("/local", Ok(())),
        (
            "/local-to-fail",
            Err("HTTP probe failed with statuscode: 500"),
        ),
        // Another host: not followed, a pass with a warning.
        ("/away", Ok(())),
        ("/loop", Err("stopped after 10 redirects")),
    ];
    for (path, want) in cases {
        for port in [&named, &number] {
            let outcome = run(&fake, &c, &http_probe(path, port.clone(), &[])).await;
            match want {
                Ok(()) => assert_eq!(outcome, ProbeOutcome::Success, "{path} {port:?}"),
                Err(part) => assert!(failure_containing(&outcome, part), "{path}: {outcome:?}"),
            }
        }
    }
}

#[tokio::test]
async fn http_get_sends_upstream_headers() {
    let (port, seen) = http_server().await;
    let fake = Fake::new();
    let c = container(port);
    let plain = http_probe("/headers", IntOrString::Int(i32::from(port)), &[]);
    assert_eq!(run(&fake, &c, &plain).await, ProbeOutcome::Success);
    let set = [("Host", "app.example"), ("X-Probe", "yes"), ("Accept", "")];
    let custom = http_probe("/headers", IntOrString::Int(i32::from(port)), &set);
    assert_eq!(run(&fake, &c, &custom).await, ProbeOutcome::Success);

    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 2);
    let value = |i: usize, name: &str| {
        seen[i]
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(value(0, "user-agent").as_deref(), Some("kube-probe/1.33"));
    assert_eq!(value(0, "accept").as_deref(), Some("*/*"));
    assert_eq!(value(0, "host"), Some(format!("127.0.0.1:{port}")));
    assert_eq!(value(1, "host").as_deref(), Some("app.example"));
    assert_eq!(value(1, "x-probe").as_deref(), Some("yes"));
    assert_eq!(value(1, "accept"), None);
}

#[tokio::test]
async fn http_get_fails_on_timeout_refusal_https_and_unknown_port() {
    let (port, _) = http_server().await;
    let fake = Fake::new();
    let c = container(port);
    let slow = http_probe("/slow", IntOrString::Int(i32::from(port)), &[]);
    let outcome = run(&fake, &c, &slow).await;
    assert!(
        failure_containing(&outcome, "context deadline exceeded"),
        "{outcome:?}"
    );

    let closed = http_probe("/ok", IntOrString::Int(i32::from(closed_port().await)), &[]);
    let outcome = run(&fake, &c, &closed).await;
    assert!(
        failure_containing(&outcome, "dial tcp 127.0.0.1:"),
        "{outcome:?}"
    );

    let mut https = http_probe("/ok", IntOrString::Int(i32::from(port)), &[]);
    if let Some(action) = https.http_get.as_mut() {
        action.scheme = Some("HTTPS".to_owned());
    }
    let outcome = run(&fake, &c, &https).await;
    assert!(
        failure_containing(&outcome, "HTTPS probes are not supported"),
        "{outcome:?}"
    );

    let unknown = http_probe("/ok", IntOrString::String("metrics".to_owned()), &[]);
    let outcome = run(&fake, &c, &unknown).await;
    assert!(
        failure_containing(&outcome, "port metrics not found"),
        "{outcome:?}"
    );
}

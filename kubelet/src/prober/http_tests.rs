//! Unit tests of [`super`].
use super::*;

#[test]
fn statuses_classify_as_upstream() {
    let cases = [
        (200, Answer::Success),
        (204, Answer::Success),
        (
            302,
            Answer::Warning("Probe terminated redirects, Response body: moved".into()),
        ),
        (
            399,
            Answer::Warning("Probe terminated redirects, Response body: moved".into()),
        ),
        (
            400,
            Answer::Failure("HTTP probe failed with statuscode: 400".into()),
        ),
        (
            503,
            Answer::Failure("HTTP probe failed with statuscode: 503".into()),
        ),
    ];
    for (code, want) in cases {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
        assert_eq!(classify(status, "moved"), want, "{code}");
    }
}

#[test]
fn locations_resolve_against_the_request() {
    let base: Uri = "http://10.0.0.1:8080/a/b?x=1".parse().unwrap_or_default();
    let cases = [
        ("http://other:80/c", Some(("http://other:80/c", false))),
        ("//other/c", Some(("http://other/c", false))),
        ("/c", Some(("http://10.0.0.1:8080/c", true))),
        ("c?y=2", Some(("http://10.0.0.1:8080/a/c?y=2", true))),
        ("?y=2", Some(("http://10.0.0.1:8080/a/b?y=2", true))),
        ("http://bad host/", None),
    ];
    for (location, want) in cases {
        let got = resolve(&base, location).map(|(u, relative)| (u.to_string(), relative));
        assert_eq!(got, want.map(|(u, r)| (u.to_owned(), r)), "{location}");
    }
}

fn action(headers: &[(&str, &str)]) -> HTTPGetAction {
    HTTPGetAction {
        path: Some("healthz".to_owned()),
        port: k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(8080),
        http_headers: Some(
            headers
                .iter()
                .map(|(name, value)| k8s_openapi::api::core::v1::HTTPHeader {
                    name: (*name).to_owned(),
                    value: (*value).to_owned(),
                })
                .collect(),
        ),
        ..Default::default()
    }
}

#[test]
fn requests_carry_upstream_headers() {
    let container = Container::default();
    let plain = request(&action(&[]), &container, "10.0.0.7").map_err(|e| e.to_string());
    let plain = plain
        .as_ref()
        .map(|r| (r.url.to_string(), &r.headers, r.custom_host));
    let Ok((url, headers, custom_host)) = plain else {
        panic!("{plain:?}")
    };
    assert_eq!(url, "http://10.0.0.7:8080/healthz");
    assert_eq!(
        headers.get(USER_AGENT).map(|v| v.as_bytes()),
        Some(&b"kube-probe/1.33"[..])
    );
    assert_eq!(headers.get(ACCEPT).map(|v| v.as_bytes()), Some(&b"*/*"[..]));
    assert!(!custom_host);

    let set = [
        ("Accept", ""),
        ("User-Agent", "mine"),
        ("Host", "a.example"),
        ("Host", "b.example"),
        ("X-A", "1"),
        ("X-A", "2"),
    ];
    let Ok(custom) = request(&action(&set), &container, "10.0.0.7") else {
        panic!("no request")
    };
    assert_eq!(custom.headers.get(ACCEPT), None);
    assert_eq!(
        custom.headers.get(USER_AGENT).map(|v| v.as_bytes()),
        Some(&b"mine"[..])
    );
    assert_eq!(custom.headers.get_all(HOST).iter().count(), 1);
    assert_eq!(
        custom.headers.get(HOST).map(|v| v.as_bytes()),
        Some(&b"a.example"[..])
    );
    assert_eq!(custom.headers.get_all("x-a").iter().count(), 2);
    assert!(custom.custom_host);

    let bad = request(&action(&[("bad header", "x")]), &container, "10.0.0.7");
    assert!(bad.is_err());
}

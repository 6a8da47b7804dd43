//! Table tests: quantities parsed, printed and compared as upstream does.
#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;

#[test]
fn prints_as_upstream() {
    let cases = [
        ("0", "0"),
        ("1000m", "1"),
        ("0.1", "100m"),
        ("100m", "100m"),
        ("1.5", "1500m"),
        ("1.5Gi", "1536Mi"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1024Ki", "1Mi"),
        ("1025Ki", "1025Ki"),
        ("512", "512"),
        ("0.5Ki", "512"),
        ("1023Ki", "1023Ki"),
        ("1e3", "1e3"),
        ("1000e0", "1e3"),
        ("1500e-3", "1500e-3"),
        ("1E3", "1E3"),
        ("1k", "1k"),
        ("1000", "1k"),
        ("1000k", "1M"),
        ("2000000", "2M"),
        ("1Mi", "1Mi"),
        ("8Ki", "8Ki"),
        ("+1", "+1"),
        ("-1", "-1"),
        ("-1000m", "-1"),
        ("00100m", "00100m"),
        ("0.0000000001", "1n"),
        ("-0.0000000001", "-1n"),
        ("1.0000000001", "1000000001n"),
        ("1n", "1n"),
        ("1u", "1u"),
        ("0.5m", "500u"),
        ("1.", "1."),
        (".", "0"),
        ("-", "0"),
        ("-0", "0"),
        ("Gi", "0"),
        ("10Ei", "9223372036854775807"),
        ("123456789012345678901", "123456789012345678901"),
    ];
    for (input, want) in cases {
        let q = Quantity::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(q.to_string(), want, "{input}");
    }
}

#[test]
fn refuses_what_upstream_refuses() {
    let cases = [
        ("", ParseError::Format),
        ("abc", ParseError::Format),
        ("1 ", ParseError::Format),
        ("1Gx", ParseError::Format),
        ("1e3.5", ParseError::Format),
        ("1.5.5", ParseError::Format),
        ("1e", ParseError::Suffix),
        ("1m3", ParseError::Suffix),
        ("1KB", ParseError::Format),
        ("1ee3", ParseError::Suffix),
        ("1iK", ParseError::Suffix),
    ];
    for (input, want) in cases {
        assert_eq!(
            Quantity::parse(input).map(|q| q.to_string()),
            Err(want),
            "{input}"
        );
    }
    assert_eq!(
        ParseError::Format.to_string(),
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    );
}

#[test]
fn compares_values() {
    let cases = [
        ("1", "1000m", Ordering::Equal),
        ("500m", "1", Ordering::Less),
        ("1Gi", "1G", Ordering::Greater),
        ("1Ki", "1024", Ordering::Equal),
        ("-1", "0", Ordering::Less),
        ("-2", "-1", Ordering::Less),
        ("1e3", "1k", Ordering::Equal),
        ("0.1", "99m", Ordering::Greater),
        ("2", "1", Ordering::Greater),
    ];
    for (a, b, want) in cases {
        let (qa, qb) = (Quantity::parse(a).unwrap(), Quantity::parse(b).unwrap());
        assert_eq!(qa.cmp(&qb), want, "{a} vs {b}");
    }
}

#[test]
fn integers_and_signs() {
    let cases = [
        ("1", true),
        ("1500m", false),
        ("2k", true),
        ("0.0001", false),
        ("0", true),
    ];
    for (input, want) in cases {
        assert_eq!(
            Quantity::parse(input).unwrap().is_integer(),
            want,
            "{input}"
        );
    }
    assert!(Quantity::parse("-1m").unwrap().is_negative());
    assert!(!Quantity::parse("-0").unwrap().is_negative());
    assert_eq!(Quantity::parse("0Mi").unwrap().to_string(), "0");
}

#[test]
fn json_numbers_and_canonicalize() {
    assert_eq!(
        Quantity::from_json(&json!(0.1)).unwrap().to_string(),
        "100m"
    );
    assert_eq!(Quantity::from_json(&json!(" 2 ")).unwrap().to_string(), "2");
    let mut pod = json!({"spec": {
        "containers": [{"name": "c", "resources": {
            "requests": {"cpu": 0.1, "memory": "1.5Gi"},
            "limits": {"cpu": "1000m", "bad": "x"}
        }}],
        "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1024Mi"}}]
    }});
    canonicalize(&mut pod);
    let r = &pod["spec"]["containers"][0]["resources"];
    assert_eq!(r["requests"], json!({"cpu": "100m", "memory": "1536Mi"}));
    assert_eq!(r["limits"], json!({"cpu": "1", "bad": "x"}));
    assert_eq!(pod["spec"]["volumes"][0]["emptyDir"]["sizeLimit"], "1Gi");
    let mut deploy = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "c", "resources": {"limits": {"memory": "1000000"}}}
    ]}}}});
    canonicalize(&mut deploy);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"],
        "1M"
    );
}

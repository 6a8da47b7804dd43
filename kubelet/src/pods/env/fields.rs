//! `valueFrom.fieldRef`: the pod fields the downward API exposes to env vars, with
//! upstream's messages for the ones it does not.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{ObjectFieldSelector, Pod};

/// The addresses a field reference may ask for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Addresses {
    /// The pod's IPs, the preferred family first (empty until the network is up).
    pub(crate) pod_ips: Vec<String>,
    /// The node's IPs (never empty).
    pub(crate) host_ips: Vec<String>,
}

/// Splits `path['key']` into `path` and `key`.
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (base, key) = inner.split_once("['")?;
    (!base.is_empty()).then_some((base, key))
}

/// The field's value for an env var; the error is the container's config error.
pub(crate) fn field_value(
    selector: &ObjectFieldSelector,
    pod: &Pod,
    addresses: &Addresses,
) -> Result<String, String> {
    let version = selector.api_version.as_deref().unwrap_or("v1");
    if version != "v1" {
        return Err(format!("unsupported pod version: {version}"));
    }
    let path = selector.field_path.as_str();
    let meta = &pod.metadata;
    if let Some((base, key)) = split_subscript(path) {
        let map = match base {
            "metadata.annotations" => &meta.annotations,
            "metadata.labels" => &meta.labels,
            _ => return Err(format!("field label does not support subscript: {path}")),
        };
        if let Err(why) = qualified_name(&key.to_lowercase()) {
            return Err(format!("invalid key subscript in {path}: {why}"));
        }
        return Ok(map
            .as_ref()
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_default());
    }
    let spec = pod.spec.as_ref();
    let text = |v: Option<&String>| v.cloned().unwrap_or_default();
    Ok(match path {
        "spec.nodeName" | "spec.host" => text(spec.and_then(|s| s.node_name.as_ref())),
        "spec.serviceAccountName" => text(spec.and_then(|s| s.service_account_name.as_ref())),
        "status.hostIP" => addresses.host_ips.first().cloned().unwrap_or_default(),
        "status.hostIPs" => addresses.host_ips.join(","),
        "status.podIP" => addresses.pod_ips.first().cloned().unwrap_or_default(),
        "status.podIPs" => addresses.pod_ips.join(","),
        "metadata.name" => text(meta.name.as_ref()),
        "metadata.namespace" => text(meta.namespace.as_ref()),
        "metadata.uid" => text(meta.uid.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        // Known to the downward API, but not as an env var value.
        "spec.restartPolicy" | "spec.schedulerName" | "status.phase" => {
            return Err(format!("unsupported fieldPath: {path}"));
        }
        _ => return Err(format!("field label not supported: {path}")),
    })
}

/// `key="value"` lines in key order, values quoted as Go's `%q` does.
fn format_map(map: Option<&BTreeMap<String, String>>) -> String {
    let mut out = String::new();
    for (key, value) in map.into_iter().flatten() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = write!(out, "{key}={}", go_quote(value));
    }
    out
}

/// A string quoted as Go's `strconv.Quote` does for printable text and ASCII escapes.
fn go_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Upstream's `IsQualifiedName`: `[prefix/]name`, the name at most 63 alphanumerics,
/// `-`, `_` or `.` that start and end alphanumeric; the prefix a DNS subdomain.
fn qualified_name(key: &str) -> Result<(), &'static str> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let ends_ok = |s: &str| s.starts_with(alnum) && s.ends_with(alnum);
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && ends_ok(name)
        && name
            .chars()
            .all(|c| alnum(c) || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        return Err(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        );
    }
    if let Some(prefix) = prefix {
        let label_ok = |l: &str| {
            !l.is_empty()
                && ends_ok(l)
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if prefix.is_empty() || prefix.len() > 253 || !prefix.split('.').all(label_ok) {
            return Err("prefix part must be a lowercase RFC 1123 subdomain");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {
                "name": "web", "namespace": "shop", "uid": "u-1",
                "labels": {"app": "web", "tier": "front"},
                "annotations": {"note": "say \"hi\"\n", "example.com/owner": "me"},
            },
            "spec": {
                "nodeName": "n1", "serviceAccountName": "robot",
                "containers": [{"name": "app"}],
            },
        }))
        .unwrap()
    }

    fn selector(path: &str, version: Option<&str>) -> ObjectFieldSelector {
        ObjectFieldSelector {
            api_version: version.map(str::to_owned),
            field_path: path.to_owned(),
        }
    }

    #[test]
    fn field_values() {
        let addresses = Addresses {
            pod_ips: vec!["10.88.0.5".to_owned(), "fd00::5".to_owned()],
            host_ips: vec!["192.168.1.2".to_owned()],
        };
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("metadata.name", Ok("web")),
            ("metadata.namespace", Ok("shop")),
            ("metadata.uid", Ok("u-1")),
            ("metadata.labels['app']", Ok("web")),
            ("metadata.labels['missing']", Ok("")),
            ("metadata.annotations['example.com/owner']", Ok("me")),
            ("metadata.labels", Ok("app=\"web\"\ntier=\"front\"")),
            (
                "metadata.annotations",
                Ok("example.com/owner=\"me\"\nnote=\"say \\\"hi\\\"\\n\""),
            ),
            ("spec.nodeName", Ok("n1")),
            ("spec.host", Ok("n1")),
            ("spec.serviceAccountName", Ok("robot")),
            ("status.hostIP", Ok("192.168.1.2")),
            ("status.hostIPs", Ok("192.168.1.2")),
            ("status.podIP", Ok("10.88.0.5")),
            ("status.podIPs", Ok("10.88.0.5,fd00::5")),
            ("status.phase", Err("unsupported fieldPath: status.phase")),
            (
                "spec.hostname",
                Err("field label not supported: spec.hostname"),
            ),
            (
                "spec.nodeName['x']",
                Err("field label does not support subscript: spec.nodeName['x']"),
            ),
        ];
        for (path, want) in cases {
            let got = field_value(&selector(path, None), &pod(), &addresses);
            assert_eq!(got.as_deref().map_err(String::as_str), *want, "{path}");
        }
    }

    #[test]
    fn only_v1_and_qualified_keys() {
        let addresses = Addresses::default();
        let got = field_value(&selector("metadata.name", Some("v2")), &pod(), &addresses);
        assert_eq!(got, Err("unsupported pod version: v2".to_owned()));
        let got = field_value(
            &selector("metadata.labels['-bad']", None),
            &pod(),
            &addresses,
        );
        assert!(
            got.as_ref()
                .is_err_and(|e| e.starts_with("invalid key subscript in metadata.labels['-bad']: ")),
            "{got:?}"
        );
        // Before the network is up there is no pod IP.
        let got = field_value(&selector("status.podIP", Some("v1")), &pod(), &addresses);
        assert_eq!(got.as_deref(), Ok(""));
    }

    #[test]
    fn qualified_names() {
        let cases = [
            ("app", true),
            ("app.kubernetes.io/name", true),
            ("a", true),
            ("-a", false),
            ("a-", false),
            ("", false),
            ("/a", false),
            ("Example.com/a", false),
            ("example.com/", false),
            ("a b", false),
        ];
        for (key, ok) in cases {
            assert_eq!(qualified_name(key).is_ok(), ok, "{key:?}");
        }
    }
}

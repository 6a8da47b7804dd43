//! Node flags shared by `keelson kubelet` and `keelson up`: node names, labels, taints and
//! capacity quantities, checked as upstream's kubelet checks `--node-labels` and
//! `--register-with-taints`, so a bad flag is a usage error before anything starts.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Taint;
use keelson_client::quantity::ExactQuantity;

/// Taint effects a node may carry.
const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Labels in the `kubernetes.io` and `k8s.io` namespaces a kubelet may set itself.
const KUBELET_LABELS: [&str; 11] = [
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "beta.kubernetes.io/os",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "kubernetes.io/arch",
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
];

/// Label namespaces (and their subdomains) a kubelet may set labels in.
const KUBELET_LABEL_NAMESPACES: [&str; 2] = ["kubelet.kubernetes.io", "node.kubernetes.io"];

fn is_name_part(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

fn is_dns_label(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| alnum(c) || c == '-')
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

/// An RFC 1123 subdomain (`my-node.example`), as Node names and key prefixes must be.
pub(crate) fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A label or taint key: `name` or `prefix/name`.
fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty() && is_dns_subdomain(prefix) && is_name_part(name)
        }
        None => is_name_part(key),
    }
}

/// A label or taint value: empty, or up to 63 alphanumerics, `-`, `_`, `.`.
fn is_label_value(v: &str) -> bool {
    v.is_empty() || is_name_part(v)
}

fn in_namespace(namespace: &str, domain: &str) -> bool {
    namespace == domain || namespace.ends_with(&format!(".{domain}"))
}

/// A key a kubelet may not set: in `kubernetes.io`/`k8s.io`, outside the allowed ones.
fn is_reserved_key(key: &str) -> bool {
    let Some((namespace, _)) = key.split_once('/') else {
        return false;
    };
    let kubernetes = ["kubernetes.io", "k8s.io"]
        .iter()
        .any(|d| in_namespace(namespace, d));
    let allowed = KUBELET_LABELS.contains(&key)
        || KUBELET_LABEL_NAMESPACES
            .iter()
            .any(|d| in_namespace(namespace, d));
    kubernetes && !allowed
}

/// Parses `key=value` pairs (`--labels`).
pub(crate) fn parse_labels(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    for pair in pairs.iter().filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            anyhow::bail!("--labels {pair:?}: not a key=value pair");
        };
        if !is_qualified_name(key) {
            anyhow::bail!(
                "--labels {pair:?}: the key {key:?} is not a valid label key (an optional DNS \
                 subdomain prefix and '/', then up to 63 alphanumerics, '-', '_' or '.', \
                 starting and ending with an alphanumeric)"
            );
        }
        if !is_label_value(value) {
            anyhow::bail!(
                "--labels {pair:?}: the value {value:?} is not a valid label value (empty, or up \
                 to 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)"
            );
        }
        if is_reserved_key(key) {
            anyhow::bail!(
                "--labels {pair:?}: a kubelet may not set {key:?}: labels in the \
                 'kubernetes.io' or 'k8s.io' namespace must begin with an allowed prefix ({}) \
                 or be in the specifically allowed set ({})",
                KUBELET_LABEL_NAMESPACES.join(", "),
                KUBELET_LABELS.join(", ")
            );
        }
        labels.insert(key.to_owned(), value.to_owned());
    }
    Ok(labels)
}

/// Parses `key=value:Effect` or `key:Effect` taints (`--register-with-taints`).
pub(crate) fn parse_taints(specs: &[String]) -> anyhow::Result<Vec<Taint>> {
    let mut taints: Vec<Taint> = Vec::new();
    for spec in specs.iter().filter(|s| !s.is_empty()) {
        let Some((key_value, effect)) = spec.rsplit_once(':') else {
            anyhow::bail!(
                "--register-with-taints {spec:?}: not a taint; write key=value:Effect or key:Effect"
            );
        };
        let (key, value) = match key_value.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (key_value, None),
        };
        if !is_qualified_name(key) {
            anyhow::bail!(
                "--register-with-taints {spec:?}: the key {key:?} is not a valid taint key (an \
                 optional DNS subdomain prefix and '/', then up to 63 alphanumerics, '-', '_' \
                 or '.', starting and ending with an alphanumeric)"
            );
        }
        if !value.is_none_or(is_label_value) {
            anyhow::bail!(
                "--register-with-taints {spec:?}: the value {:?} is not a valid taint value \
                 (empty, or up to 63 alphanumerics, '-', '_' or '.')",
                value.unwrap_or_default()
            );
        }
        if !EFFECTS.contains(&effect) {
            anyhow::bail!(
                "--register-with-taints {spec:?}: unsupported taint effect {effect:?}; the \
                 effect must be one of {}",
                EFFECTS.join(", ")
            );
        }
        if taints.iter().any(|t| t.key == key && t.effect == effect) {
            anyhow::bail!("--register-with-taints {spec:?}: a taint {key}:{effect} is given twice");
        }
        taints.push(Taint {
            key: key.to_owned(),
            value: value.filter(|v| !v.is_empty()).map(str::to_owned),
            effect: effect.to_owned(),
            time_added: None,
        });
    }
    Ok(taints)
}

/// Checks that `text` is a positive quantity; returns it unchanged.
pub(crate) fn positive_quantity(flag: &str, text: &str) -> anyhow::Result<String> {
    let q = ExactQuantity::parse(text).map_err(|e| anyhow::anyhow!("{flag} {text:?}: {e}"))?;
    if q <= ExactQuantity::ZERO {
        anyhow::bail!("{flag} {text:?}: must be greater than zero");
    }
    Ok(text.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn labels_are_checked_like_node_labels() {
        let ok = parse_labels(&strings(&[
            "zone=a",
            "example.com/tier=",
            "node.kubernetes.io/pool=gpu",
            "x.kubelet.kubernetes.io/k=v",
            "topology.kubernetes.io/zone=z1",
        ]))
        .unwrap();
        assert_eq!(ok.len(), 5);
        assert_eq!(ok["example.com/tier"], "");
        for (bad, says) in [
            ("novalue", "not a key=value pair"),
            ("-a=b", "not a valid label key"),
            ("Example.com/a=b", "not a valid label key"),
            ("/a=b", "not a valid label key"),
            ("a/b/c=d", "not a valid label key"),
            (&format!("{}=v", "k".repeat(64)), "not a valid label key"),
            ("a=b c", "not a valid label value"),
            ("a=-b", "not a valid label value"),
            ("node-role.kubernetes.io/worker=", "may not set"),
            ("app.k8s.io/name=x", "may not set"),
        ] {
            let err = parse_labels(&strings(&[bad])).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn taints_take_key_value_and_effect() {
        let taints = parse_taints(&strings(&[
            "k=v:NoSchedule",
            "k2:NoExecute",
            "k3=:PreferNoSchedule",
        ]))
        .unwrap();
        let got: Vec<_> = taints
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_deref(), t.effect.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("k", Some("v"), "NoSchedule"),
                ("k2", None, "NoExecute"),
                ("k3", None, "PreferNoSchedule"),
            ]
        );
        for (bad, says) in [
            (
                "k=v:NoScheduleX",
                "unsupported taint effect \"NoScheduleX\"",
            ),
            ("k=v", "not a taint"),
            ("k=v:", "unsupported taint effect"),
            ("=v:NoSchedule", "not a valid taint key"),
            ("k=v v:NoSchedule", "not a valid taint value"),
        ] {
            let err = parse_taints(&strings(&[bad])).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let err = parse_taints(&strings(&["k=a:NoSchedule", "k=b:NoSchedule"])).unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
    }

    #[test]
    fn quantities_must_parse_and_be_positive() {
        assert_eq!(positive_quantity("--cpu", "3500m").unwrap(), "3500m");
        assert!(positive_quantity("--memory", "32Gi").is_ok());
        for (bad, says) in [
            ("lots", "regular expression"),
            ("0", "greater than zero"),
            ("-1", "greater than zero"),
        ] {
            let err = positive_quantity("--cpu", bad).unwrap_err().to_string();
            assert!(err.contains("--cpu") && err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn node_names_are_dns_subdomains() {
        assert!(is_dns_subdomain("keelson-node-1"));
        assert!(is_dns_subdomain("a.b-c.d"));
        for bad in ["", "Node", "a..b", "-a", "a_b", &"a".repeat(254)] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
    }
}

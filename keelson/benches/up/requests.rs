//! The apiserver's mutating requests, from its `/metrics`: what a workload cost in writes.

use std::collections::BTreeMap;

/// Mutating requests by `VERB resource[/subresource]` (all codes).
pub(crate) async fn writes(client: &kube::Client) -> BTreeMap<String, u64> {
    let request = http::Request::get("/metrics").body(Vec::new());
    let Ok(request) = request else {
        return BTreeMap::new();
    };
    let text = client.request_text(request).await.unwrap_or_default();
    parse(&text)
}

fn parse(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        let verb = label("verb");
        if !matches!(
            verb.as_str(),
            "POST" | "PUT" | "PATCH" | "DELETE" | "CREATE" | "UPDATE"
        ) {
            continue;
        }
        let (resource, sub) = (label("resource"), label("subresource"));
        let key = if sub.is_empty() {
            format!("{verb} {resource}")
        } else {
            format!("{verb} {resource}/{sub}")
        };
        *out.entry(key).or_insert(0) += value.trim().parse::<f64>().unwrap_or(0.0) as u64;
    }
    out
}

/// `after − before`, per key, as "key n/pod" figures for `pods` pods.
pub(crate) fn per_pod(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    pods: usize,
) -> String {
    let mut parts = Vec::new();
    let mut total = 0;
    for (key, n) in after {
        let n = n - before.get(key).copied().unwrap_or(0).min(*n);
        if n == 0 {
            continue;
        }
        total += n;
        parts.push(format!("{key} {:.2}", n as f64 / pods as f64));
    }
    format!(
        "{:.2} writes/pod: {}",
        total as f64 / pods as f64,
        parts.join(", ")
    )
}

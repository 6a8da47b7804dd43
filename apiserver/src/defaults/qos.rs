//! A pod's quality-of-service class, as upstream computes it when the pod is created
//! (`status.qosClass`): from the cpu and memory requests and limits of its init and app
//! containers (ephemeral containers have no resources).
//!
//! - BestEffort: no container requests or limits any cpu or memory above zero.
//! - Guaranteed: every container limits both cpu and memory, and the pod's summed requests
//!   equal its summed limits, resource by resource.
//! - Burstable: anything else.
//!
//! Upstream computes the class after defaulting, when requests already default to limits;
//! this does the same by reading a missing request as its limit.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// The only resources that count for the class.
const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];

/// The class of a pod with spec `spec`.
pub(super) fn pod_qos(spec: &Value) -> &'static str {
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
    let mut guaranteed = true;
    let containers = ["containers", "initContainers"]
        .into_iter()
        .filter_map(|list| spec.get(list).and_then(Value::as_array))
        .flatten();
    for c in containers {
        let resources = c.get("resources");
        let given_limits = resource_list(resources.and_then(|r| r.get("limits")));
        let mut given_requests = resource_list(resources.and_then(|r| r.get("requests"))).cloned();
        if let Some(l) = given_limits {
            let requests = given_requests.get_or_insert_with(Map::new);
            for (name, q) in l {
                requests.entry(name.clone()).or_insert_with(|| q.clone());
            }
        }
        add_positive(&mut requests, given_requests.as_ref());
        let found = add_positive(&mut limits, given_limits);
        if !QOS_RESOURCES.iter().all(|r| found.contains(r)) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    let requests_match_limits = requests
        .iter()
        .all(|(name, req)| limits.get(name) == Some(req));
    if guaranteed && requests_match_limits && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A `requests`/`limits` map, if it is one.
fn resource_list(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

/// Adds the positive cpu and memory quantities of `list` to `sums`; returns which of them
/// it had.
fn add_positive(
    sums: &mut BTreeMap<&'static str, i128>,
    list: Option<&Map<String, Value>>,
) -> BTreeSet<&'static str> {
    let mut found = BTreeSet::new();
    let Some(list) = list else {
        return found;
    };
    for resource in QOS_RESOURCES {
        let Some(milli) = list.get(resource).and_then(milli_value) else {
            continue;
        };
        if milli > 0 {
            found.insert(resource);
            let sum = sums.entry(resource).or_insert(0);
            *sum = sum.saturating_add(milli);
        }
    }
    found
}

/// A quantity (`500m`, `1.5Gi`, `2e3`, a JSON number) in thousandths, rounded up as
/// upstream rounds resource lists to milli precision; `None` when it does not parse.
pub(super) fn milli_value(q: &Value) -> Option<i128> {
    match q {
        Value::String(s) => parse_milli(s),
        Value::Number(n) => parse_milli(&n.to_string()),
        _ => None,
    }
}

/// Parses `<sign><digits>[.<digits>]<suffix>`, the suffix binary (`Ki`…`Ei`), decimal
/// (`n`, `u`, `m`, `k`, `M`…`E`) or an exponent (`e3`, `E-2`).
fn parse_milli(s: &str) -> Option<i128> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    let (pow2, pow10) = suffix_powers(suffix)?;
    let mut mantissa: i128 = 0;
    for d in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(d - b'0'))?;
    }
    let exp10 = 3 + pow10 - i32::try_from(fraction.len()).ok()?;
    let mut value = mantissa.checked_mul(1i128.checked_shl(pow2)?)?;
    if exp10 >= 0 {
        value = value.checked_mul(10i128.checked_pow(u32::try_from(exp10).ok()?)?)?;
    } else {
        let divisor = 10i128.checked_pow(u32::try_from(-exp10).ok()?)?;
        value = (value + divisor - 1) / divisor;
    }
    Some(if negative { -value } else { value })
}

/// The power of two and of ten a suffix stands for.
fn suffix_powers(suffix: &str) -> Option<(u32, i32)> {
    Some(match suffix {
        "" => (0, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (0, exp.parse().ok()?)
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_in_thousandths() {
        let cases: &[(Value, Option<i128>)] = &[
            (json!("1"), Some(1000)),
            (json!("500m"), Some(500)),
            (json!("0.5"), Some(500)),
            (json!(".5"), Some(500)),
            (json!("1."), Some(1000)),
            (json!("1Ki"), Some(1_024_000)),
            (json!("1.5Gi"), Some(1_610_612_736_000)),
            (json!("128974848"), Some(128_974_848_000)),
            (json!("129e6"), Some(129_000_000_000)),
            (json!("129E+6"), Some(129_000_000_000)),
            (json!("1e-3"), Some(1)),
            (json!("123Mi"), Some(128_974_848_000)),
            (json!("1k"), Some(1_000_000)),
            (json!("100u"), Some(1)),
            (json!("1n"), Some(1)),
            (json!("0.0001"), Some(1)),
            (json!("0"), Some(0)),
            (json!("-1"), Some(-1000)),
            (json!("+2"), Some(2000)),
            (json!(2), Some(2000)),
            (json!(0.25), Some(250)),
            (json!(""), None),
            (json!("m"), None),
            (json!("1.2.3"), None),
            (json!("1Xi"), None),
            (json!("1e"), None),
            (json!("1 Gi"), None),
            (json!(null), None),
        ];
        for (q, want) in cases {
            assert_eq!(milli_value(q), *want, "{q}");
        }
    }

    fn pod(containers: Value, init: Value) -> Value {
        json!({"containers": containers, "initContainers": init})
    }

    fn c(resources: Value) -> Value {
        json!({"name": "c", "image": "x", "resources": resources})
    }

    #[test]
    fn classes() {
        let both = json!({"cpu": "1", "memory": "1Gi"});
        let cases = [
            (
                "no resources",
                pod(json!([{"name": "c"}]), json!([])),
                "BestEffort",
            ),
            (
                "empty lists",
                pod(json!([c(json!({"limits": {}, "requests": {}}))]), json!([])),
                "BestEffort",
            ),
            (
                "zero requests",
                pod(
                    json!([c(json!({"requests": {"cpu": "0", "memory": "0"}}))]),
                    json!([]),
                ),
                "BestEffort",
            ),
            (
                "only other resources",
                pod(
                    json!([c(
                        json!({"limits": {"ephemeral-storage": "1Gi", "nvidia.com/gpu": "1"}})
                    )]),
                    json!([]),
                ),
                "BestEffort",
            ),
            (
                "a request",
                pod(json!([c(json!({"requests": {"cpu": "100m"}}))]), json!([])),
                "Burstable",
            ),
            (
                "limits only, both: requests default to them",
                pod(json!([c(json!({"limits": both}))]), json!([])),
                "Guaranteed",
            ),
            (
                "equal requests and limits",
                pod(
                    json!([c(
                        json!({"limits": both, "requests": {"cpu": "1000m", "memory": "1024Mi"}})
                    )]),
                    json!([]),
                ),
                "Guaranteed",
            ),
            (
                "lower request",
                pod(
                    json!([c(json!({"limits": both, "requests": {"cpu": "500m"}}))]),
                    json!([]),
                ),
                "Burstable",
            ),
            (
                "cpu limit only",
                pod(json!([c(json!({"limits": {"cpu": "1"}}))]), json!([])),
                "Burstable",
            ),
            (
                "one container without limits",
                pod(
                    json!([c(json!({"limits": both})), {"name": "d"}]),
                    json!([]),
                ),
                "Burstable",
            ),
            (
                "init container without limits",
                pod(json!([c(json!({"limits": both}))]), json!([{"name": "i"}])),
                "Burstable",
            ),
            (
                "init container with limits",
                pod(
                    json!([c(json!({"limits": both}))]),
                    json!([c(json!({"limits": {"cpu": "2", "memory": "1Mi"}}))]),
                ),
                "Guaranteed",
            ),
            (
                "init container requests only",
                pod(
                    json!([]),
                    json!([c(json!({"requests": {"memory": "1Mi"}}))]),
                ),
                "Burstable",
            ),
            (
                "extra resources do not matter",
                pod(
                    json!([c(
                        json!({"limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"}, "requests": {"ephemeral-storage": "1Mi"}})
                    )]),
                    json!([]),
                ),
                "Guaranteed",
            ),
            (
                "zero limit does not count",
                pod(
                    json!([c(json!({"limits": {"cpu": "0", "memory": "1Gi"}}))]),
                    json!([]),
                ),
                "Burstable",
            ),
        ];
        for (name, spec, want) in cases {
            assert_eq!(pod_qos(&spec), want, "{name}");
        }
    }

    #[test]
    fn sums_are_compared_per_pod() {
        // Two containers, each Guaranteed on its own: requests and limits add up equally.
        let spec = pod(
            json!([
                c(json!({"limits": {"cpu": "1", "memory": "1Gi"}})),
                c(
                    json!({"limits": {"cpu": "250m", "memory": "256Mi"}, "requests": {"cpu": "0.25"}})
                ),
            ]),
            json!([]),
        );
        assert_eq!(pod_qos(&spec), "Guaranteed");
        let spec: Value = json!({"containers": [c(json!({"limits": {"cpu": "1"}}))]});
        assert_eq!(pod_qos(&spec), "Burstable");
        assert_eq!(pod_qos(&json!({})), "BestEffort");
        assert_eq!(pod_qos(&json!(null)), "BestEffort");
    }
}

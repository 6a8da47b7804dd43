//! Pure helpers of the Deployment controller: the pod-template hash, template equality
//! ignoring `pod-template-hash`, maxSurge/maxUnavailable resolution, and counts and
//! orderings over ReplicaSets (upstream's `deploymentutil`).

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

/// The label (and selector key) that tells one ReplicaSet's pods from another's.
pub(crate) const HASH_LABEL: &str = "pod-template-hash";

/// Upstream's `rand.SafeEncodeString` alphabet: no vowels, no look-alikes.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The pod-template hash of `template` with `collision_count`, as upstream's
/// `ComputeHash`: FNV-32a, then the decimal digits mapped onto the safe alphabet.
///
/// Upstream hashes Go's struct dump of the template, which cannot be reproduced outside
/// Go; this hashes a canonical JSON form (sorted keys, no nulls or empty lists) instead,
/// so names differ from upstream's but are just as stable. The collision count is mixed in
/// as upstream does: its 32 bits little-endian, padded to 8 bytes.
pub(crate) fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut canonical = String::new();
    let value = serde_json::to_value(template).unwrap_or(Value::Null);
    write_canonical(&normalize(value), &mut canonical);
    let mut hash = fnv32a(0x811c_9dc5, canonical.as_bytes());
    if let Some(count) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&count.cast_unsigned().to_le_bytes());
        hash = fnv32a(hash, &bytes);
    }
    safe_encode(&hash.to_string())
}

fn fnv32a(mut hash: u32, bytes: &[u8]) -> u32 {
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()]))
        .collect()
}

/// Drops nulls, empty lists and empty label/annotation maps: the forms Go's semantic
/// equality treats as unset.
fn normalize(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter_map(|(k, v)| {
                    let v = normalize(v);
                    let empty = match &v {
                        Value::Null => true,
                        Value::Array(a) => a.is_empty(),
                        Value::Object(o) => o.is_empty() && (k == "labels" || k == "annotations"),
                        _ => false,
                    };
                    (!empty).then_some((k, v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Whether two pod templates are the same but for the `pod-template-hash` label
/// (upstream's `EqualIgnoreHash`, with Go's semantic equality of unset and empty).
pub(crate) fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

/// A template as compared by [`equal_ignore_hash`]: normalized JSON without the
/// `pod-template-hash` label.
fn without_hash(t: &PodTemplateSpec) -> Value {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(HASH_LABEL);
    }
    normalize(serde_json::to_value(t).unwrap_or(Value::Null))
}

/// An int-or-percent scaled against `total` (percentages rounded up or down), as
/// upstream's `GetScaledValueFromIntOrPercent`; `None` when malformed.
pub(crate) fn scaled_value(value: &IntOrString, total: i32, round_up: bool) -> Option<i32> {
    match value {
        IntOrString::Int(i) => Some(*i),
        IntOrString::String(s) => {
            let percent: i64 = s.strip_suffix('%')?.parse().ok()?;
            let scaled = percent * i64::from(total);
            let v = if round_up {
                scaled.div_euclid(100) + i64::from(scaled.rem_euclid(100) != 0)
            } else {
                scaled.div_euclid(100)
            };
            i32::try_from(v).ok()
        }
    }
}

/// The deployment's `spec.replicas` (1 when unset, as defaulting makes it).
pub(crate) fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// Whether the deployment rolls (rather than recreates).
pub(crate) fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

/// (maxSurge, maxUnavailable) for `desired` replicas: surge rounded up, unavailable down,
/// both zero meaning one unavailable (upstream's `ResolveFenceposts`; malformed → 0, 0).
pub(crate) fn fenceposts(d: &Deployment, desired: i32) -> (i32, i32) {
    let rolling = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let zero = IntOrString::Int(0);
    let surge = rolling.and_then(|r| r.max_surge.as_ref()).unwrap_or(&zero);
    let unavailable = rolling
        .and_then(|r| r.max_unavailable.as_ref())
        .unwrap_or(&zero);
    match (
        scaled_value(surge, desired, true),
        scaled_value(unavailable, desired, false),
    ) {
        (Some(0), Some(0)) => (0, 1),
        (Some(s), Some(u)) => (s, u),
        _ => (0, 0),
    }
}

/// Upstream's `MaxSurge` (0 for Recreate).
pub(crate) fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    fenceposts(d, replicas(d)).0
}

/// Upstream's `MaxUnavailable` (0 for Recreate or no replicas, at most `replicas`).
pub(crate) fn max_unavailable(d: &Deployment) -> i32 {
    let desired = replicas(d);
    if !is_rolling(d) || desired == 0 {
        return 0;
    }
    fenceposts(d, desired).1.min(desired)
}

/// A ReplicaSet's `spec.replicas`.
pub(crate) fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// Sets a ReplicaSet's `spec.replicas`.
pub(crate) fn set_rs_replicas(rs: &mut ReplicaSet, n: i32) {
    rs.spec.get_or_insert_with(Default::default).replicas = Some(n);
}

/// A ReplicaSet's `status.availableReplicas`.
pub(crate) fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

/// A ReplicaSet's `status.replicas`.
pub(crate) fn rs_actual(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map_or(0, |s| s.replicas)
}

/// A ReplicaSet's `status.readyReplicas`.
pub(crate) fn rs_ready(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

/// Oldest first; ties by name (upstream's `ReplicaSetsByCreationTimestamp`).
pub(crate) fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let ts = |rs: &ReplicaSet| rs.metadata.creation_timestamp.as_ref().map(|t| t.0);
    ts(a)
        .cmp(&ts(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Larger first; ties older first (upstream's `ReplicaSetsBySizeOlder`).
pub(crate) fn by_size_older(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b)
        .cmp(&rs_replicas(a))
        .then_with(|| by_creation(a, b))
}

/// Larger first; ties newer first (upstream's `ReplicaSetsBySizeNewer`).
pub(crate) fn by_size_newer(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b)
        .cmp(&rs_replicas(a))
        .then_with(|| by_creation(b, a))
}

/// The ReplicaSet whose template is the deployment's (the oldest such, as upstream's
/// `FindNewReplicaSet`), by index into `rss`.
pub(crate) fn find_new(d: &Deployment, rss: &[ReplicaSet]) -> Option<usize> {
    let template = without_hash(&d.spec.as_ref()?.template);
    let mut order: Vec<usize> = (0..rss.len()).collect();
    order.sort_by(|&a, &b| by_creation(&rss[a], &rss[b]));
    order.into_iter().find(|&i| {
        rss[i]
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .is_some_and(|t| without_hash(t) == template)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(image: &str, hash: Option<&str>) -> PodTemplateSpec {
        let mut labels = json!({"app": "web"});
        if let Some(h) = hash {
            labels[HASH_LABEL] = json!(h);
        }
        serde_json::from_value(json!({
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": image}]},
        }))
        .unwrap()
    }

    #[test]
    fn hash_is_stable_safe_and_changes_with_template_and_collisions() {
        let a = compute_hash(&template("nginx:1", None), None);
        assert_eq!(a, compute_hash(&template("nginx:1", None), None));
        assert!(a.bytes().all(|b| SAFE_ALPHABET.contains(&b)), "{a}");
        assert_ne!(a, compute_hash(&template("nginx:2", None), None));
        assert_ne!(a, compute_hash(&template("nginx:1", None), Some(1)));
        assert_ne!(
            compute_hash(&template("nginx:1", None), Some(1)),
            compute_hash(&template("nginx:1", None), Some(2))
        );
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn templates_equal_ignoring_the_hash_label() {
        assert!(equal_ignore_hash(
            &template("nginx:1", Some("abc")),
            &template("nginx:1", None)
        ));
        assert!(!equal_ignore_hash(
            &template("nginx:1", Some("abc")),
            &template("nginx:2", Some("abc"))
        ));
        let mut empty = template("nginx:1", None);
        empty.spec.as_mut().unwrap().volumes = Some(vec![]);
        assert!(equal_ignore_hash(&empty, &template("nginx:1", None)));
    }

    #[test]
    fn int_or_percent_rounding() {
        let pct = |s: &str| IntOrString::String(s.to_owned());
        // (value, total, round up) → scaled
        let cases = [
            (pct("25%"), 10, true, Some(3)),
            (pct("25%"), 10, false, Some(2)),
            (pct("0%"), 10, true, Some(0)),
            (pct("100%"), 3, false, Some(3)),
            (pct("30%"), 1, false, Some(0)),
            (IntOrString::Int(2), 10, false, Some(2)),
            (pct("x"), 10, false, None),
            (pct("25"), 10, false, None),
        ];
        for (v, total, up, want) in cases {
            assert_eq!(scaled_value(&v, total, up), want, "{v:?} {total} {up}");
        }
    }

    fn deployment(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d"},
            "spec": {"replicas": replicas, "selector": {},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
                     "template": {}},
        }))
        .unwrap()
    }

    #[test]
    fn fenceposts_as_upstream() {
        let pct = |s: &str| IntOrString::String(s.to_owned());
        let d = deployment(10, pct("25%"), pct("25%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (3, 2));
        let d = deployment(3, IntOrString::Int(0), IntOrString::Int(0));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 1));
        let d = deployment(1, pct("0%"), pct("10%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 1));
        let d = deployment(2, IntOrString::Int(1), IntOrString::Int(5));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (1, 2));
        let d = deployment(0, IntOrString::Int(1), IntOrString::Int(1));
        assert_eq!(max_unavailable(&d), 0);
        let mut recreate = deployment(4, IntOrString::Int(1), IntOrString::Int(1));
        recreate
            .spec
            .as_mut()
            .unwrap()
            .strategy
            .as_mut()
            .unwrap()
            .type_ = Some("Recreate".into());
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
    }
}

//! Reading the served JSON leniently and the shared cell formats (labels, selectors,
//! container lists, "+ N more..." lists, access modes).
//!
//! Objects reach the printers already validated and defaulted, so a missing field reads
//! as Go's zero value: `""`, `0`, `false`, an empty list.

use crate::pointer::At;
use serde_json::Value;

/// The string at a JSON pointer, or `""`.
pub(super) fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.at(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The integer at a JSON pointer, or 0.
pub(super) fn int_at(v: &Value, ptr: &str) -> i64 {
    v.at(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// The boolean at a JSON pointer, or false.
pub(super) fn bool_at(v: &Value, ptr: &str) -> bool {
    v.at(ptr).and_then(Value::as_bool).unwrap_or(false)
}

/// The array at a JSON pointer, or an empty slice.
pub(super) fn items_at<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.at(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// How many entries the map or list at a JSON pointer has.
pub(super) fn len_at(v: &Value, ptr: &str) -> i64 {
    let n = match v.at(ptr) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One annotation's value (keys hold `/`, so no JSON pointer).
pub(super) fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.at("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// The object's name as a cell.
pub(super) fn name(v: &Value) -> Value {
    Value::from(str_at(v, "/metadata/name"))
}

/// `s`, or `<none>` when empty.
pub(super) fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".to_owned()
    } else {
        s.to_owned()
    }
}

/// A label map as `k=v,k2=v2` with sorted keys; `<none>` when empty.
pub(super) fn format_labels(map: Option<&Value>) -> String {
    let Some(Value::Object(m)) = map else {
        return "<none>".to_owned();
    };
    let mut pairs: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        "<none>".to_owned()
    } else {
        pairs.join(",")
    }
}

/// A `metav1.LabelSelector` as the string form of the selector it means (`a=b,c in (d,e),!f`).
/// An absent or empty selector gives `""`; an invalid one gives `None`.
pub(super) fn label_selector(sel: Option<&Value>) -> Option<String> {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return Some(String::new());
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(Value::Object(m)) = sel.get("matchLabels") {
        for (k, v) in m {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in items_at(sel, "/matchExpressions") {
        let key = str_at(expr, "/key");
        let mut values: Vec<&str> = items_at(expr, "/values")
            .iter()
            .map(|v| v.as_str().unwrap_or(""))
            .collect();
        values.sort_unstable();
        let text = match str_at(expr, "/operator") {
            "In" | "NotIn" if values.is_empty() => return None,
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" | "DoesNotExist" if !values.is_empty() => return None,
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        };
        reqs.push((key.to_owned(), text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Some(
        reqs.into_iter()
            .map(|(_, text)| text)
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// A label selector for display: `<none>` when it selects by nothing, `<error>` when invalid.
pub(super) fn format_label_selector(sel: Option<&Value>) -> String {
    match label_selector(sel) {
        None => "<error>".to_owned(),
        Some(s) if s.is_empty() => "<none>".to_owned(),
        Some(s) => s,
    }
}

/// The container names and images of a pod spec, each comma-joined.
pub(super) fn containers(spec: Option<&Value>) -> (String, String) {
    let list = spec.map(|s| items_at(s, "/containers")).unwrap_or(&[]);
    let names: Vec<&str> = list.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = list.iter().map(|c| str_at(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// Up to `max` entries, then `+ N more...`; `<unset>` when there are none.
pub(super) fn list_with_more(list: &[String], more: bool, count: usize, max: usize) -> String {
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count.saturating_sub(max))
    } else if joined.is_empty() {
        "<unset>".to_owned()
    } else {
        joined
    }
}

/// Persistent volume access modes, deduplicated, always in the order RWO,ROX,RWX,RWOP.
pub(super) fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_sorted_and_none() {
        assert_eq!(format_labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
        assert_eq!(format_labels(None), "<none>");
    }

    #[test]
    fn selectors() {
        let sel = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "gone", "operator": "DoesNotExist"},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
            ]
        });
        assert_eq!(
            label_selector(Some(&sel)).as_deref(),
            Some("app=web,env notin (prod),!gone,tier in (a,b)")
        );
        assert_eq!(label_selector(Some(&json!({}))).as_deref(), Some(""));
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        let bad = json!({"matchExpressions": [{"key": "k", "operator": "In", "values": []}]});
        assert_eq!(format_label_selector(Some(&bad)), "<error>");
    }

    #[test]
    fn access_mode_order() {
        let modes = json!([
            "ReadWriteOncePod",
            "ReadWriteMany",
            "ReadWriteOnce",
            "ReadWriteOnce"
        ]);
        assert_eq!(
            access_modes(modes.as_array().map(Vec::as_slice).unwrap_or(&[])),
            "RWO,RWX,RWOP"
        );
    }

    #[test]
    fn more_lists() {
        let l = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(list_with_more(&l, true, 5, 3), "a,b,c + 2 more...");
        assert_eq!(list_with_more(&[], false, 0, 3), "<unset>");
    }
}

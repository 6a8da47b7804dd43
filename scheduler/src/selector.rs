//! Label and node selectors as the scheduler evaluates them (upstream v1.33
//! `labels.Selector`, `nodeaffinity.NodeSelector`): label selectors with `matchLabels`
//! and `matchExpressions`, node selector terms with `matchExpressions` (In, NotIn,
//! Exists, DoesNotExist, Gt, Lt) and `matchFields` (`metadata.name` only).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

/// Labels of an object (absent = none).
pub type Labels = BTreeMap<String, String>;

/// Whether `labels` match a label selector. An empty selector matches everything; an
/// absent one (`None`) matches nothing, as upstream's `LabelSelectorAsSelector(nil)`.
pub fn label_selector_matches(selector: Option<&LabelSelector>, labels: &Labels) -> bool {
    let Some(selector) = selector else {
        return false;
    };
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    by_label
        && selector
            .match_expressions
            .iter()
            .flatten()
            .all(|r| label_requirement_matches(r, labels))
}

fn label_requirement_matches(r: &LabelSelectorRequirement, labels: &Labels) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let value = labels.get(&r.key);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

/// Whether a node with `labels` and `name` matches any term of a required node selector.
/// No terms matches nothing; a term without requirements matches nothing.
pub fn node_selector_matches(selector: &NodeSelector, labels: &Labels, name: &str) -> bool {
    selector
        .node_selector_terms
        .iter()
        .any(|t| node_selector_term_matches(t, labels, name))
}

/// Whether one node selector term matches (all its requirements hold).
pub fn node_selector_term_matches(term: &NodeSelectorTerm, labels: &Labels, name: &str) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    expressions
        .iter()
        .all(|r| node_requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            r.key == "metadata.name"
                && matches!(r.operator.as_str(), "In" | "NotIn")
                && node_requirement_matches(r, Some(name))
        })
}

/// One requirement against the value found for its key (`None` = key absent).
fn node_requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let contains = |v: &str| values.iter().any(|x| x == v);
    match r.operator.as_str() {
        "In" => value.is_some_and(contains),
        "NotIn" => value.is_none_or(|v| !contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), [bound]) = (value, values) else {
                return false;
            };
            match (v.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(v), Ok(b)) if r.operator == "Gt" => v > b,
                (Ok(v), Ok(b)) => v < b,
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn label_selectors() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        let cases = [
            (json!({}), true),
            (json!({"matchLabels": {"app": "web"}}), true),
            (json!({"matchLabels": {"app": "db"}}), false),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "x"]}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}),
                false,
            ),
            (
                json!({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}),
                false,
            ),
            (
                json!({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}),
                true,
            ),
        ];
        for (sel, want) in cases {
            let s: LabelSelector = serde_json::from_value(sel.clone()).unwrap();
            assert_eq!(label_selector_matches(Some(&s), &l), want, "{sel}");
        }
        assert!(!label_selector_matches(None, &l));
    }

    #[test]
    fn node_selector_terms() {
        let l = labels(&[("zone", "a"), ("cores", "8")]);
        let cases = [
            (json!([]), false),
            (json!([{}]), false),
            (
                json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]),
                true,
            ),
            (
                json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
                    {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["4"]}]}]),
                true,
            ),
            (
                json!([{"matchExpressions": [{"key": "cores", "operator": "Lt", "values": ["4"]}]}]),
                false,
            ),
            (
                json!([{"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["x"]}]}]),
                false,
            ),
            (
                json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]},
                                          {"key": "gpu", "operator": "Exists"}]}]),
                false,
            ),
            (
                json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]),
                true,
            ),
            (
                json!([{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]}]),
                false,
            ),
            (
                json!([{"matchFields": [{"key": "metadata.uid", "operator": "In", "values": ["n1"]}]}]),
                false,
            ),
        ];
        for (terms, want) in cases {
            let s: NodeSelector =
                serde_json::from_value(json!({"nodeSelectorTerms": terms.clone()})).unwrap();
            assert_eq!(node_selector_matches(&s, &l, "n1"), want, "{terms}");
        }
    }
}

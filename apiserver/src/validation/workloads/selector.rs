//! `metav1.LabelSelector` as upstream v1.33 checks and evaluates it: `ValidateLabelSelector`
//! (strict label values, as workloads use it), and what `LabelSelectorAsSelector` accepts
//! and matches.

use serde_json::{Map, Value};

use super::super::errors::{Errors, Path};
use super::super::meta;

/// A selector turned into something that can match label sets
/// (`LabelSelectorAsSelector`).
#[derive(Debug)]
pub(super) enum Selector<'a> {
    /// An absent selector: matches nothing, and is not "empty".
    Nothing,
    /// `{}`: matches everything, and is "empty".
    Everything,
    /// Labels and expressions that must all hold.
    Requirements(&'a Value),
}

impl Selector<'_> {
    /// Whether it selects everything (upstream's `Selector.Empty()`).
    pub(super) fn is_empty(&self) -> bool {
        matches!(self, Selector::Everything)
    }

    /// Whether `labels` (a JSON object or absent) is selected.
    pub(super) fn matches(&self, labels: Option<&Value>) -> bool {
        let empty = Map::new();
        let labels = labels.and_then(Value::as_object).unwrap_or(&empty);
        let sel = match self {
            Selector::Nothing => return false,
            Selector::Everything => return true,
            Selector::Requirements(sel) => sel,
        };
        let label = |k: &str| labels.get(k).and_then(Value::as_str);
        let labels_hold = sel
            .get("matchLabels")
            .and_then(Value::as_object)
            .is_none_or(|m| {
                m.iter()
                    .all(|(k, v)| label(k).is_some() && label(k) == v.as_str())
            });
        let expressions_hold = expressions(sel).iter().all(|e| {
            let key = text(e.get("key"));
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match text(e.get("operator")) {
                "In" => label(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        });
        labels_hold && expressions_hold
    }
}

fn text(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or("")
}

fn expressions(sel: &Value) -> &[Value] {
    sel.get("matchExpressions")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn values_of(e: &Value) -> &[Value] {
    e.get("values")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Whether the selector has no labels and no expressions.
pub(super) fn has_no_terms(sel: &Value) -> bool {
    let labels = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .map_or(0, Map::len);
    labels + expressions(sel).len() == 0
}

/// `ValidateLabelSelector` with label values checked strictly: match labels, then each
/// expression's operator and values, key, and values.
pub(super) fn validate(sel: &Value, path: &Path, errors: &mut Errors) {
    meta::labels(sel.get("matchLabels"), &path.child("matchLabels"), errors);
    let epath = path.child("matchExpressions");
    for (i, e) in expressions(sel).iter().enumerate() {
        let p = epath.index(i);
        let values = values_of(e);
        match text(e.get("operator")) {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errors.required(
                        &p.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    );
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errors.forbidden(
                        &p.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    );
                }
            }
            op => errors.invalid(
                &p.child("operator"),
                &Value::String(op.to_owned()),
                "not a valid selector operator",
            ),
        }
        let key = text(e.get("key"));
        for m in meta::qualified_name(key) {
            errors.invalid(&p.child("key"), &Value::String(key.to_owned()), &m);
        }
        for (j, v) in values.iter().enumerate() {
            let v = text(Some(v));
            for m in meta::label_value(v) {
                errors.invalid(
                    &p.child("values").index(j),
                    &Value::String(v.to_owned()),
                    &m,
                );
            }
        }
    }
}

/// `LabelSelectorAsSelector`: the selector, or `None` when upstream's conversion fails
/// (bad keys or values, unknown operators, `In` without values, `Exists` with values).
pub(super) fn as_selector(sel: Option<&Value>) -> Option<Selector<'_>> {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return Some(Selector::Nothing);
    };
    if has_no_terms(sel) {
        return Some(Selector::Everything);
    }
    let labels_ok = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| {
            m.iter().all(|(k, v)| {
                meta::qualified_name(k).is_empty() && meta::label_value(text(Some(v))).is_empty()
            })
        });
    let expressions_ok = expressions(sel).iter().all(|e| {
        let values = values_of(e);
        let operator_ok = match text(e.get("operator")) {
            "In" | "NotIn" => !values.is_empty(),
            "Exists" | "DoesNotExist" => values.is_empty(),
            _ => false,
        };
        operator_ok
            && meta::qualified_name(text(e.get("key"))).is_empty()
            && values
                .iter()
                .all(|v| meta::label_value(text(Some(v))).is_empty())
    });
    (labels_ok && expressions_ok).then_some(Selector::Requirements(sel))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_match_as_upstream() {
        let labels = json!({"app": "web", "tier": "front"});
        let cases = [
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
                json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}),
                false,
            ),
            (json!({}), true),
        ];
        for (sel, want) in cases {
            let s = as_selector(Some(&sel)).unwrap();
            assert_eq!(s.matches(Some(&labels)), want, "{sel}");
        }
        assert!(!as_selector(None).unwrap().matches(Some(&labels)));
        assert!(!as_selector(None).unwrap().is_empty());
        assert!(as_selector(Some(&json!({}))).unwrap().is_empty());
    }

    #[test]
    fn invalid_selectors_do_not_convert() {
        for sel in [
            json!({"matchLabels": {"-bad": "x"}}),
            json!({"matchLabels": {"a": "bad value"}}),
            json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Near", "values": ["x"]}]}),
        ] {
            assert!(as_selector(Some(&sel)).is_none(), "{sel}");
        }
    }

    #[test]
    fn validation_names_each_problem() {
        let sel = json!({"matchExpressions": [
            {"key": "a", "operator": "In"},
            {"key": "b", "operator": "Exists", "values": ["x"]},
            {"key": "-c", "operator": "Near", "values": ["bad value"]},
        ]});
        let mut e = Errors::default();
        validate(&sel, &Path::root("spec").child("selector"), &mut e);
        let got: Vec<(&str, &str)> =
            e.0.iter()
                .map(|c| (c.field.as_str(), c.message.as_str()))
                .collect();
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(
            got[0],
            (
                "spec.selector.matchExpressions[0].values",
                "Required value: must be specified when `operator` is 'In' or 'NotIn'"
            )
        );
        assert_eq!(
            got[1],
            (
                "spec.selector.matchExpressions[1].values",
                "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            )
        );
        assert_eq!(
            got[2],
            (
                "spec.selector.matchExpressions[2].operator",
                "Invalid value: \"Near\": not a valid selector operator"
            )
        );
        assert_eq!(got[3].0, "spec.selector.matchExpressions[2].key");
        assert_eq!(got[4].0, "spec.selector.matchExpressions[2].values[0]");
    }
}

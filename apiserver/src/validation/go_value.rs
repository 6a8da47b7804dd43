//! Values as upstream v1.33 prints them in field errors that are neither strings nor
//! numbers: Go's `%#v` of the internal type (`map[string]string{"app":"web"}`,
//! `v1.LabelSelector{…}`, `[]string{"10.96.0.1"}`, `core.ServicePort{…}`).
//!
//! Shared by the per-kind validators; `errors::show` covers strings and numbers.

use serde_json::Value;

use super::errors::{Errors, Path};

/// A string as Go's `strconv.Quote` writes it.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
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
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_ascii() => out.push(c),
            c if c.is_control() || c.is_whitespace() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON value read as a Go `string` field (non-strings are "").
fn text(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or("")
}

/// `map[string]string{"a":"b", "c":"d"}` (keys sorted, as `fmt` prints maps), or
/// `map[string]string(nil)` when absent.
pub(crate) fn string_map(v: Option<&Value>) -> String {
    string_map_typed(v, "map[string]string")
}

/// A string map printed with its Go type name (`map[string]string`, `core.ResourceList`).
pub(crate) fn string_map_typed(v: Option<&Value>, ty: &str) -> String {
    let Some(map) = v.and_then(Value::as_object) else {
        return format!("{ty}(nil)");
    };
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let body: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{}:{}", quote(k), quote(&scalar_text(v))))
        .collect();
    format!("{ty}{{{}}}", body.join(", "))
}

/// A scalar as the string Go would hold (numbers as written, e.g. a quantity `5`).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `[]string{"a", "b"}`, or `[]string(nil)` when absent.
pub(crate) fn string_slice(v: Option<&Value>) -> String {
    typed_slice(v, "[]string", |e| quote(text(Some(e))))
}

/// A slice printed with its Go type name and an element printer.
pub(crate) fn typed_slice(
    v: Option<&Value>,
    ty: &str,
    element: impl Fn(&Value) -> String,
) -> String {
    let Some(items) = v.and_then(Value::as_array) else {
        return format!("{ty}(nil)");
    };
    let body: Vec<String> = items.iter().map(element).collect();
    format!("{ty}{{{}}}", body.join(", "))
}

/// `v1.LabelSelector{MatchLabels:…, MatchExpressions:…}`; `null` for an absent selector
/// (a nil pointer).
pub(crate) fn label_selector(v: Option<&Value>) -> String {
    let Some(sel) = v.filter(|s| !s.is_null()) else {
        return "null".to_owned();
    };
    let expressions = typed_slice(
        sel.get("matchExpressions"),
        "[]v1.LabelSelectorRequirement",
        |e| {
            format!(
                "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                quote(text(e.get("key"))),
                quote(text(e.get("operator"))),
                string_slice(e.get("values"))
            )
        },
    );
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        string_map(sel.get("matchLabels")),
        expressions
    )
}

/// `intstr.IntOrString{Type:0, IntVal:5, StrVal:""}` (Type 1 for strings); absent is the
/// zero value.
pub(crate) fn int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => {
            format!(
                "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
                quote(s)
            )
        }
        Some(Value::Number(n)) => format!(
            "intstr.IntOrString{{Type:0, IntVal:{}, StrVal:\"\"}}",
            n.as_i64().unwrap_or(0)
        ),
        _ => "intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}".to_owned(),
    }
}

/// A pointer field inside a printed struct: `(*T)(nil)`, or an address when set (Go
/// prints the pointer, which no client can rely on).
pub(crate) fn pointer(v: Option<&Value>, ty: &str) -> String {
    match v {
        None | Some(Value::Null) => format!("(*{ty})(nil)"),
        Some(_) => format!("(*{ty})(0xc000000000)"),
    }
}

/// `Invalid value: <shown>: <detail>` with a value already printed.
pub(crate) fn invalid(errors: &mut Errors, path: &Path, shown: &str, detail: &str) {
    let message = if detail.is_empty() {
        format!("Invalid value: {shown}")
    } else {
        format!("Invalid value: {shown}: {detail}")
    };
    errors.push_raw("FieldValueInvalid", path, message);
}

/// `Duplicate value: <shown>` (with `: detail` when given) with a value already printed.
pub(crate) fn duplicate(errors: &mut Errors, path: &Path, shown: &str, detail: &str) {
    let message = if detail.is_empty() {
        format!("Duplicate value: {shown}")
    } else {
        format!("Duplicate value: {shown}: {detail}")
    };
    errors.push_raw("FieldValueDuplicate", path, message);
}

/// `Unsupported value: <shown>: supported values: "a", "b"` with a value already printed.
pub(crate) fn not_supported(errors: &mut Errors, path: &Path, shown: &str, supported: &[&str]) {
    let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
    errors.push_raw(
        "FieldValueNotSupported",
        path,
        format!(
            "Unsupported value: {shown}: supported values: {}",
            list.join(", ")
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_as_go_does() {
        assert_eq!(quote("a\"b\\\n\u{1}é"), "\"a\\\"b\\\\\\n\\x01é\"");
        assert_eq!(
            string_map(Some(&json!({"tier": "x", "app": "web"}))),
            "map[string]string{\"app\":\"web\", \"tier\":\"x\"}"
        );
        assert_eq!(string_map(None), "map[string]string(nil)");
        assert_eq!(string_map(Some(&json!({}))), "map[string]string{}");
        assert_eq!(
            string_slice(Some(&json!(["10.0.0.1", "fd00::1"]))),
            "[]string{\"10.0.0.1\", \"fd00::1\"}"
        );
        assert_eq!(
            label_selector(Some(&json!({"matchLabels": {"app": "web"}}))),
            "v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
        assert_eq!(
            label_selector(Some(&json!({"matchExpressions": [
                {"key": "a", "operator": "In", "values": ["x"]}
            ]}))),
            "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"a\", Operator:\"In\", Values:[]string{\"x\"}}}}"
        );
        assert_eq!(label_selector(None), "null");
        assert_eq!(
            int_or_string(Some(&json!(0))),
            "intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}"
        );
        assert_eq!(
            int_or_string(Some(&json!("25%"))),
            "intstr.IntOrString{Type:1, IntVal:0, StrVal:\"25%\"}"
        );
    }
}

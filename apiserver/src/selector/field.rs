//! Field selectors, as upstream parses and matches them.
//!
//! The grammar is k8s.io/apimachinery `fields.ParseSelector`: comma-separated terms (AND),
//! each `field=value`, `field==value` or `field!=value`. Values may be empty and escape
//! `\`, `,` and `=` with a backslash (`fields.EscapeValue`); field names are taken up to
//! the first operator, unescaped. No whitespace is trimmed. A field the object does not
//! have reads as the empty string.

use std::fmt;

use serde_json::Value;

use super::SelectorError;
use super::fields::FieldDef;

/// The selectable field values of one object: (field label, value) pairs.
pub type Fields = Vec<(&'static str, String)>;

/// A parsed field selector; the empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    /// In the order of their sorted source text, as upstream keeps them.
    terms: Vec<Term>,
}

/// One `field=value` or `field!=value` term, its value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: String,
    equal: Equality,
    value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Equality {
    /// `=` or `==`.
    Equal,
    /// `!=`.
    NotEqual,
}

const METADATA_FIELDS: [&str; 2] = ["metadata.name", "metadata.namespace"];

impl FieldSelector {
    /// Parses `s`; the empty string (or only commas) is the empty selector.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parts = split_terms(s);
        parts.sort_unstable();
        let mut terms = Vec::with_capacity(parts.len());
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((field, equal, raw)) = split_term(part) else {
                return Err(SelectorError::Parse(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let value = unescape_value(raw).map_err(SelectorError::Parse)?;
            terms.push(Term {
                field: field.to_owned(),
                equal,
                value,
            });
        }
        Ok(Self { terms })
    }

    /// Whether the selector has no terms (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Err(UnsupportedField(name)) for the first requirement naming a field that is neither
    /// metadata.name, metadata.namespace nor in `defs`.
    pub fn check_supported(&self, defs: &[FieldDef]) -> Result<(), SelectorError> {
        let supported = |f: &str| METADATA_FIELDS.contains(&f) || defs.iter().any(|d| d.name == f);
        match self.terms.iter().find(|t| !supported(&t.field)) {
            Some(t) => Err(SelectorError::UnsupportedField(t.field.clone())),
            None => Ok(()),
        }
    }

    /// Whether `fields` satisfy every term.
    pub fn matches(&self, fields: &Fields) -> bool {
        self.terms.iter().all(|t| {
            let actual = value(fields, &t.field);
            (actual == t.value) == (t.equal == Equality::Equal)
        })
    }

    /// The value of an `=`/`==` requirement on `field`, if the selector has one (used to
    /// narrow lookups, e.g. metadata.name).
    pub fn exact(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.equal == Equality::Equal && t.field == field)
            .map(|t| t.value.as_str())
    }
}

/// The canonical text form, as upstream's `Selector.String()` (`==` prints as `=`).
impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            let op = match t.equal {
                Equality::Equal => "=",
                Equality::NotEqual => "!=",
            };
            let sep = if i > 0 { "," } else { "" };
            write!(f, "{sep}{}{op}{}", t.field, escape_value(&t.value))?;
        }
        Ok(())
    }
}

/// The value of `field` in `fields` ("" when absent, as selectors see it).
pub fn value<'f>(fields: &'f Fields, field: &str) -> &'f str {
    fields
        .iter()
        .find(|(name, _)| *name == field)
        .map_or("", |(_, v)| v.as_str())
}

/// metadata.name, metadata.namespace (empty string for cluster-scoped), then every def in
/// `defs`.
pub fn extract(obj: &Value, defs: &[FieldDef]) -> Fields {
    let meta = |key: &str| {
        obj.get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut fields = Vec::with_capacity(2 + defs.len());
    fields.push(("metadata.name", meta("name")));
    fields.push(("metadata.namespace", meta("namespace")));
    fields.extend(defs.iter().map(|d| (d.name, d.get(obj))));
    fields
}

/// Escapes `\`, `,` and `=` so `s` can be a field selector value (`fields.EscapeValue`).
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Splits at commas that are not escaped; the escapes stay in the parts.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits a term at its first operator, trying `!=`, then `==`, then `=` at each position.
fn split_term(term: &str) -> Option<(&str, Equality, &str)> {
    const OPERATORS: [(&str, Equality); 3] = [
        ("!=", Equality::NotEqual),
        ("==", Equality::Equal),
        ("=", Equality::Equal),
    ];
    term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        OPERATORS
            .iter()
            .find(|(op, _)| rest.starts_with(op))
            .map(|&(op, equal)| (&term[..i], equal, &rest[op.len()..]))
    })
}

/// Undoes `escape_value`, rejecting unknown escapes and bare `,` or `=` (`fields.UnescapeValue`).
fn unescape_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                ));
            }
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if matches!(c, ',' | '=') {
            return Err(format!(
                "invalid field selector: unescaped character in value: '{c}'"
            ));
        } else {
            out.push(c);
        }
    }
    if escaped {
        return Err("invalid field selector: invalid escape sequence: \\".to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::selector::fields;

    fn fields_of(pairs: &[(&'static str, &str)]) -> Fields {
        pairs.iter().map(|&(k, v)| (k, v.to_owned())).collect()
    }

    #[test]
    fn matching_follows_upstream_semantics() {
        let pod = fields_of(&[
            ("metadata.name", "p"),
            ("metadata.namespace", "ns"),
            ("spec.nodeName", ""),
            ("status.phase", "Running"),
            ("odd", "a,b=c\\d"),
        ]);
        let cases = [
            ("", true),
            (",", true),
            ("metadata.name=p", true),
            ("metadata.name==p", true),
            ("metadata.name=q", false),
            ("metadata.name!=q", true),
            ("metadata.name!=p", false),
            ("spec.nodeName=", true),
            ("spec.nodeName!=", false),
            ("status.phase=Running,metadata.namespace=ns", true),
            ("status.phase=Running,metadata.namespace=other", false),
            ("status.phase!=Running,status.phase!=Pending", false),
            ("missing=", true),
            ("missing=x", false),
            ("missing!=x", true),
            ("odd=a\\,b\\=c\\\\d", true),
            ("odd=a\\,b", false),
            ("status.phase=Running,,", true),
            // No trimming: the field is `status.phase ` and the value ` Running`.
            ("status.phase = Running", false),
        ];
        for (sel, want) in cases {
            let parsed = FieldSelector::parse(sel).unwrap_or_else(|e| panic!("{sel:?}: {e}"));
            assert_eq!(parsed.matches(&pod), want, "{sel:?}");
        }
    }

    #[test]
    fn parse_errors_say_what_upstream_says() {
        let cases = [
            ("a", "invalid selector: 'a'; can't understand 'a'"),
            ("x=1,b", "invalid selector: 'x=1,b'; can't understand 'b'"),
            ("a=b=c", "unescaped character in value: '='"),
            ("a=\\x", "invalid escape sequence: \\x"),
            ("a=\\!", "invalid escape sequence: \\!"),
            ("a=b\\", "invalid escape sequence: \\"),
            ("a=b\\,c=d", "unescaped character in value: '='"),
        ];
        for (sel, want) in cases {
            match FieldSelector::parse(sel) {
                Err(SelectorError::Parse(msg)) => {
                    assert!(msg.contains(want), "{sel:?}: {msg:?} lacks {want:?}");
                }
                other => panic!("{sel:?}: expected a parse error, got {other:?}"),
            }
        }
    }

    #[test]
    fn operators_split_at_the_first_one() {
        let cases = [
            ("a!=b", "a", Equality::NotEqual, "b"),
            ("a==b", "a", Equality::Equal, "b"),
            ("a=b!c", "a", Equality::Equal, "b!c"),
            ("a!b=c", "a!b", Equality::Equal, "c"),
            ("a===", "a", Equality::Equal, "="),
            ("ä=ö", "ä", Equality::Equal, "ö"),
        ];
        for (term, field, equal, value) in cases {
            assert_eq!(split_term(term), Some((field, equal, value)), "{term:?}");
        }
        assert_eq!(split_term("abc"), None);
    }

    #[test]
    fn escaping_round_trips() {
        for raw in [
            "",
            "plain",
            "a,b",
            "x=y",
            "back\\slash",
            "\\,=\\",
            "ünï,cödé",
        ] {
            let escaped = escape_value(raw);
            assert_eq!(unescape_value(&escaped).as_deref(), Ok(raw), "{escaped:?}");
            let sel = FieldSelector::parse(&format!("f={escaped}"))
                .unwrap_or_else(|e| panic!("{escaped:?}: {e}"));
            assert_eq!(sel.exact("f"), Some(raw));
            assert_eq!(FieldSelector::parse(&sel.to_string()).ok(), Some(sel));
        }
        assert_eq!(escape_value("a\\b,c=d"), "a\\\\b\\,c\\=d");
    }

    #[test]
    fn canonical_form_and_exact_values() {
        let sel = FieldSelector::parse("b!=2,metadata.name==n,a=1").unwrap_or_default();
        assert_eq!(sel.to_string(), "a=1,b!=2,metadata.name=n");
        assert_eq!(sel.exact("metadata.name"), Some("n"));
        assert_eq!(sel.exact("a"), Some("1"));
        assert_eq!(sel.exact("b"), None);
        assert_eq!(sel.exact("c"), None);
        assert!(!sel.is_empty());
        assert!(FieldSelector::parse("").is_ok_and(|s| s.is_empty()));
        assert_eq!(
            FieldSelector::parse("f=")
                .ok()
                .and_then(|s| s.exact("f").map(str::to_owned)),
            Some(String::new())
        );
    }

    #[test]
    fn support_is_checked_against_the_kind() {
        let cases: [(&str, &[FieldDef], Result<(), &str>); 7] = [
            ("metadata.name=a,metadata.namespace=b", fields::NONE, Ok(())),
            ("spec.nodeName=n", fields::NONE, Err("spec.nodeName")),
            ("spec.nodeName=n,status.phase!=Failed", fields::POD, Ok(())),
            ("spec.host=n", fields::POD, Ok(())),
            ("z=1,spec.bogus=2,a.bogus=3", fields::POD, Err("a.bogus")),
            (
                "involvedObject.name=x",
                fields::EVENTS_K8S_IO,
                Err("involvedObject.name"),
            ),
            (
                "regarding.name=x,reportingController=k",
                fields::EVENTS_K8S_IO,
                Ok(()),
            ),
        ];
        for (sel, defs, want) in cases {
            let parsed = FieldSelector::parse(sel).unwrap_or_else(|e| panic!("{sel:?}: {e}"));
            let got = parsed.check_supported(defs);
            let want = want.map_err(|f| SelectorError::UnsupportedField(f.to_owned()));
            assert_eq!(got, want, "{sel:?}");
        }
    }

    #[test]
    fn extract_reads_metadata_then_the_kind_fields() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"},
                         "spec": {"nodeName": "n1"}, "status": {"phase": "Pending"}});
        let fields = extract(&pod, fields::POD);
        assert_eq!(fields.len(), 2 + fields::POD.len());
        assert_eq!(
            fields[..2],
            fields_of(&[("metadata.name", "p"), ("metadata.namespace", "ns")])
        );
        let node = json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}});
        let fields = extract(&node, fields::NODE);
        let want = [
            ("metadata.name", "n1"),
            ("metadata.namespace", ""),
            ("spec.unschedulable", "true"),
        ];
        assert_eq!(fields, fields_of(&want));
        let selects = |s: &str, f: &Fields| FieldSelector::parse(s).is_ok_and(|s| s.matches(f));
        assert!(selects(
            "metadata.namespace=,spec.unschedulable=true",
            &fields
        ));
        assert!(selects(
            "spec.nodeName=n1,status.phase=Pending",
            &extract(&pod, fields::POD)
        ));
        assert!(!selects("spec.nodeName=", &extract(&pod, fields::POD)));
        assert_eq!(
            extract(&json!("not an object"), fields::NONE),
            fields_of(&[("metadata.name", ""), ("metadata.namespace", "")])
        );
    }
}

//! Names, labels, annotations and the rest of `metadata`, as upstream's
//! `apimachinery/pkg/api/validation` and `util/validation` check them.

use serde_json::Value;

use super::errors::{Errors, Path};

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const LABEL_VALUE_MAX: usize = 63;
const QUALIFIED_NAME_MAX: usize = 63;
/// Upstream's limit on all annotations of an object together.
pub(crate) const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/// How a kind's names are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameRule {
    /// RFC 1123 subdomain (most kinds).
    Subdomain,
    /// RFC 1123 label (Namespace).
    Label,
    /// RFC 1035 label (Service).
    Dns1035,
    /// Anything usable as a path segment (Event).
    PathSegment,
}

fn alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_dns1123_label_chars(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| alnum_lower(c) || c == '-')
        && s.starts_with(alnum_lower)
        && s.ends_with(alnum_lower)
}

/// Messages for a value that is not an RFC 1123 label (empty when it is one).
pub(crate) fn dns1123_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > DNS1123_LABEL_MAX {
        out.push(format!(
            "must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    if !is_dns1123_label_chars(s) {
        out.push(DNS1123_LABEL_MSG.to_owned());
    }
    out
}

/// Messages for a value that is not an RFC 1123 subdomain.
pub(crate) fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > DNS1123_SUBDOMAIN_MAX {
        out.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    if !s.split('.').all(is_dns1123_label_chars) {
        out.push(DNS1123_SUBDOMAIN_MSG.to_owned());
    }
    out
}

/// Messages for a value that is not an RFC 1035 label.
pub(crate) fn dns1035_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > DNS1123_LABEL_MAX {
        out.push(format!(
            "must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    if !(is_dns1123_label_chars(s) && s.starts_with(|c: char| c.is_ascii_lowercase())) {
        out.push(DNS1035_LABEL_MSG.to_owned());
    }
    out
}

fn path_segment(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s == "." || s == ".." {
        out.push(format!("may not be '{s}'"));
    }
    for bad in ["/", "%"] {
        if s.contains(bad) {
            out.push(format!("may not contain '{bad}'"));
        }
    }
    out
}

fn name_messages(rule: NameRule, s: &str) -> Vec<String> {
    match rule {
        NameRule::Subdomain => dns1123_subdomain(s),
        NameRule::Label => dns1123_label(s),
        NameRule::Dns1035 => dns1035_label(s),
        NameRule::PathSegment => path_segment(s),
    }
}

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn is_qualified_name_part(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

/// Messages for a key that is not a qualified name (`prefix/name` or `name`), as label
/// and annotation keys must be.
pub(crate) fn qualified_name(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if key.matches('/').count() > 1 {
        out.push(
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_owned(),
        );
        return out;
    }
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            out.push("prefix part must be non-empty".to_owned());
        } else {
            out.extend(
                dns1123_subdomain(prefix)
                    .into_iter()
                    .map(|m| format!("prefix part {m}")),
            );
        }
    }
    if name.is_empty() {
        out.push("name part must be non-empty".to_owned());
    } else if name.len() > QUALIFIED_NAME_MAX {
        out.push(format!(
            "name part must be no more than {QUALIFIED_NAME_MAX} characters"
        ));
    }
    if !is_qualified_name_part(name) {
        out.push(QUALIFIED_NAME_MSG.to_owned());
    }
    out
}

/// Messages for an invalid label value.
pub(crate) fn label_value(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    if v.len() > LABEL_VALUE_MAX {
        out.push(format!("must be no more than {LABEL_VALUE_MAX} characters"));
    }
    if !v.is_empty() && !is_qualified_name_part(v) {
        out.push(LABEL_VALUE_MSG.to_owned());
    }
    out
}

/// Checks a label map at `path` (keys and values).
pub(crate) fn labels(map: Option<&Value>, path: &Path, errors: &mut Errors) {
    let Some(map) = map.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in map {
        for m in qualified_name(k) {
            errors.invalid(path, &Value::String(k.clone()), &m);
        }
        let value = v.as_str().unwrap_or("");
        // Upstream reports bad values at the map, not at the key.
        for m in label_value(value) {
            errors.invalid(path, &Value::String(value.to_owned()), &m);
        }
    }
}

/// Checks annotation keys and the total size.
pub(crate) fn annotations(map: Option<&Value>, path: &Path, errors: &mut Errors) {
    let Some(map) = map.and_then(Value::as_object) else {
        return;
    };
    let mut total = 0;
    for (k, v) in map {
        for m in qualified_name(&k.to_lowercase()) {
            errors.invalid(path, &Value::String(k.clone()), &m);
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > ANNOTATIONS_MAX_BYTES {
        errors.push_raw(
            "FieldValueTooLong",
            path,
            format!("Too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes"),
        );
    }
}

/// Checks `metadata` of a new or updated object: the name (or generateName) by `rule`,
/// labels, annotations, finalizer names, and the namespace requirement of the scope.
pub(crate) fn object_meta(obj: &Value, rule: NameRule, namespaced: bool, errors: &mut Errors) {
    let path = Path::root("metadata");
    let meta = obj.get("metadata");
    let get = |f: &str| {
        meta.and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let name = get("name");
    let generate = get("generateName");
    if name.is_empty() {
        if generate.is_empty() {
            errors.required(&path.child("name"), "name or generateName is required");
        } else {
            // A generated name appends 5 characters; the prefix alone is checked with a
            // trailing '-' trimmed, as upstream's MaskTrailingDash.
            let prefix = generate.strip_suffix('-').unwrap_or(generate);
            for m in name_messages(rule, prefix) {
                errors.invalid(
                    &path.child("generateName"),
                    &Value::String(generate.to_owned()),
                    &m,
                );
            }
        }
    } else {
        for m in name_messages(rule, name) {
            errors.invalid(&path.child("name"), &Value::String(name.to_owned()), &m);
        }
    }
    let namespace = get("namespace");
    if namespaced && namespace.is_empty() {
        errors.required(&path.child("namespace"), "");
    } else if !namespaced && !namespace.is_empty() {
        errors.forbidden(&path.child("namespace"), "not allowed on this type");
    }
    labels(
        meta.and_then(|m| m.get("labels")),
        &path.child("labels"),
        errors,
    );
    annotations(
        meta.and_then(|m| m.get("annotations")),
        &path.child("annotations"),
        errors,
    );
    if let Some(finalizers) = meta
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
    {
        let fpath = path.child("finalizers");
        for (i, f) in finalizers.iter().enumerate() {
            let text = f.as_str().unwrap_or("");
            for m in qualified_name(text) {
                errors.invalid(&fpath.index(i), f, &m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        assert!(dns1123_subdomain("web.example-1").is_empty());
        assert_eq!(dns1123_subdomain("Web").len(), 1);
        assert_eq!(dns1123_subdomain(&"a".repeat(254)).len(), 1);
        assert!(dns1123_label("a.b").len() == 1);
        assert!(dns1035_label("1abc").len() == 1);
        assert!(dns1035_label("abc-1").is_empty());
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert_eq!(qualified_name("-bad").len(), 1);
        assert_eq!(qualified_name("example.com/").len(), 2);
        assert_eq!(qualified_name("a/b/c").len(), 1);
        assert!(label_value("").is_empty());
        assert_eq!(label_value("bad value").len(), 1);
    }

    #[test]
    fn object_meta_reports_every_problem() {
        let obj = json!({"metadata": {
            "name": "Bad_Name",
            "labels": {"ok": "yes", "-no": "x", "v": "a b"},
        }});
        let mut e = Errors::default();
        object_meta(&obj, NameRule::Subdomain, true, &mut e);
        let fields: Vec<&str> = e.0.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "metadata.name",
                "metadata.namespace",
                "metadata.labels",
                "metadata.labels"
            ]
        );
        assert_eq!(e.0[1].message, "Required value");
    }
}

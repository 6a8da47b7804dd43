//! Setting `metadata.resourceVersion` in stored JSON without parsing and re-encoding the
//! whole object: the cache does it for every event, and re-encoding cost about as much as
//! parsing. The bytes are walked just far enough to find the top-level `metadata` object
//! and to check its keys; anything unexpected leaves the caller to do it the slow way.

use crate::storage::Revision;

/// `bytes` (a JSON object) with `"resourceVersion":"<rev>"` as the first member of its
/// top-level `metadata` object. `None` when there is no such object, when it already has a
/// `resourceVersion`, or when a key there is written with escapes (it could be one).
pub(crate) fn with_resource_version(bytes: &[u8], rev: Revision) -> Option<Vec<u8>> {
    let top = skip_ws(bytes, 0);
    if bytes.get(top) != Some(&b'{') {
        return None;
    }
    let meta = member(bytes, top, b"metadata")?;
    if bytes.get(meta) != Some(&b'{') {
        return None;
    }
    let empty = check_keys(bytes, meta)?;
    let member = format!(
        "\"resourceVersion\":\"{rev}\"{}",
        if empty { "" } else { "," }
    );
    let mut out = Vec::with_capacity(bytes.len() + member.len());
    out.extend_from_slice(&bytes[..=meta]);
    out.extend_from_slice(member.as_bytes());
    out.extend_from_slice(&bytes[meta + 1..]);
    Some(out)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The index after the string starting at `i` (a `"`).
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The index after the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0_usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// Walks the members of the object at `open` (a `{`), calling `visit(key, value_start)`
/// until it returns `Some`; that answer, or `None` at the end or on malformed input.
fn members<T>(
    b: &[u8],
    open: usize,
    mut visit: impl FnMut(&[u8], usize) -> Option<Option<T>>,
) -> Option<Option<T>> {
    let mut i = skip_ws(b, open + 1);
    if b.get(i) == Some(&b'}') {
        return Some(None);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let end = skip_string(b, i)?;
        let key = &b[i + 1..end - 1];
        i = skip_ws(b, end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        if let Some(found) = visit(key, i)? {
            return Some(Some(found));
        }
        i = skip_ws(b, skip_value(b, i)?);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Some(None),
            _ => return None,
        }
    }
}

/// Where the value of member `name` of the object at `open` starts.
fn member(b: &[u8], open: usize, name: &[u8]) -> Option<usize> {
    members(b, open, |key, value| Some((key == name).then_some(value)))?
}

/// Whether the object at `open` is empty; `None` if a key is `resourceVersion` or has
/// escapes.
fn check_keys(b: &[u8], open: usize) -> Option<bool> {
    let mut count = 0;
    let refused = members(b, open, |key, _| {
        count += 1;
        Some((key == b"resourceVersion" || key.contains(&b'\\')).then_some(()))
    })?;
    match refused {
        Some(()) => None,
        None => Some(count == 0),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::with_resource_version;

    fn spliced(text: &str) -> Option<Value> {
        with_resource_version(text.as_bytes(), 42).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn the_version_joins_the_top_level_metadata() {
        let obj = json!({
            "apiVersion": "v1", "kind": "Pod",
            "data": {"metadata": {"x": "\"metadata\":{"}},
            "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {"template": {"metadata": {"name": "t"}}, "n": [1, 2.5, true, null]},
        });
        let text = serde_json::to_string(&obj).unwrap();
        let mut want = obj.clone();
        want["metadata"]["resourceVersion"] = json!("42");
        assert_eq!(spliced(&text), Some(want));
        // Spaced out, and with an empty metadata.
        assert_eq!(
            spliced(" { \"kind\" : \"X\" , \"metadata\" : { } } "),
            Some(json!({"kind": "X", "metadata": {"resourceVersion": "42"}}))
        );
    }

    #[test]
    fn anything_unexpected_is_left_to_the_caller() {
        for text in [
            r#"{"metadata":{"resourceVersion":"7"}}"#,
            r#"{"metadata":{"resource\u0056ersion":"7"}}"#,
            r#"{"kind":"X"}"#,
            r#"{"metadata":null}"#,
            r#"["metadata",{}]"#,
            r#"{"metadata":{"name":"p""#,
            "",
        ] {
            assert_eq!(spliced(text), None, "{text}");
        }
    }
}

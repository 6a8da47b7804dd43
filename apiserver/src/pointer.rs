//! JSON pointer lookups that do not allocate. serde_json's `Value::pointer` makes an
//! unescaped copy of every segment, and the request paths look up dozens of pointers per
//! object: that was over 3% of the CPU of a busy server.

use std::borrow::Cow;

use serde_json::Value;

/// RFC 6901 lookups on a JSON value, as `Value::pointer` and `Value::pointer_mut` answer
/// them.
pub trait At {
    /// The value at `pointer` (`""` is the whole value).
    fn at(&self, pointer: &str) -> Option<&Value>;
    /// The value at `pointer`, mutably.
    fn at_mut(&mut self, pointer: &str) -> Option<&mut Value>;
}

impl At for Value {
    fn at(&self, pointer: &str) -> Option<&Value> {
        let mut target = self;
        for token in tokens(pointer)? {
            target = match target {
                Value::Object(map) => map.get(token.as_ref())?,
                Value::Array(list) => list.get(index(&token)?)?,
                _ => return None,
            };
        }
        Some(target)
    }

    fn at_mut(&mut self, pointer: &str) -> Option<&mut Value> {
        let mut target = self;
        for token in tokens(pointer)? {
            target = match target {
                Value::Object(map) => map.get_mut(token.as_ref())?,
                Value::Array(list) => list.get_mut(index(&token)?)?,
                _ => return None,
            };
        }
        Some(target)
    }
}

/// The unescaped tokens of `pointer` (`~1` is `/`, `~0` is `~`); `None` when it is
/// neither empty nor starts with `/`.
fn tokens(pointer: &str) -> Option<impl Iterator<Item = Cow<'_, str>>> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return None;
    }
    let rest = pointer.get(1..).unwrap_or_default();
    let parts = (!pointer.is_empty()).then(|| rest.split('/'));
    Some(parts.into_iter().flatten().map(|token| {
        if token.contains('~') {
            Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(token)
        }
    }))
}

/// An array index: decimal digits without a sign or a leading zero.
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn answers_as_serde_json_does() {
        let mut doc = json!({
            "a": {"b": [10, {"c": "x"}], "": 1, "d/e": 2, "f~g": 3, "~1": 4},
            "n": null,
        });
        let pointers = [
            "",
            "/",
            "/a",
            "/a/b",
            "/a/b/0",
            "/a/b/1/c",
            "/a/b/2",
            "/a/b/01",
            "/a/b/+1",
            "/a/b/-1",
            "/a/b/x",
            "/a/",
            "/a/d~1e",
            "/a/f~0g",
            "/a/~01",
            "/a/~1",
            "/n",
            "/n/x",
            "a",
            "/missing",
            "/a/b/1/c/deeper",
        ];
        for p in pointers {
            assert_eq!(doc.at(p), doc.pointer(p), "{p}");
        }
        for p in pointers {
            let want = doc.clone().pointer_mut(p).map(|v| v.clone());
            assert_eq!(doc.at_mut(p).map(|v| v.clone()), want, "{p}");
        }
        if let Some(v) = doc.at_mut("/a/b/1/c") {
            *v = json!("y");
        }
        assert_eq!(doc["a"]["b"][1]["c"], "y");
    }
}

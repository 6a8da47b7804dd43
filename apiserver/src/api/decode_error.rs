//! Decoding failures in the words of Go's decoder, where kubectl users know them: bad
//! base64 in a Secret's `data` or a ConfigMap's `binaryData` is reported as Go's
//! `encoding/base64` does (`illegal base64 data at input byte 3`), at the byte Go's
//! standard decoder stops at.

use serde_json::Value;

/// The base64 fields of an object, kept aside (they are few and small) so a failed typed
/// decode can be explained.
pub(super) struct Base64Fields(Vec<String>);

impl Base64Fields {
    /// The values of `kind`'s base64 fields in `obj` (stored form), in key order.
    pub(super) fn of(kind: &str, obj: &Value) -> Self {
        let field = match kind {
            "Secret" => "data",
            "ConfigMap" => "binaryData",
            _ => return Self(Vec::new()),
        };
        let values = obj
            .get(field)
            .and_then(Value::as_object)
            .map(|m| {
                m.values()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Self(values)
    }
}

/// The message for a failed typed decode: Go's base64 error when one of `fields` is not
/// base64 to Go, otherwise the decoder's own `message`.
pub(super) fn go_message(fields: &Base64Fields, message: &str) -> String {
    fields
        .0
        .iter()
        .find_map(|s| go_base64_error(s))
        .map_or_else(
            || message.to_owned(),
            |at| format!("illegal base64 data at input byte {at}"),
        )
}

/// Go's standard-alphabet, padded `base64.StdEncoding.DecodeString`: where it reports
/// `CorruptInputError`, or `None` when it decodes. Newlines are skipped, as Go does.
fn go_base64_error(s: &str) -> Option<usize> {
    let src = s.as_bytes();
    let symbol = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let newline = |b: u8| b == b'\n' || b == b'\r';
    let mut si = 0;
    loop {
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                return match j {
                    0 => None,
                    _ => Some(si - j),
                };
            }
            let b = src[si];
            si += 1;
            if symbol(b) {
                j += 1;
                continue;
            }
            if newline(b) {
                continue;
            }
            if b != b'=' || j < 2 {
                return Some(si - 1);
            }
            if j == 2 {
                while si < src.len() && newline(src[si]) {
                    si += 1;
                }
                if si == src.len() {
                    return Some(src.len());
                }
                if src[si] != b'=' {
                    return Some(si - 1);
                }
                si += 1;
            }
            while si < src.len() && newline(src[si]) {
                si += 1;
            }
            return (si < src.len()).then_some(si);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn offsets_as_go_reports_them() {
        let cases = [
            ("aGVsbG8=", None),
            ("aGVsbG8h", None),
            ("aGVs\nbG8=", None),
            ("", None),
            ("not base64!", Some(3)),
            ("YWJjZA", Some(4)),
            ("a", Some(0)),
            ("%%%", Some(0)),
            ("YQ=", Some(3)),
            ("YQ=x", Some(2)),
            ("Y===", Some(1)),
            ("YWI=YQ==", Some(4)),
        ];
        for (input, want) in cases {
            assert_eq!(go_base64_error(input), want, "{input:?}");
        }
    }

    #[test]
    fn messages_name_the_byte() {
        let secret = json!({"data": {"a": "aGk=", "b": "not base64!"}});
        let fields = Base64Fields::of("Secret", &secret);
        assert_eq!(
            go_message(&fields, "Invalid symbol 32, offset 3."),
            "illegal base64 data at input byte 3"
        );
        let other = Base64Fields::of("Pod", &secret);
        assert_eq!(go_message(&other, "invalid type"), "invalid type");
    }
}

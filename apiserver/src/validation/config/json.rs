//! What Go's `json.Unmarshal` into `map[string]interface{}` says about a document: upstream
//! puts that text in the field error of a docker config Secret that is not a JSON object.
//!
//! The syntax check follows the states of Go's JSON scanner, so a broken document gets the
//! same `invalid character 'x' …` message; an iterative walk keeps deep nesting off the
//! stack.

use crate::validation::go_value::quote;

/// Go's nesting limit.
const MAX_DEPTH: usize = 10_000;

/// Why `bytes` cannot become a Go `map[string]interface{}`, or `None` when it can.
pub(super) fn object_error(bytes: &[u8]) -> Option<String> {
    if let Err(e) = check_syntax(bytes) {
        return Some(e);
    }
    let first = bytes
        .iter()
        .copied()
        .find(|b| !is_space(*b))
        .unwrap_or(b'n');
    let ty = match first {
        b'{' | b'n' => return None,
        b'[' => "array",
        b'"' => "string",
        b't' | b'f' => "bool",
        _ => "number",
    };
    Some(format!(
        "json: cannot unmarshal {ty} into Go value of type map[string]interface {{}}"
    ))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

const EOF: &str = "unexpected end of JSON input";

/// Go's `quoteChar`: a byte as a rune in single quotes.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        _ => {
            let q = quote(&char::from(c).to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

/// A cursor over the document.
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scan<'_> {
    fn skip_space(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| is_space(*b)) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Result<u8, String> {
        self.bytes
            .get(self.at)
            .copied()
            .ok_or_else(|| EOF.to_owned())
    }

    fn next(&mut self) -> Result<u8, String> {
        let b = self.peek()?;
        self.at += 1;
        Ok(b)
    }

    fn string(&mut self) -> Result<(), String> {
        // The opening quote is consumed.
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let h = self.next()?;
                            if !h.is_ascii_hexdigit() {
                                return Err(invalid(h, "in \\u hexadecimal character escape"));
                            }
                        }
                    }
                    c => return Err(invalid(c, "in string escape code")),
                },
                c if c < 0x20 => return Err(invalid(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn digits(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
    }

    fn number(&mut self, first: u8) -> Result<(), String> {
        let lead = if first == b'-' {
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in numeric literal"));
            }
            c
        } else {
            first
        };
        if lead != b'0' {
            self.digits();
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            let mut c = self.next()?;
            if c == b'+' || c == b'-' {
                c = self.next()?;
            }
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        // The first letter is consumed.
        for expected in word.bytes().skip(1) {
            let c = self.next()?;
            if c != expected {
                let context = format!("in literal {word} (expecting {})", quote_char(expected));
                return Err(invalid(c, &context));
            }
        }
        Ok(())
    }

    /// One scalar value, or the opening of a container (returned).
    fn value(&mut self) -> Result<Option<u8>, String> {
        self.skip_space();
        let c = self.next()?;
        match c {
            b'{' | b'[' => Ok(Some(c)),
            b'"' => self.string().map(|()| None),
            b'-' | b'0'..=b'9' => self.number(c).map(|()| None),
            b't' => self.literal("true").map(|()| None),
            b'f' => self.literal("false").map(|()| None),
            b'n' => self.literal("null").map(|()| None),
            _ => Err(invalid(c, "looking for beginning of value")),
        }
    }

    /// An object key and its colon; `Ok(false)` when the object closes instead.
    fn key(&mut self, may_close: bool) -> Result<bool, String> {
        self.skip_space();
        match self.next()? {
            b'}' if may_close => return Ok(false),
            b'"' => self.string()?,
            c => return Err(invalid(c, "looking for beginning of object key string")),
        }
        self.skip_space();
        match self.next()? {
            b':' => Ok(true),
            c => Err(invalid(c, "after object key")),
        }
    }
}

fn check_syntax(bytes: &[u8]) -> Result<(), String> {
    let mut s = Scan { bytes, at: 0 };
    // Open containers, innermost last.
    let mut open: Vec<u8> = Vec::new();
    let mut opened = s.value()?;
    loop {
        if let Some(c) = opened.take() {
            if open.len() >= MAX_DEPTH {
                return Err("exceeded max depth".to_owned());
            }
            open.push(c);
            s.skip_space();
            let empty = if c == b'{' {
                !s.key(true)?
            } else if s.peek()? == b']' {
                s.at += 1;
                true
            } else {
                false
            };
            if empty {
                open.pop();
            } else {
                opened = s.value()?;
                continue;
            }
        }
        // A value just ended inside the innermost container (or at top level).
        let Some(&inner) = open.last() else {
            s.skip_space();
            return match s.bytes.get(s.at) {
                None => Ok(()),
                Some(&c) => Err(invalid(c, "after top-level value")),
            };
        };
        s.skip_space();
        let c = s.next()?;
        match (inner, c) {
            (b'{', b',') => {
                s.key(false)?;
                opened = s.value()?;
            }
            (b'[', b',') => opened = s.value()?,
            (b'{', b'}') | (b'[', b']') => {
                open.pop();
            }
            (b'{', _) => return Err(invalid(c, "after object key:value pair")),
            _ => return Err(invalid(c, "after array element")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_go_does() {
        let cases: &[(&str, Option<&str>)] = &[
            (r#"{"auths": {"r": {"auth": "eA=="}}}"#, None),
            ("{}", None),
            ("null", None),
            (
                " {\"a\": [1, -2.5e+3, true, false, null, \"\\u00e9\"]} ",
                None,
            ),
            ("", Some(EOF)),
            ("{\"a\": ", Some(EOF)),
            (
                "[1]",
                Some("json: cannot unmarshal array into Go value of type map[string]interface {}"),
            ),
            (
                "\"s\"",
                Some("json: cannot unmarshal string into Go value of type map[string]interface {}"),
            ),
            (
                "12",
                Some("json: cannot unmarshal number into Go value of type map[string]interface {}"),
            ),
            (
                "not json",
                Some("invalid character 'o' in literal null (expecting 'u')"),
            ),
            (
                "x",
                Some("invalid character 'x' looking for beginning of value"),
            ),
            (
                "{a: 1}",
                Some("invalid character 'a' looking for beginning of object key string"),
            ),
            ("{\"a\" 1}", Some("invalid character '1' after object key")),
            (
                "{\"a\": 1 \"b\"}",
                Some("invalid character '\"' after object key:value pair"),
            ),
            ("[1 2]", Some("invalid character '2' after array element")),
            ("{} x", Some("invalid character 'x' after top-level value")),
            (
                "{\"a\": 01}",
                Some("invalid character '1' after object key:value pair"),
            ),
            (
                "{\"a\": -}",
                Some("invalid character '}' in numeric literal"),
            ),
            (
                "{\"a\": 1.}",
                Some("invalid character '}' after decimal point in numeric literal"),
            ),
            (
                "{\"a\": \"\\q\"}",
                Some("invalid character 'q' in string escape code"),
            ),
            (
                "{\"a\": \"\n\"}",
                Some("invalid character '\\n' in string literal"),
            ),
            (
                "{\"a\": [1,]}",
                Some("invalid character ']' looking for beginning of value"),
            ),
            (
                "{\"a\": 'x'}",
                Some("invalid character '\\'' looking for beginning of value"),
            ),
        ];
        for (doc, want) in cases {
            assert_eq!(object_error(doc.as_bytes()).as_deref(), *want, "{doc:?}");
        }
    }
}

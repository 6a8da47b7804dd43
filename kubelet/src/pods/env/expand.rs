//! `$(VAR)` references in env values, as upstream expands them: `$(NAME)` becomes the
//! variable's value when it is defined and stays as written when it is not; `$$` is a
//! literal `$`; any other `$` is kept, with the character after it.

/// Expands the references in `input`, looking names up with `lookup`.
pub(crate) fn expand<'a>(input: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(next) = after.chars().next() else {
            // A `$` that ends the input is kept.
            out.push('$');
            rest = after;
            break;
        };
        match next {
            '$' => {
                out.push('$');
                rest = &after[1..];
            }
            '(' => match after.find(')') {
                Some(close) => {
                    let name = &after[1..close];
                    match lookup(name) {
                        Some(value) => out.push_str(value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    // An unclosed reference is kept as written.
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            other => {
                // Upstream copies the byte after `$` as a character of its own; for
                // ASCII that is the same, and a multi-byte character is kept whole here
                // (upstream would mangle it).
                out.push('$');
                out.push(other);
                rest = &after[other.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn expands_as_upstream() {
        let vars = [("VAR_A", "A"), ("VAR_B", "B"), ("EMPTY", ""), ("", "blank")];
        let lookup = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let cases = [
            ("plain", "plain"),
            ("$(VAR_A)", "A"),
            ("___$(VAR_A)___", "___A___"),
            ("$(VAR_A)-$(VAR_B)", "A-B"),
            ("$(VAR_A)$(VAR_B)", "AB"),
            ("$(EMPTY)x", "x"),
            ("$(UNDEFINED)", "$(UNDEFINED)"),
            ("x$(UNDEFINED)y$(VAR_A)", "x$(UNDEFINED)yA"),
            ("$$(VAR_A)", "$(VAR_A)"),
            ("$$$(VAR_A)", "$A"),
            ("$$$$(VAR_A)", "$$(VAR_A)"),
            ("$$", "$"),
            ("$", "$"),
            ("a$", "a$"),
            ("$a", "$a"),
            ("$VAR_A", "$VAR_A"),
            ("${VAR_A}", "${VAR_A}"),
            ("$(VAR_A", "$(VAR_A"),
            ("$(", "$("),
            ("$()", "blank"),
            ("$(VAR_A)$(", "A$("),
            ("$(VAR_A)$", "A$"),
            ("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"),
            ("$(VAR_A)$(VAR_A)", "AA"),
            ("é$é$(VAR_A)", "é$éA"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, lookup), want, "input {input:?}");
        }
    }

    #[test]
    fn a_value_is_not_expanded_again() {
        let lookup = |name: &str| match name {
            "REF" => Some("$(OTHER)"),
            "OTHER" => Some("no"),
            _ => None,
        };
        assert_eq!(expand("$(REF)", lookup), "$(OTHER)");
    }
}

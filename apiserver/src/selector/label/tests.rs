use super::*;

fn labels(s: &str) -> BTreeMap<String, String> {
    s.split(',')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (kv.to_owned(), String::new()),
        })
        .collect()
}

#[test]
fn matching_follows_upstream_semantics() {
    // (selector, labels as `k=v,k=v`, matches)
    let cases = [
        ("", "", true),
        ("   ", "a=b", true),
        ("a=b", "a=b", true),
        ("a==b", "a=b", true),
        ("a=b", "a=c", false),
        ("a=b", "", false),
        ("a!=b", "a=c", true),
        ("a!=b", "a=b", false),
        ("a!=b", "", true),
        ("a", "a=", true),
        ("a", "b=a", false),
        ("!a", "b=a", true),
        ("!a", "a=x", false),
        ("a in (x,y)", "a=y", true),
        ("a in (x,y)", "a=z", false),
        ("a in (x,y)", "", false),
        ("a notin (x)", "a=y", true),
        ("a notin (x)", "a=x", false),
        ("a notin (x)", "", true),
        ("a in ()", "a=", true),
        ("a in (x,)", "a=", true),
        ("a=", "a=", true),
        ("a=", "a=x", false),
        ("a=b,c=d", "a=b,c=d", true),
        ("a=b,c=d", "a=b,c=e", false),
        ("a=b,!c", "a=b", true),
        ("  a = b ,\tc in ( d , e )  ", "a=b,c=e", true),
        ("in=notin", "in=notin", true),
        ("x in (in,notin)", "x=notin", true),
        ("a>5", "a=6", true),
        ("a>5", "a=5", false),
        ("a<5", "a=-3", true),
        ("a<5", "a=x", false),
        ("a>5", "", false),
        ("example.com/app=web", "example.com/app=web", true),
    ];
    for (sel, ls, want) in cases {
        let parsed = LabelSelector::parse(sel).unwrap_or_else(|e| panic!("{sel:?}: {e}"));
        assert_eq!(parsed.matches(&labels(ls)), want, "{sel:?} on {ls:?}");
    }
}

#[test]
fn parse_errors_say_what_upstream_says() {
    let cases = [
        ("a b", "found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a !b", "found '!', expected: in, notin"),
        (
            ",a",
            "found ',', expected: !, identifier, or 'end of string'",
        ),
        ("a,", "found '', expected: identifier after ','"),
        ("a,,b", "found ',', expected: identifier after ','"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("!", "found '', expected: identifier"),
        ("a=(b)", "found '(', expected: identifier"),
        ("a in b", "found 'b' expected: '('"),
        ("a in (b", "found '', expected: ',' or ')'"),
        ("a in (b c)", "found 'c', expected: ',' or ')'"),
        ("a in (=)", "found '=', expected: ',', ')' or identifier"),
        ("a in (b,=)", "found '=', expected: ',', or identifier"),
        (
            "a=-b",
            "values[0][a]: Invalid value: \"-b\": a valid label must be",
        ),
        (
            "a=b.",
            "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used",
        ),
        (
            "a>b",
            "values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        ("a<-1", "values[0][a]: Invalid value: \"-1\""),
        (
            "-a",
            "<nil>: Invalid value: \"-a\": name part must consist of",
        ),
        ("a/b/c", "a valid label key must consist of"),
        ("/a", "prefix part must be non-empty"),
        (
            "a/",
            "name part must be non-empty; name part must consist of",
        ),
        (
            "Example.com/a",
            "prefix part a lowercase RFC 1123 subdomain",
        ),
    ];
    for (sel, want) in cases {
        match LabelSelector::parse(sel) {
            Err(SelectorError::Parse(msg)) => {
                assert!(msg.contains(want), "{sel:?}: {msg:?} lacks {want:?}");
            }
            other => panic!("{sel:?}: expected a parse error, got {other:?}"),
        }
    }
    let long = "v".repeat(64);
    let err = LabelSelector::parse(&format!("a={long}")).unwrap_err();
    assert!(
        err.to_string()
            .contains("must be no more than 63 characters"),
        "{err}"
    );
    assert!(LabelSelector::parse(&format!("{}=a", "k".repeat(64))).is_err());
    assert!(LabelSelector::parse(&format!("{}=a", "k".repeat(63))).is_ok());
    assert!(LabelSelector::parse(&format!("a={}", "v".repeat(63))).is_ok());
    // Two problems with one value are aggregated.
    let err = LabelSelector::parse("a>x.").unwrap_err().to_string();
    assert!(
        err.contains("[values[0]: Invalid value") && err.contains(", values[0][a]"),
        "{err}"
    );
}

#[test]
fn displays_the_canonical_form() {
    let cases = [
        ("", ""),
        ("b=2, a", "a,b=2"),
        ("x notin ( c,a,a ),!y", "x notin (a,c),!y"),
        ("k==v,k2!=w", "k==v,k2!=w"),
        ("n>1,m<2", "m<2,n>1"),
        ("s in ()", "s in ()"),
    ];
    for (sel, want) in cases {
        let parsed = LabelSelector::parse(sel).unwrap_or_else(|e| panic!("{sel:?}: {e}"));
        assert_eq!(parsed.to_string(), want);
        assert_eq!(
            LabelSelector::parse(want).ok(),
            Some(parsed),
            "{want:?} reparses"
        );
    }
    assert!(LabelSelector::parse(" ").is_ok_and(|s| s.is_empty()));
    assert!(LabelSelector::parse("a").is_ok_and(|s| !s.is_empty()));
}

use super::*;

type Sample = (String, Vec<(String, String)>, f64);

/// Parses `name{k="v",…} value`, unescaping label values; `None` if malformed.
fn parse(line: &str) -> Option<Sample> {
    let (head, value) = line.rsplit_once(' ')?;
    let value = if value == "+Inf" {
        f64::INFINITY
    } else {
        value.parse().ok()?
    };
    let (name, mut rest) = head.split_once('{').unwrap_or((head, "}"));
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    if name.is_empty() || !name.chars().all(ok) || name.starts_with(|c: char| c.is_numeric()) {
        return None;
    }
    let mut labels = Vec::new();
    while let Some((key, r)) = rest.split_once("=\"") {
        let (mut v, mut chars) = (String::new(), r.char_indices());
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => v.push(match chars.next()?.1 {
                    'n' => '\n',
                    c @ ('\\' | '"') => c,
                    _ => return None,
                }),
                (_, c) => v.push(c),
            }
        };
        labels.push((key.trim_start_matches(',').to_owned(), v));
        rest = &r[end + 1..];
    }
    (rest == "}").then(|| (name.to_owned(), labels, value))
}

/// The value of the one sample of `name` whose labels include all of `want`.
fn value(text: &str, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let has = |l: &[(String, String)]| {
        want.iter()
            .all(|&(k, v)| l.iter().any(|p| p.0 == k && p.1 == v))
    };
    let lines = text.lines().filter(|l| !l.starts_with('#'));
    let found: Vec<_> = lines
        .filter_map(parse)
        .filter(|s| s.0 == name && has(&s.1))
        .collect();
    assert!(found.len() <= 1, "{name} {want:?} is ambiguous");
    found.first().map(|s| s.2)
}

fn render_family<V: Metric>(family: &Family<V>) -> String {
    let mut text = String::new();
    family.render(&mut text);
    text
}

#[test]
fn render_parses_and_is_sorted() {
    record_request(
        "GET",
        "",
        "v1",
        "parse-pods",
        "",
        200,
        Duration::from_millis(3),
    );
    record_storage("get", "parse-pods", Duration::from_millis(1));
    drop(watch_started("apps", "parse-deployments"));
    let text = render();
    let mut typed: Vec<&str> = Vec::new();
    for line in text.lines() {
        if let Some((name, kind)) = line.strip_prefix("# TYPE ").and_then(|r| r.split_once(' ')) {
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.push(name);
        } else if !line.starts_with("# HELP ") {
            let (name, _, _) = parse(line).unwrap_or_else(|| panic!("bad line {line:?}"));
            let family = *typed.last().expect("sample before any TYPE");
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s));
            assert!(
                name == family || base == Some(family),
                "{name} under {family}"
            );
        }
    }
    let mut sorted = typed.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(typed, sorted, "families sorted and declared once");
    assert!(typed.len() >= 8, "{typed:?}");
    if cfg!(target_os = "linux") {
        let rss = value(&text, "process_resident_memory_bytes", &[]);
        assert!(rss.is_some_and(|v| v > 0.0), "{rss:?}");
        let start = value(&text, "process_start_time_seconds", &[]);
        assert!(start.is_some_and(|v| v > 1.0e9), "{start:?}");
    }
}

#[test]
fn counters_increment() {
    let created = [
        ("resource", "count-pods"),
        ("code", "201"),
        ("verb", "POST"),
    ];
    for _ in 0..3 {
        record_request("POST", "", "v1", "count-pods", "", 201, Duration::ZERO);
    }
    record_request("POST", "", "v1", "count-pods", "", 409, Duration::ZERO);
    record_request("POST", "", "v1", "count-pods", "", 0, Duration::ZERO);
    record_request("POST", "", "v1", "count-pods", "", 65535, Duration::MAX);
    let text = render();
    assert_eq!(value(&text, "apiserver_request_total", &created), Some(3.0));
    for code in ["409", "0", "unknown"] {
        let labels = [("resource", "count-pods"), ("code", code)];
        assert_eq!(
            value(&text, "apiserver_request_total", &labels),
            Some(1.0),
            "{code}"
        );
    }
    let labels = [("resource", "count-pods"), ("verb", "POST")];
    let count = value(&text, "apiserver_request_duration_seconds_count", &labels);
    assert_eq!(count, Some(6.0));

    record_storage("list", "count-storage", Duration::from_millis(30));
    record_storage("list", "count-storage", Duration::from_millis(30));
    let text = render();
    let labels = [("operation", "list"), ("type", "count-storage")];
    assert_eq!(value(&text, "etcd_requests_total", &labels), Some(2.0));
    assert_eq!(
        value(&text, "etcd_request_duration_seconds_count", &labels),
        Some(2.0)
    );
    let bucket = |le| {
        value(
            &text,
            "etcd_request_duration_seconds_bucket",
            &[("le", le), labels[1]],
        )
    };
    assert_eq!((bucket("0.025"), bucket("0.05")), (Some(0.0), Some(2.0)));
}

#[test]
fn histogram_buckets_are_cumulative() {
    let family: Family<Histogram> = Family::new("h_seconds", "A test histogram.", &["x"]);
    for ms in [1, 5, 300, 100_000] {
        family.with(&["a"], |h| h.observe(Duration::from_millis(ms)));
    }
    let text = render_family(&family);
    assert!(text.starts_with("# HELP h_seconds A test histogram.\n# TYPE h_seconds histogram\n"));
    let buckets: Vec<(String, f64)> = (text.lines().filter_map(parse))
        .filter(|s| s.0 == "h_seconds_bucket")
        .map(|s| (s.1[1].1.clone(), s.2))
        .collect();
    assert_eq!(buckets.len(), LATENCY_BUCKETS.len() + 1);
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
    let at = |le: &str| buckets.iter().find(|b| b.0 == le).map(|b| b.1);
    // Upper bounds are inclusive: 5ms counts in le="0.005".
    let want = [
        ("0.005", 2.0),
        ("0.2", 2.0),
        ("0.4", 3.0),
        ("1", 3.0),
        ("60", 3.0),
        ("+Inf", 4.0),
    ];
    for (le, n) in want {
        assert_eq!(at(le), Some(n), "le={le}");
    }
    assert_eq!(value(&text, "h_seconds_count", &[]), Some(4.0));
    let sum = value(&text, "h_seconds_sum", &[]).expect("sum");
    assert!((sum - 100.306).abs() < 1e-9, "{sum}");
}

#[test]
fn labels_are_escaped_and_series_sorted() {
    let family: Family<AtomicU64> = Family::new("s_total", "Back\\slash\nline.", &["a", "b"]);
    let tricky = "a\"b\\c\nd";
    for (a, b) in [
        ("z", "1"),
        ("b", "2"),
        ("b", "1"),
        ("m", tricky),
        ("b", "1"),
    ] {
        family.with(&[a, b], |c| c.fetch_add(1, Relaxed));
    }
    let text = render_family(&family);
    let lines: Vec<&str> = text.lines().collect();
    let want = [
        r"# HELP s_total Back\\slash\nline.",
        "# TYPE s_total counter",
        r#"s_total{a="b",b="1"} 2"#,
        r#"s_total{a="b",b="2"} 1"#,
        r#"s_total{a="m",b="a\"b\\c\nd"} 1"#,
        r#"s_total{a="z",b="1"} 1"#,
    ];
    assert_eq!(lines, want);
    assert_eq!(value(&text, "s_total", &[("b", tricky)]), Some(1.0));
}

#[test]
fn guards_decrement_on_drop() {
    let labels = [
        ("verb", "WATCH"),
        ("group", "apps"),
        ("resource", "guard-rs"),
    ];
    let gauge = || value(&render(), "apiserver_longrunning_requests", &labels);
    let (first, second) = (
        watch_started("apps", "guard-rs"),
        watch_started("apps", "guard-rs"),
    );
    assert_eq!(gauge(), Some(2.0));
    drop(first);
    assert_eq!(gauge(), Some(1.0));
    drop(second);
    assert_eq!(gauge(), Some(0.0));
    let total = value(
        &render(),
        "apiserver_registered_watchers_total",
        &labels[1..],
    );
    assert_eq!(total, Some(2.0));

    // The only test that touches the in-flight gauges and the dropped counter.
    let kind = |k| [("request_kind", k)];
    let mutating = || {
        value(
            &render(),
            "apiserver_current_inflight_requests",
            &kind("mutating"),
        )
    };
    let (guard, read_only) = (inflight(true), inflight(false));
    assert_eq!(mutating(), Some(1.0));
    drop(guard);
    assert_eq!(mutating(), Some(0.0));
    drop(read_only);
    record_dropped(false);
    let dropped = value(
        &render(),
        "apiserver_dropped_requests_total",
        &kind("readOnly"),
    );
    assert_eq!(dropped, Some(1.0));
}

#[test]
fn procfs_parsing() {
    let stat = "42 (we ird) (x) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 12345 1000 9";
    assert_eq!(proc_stat(stat), Some([250, 50, 12345]));
    assert_eq!(proc_stat("42 (x) S 1"), None);
    assert_eq!(
        resident_bytes("Name:\tx\nVmRSS:\t   2048 kB\n"),
        Some(2048.0 * 1024.0)
    );
    assert_eq!(resident_bytes("Name:\tx\n"), None);
    assert_eq!(
        boot_time("cpu 1 2\nbtime 1700000000\n"),
        Some(1_700_000_000.0)
    );
}

//! Prometheus metrics: requests by verb/resource/code, latency histograms, watches, storage operations.
//!
//! One process-wide registry, rendered as Prometheus text exposition format 0.0.4 by
//! [`render`]. Metric names and labels follow kube-apiserver's. Recording is cheap: a
//! series is found by hashing the borrowed label values under a read lock and updated
//! with atomics; a `String` is allocated only the first time a label set is seen.
//!
//! Invariant: a family's label values are always given in the order of its label names.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use parking_lot::RwLock;

/// Upper bounds (seconds) of the latency buckets of `apiserver_request_duration_seconds`
/// and `etcd_request_duration_seconds`, as upstream.
pub const LATENCY_BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// Records one finished request (`apiserver_request_total`,
/// `apiserver_request_duration_seconds`). `verb` is upstream's uppercase verb.
pub fn record_request(
    verb: &str,
    group: &str,
    version: &str,
    resource: &str,
    subresource: &str,
    code: u16,
    elapsed: Duration,
) {
    let code = CODES
        .get(usize::from(code))
        .map_or("unknown", String::as_str);
    let labels = [verb, group, version, resource, subresource, code];
    REQUESTS.with(&labels, |c| c.fetch_add(1, Relaxed));
    let labels = [verb, group, version, resource, subresource];
    DURATIONS.with(&labels, |h| h.observe(elapsed));
}

/// A watch started: counts it, and counts it as running until the guard is dropped.
pub fn watch_started(group: &str, resource: &str) -> WatchGuard {
    WATCHES.with(&[group, resource], |c| c.fetch_add(1, Relaxed));
    let gauge = LONGRUNNING.with(&["WATCH", group, resource], Arc::clone);
    gauge.fetch_add(1, Relaxed);
    WatchGuard { gauge }
}

/// Records one storage operation (`get`, `list`, `create`, …) on objects of `resource`.
pub fn record_storage(operation: &str, resource: &str, elapsed: Duration) {
    let labels = [operation, resource];
    STORAGE.with(&labels, |h| h.observe(elapsed));
    STORAGE_TOTAL.with(&labels, |c| c.fetch_add(1, Relaxed));
}

/// A request of the given kind is in flight until the guard is dropped.
pub fn inflight(mutating: bool) -> InflightGuard {
    let gauge = &INFLIGHT[usize::from(mutating)];
    gauge.fetch_add(1, Relaxed);
    InflightGuard { gauge }
}

/// A request was rejected with 429 because the in-flight limit was reached.
pub fn record_dropped(mutating: bool) {
    DROPPED[usize::from(mutating)].fetch_add(1, Relaxed);
}

/// Every metric, process metrics included, as Prometheus text; families sorted by name,
/// series by label values.
pub fn render() -> String {
    let mut out = String::with_capacity(16 * 1024);
    let name = "apiserver_current_inflight_requests";
    let help = "Number of requests currently being served, per request kind.";
    header(&mut out, name, "gauge", help);
    for (kind, g) in REQUEST_KINDS.iter().zip(&INFLIGHT) {
        sample(&mut out, name, &[("request_kind", kind)], g.load(Relaxed));
    }
    let name = "apiserver_dropped_requests_total";
    let help = "Number of requests dropped with 'Try again later' response.";
    header(&mut out, name, "counter", help);
    for (kind, c) in REQUEST_KINDS.iter().zip(&DROPPED) {
        sample(&mut out, name, &[("request_kind", kind)], c.load(Relaxed));
    }
    LONGRUNNING.render(&mut out);
    WATCHES.render(&mut out);
    DURATIONS.render(&mut out);
    REQUESTS.render(&mut out);
    STORAGE.render(&mut out);
    STORAGE_TOTAL.render(&mut out);
    render_process(&mut out);
    out
}

static REQUESTS: Family<AtomicU64> = Family::new(
    "apiserver_request_total",
    "Counter of apiserver requests by verb, group, version, resource, subresource and code.",
    &[
        "verb",
        "group",
        "version",
        "resource",
        "subresource",
        "code",
    ],
);
static DURATIONS: Family<Histogram> = Family::new(
    "apiserver_request_duration_seconds",
    "Response latency distribution in seconds by verb, group, version, resource and subresource.",
    &["verb", "group", "version", "resource", "subresource"],
);
static LONGRUNNING: Family<Arc<AtomicI64>> = Family::new(
    "apiserver_longrunning_requests",
    "Gauge of all active long-running apiserver requests by verb, group and resource.",
    &["verb", "group", "resource"],
);
static WATCHES: Family<AtomicU64> = Family::new(
    "apiserver_registered_watchers_total",
    "Counter of watches started, broken out by group and resource.",
    &["group", "resource"],
);
static STORAGE: Family<Histogram> = Family::new(
    "etcd_request_duration_seconds",
    "Storage request latency in seconds for each operation and object type.",
    &["operation", "type"],
);
static STORAGE_TOTAL: Family<AtomicU64> = Family::new(
    "etcd_requests_total",
    "Storage request counts for each operation and object type.",
    &["operation", "type"],
);
/// `[readOnly, mutating]`, as `REQUEST_KINDS`.
static INFLIGHT: [AtomicI64; 2] = [AtomicI64::new(0), AtomicI64::new(0)];
static DROPPED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
const REQUEST_KINDS: [&str; 2] = ["readOnly", "mutating"];
/// Every HTTP status code (100–999) as text, so that recording does not format one.
static CODES: LazyLock<Box<[String]>> =
    LazyLock::new(|| (0..1000).map(|c: u16| c.to_string()).collect());

/// Ends a watch when dropped: decrements `apiserver_longrunning_requests`.
#[derive(Debug)]
#[must_use = "the watch counts as running only while the guard is alive"]
pub struct WatchGuard {
    gauge: Arc<AtomicI64>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.gauge.fetch_sub(1, Relaxed);
    }
}

/// Ends an in-flight request when dropped: decrements `apiserver_current_inflight_requests`.
#[derive(Debug)]
#[must_use = "the request counts as in flight only while the guard is alive"]
pub struct InflightGuard {
    gauge: &'static AtomicI64,
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.gauge.fetch_sub(1, Relaxed);
    }
}

/// A cumulative-at-render histogram: per-bucket counts, plus the sum in nanoseconds so
/// that it is exact and updated with one atomic add.
#[derive(Debug)]
struct Histogram {
    /// `counts[i]` observations fell in bucket `i` (the last one is `+Inf`).
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: (0..=LATENCY_BUCKETS.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let bucket = LATENCY_BUCKETS.partition_point(|&le| le < elapsed.as_secs_f64());
        if let Some(c) = self.counts.get(bucket) {
            c.fetch_add(1, Relaxed);
        }
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }
}

/// The value of one series, and how it is written out.
trait Metric: Default {
    /// The Prometheus type.
    const KIND: &'static str;
    /// Writes the sample line(s) of one series.
    fn write(&self, out: &mut String, name: &str, labels: &[(&str, &str)]);
}

impl Metric for AtomicU64 {
    const KIND: &'static str = "counter";
    fn write(&self, out: &mut String, name: &str, labels: &[(&str, &str)]) {
        sample(out, name, labels, self.load(Relaxed));
    }
}

impl Metric for Arc<AtomicI64> {
    const KIND: &'static str = "gauge";
    fn write(&self, out: &mut String, name: &str, labels: &[(&str, &str)]) {
        sample(out, name, labels, self.load(Relaxed));
    }
}

impl Metric for Histogram {
    const KIND: &'static str = "histogram";
    fn write(&self, out: &mut String, name: &str, labels: &[(&str, &str)]) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (i, n) in self.counts.iter().enumerate() {
            cumulative += n.load(Relaxed);
            let le = LATENCY_BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), f64::to_string);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            sample(out, &bucket, &with_le, cumulative);
        }
        // Nanoseconds to seconds: exact enough for any realistic total.
        let sum = self.sum_nanos.load(Relaxed) as f64 / 1e9;
        sample(out, &format!("{name}_sum"), labels, sum);
        sample(out, &format!("{name}_count"), labels, cumulative);
    }
}

/// One labelled series.
#[derive(Debug)]
struct Series<V> {
    labels: Box<[Box<str>]>,
    value: V,
}

/// A metric family: its series, found by the hash of their label values.
#[derive(Debug)]
struct Family<V> {
    name: &'static str,
    help: &'static str,
    label_names: &'static [&'static str],
    series: RwLock<HashMap<u64, Vec<Series<V>>, BuildHasherDefault<DefaultHasher>>>,
}

impl<V: Metric> Family<V> {
    const fn new(
        name: &'static str,
        help: &'static str,
        label_names: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            help,
            label_names,
            series: RwLock::new(HashMap::with_hasher(BuildHasherDefault::new())),
        }
    }

    /// Runs `f` on the series of `labels`, creating it on first use.
    fn with<R>(&self, labels: &[&str], f: impl FnOnce(&V) -> R) -> R {
        debug_assert_eq!(labels.len(), self.label_names.len(), "{}", self.name);
        let mut hasher = DefaultHasher::new();
        labels.hash(&mut hasher);
        let hash = hasher.finish();
        let same = |s: &&Series<V>| s.labels.iter().map(|l| &**l).eq(labels.iter().copied());
        if let Some(s) = self
            .series
            .read()
            .get(&hash)
            .and_then(|b| b.iter().find(same))
        {
            return f(&s.value);
        }
        let mut map = self.series.write();
        let bucket = map.entry(hash).or_default();
        if let Some(s) = bucket.iter().find(same) {
            return f(&s.value);
        }
        let labels = labels.iter().map(|&l| l.into()).collect();
        let series = Series {
            labels,
            value: V::default(),
        };
        let result = f(&series.value);
        bucket.push(series);
        result
    }

    /// HELP, TYPE and every series, sorted by label values.
    fn render(&self, out: &mut String) {
        header(out, self.name, V::KIND, self.help);
        let map = self.series.read();
        let mut series: Vec<&Series<V>> = map.values().flatten().collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        for s in series {
            let names = self.label_names.iter().copied();
            let labels: Vec<(&str, &str)> = names.zip(s.labels.iter().map(|l| &**l)).collect();
            s.value.write(out, self.name, &labels);
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample line: `name{labels} value`.
fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (n, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(n);
            out.push_str("=\"");
            escape_label_into(out, v);
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Appends a label value with `\`, `"` and newline escaped.
fn escape_label_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A HELP text with `\` and newline escaped.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Process metrics from procfs (Linux); left out where procfs cannot be read.
fn render_process(out: &mut String) {
    let read = |path| std::fs::read_to_string(path).unwrap_or_default();
    let stat = proc_stat(&read("/proc/self/stat"));
    let boot = boot_time(&read("/proc/stat"));
    let cpu = stat.map(|[user, system, _]| (user + system) as f64 / USER_HZ);
    let start = stat
        .zip(boot)
        .map(|([.., start], boot)| boot + start as f64 / USER_HZ);
    let metrics = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            cpu,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            resident_bytes(&read("/proc/self/status")),
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            start,
        ),
    ];
    for (name, kind, help, value) in metrics {
        if let Some(value) = value {
            header(out, name, kind, help);
            sample(out, name, &[], value);
        }
    }
}

/// Clock ticks per second of `/proc` times (`USER_HZ`): 100 on every mainstream Linux
/// architecture, and not readable without `sysconf`.
const USER_HZ: f64 = 100.0;

/// `[utime, stime, starttime]` (clock ticks) of `/proc/<pid>/stat`. The command name
/// (field 2) may contain spaces and parentheses, so fields are counted after its last `)`,
/// where field 3 starts.
fn proc_stat(text: &str) -> Option<[u64; 3]> {
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some([field(14)?, field(15)?, field(22)?])
}

/// `VmRSS` of `/proc/self/status`, in bytes.
fn resident_bytes(status: &str) -> Option<f64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib = line.trim().strip_suffix("kB")?.trim().parse::<f64>().ok()?;
    Some(kib * 1024.0)
}

/// `btime` of `/proc/stat`: boot time in seconds since the epoch.
fn boot_time(stat: &str) -> Option<f64> {
    let line = stat.lines().find_map(|l| l.strip_prefix("btime "))?;
    line.trim().parse().ok()
}

#[cfg(test)]
mod tests {
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
            if let Some((name, kind)) = line.strip_prefix("# TYPE ").and_then(|r| r.split_once(' '))
            {
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
        assert!(
            text.starts_with("# HELP h_seconds A test histogram.\n# TYPE h_seconds histogram\n")
        );
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
        let stat =
            "42 (we ird) (x) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 12345 1000 9";
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
}

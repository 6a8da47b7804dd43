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
mod tests;

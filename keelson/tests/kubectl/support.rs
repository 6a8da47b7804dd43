//! Helpers for the steps: kubectl runs that must succeed or fail, JSON read back from the
//! server, comparisons that say what differs, and a parser for kubectl's tables.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result, bail, ensure};
use keelson_apiserver::pointer::At;
use keelson_e2e::{Kubectl, KubectlOutput};
use serde_json::Value;

/// `kubectl ARGS`, which must succeed.
pub(crate) fn run_ok(k: &Kubectl, args: &[&str]) -> Result<KubectlOutput> {
    let out = k.run(args)?;
    ensure!(out.success(), "{out}");
    Ok(out)
}

/// `kubectl ARGS < stdin`, which must succeed.
pub(crate) fn run_ok_stdin(k: &Kubectl, args: &[&str], stdin: &str) -> Result<KubectlOutput> {
    let out = k.run_with_stdin(args, stdin)?;
    ensure!(out.success(), "{out}");
    Ok(out)
}

/// `kubectl -n shop WORDS` (split on whitespace), which must succeed.
pub(crate) fn shop(k: &Kubectl, words: &str) -> Result<KubectlOutput> {
    let mut args = vec!["-n", "shop"];
    args.extend(words.split_whitespace());
    run_ok(k, &args)
}

/// `kubectl -n shop get WORDS -o json`, parsed.
pub(crate) fn get(k: &Kubectl, words: &str) -> Result<Value> {
    let out = shop(k, &format!("get {words} -o json"))?;
    serde_json::from_str(&out.stdout).with_context(|| format!("not JSON: {out}"))
}

/// `kubectl apply -f -` with `manifest` as input.
pub(crate) fn apply_stdin(k: &Kubectl, manifest: &str) -> Result<KubectlOutput> {
    run_ok_stdin(k, &["apply", "-f", "-"], manifest)
}

/// `kubectl -n shop patch deployment web --type=TYPE -p BODY`.
pub(crate) fn patch_web(k: &Kubectl, patch_type: &str, body: &str) -> Result<KubectlOutput> {
    let patch_type = format!("--type={patch_type}");
    run_ok(
        k,
        &[
            "-n",
            "shop",
            "patch",
            "deployment",
            "web",
            &patch_type,
            "-p",
            body,
        ],
    )
}

/// `kubectl ARGS`, which must fail on its own (a non-zero exit, not a timeout).
pub(crate) fn run_fails(k: &Kubectl, args: &[&str]) -> Result<KubectlOutput> {
    let out = k.run(args)?;
    ensure!(
        !out.timed_out && out.code.is_some_and(|c| c != 0),
        "expected a failure:\n{out}"
    );
    Ok(out)
}

/// `kubectl -n shop WORDS`, which must answer NotFound.
pub(crate) fn not_found(k: &Kubectl, words: &str) -> Result<KubectlOutput> {
    let mut args = vec!["-n", "shop"];
    args.extend(words.split_whitespace());
    let out = run_fails(k, &args)?;
    ensure!(
        out.stderr.contains("(NotFound)"),
        "expected NotFound:\n{out}"
    );
    Ok(out)
}

/// `kubectl ARGS` (with `-o json` among them), parsed.
pub(crate) fn json_out(k: &Kubectl, args: &[&str]) -> Result<Value> {
    let out = run_ok(k, args)?;
    serde_json::from_str(&out.stdout).with_context(|| format!("not JSON: {out}"))
}

pub(crate) fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value.at(pointer).unwrap_or(&Value::Null)
}

/// The object's `kubectl.kubernetes.io/last-applied-configuration`, parsed.
pub(crate) fn last_applied(object: &Value) -> Option<Value> {
    let text = at(
        object,
        "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
    )
    .as_str()?;
    serde_json::from_str(text).ok()
}

/// The `name`s of a list of objects.
pub(crate) fn names(list: &Value) -> Value {
    Value::Array(
        list.as_array()
            .map(|items| items.iter().map(|i| at(i, "/name").clone()).collect())
            .unwrap_or_default(),
    )
}

pub(crate) fn same(actual: &Value, expected: &Value, what: &str) -> Result<()> {
    ensure!(
        actual == expected,
        "{what}: got {actual}, expected {expected}"
    );
    Ok(())
}

pub(crate) fn same_str(actual: Option<&String>, expected: &str, what: &str) -> Result<()> {
    ensure!(
        actual.map(String::as_str) == Some(expected),
        "{what}: got {actual:?}, expected {expected:?}"
    );
    Ok(())
}

pub(crate) fn same_text(actual: &str, expected: &str, what: &str) -> Result<()> {
    ensure!(
        actual == expected,
        "{what}: got {actual:?}, expected {expected:?}"
    );
    Ok(())
}

/// The command's output lines, as a set, must be `expected`.
pub(crate) fn same_lines(
    out: &KubectlOutput,
    expected: impl Iterator<Item = String>,
) -> Result<()> {
    let expected: BTreeSet<String> = expected.collect();
    let got: BTreeSet<String> = out.stdout.lines().map(str::to_owned).collect();
    if got != expected {
        let missing: Vec<_> = expected.difference(&got).collect();
        let extra: Vec<_> = got.difference(&expected).collect();
        bail!("missing lines {missing:?}, unexpected lines {extra:?}\n{out}");
    }
    Ok(())
}

pub(crate) fn fields(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The value after `key` on the first line of `describe` output that starts with it.
pub(crate) fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_owned())
}

/// The lines after a `describe` section header such as `Events:`.
pub(crate) fn section<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with(header))
        .skip(1)
        .collect()
}

/// kubectl's human-readable table: columns from the header (names are separated by at
/// least two spaces; a name may hold one, as in `NOMINATED NODE`), cells cut at the
/// header's column positions (kubectl aligns them), so empty cells stay empty.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<BTreeMap<String, String>>,
}

impl Table {
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let mut lines = text.lines().take_while(|l| !l.trim().is_empty());
        let header: Vec<char> = lines.next().context("no table header")?.chars().collect();
        let mut starts = Vec::new();
        let mut columns = Vec::new();
        let mut i = 0;
        while i < header.len() {
            if header[i] == ' ' {
                i += 1;
                continue;
            }
            let start = i;
            while i < header.len()
                && !(header[i] == ' ' && header.get(i + 1).is_none_or(|c| *c == ' '))
            {
                i += 1;
            }
            starts.push(start);
            columns.push(header[start..i].iter().collect::<String>());
        }
        ensure!(!columns.is_empty(), "empty table header");
        let rows = lines
            .map(|line| {
                let chars: Vec<char> = line.chars().collect();
                columns
                    .iter()
                    .enumerate()
                    .map(|(n, column)| {
                        let from = starts[n].min(chars.len());
                        let to = starts
                            .get(n + 1)
                            .copied()
                            .unwrap_or(chars.len())
                            .min(chars.len());
                        let cell: String = chars[from..to].iter().collect();
                        (column.clone(), cell.trim().to_owned())
                    })
                    .collect()
            })
            .collect();
        Ok(Self { columns, rows })
    }

    /// The first row whose `column` is `value`.
    pub(crate) fn row(&self, column: &str, value: &str) -> Option<&BTreeMap<String, String>> {
        self.rows
            .iter()
            .find(|r| r.get(column).map(String::as_str) == Some(value))
    }
}

#[test]
fn tables_parse_at_header_positions() {
    let text = "NAME    READY   NOMINATED NODE   AGE\n\
                web-0   0/2     <none>           1s\n\
                web-1           <none>           2s\n";
    let table = Table::parse(text).unwrap();
    assert_eq!(table.columns, ["NAME", "READY", "NOMINATED NODE", "AGE"]);
    assert_eq!(table.row("NAME", "web-1").unwrap()["READY"], "");
    assert_eq!(
        table.row("NAME", "web-0").unwrap()["NOMINATED NODE"],
        "<none>"
    );
    assert_eq!(table.row("NAME", "web-0").unwrap()["AGE"], "1s");
}

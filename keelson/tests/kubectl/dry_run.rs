//! Changes the server computes and does not store: `--dry-run=server` on create, apply,
//! delete and label, and `diff` (a server dry run compared with the live object).

use anyhow::{Context as _, Result, ensure};
use keelson_e2e::Kubectl;
use serde_json::{Value, json};

use crate::support::{apply_stdin, at, get, not_found, run_ok_stdin, same, same_text, shop};

pub(crate) fn dry_run_server(k: &Kubectl) -> Result<()> {
    let cm = |name: &str, value: &str| {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "shop"},
            "data": {"mode": value}
        })
        .to_string()
    };
    let out = run_ok_stdin(
        k,
        &["create", "-f", "-", "--dry-run=server", "-o", "json"],
        &cm("dry-1", "x"),
    )?;
    let created: Value =
        serde_json::from_str(&out.stdout).with_context(|| format!("not JSON: {out}"))?;
    same(
        at(&created, "/metadata/name"),
        &json!("dry-1"),
        "dry-run create answer",
    )?;
    ensure!(
        at(&created, "/metadata/uid").is_string(),
        "a dry-run create fills in the uid: {created}"
    );
    not_found(k, "get configmap dry-1")?;

    let out = run_ok_stdin(
        k,
        &["apply", "-f", "-", "--dry-run=server"],
        &cm("dry-2", "x"),
    )?;
    same_text(
        &out.stdout,
        "configmap/dry-2 created (server dry run)\n",
        "apply --dry-run=server (create)",
    )?;
    not_found(k, "get configmap dry-2")?;

    let before = get(k, "configmap web-config")?;
    let out = run_ok_stdin(
        k,
        &["apply", "-f", "-", "--dry-run=server", "-o", "json"],
        &cm("web-config", "purple"),
    )?;
    let answered: Value =
        serde_json::from_str(&out.stdout).with_context(|| format!("not JSON: {out}"))?;
    same(
        at(&answered, "/data/mode"),
        &json!("purple"),
        "apply --dry-run=server (update) answer",
    )?;
    let after = get(k, "configmap web-config")?;
    same(
        at(&after, "/data"),
        at(&before, "/data"),
        "data after a dry-run apply",
    )?;
    same(
        at(&after, "/metadata/resourceVersion"),
        at(&before, "/metadata/resourceVersion"),
        "resourceVersion after a dry-run apply",
    )?;

    let out = shop(k, "delete configmap web-config --dry-run=server")?;
    same_text(
        &out.stdout,
        "configmap \"web-config\" deleted (server dry run)\n",
        "delete --dry-run=server",
    )?;
    shop(k, "get configmap web-config")?;

    shop(k, "label pod web-0 dry=run --dry-run=server")?;
    same(
        at(&get(k, "pod web-0")?, "/metadata/labels/dry"),
        &Value::Null,
        "label --dry-run=server stored",
    )?;
    Ok(())
}

pub(crate) fn diff(k: &Kubectl) -> Result<()> {
    let cm = |name: &str, value: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: shop\n\
             data:\n  key: {value}\n"
        )
    };
    apply_stdin(k, &cm("diff-me", "one"))?;

    let out = k.run_with_stdin(&["diff", "-f", "-"], &cm("diff-me", "one"))?;
    ensure!(
        out.code == Some(0) && out.stdout.is_empty(),
        "diff against the live state: empty, exit 0:\n{out}"
    );

    let out = k.run_with_stdin(&["diff", "-f", "-"], &cm("diff-me", "two"))?;
    ensure!(
        out.code == Some(1)
            && out.stdout.lines().any(|l| l == "-  key: one")
            && out.stdout.lines().any(|l| l == "+  key: two"),
        "diff with a change: the change, exit 1:\n{out}"
    );
    same(
        at(&get(k, "configmap diff-me")?, "/data/key"),
        &json!("one"),
        "data after diff",
    )?;

    let out = k.run_with_stdin(&["diff", "-f", "-"], &cm("diff-new", "new"))?;
    ensure!(
        out.code == Some(1) && out.stdout.lines().any(|l| l == "+  name: diff-new"),
        "diff of a new object: all added, exit 1:\n{out}"
    );
    not_found(k, "get configmap diff-new")?;
    Ok(())
}

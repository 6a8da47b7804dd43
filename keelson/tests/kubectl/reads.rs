//! Reads: `version`, output formats (yaml, json, name, jsonpath, custom-columns) with label
//! and field selectors, pagination, `describe` with events, and `get -w` over a watch.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use keelson_e2e::Kubectl;
use serde_json::json;

use crate::support::{
    Table, apply_stdin, at, field, fields, get, json_out, run_ok, run_ok_stdin, same, same_str,
    same_text, section, shop,
};

pub(crate) fn version(k: &Kubectl) -> Result<()> {
    let v = json_out(k, &["version", "-o", "json"])?;
    same(
        at(&v, "/clientVersion/minor"),
        &json!(k.minor().to_string()),
        "clientVersion.minor",
    )?;
    same(
        at(&v, "/serverVersion/major"),
        &json!("1"),
        "serverVersion.major",
    )?;
    let git = at(&v, "/serverVersion/gitVersion").as_str().unwrap_or("");
    ensure!(git.starts_with("v1."), "serverVersion.gitVersion {git:?}");
    Ok(())
}

pub(crate) fn output_formats(k: &Kubectl) -> Result<()> {
    let out = shop(k, "get pod web-0 -o yaml")?;
    for expected in [
        "apiVersion: v1\n",
        "kind: Pod\n",
        "  name: web-0\n",
        "  namespace: shop\n",
    ] {
        ensure!(
            out.stdout.contains(expected),
            "-o yaml lacks {expected:?}:\n{}",
            out.stdout
        );
    }
    same(
        at(&get(k, "pod web-0")?, "/kind"),
        &json!("Pod"),
        "-o json kind",
    )?;

    let out = shop(k, "get deployments,pods -o name")?;
    same_text(&out.stdout, "deployment.apps/web\npod/web-0\n", "-o name")?;

    let out = shop(k, "get pod web-0 -o jsonpath={.spec.containers[*].name}")?;
    same_text(&out.stdout, "web sidecar", "-o jsonpath")?;

    let out = shop(
        k,
        r#"get deployments -o jsonpath={range.items[*]}{.metadata.name}={.spec.template.spec.containers[0].image}{"\n"}{end}"#,
    )?;
    same_text(&out.stdout, "web=nginx:1.26\n", "-o jsonpath with range")?;

    let out = shop(
        k,
        "get deployments -o custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas",
    )?;
    let table = Table::parse(&out.stdout)?;
    let row = table.row("NAME", "web").context("custom-columns: no web")?;
    same_str(row.get("REPLICAS"), "2", "custom-columns REPLICAS")?;

    // Label selectors, evaluated by the server.
    for (selector, expected) in [
        ("tier=backend", "pod/web-0\n"),
        ("app in (web,api),tier notin (frontend)", "pod/web-0\n"),
        ("!missing,owner", "pod/web-0\n"),
        ("tier=frontend", ""),
    ] {
        let out = run_ok(
            k,
            &["-n", "shop", "get", "pods", "-l", selector, "-o", "name"],
        )?;
        same_text(&out.stdout, expected, &format!("get pods -l {selector:?}"))?;
    }
    let out = shop(k, "get pods -l tier=frontend")?;
    ensure!(
        out.stderr.contains("No resources found in shop namespace."),
        "an empty selection says so:\n{out}"
    );

    // Field selectors, evaluated by the server.
    for (args, expected) in [
        (
            "get pods --field-selector status.phase=Pending",
            "pod/web-0\n",
        ),
        ("get pods --field-selector status.phase=Running", ""),
        (
            "get configmaps --field-selector metadata.name=web-config",
            "configmap/web-config\n",
        ),
        (
            "get events --field-selector involvedObject.kind=Pod,reason=Started",
            "event/web-0.started\n",
        ),
    ] {
        let out = shop(k, &format!("{args} -o name"))?;
        same_text(&out.stdout, expected, &format!("kubectl {args}"))?;
    }
    Ok(())
}

pub(crate) fn pagination(k: &Kubectl) -> Result<()> {
    let names = [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
        "shop",
    ];
    let out = run_ok(k, &["get", "namespaces", "--chunk-size=1", "-o", "name"])?;
    let expected: String = names.iter().map(|n| format!("namespace/{n}\n")).collect();
    same_text(
        &out.stdout,
        &expected,
        "get namespaces --chunk-size=1 -o name",
    )?;
    // Tables are paged too: one header, every row.
    let out = run_ok(k, &["get", "namespaces", "--chunk-size=2"])?;
    let table = Table::parse(&out.stdout)?;
    let got: Vec<&str> = table
        .rows
        .iter()
        .filter_map(|r| r.get("NAME").map(String::as_str))
        .collect();
    ensure!(
        got == names,
        "get namespaces --chunk-size=2:\n{}",
        out.stdout
    );
    Ok(())
}

pub(crate) fn describe(k: &Kubectl) -> Result<()> {
    // describe lists events by involvedObject name, namespace and uid: give each object one.
    let pod_uid = shop(k, "get pod web-0 -o jsonpath={.metadata.uid}")?.stdout;
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web-0.pulled", "namespace": "shop"},
        "involvedObject": {
            "apiVersion": "v1", "kind": "Pod", "name": "web-0", "namespace": "shop", "uid": pod_uid
        },
        "reason": "Pulled",
        "message": "Successfully pulled image nginx:1.25.5",
        "type": "Normal",
        "count": 1,
        "firstTimestamp": "2024-01-01T00:00:00Z",
        "lastTimestamp": "2024-01-01T00:00:00Z",
        "source": {"component": "kubelet"}
    });
    let out = run_ok_stdin(k, &["create", "-f", "-"], &event.to_string())?;
    same_text(&out.stdout, "event/web-0.pulled created\n", "create event")?;

    let out = shop(k, "describe pod web-0")?;
    let text = &out.stdout;
    same_str(field(text, "Name:").as_ref(), "web-0", "describe pod: Name")?;
    same_str(
        field(text, "Namespace:").as_ref(),
        "shop",
        "describe pod: Namespace",
    )?;
    same_str(
        field(text, "Status:").as_ref(),
        "Pending",
        "describe pod: Status",
    )?;
    same_str(
        field(text, "Labels:").as_ref(),
        "app=web",
        "describe pod: Labels",
    )?;
    ensure!(
        text.lines()
            .any(|l| l.trim_start().starts_with("Image:") && l.ends_with("nginx:1.25.5")),
        "describe pod lacks the image:\n{text}"
    );
    ensure!(
        section(text, "Events:").iter().any(|l| l.contains("Pulled")
            && l.contains("kubelet")
            && l.contains("Successfully pulled image nginx:1.25.5")),
        "describe pod lists no Pulled event:\n{text}"
    );

    let deploy_uid = shop(k, "get deployment web -o jsonpath={.metadata.uid}")?.stdout;
    let event = json!({
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "web.scaled", "namespace": "shop"},
        "regarding": {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "shop",
            "uid": deploy_uid
        },
        "reason": "ScalingReplicaSet",
        "note": "Scaled up replica set web-5d4f to 2",
        "type": "Normal",
        "action": "Scale",
        "reportingController": "deployment-controller",
        "reportingInstance": "dc-1",
        "eventTime": "2024-01-01T00:00:00.000000Z"
    });
    run_ok_stdin(k, &["create", "-f", "-"], &event.to_string())?;
    let out = shop(k, "describe deployment web")?;
    let text = &out.stdout;
    same_str(
        field(text, "Name:").as_ref(),
        "web",
        "describe deployment: Name",
    )?;
    same_str(
        field(text, "Selector:").as_ref(),
        "app=web",
        "describe deployment: Selector",
    )?;
    ensure!(
        field(text, "Replicas:").is_some_and(|r| r.starts_with("2 desired")),
        "describe deployment: Replicas:\n{text}"
    );
    ensure!(
        text.lines()
            .any(|l| l.trim_start().starts_with("Image:") && l.ends_with("nginx:1.26")),
        "describe deployment lacks the image:\n{text}"
    );
    ensure!(
        section(text, "Events:")
            .iter()
            .any(|l| l.contains("ScalingReplicaSet")
                && l.contains("deployment-controller")
                && l.contains("Scaled up replica set web-5d4f to 2")),
        "describe deployment lists no ScalingReplicaSet event (created as events.k8s.io/v1, \
         listed through core/v1 by involvedObject.uid):\n{text}"
    );
    Ok(())
}

pub(crate) fn watch(k: &Kubectl) -> Result<()> {
    let wait = Duration::from_secs(10);
    let mut w = k
        .command(&[
            "-n",
            "shop",
            "get",
            "configmaps",
            "--watch",
            "--output-watch-events",
        ])
        .timeout(Duration::from_secs(40))
        .spawn()?;
    // The list first: existing objects as ADDED rows.
    w.wait_for_line(wait, |l| {
        fields(l).starts_with(&["ADDED", "web-config", "1"])
    })?;
    let header = w.stdout_lines().first().cloned().unwrap_or_default();
    ensure!(
        fields(&header) == ["EVENT", "NAME", "DATA", "AGE"],
        "get -w --output-watch-events header: {header:?}"
    );
    apply_stdin(
        k,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"watched","namespace":"shop"},"data":{"a":"1","b":"2"}}"#,
    )?;
    w.wait_for_line(wait, |l| fields(l).starts_with(&["ADDED", "watched", "2"]))?;
    shop(k, "label configmap watched color=red")?;
    w.wait_for_line(wait, |l| {
        fields(l).starts_with(&["MODIFIED", "watched", "2"])
    })?;
    shop(k, "delete configmap watched")?;
    w.wait_for_line(wait, |l| {
        fields(l).starts_with(&["DELETED", "watched", "2"])
    })?;
    let out = w.stop()?;
    ensure!(
        out.stderr.trim().is_empty(),
        "get -w printed errors:\n{out}"
    );

    // Pods: rows from the pod printer over the watch.
    let mut w = k
        .command(&["-n", "shop", "get", "pods", "-w"])
        .timeout(Duration::from_secs(40))
        .spawn()?;
    w.wait_for_line(wait, |l| {
        fields(l).starts_with(&["web-0", "0/2", "Pending", "0"])
    })?;
    shop(k, "annotate pod web-0 watched=yes")?;
    w.wait_for_line(wait, |l| {
        fields(l).starts_with(&["web-0", "0/2", "Pending", "0"])
    })?;
    w.stop()?;
    shop(k, "annotate pod web-0 watched-")?;
    Ok(())
}

//! `kubectl apply`: every kind created from one file, then changed by a three-way strategic
//! merge; a second apply of the same file changes nothing.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, ensure};
use keelson_e2e::Kubectl;
use serde_json::{Value, json};

use crate::manifests::{
    ALL_KINDS, ALL_KINDS_APPLIED, ALWAYS_CONFIGURED, CHANGED, changed_manifest,
};
use crate::support::{at, get, json_out, last_applied, names, run_ok, same, same_lines, shop};

pub(crate) fn apply_every_kind(k: &Kubectl) -> Result<()> {
    let path = k.write_file("all.yaml", ALL_KINDS)?;
    let path = path.to_string_lossy().into_owned();
    let args = ["apply", "-f", &path];
    let out = run_ok(k, &args)?;
    same_lines(
        &out,
        ALL_KINDS_APPLIED.iter().map(|o| format!("{o} created")),
    )?;
    ensure!(
        !out.stderr.to_lowercase().contains("warning"),
        "a clean apply printed warnings:\n{out}"
    );

    // Everything back in one command, the way `get -f` reads each object.
    let list = json_out(k, &["get", "-f", &path, "-o", "json"])?;
    let items = at(&list, "/items").as_array().cloned().unwrap_or_default();
    ensure!(
        items.len() == ALL_KINDS_APPLIED.len(),
        "get -f all.yaml returned {} items, expected {}",
        items.len(),
        ALL_KINDS_APPLIED.len()
    );
    let mut by_kind = BTreeMap::new();
    for item in &items {
        let kind = at(item, "/kind").as_str().unwrap_or("").to_owned();
        for field in ["uid", "resourceVersion", "creationTimestamp"] {
            ensure!(
                at(item, &format!("/metadata/{field}")).is_string(),
                "{kind}: metadata.{field} missing: {item}"
            );
        }
        let applied = last_applied(item)
            .with_context(|| format!("{kind}: no last-applied-configuration: {item}"))?;
        same(
            at(&applied, "/kind"),
            at(item, "/kind"),
            "last-applied kind",
        )?;
        by_kind.insert(kind, item.clone());
    }
    let obj = |kind: &str| -> Result<&Value> {
        by_kind
            .get(kind)
            .with_context(|| format!("no {kind} in `get -f all.yaml`"))
    };

    let checks: &[(&str, &str, Value)] = &[
        ("Namespace", "/status/phase", json!("Active")),
        ("ConfigMap", "/data", json!({"mode": "blue"})),
        // Upstream merges stringData into data (base64) on write and never stores it.
        ("Secret", "/data", json!({"password": "aHVudGVyMg=="})),
        ("Secret", "/stringData", Value::Null),
        ("Secret", "/type", json!("Opaque")),
        ("Service", "/spec/selector", json!({"app": "web"})),
        ("Service", "/spec/ports/0/port", json!(80)),
        ("Service", "/spec/ports/0/targetPort", json!(8080)),
        ("Pod", "/spec/containers/1/name", json!("sidecar")),
        ("Pod", "/status/phase", json!("Pending")),
        ("Deployment", "/metadata/generation", json!(1)),
        ("Deployment", "/spec/replicas", json!(2)),
        ("ReplicaSet", "/spec/replicas", json!(1)),
        ("Endpoints", "/subsets/0/addresses/0/ip", json!("10.0.0.5")),
        ("EndpointSlice", "/addressType", json!("IPv4")),
        (
            "EndpointSlice",
            "/endpoints/0/addresses",
            json!(["10.0.0.5"]),
        ),
        ("Lease", "/spec/holderIdentity", json!("node-a")),
        ("StorageClass", "/provisioner", json!("example.com/fast")),
        ("PriorityClass", "/value", json!(1000)),
        ("PersistentVolume", "/spec/capacity/storage", json!("1Gi")),
        (
            "PersistentVolumeClaim",
            "/spec/resources/requests/storage",
            json!("1Gi"),
        ),
        ("Event", "/apiVersion", json!("events.k8s.io/v1")),
        ("Event", "/regarding/name", json!("web-0")),
        ("Event", "/note", json!("Started container web")),
    ];
    let mut wrong = Vec::new();
    for (kind, pointer, expected) in checks {
        let actual = at(obj(kind)?, pointer);
        if actual != expected {
            wrong.push(format!(
                "{kind} {pointer}: got {actual}, expected {expected}"
            ));
        }
    }
    ensure!(
        wrong.is_empty(),
        "stored objects differ:\n{}",
        wrong.join("\n")
    );

    // The same Event through core/v1.
    let core = get(k, "events web-0.started")?;
    same(
        at(&core, "/apiVersion"),
        &json!("v1"),
        "core event apiVersion",
    )?;
    same(
        at(&core, "/involvedObject/name"),
        &json!("web-0"),
        "core event involvedObject.name",
    )?;
    same(
        at(&core, "/message"),
        &json!("Started container web"),
        "core event message",
    )?;
    same(at(&core, "/reason"), &json!("Started"), "core event reason")?;
    Ok(())
}

pub(crate) fn apply_changes(k: &Kubectl) -> Result<()> {
    // A label only the live object has: a three-way strategic merge keeps it.
    shop(k, "label pod web-0 owner=ops")?;
    let path = k.write_file("all-changed.yaml", &changed_manifest()?)?;
    let path = path.to_string_lossy().into_owned();
    let args = ["apply", "-f", &path];
    let out = run_ok(k, &args)?;
    same_lines(
        &out,
        ALL_KINDS_APPLIED.iter().map(|o| {
            let verb = if CHANGED.contains(o) || ALWAYS_CONFIGURED.contains(o) {
                "configured"
            } else {
                "unchanged"
            };
            format!("{o} {verb}")
        }),
    )?;

    let cm = get(k, "configmap web-config")?;
    same(
        at(&cm, "/data"),
        &json!({"mode": "green"}),
        "configmap data",
    )?;

    let pod = get(k, "pod web-0")?;
    same(
        at(&pod, "/metadata/labels"),
        &json!({"app": "web", "tier": "backend", "owner": "ops"}),
        "pod labels (tier changed, the live-only owner kept)",
    )?;
    let containers = at(&pod, "/spec/containers");
    same(
        &names(containers),
        &json!(["web", "sidecar"]),
        "pod containers",
    )?;
    same(
        at(containers, "/0/image"),
        &json!("nginx:1.25.5"),
        "pod image",
    )?;
    same(
        at(containers, "/0/env"),
        &json!([{"name": "MODE", "value": "blue"}, {"name": "DEBUG", "value": "1"}]),
        "pod env (untouched)",
    )?;
    same(
        at(containers, "/0/ports/0/containerPort"),
        &json!(8080),
        "pod port",
    )?;
    same(
        at(containers, "/1/image"),
        &json!("busybox:1.36"),
        "sidecar image",
    )?;

    let deploy = get(k, "deployment web")?;
    let containers = at(&deploy, "/spec/template/spec/containers");
    same(&names(containers), &json!(["web"]), "deployment containers")?;
    same(
        at(containers, "/0/image"),
        &json!("nginx:1.26"),
        "deployment image",
    )?;
    same(
        at(containers, "/0/env"),
        &json!([{"name": "MODE", "value": "green"}]),
        "deployment env (DEBUG removed, MODE changed)",
    )?;
    same(
        at(&deploy, "/metadata/generation"),
        &json!(2),
        "deployment generation",
    )?;
    let applied = last_applied(&deploy).context("deployment: no last-applied-configuration")?;
    same(
        at(&applied, "/spec/template/spec/containers/0/image"),
        &json!("nginx:1.26"),
        "last-applied-configuration image",
    )?;

    // The same file again changes nothing, not even a resourceVersion.
    let rv = at(&deploy, "/metadata/resourceVersion").clone();
    let out = run_ok(k, &args)?;
    same_lines(
        &out,
        ALL_KINDS_APPLIED.iter().map(|o| {
            let verb = if ALWAYS_CONFIGURED.contains(o) {
                "configured"
            } else {
                "unchanged"
            };
            format!("{o} {verb}")
        }),
    )?;
    same(
        at(&get(k, "deployment web")?, "/metadata/resourceVersion"),
        &rv,
        "resourceVersion after a no-op apply",
    )?;
    Ok(())
}

//! Real kubectl against `keelson apiserver`: the scenarios users run every day, with
//! kubectl 1.33 and 1.29 (one test each, the same scenario), and kubectl 1.27 for apply and
//! get with `--validate=false` (its default validation needs OpenAPI v2 in protobuf).
//!
//! One API server per test; the steps of a scenario run in sequence against it and build
//! on each other (the objects the first `apply` creates are what later steps get, describe,
//! label, patch and delete). A failing step does not stop the scenario: every step runs,
//! and the test fails at the end listing each failing step with the kubectl command, its
//! output and what was expected, so one run shows every gap (a step can also fail because
//! an earlier one did; read the first failure first).
//!
//! Assertions are on what kubectl prints and on what the server stored (read back with
//! `get -o json`), not only on exit codes.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use keelson_e2e::{ApiServerOptions, ApiServerProcess, Kubectl, KubectlOutput};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// The tests

#[test]
fn kubectl_1_33_scenarios() {
    run_scenario(33, SCENARIO);
}

#[test]
fn kubectl_1_29_scenarios() {
    run_scenario(29, SCENARIO);
}

/// kubectl 1.27 validates against OpenAPI v2 in gnostic protobuf by default; with
/// `--validate=false`, apply (create and update paths) and get work.
#[test]
fn kubectl_1_27_applies_and_gets_with_validate_false() {
    run_scenario(
        27,
        &[
            ("apply every kind (--validate=false)", |k| {
                apply_every_kind_with(k, &["--validate=false"])
            }),
            ("apply changes (--validate=false)", |k| {
                apply_changes_with(k, &["--validate=false"])
            }),
            ("apply a kind: List (--validate=false)", |k| {
                apply_list_with(k, &["--validate=false"])
            }),
            ("get: Table columns", |k| {
                check_table(k, &POD_TABLE)?;
                check_table(k, &DEPLOYMENT_TABLE)
            }),
            ("get: output formats", |k| {
                let out = shop(k, "get deployments,pods -o name")?;
                same_text(&out.stdout, "deployment.apps/web\npod/web-0\n", "-o name")?;
                let d = get(k, "deployment web")?;
                same(
                    at(&d, "/metadata/generation"),
                    &json!(2),
                    "deployment generation",
                )
            }),
        ],
    );
}

type Step = fn(&Kubectl) -> Result<()>;

/// The scenario for kubectl 1.33 and 1.29, in order.
const SCENARIO: &[(&str, Step)] = &[
    ("version", version),
    ("apply every kind", apply_every_kind),
    ("apply changes (strategic merge)", apply_changes),
    ("get: Table columns per kind", tables),
    ("get: -o wide, multi-kind, -A, labels", table_variants),
    ("get: output formats and selectors", output_formats),
    ("get: pagination (--chunk-size)", pagination),
    ("api-resources and api-versions", api_resources),
    ("explain", explain),
    ("describe pod and deployment (with events)", describe),
    ("get -w (Table rows over a watch)", watch),
    ("label and annotate", label_and_annotate),
    ("patch: strategic, merge, json", patch),
    ("edit with a scripted EDITOR", edit),
    ("scale and rollout pause/resume/restart", scale_and_rollout),
    ("--dry-run=server", dry_run_server),
    ("diff", diff),
    ("delete", delete),
    ("wait --for=delete with a finalizer", wait_for_delete),
    ("apply a kind: List", apply_list),
    ("create (imperative generators)", create_generators),
];

/// Starts an API server and kubectl 1.`minor`, runs every step, and fails listing the
/// steps that failed.
fn run_scenario(minor: u32, steps: &[(&str, Step)]) {
    let server = ApiServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_keelson")),
        ApiServerOptions::default(),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let k = Kubectl::new(minor, &server.url()).unwrap_or_else(|err| panic!("{err}"));
    let mut failures = Vec::new();
    let started = Instant::now();
    for (name, step) in steps {
        let step_started = Instant::now();
        match step(&k) {
            Ok(()) => eprintln!(
                "kubectl 1.{minor}: ok   {name} ({:.1?})",
                step_started.elapsed()
            ),
            Err(err) => {
                eprintln!("kubectl 1.{minor}: FAIL {name}: {err:#}\n");
                failures.push(format!("── {name}\n{err:#}"));
            }
        }
    }
    eprintln!(
        "kubectl 1.{minor}: {} steps in {:.1?}",
        steps.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "kubectl 1.{minor}: {} of {} steps failed:\n\n{}\n\n── apiserver log (tail)\n{}",
        failures.len(),
        steps.len(),
        failures.join("\n\n"),
        server.log_tail(30)
    );
}

// ---------------------------------------------------------------------------------------
// The manifests

/// One object of every served kind, in the order `apply` creates them.
const ALL_KINDS: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
data:
  mode: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: web-secret
  namespace: shop
type: Opaque
stringData:
  password: hunter2
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: shop
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: shop
  labels:
    app: web
    tier: frontend
spec:
  containers:
  - name: web
    image: nginx:1.25
    env:
    - name: MODE
      value: blue
    - name: DEBUG
      value: "1"
    ports:
    - containerPort: 8080
  - name: sidecar
    image: busybox:1.36
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - name: MODE
          value: blue
        - name: DEBUG
          value: "1"
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-rs
  namespace: shop
spec:
  replicas: 1
  selector:
    matchLabels:
      app: rs
  template:
    metadata:
      labels:
        app: rs
    spec:
      containers:
      - name: c
        image: busybox:1.36
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web
  namespace: shop
subsets:
- addresses:
  - ip: 10.0.0.5
  ports:
  - name: http
    port: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: shop
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses:
  - 10.0.0.5
ports:
- name: http
  port: 8080
  protocol: TCP
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: leader
  namespace: shop
spec:
  holderIdentity: node-a
  leaseDurationSeconds: 15
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
provisioner: example.com/fast
reclaimPolicy: Delete
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high
value: 1000
description: important
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv-1
spec:
  capacity:
    storage: 1Gi
  accessModes:
  - ReadWriteOnce
  storageClassName: fast
  hostPath:
    path: /tmp/pv-1
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
spec:
  accessModes:
  - ReadWriteOnce
  storageClassName: fast
  resources:
    requests:
      storage: 1Gi
---
apiVersion: events.k8s.io/v1
kind: Event
metadata:
  name: web-0.started
  namespace: shop
regarding:
  apiVersion: v1
  kind: Pod
  name: web-0
  namespace: shop
reason: Started
note: Started container web
type: Normal
action: Start
reportingController: keelson-test
reportingInstance: test-1
eventTime: "2024-01-01T00:00:00.000000Z"
"#;

/// What `apply` prints for each object of [`ALL_KINDS`].
const ALL_KINDS_APPLIED: &[&str] = &[
    "namespace/shop",
    "configmap/web-config",
    "secret/web-secret",
    "serviceaccount/web",
    "service/web",
    "pod/web-0",
    "deployment.apps/web",
    "replicaset.apps/web-rs",
    "endpoints/web",
    "endpointslice.discovery.k8s.io/web-abc",
    "lease.coordination.k8s.io/leader",
    "storageclass.storage.k8s.io/fast",
    "priorityclass.scheduling.k8s.io/high",
    "persistentvolume/pv-1",
    "persistentvolumeclaim/data",
    "event.events.k8s.io/web-0.started",
];

/// The objects the changed manifest changes.
const CHANGED: &[&str] = &["configmap/web-config", "pod/web-0", "deployment.apps/web"];

/// [`ALL_KINDS`] with changes for the second apply: a ConfigMap value; the Pod's `tier`
/// label and its image (a change upstream allows on a pod); the Deployment's image, one env
/// var removed and another changed.
fn changed_manifest() -> Result<String> {
    let mut text = ALL_KINDS.to_owned();
    for (from, to) in [
        ("\n  mode: blue\n", "\n  mode: green\n"),
        ("\n    tier: frontend\n", "\n    tier: backend\n"),
        ("\n    image: nginx:1.25\n", "\n    image: nginx:1.25.5\n"),
        (
            "\n        image: nginx:1.25\n        env:\n        - name: MODE\n          value: blue\n        - name: DEBUG\n          value: \"1\"\n",
            "\n        image: nginx:1.26\n        env:\n        - name: MODE\n          value: green\n",
        ),
    ] {
        ensure!(
            text.matches(from).count() == 1,
            "test bug: {from:?} is not in the manifest exactly once"
        );
        text = text.replace(from, to);
    }
    Ok(text)
}

// ---------------------------------------------------------------------------------------
// Steps

fn version(k: &Kubectl) -> Result<()> {
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

fn apply_every_kind(k: &Kubectl) -> Result<()> {
    apply_every_kind_with(k, &[])
}

fn apply_every_kind_with(k: &Kubectl, extra: &[&str]) -> Result<()> {
    let path = k.write_file("all.yaml", ALL_KINDS)?;
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["apply", "-f", &path];
    args.extend(extra);
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

fn apply_changes(k: &Kubectl) -> Result<()> {
    apply_changes_with(k, &[])
}

fn apply_changes_with(k: &Kubectl, extra: &[&str]) -> Result<()> {
    // A label only the live object has: a three-way strategic merge keeps it.
    shop(k, "label pod web-0 owner=ops")?;
    let path = k.write_file("all-changed.yaml", &changed_manifest()?)?;
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["apply", "-f", &path];
    args.extend(extra);
    let out = run_ok(k, &args)?;
    same_lines(
        &out,
        ALL_KINDS_APPLIED.iter().map(|o| {
            let verb = if CHANGED.contains(o) {
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
        ALL_KINDS_APPLIED.iter().map(|o| format!("{o} unchanged")),
    )?;
    same(
        at(&get(k, "deployment web")?, "/metadata/resourceVersion"),
        &rv,
        "resourceVersion after a no-op apply",
    )?;
    Ok(())
}

/// Upstream's columns for one `get`, and cells expected in one row.
struct TableCase {
    args: &'static [&'static str],
    columns: &'static [&'static str],
    /// The row: the column and value that identify it.
    key: (&'static str, &'static str),
    /// Cells of that row.
    cells: &'static [(&'static str, &'static str)],
}

const POD_TABLE: TableCase = TableCase {
    args: &["-n", "shop", "get", "pods"],
    columns: &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
    key: ("NAME", "web-0"),
    cells: &[("READY", "0/2"), ("STATUS", "Pending"), ("RESTARTS", "0")],
};

const DEPLOYMENT_TABLE: TableCase = TableCase {
    args: &["-n", "shop", "get", "deployments"],
    columns: &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
    key: ("NAME", "web"),
    cells: &[("READY", "0/2"), ("UP-TO-DATE", "0"), ("AVAILABLE", "0")],
};

const TABLES: &[TableCase] = &[
    POD_TABLE,
    DEPLOYMENT_TABLE,
    TableCase {
        args: &["-n", "shop", "get", "replicasets"],
        columns: &["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        key: ("NAME", "web-rs"),
        cells: &[("DESIRED", "1"), ("CURRENT", "0"), ("READY", "0")],
    },
    TableCase {
        args: &["-n", "shop", "get", "services"],
        columns: &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ],
        key: ("NAME", "web"),
        cells: &[
            ("TYPE", "ClusterIP"),
            ("EXTERNAL-IP", "<none>"),
            ("PORT(S)", "80/TCP"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "configmaps"],
        columns: &["NAME", "DATA", "AGE"],
        key: ("NAME", "web-config"),
        cells: &[("DATA", "1")],
    },
    TableCase {
        args: &["-n", "shop", "get", "secrets"],
        columns: &["NAME", "TYPE", "DATA", "AGE"],
        key: ("NAME", "web-secret"),
        cells: &[("TYPE", "Opaque"), ("DATA", "1")],
    },
    TableCase {
        args: &["-n", "shop", "get", "serviceaccounts"],
        columns: &["NAME", "SECRETS", "AGE"],
        key: ("NAME", "web"),
        cells: &[("SECRETS", "0")],
    },
    TableCase {
        args: &["-n", "shop", "get", "endpoints"],
        columns: &["NAME", "ENDPOINTS", "AGE"],
        key: ("NAME", "web"),
        cells: &[("ENDPOINTS", "10.0.0.5:8080")],
    },
    TableCase {
        args: &["-n", "shop", "get", "endpointslices"],
        columns: &["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
        key: ("NAME", "web-abc"),
        cells: &[
            ("ADDRESSTYPE", "IPv4"),
            ("PORTS", "8080"),
            ("ENDPOINTS", "10.0.0.5"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "leases"],
        columns: &["NAME", "HOLDER", "AGE"],
        key: ("NAME", "leader"),
        cells: &[("HOLDER", "node-a")],
    },
    TableCase {
        args: &["get", "namespaces"],
        columns: &["NAME", "STATUS", "AGE"],
        key: ("NAME", "shop"),
        cells: &[("STATUS", "Active")],
    },
    TableCase {
        args: &["get", "storageclasses"],
        columns: &[
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "ALLOWVOLUMEEXPANSION",
            "AGE",
        ],
        key: ("NAME", "fast"),
        cells: &[
            ("PROVISIONER", "example.com/fast"),
            ("RECLAIMPOLICY", "Delete"),
            ("VOLUMEBINDINGMODE", "Immediate"),
            ("ALLOWVOLUMEEXPANSION", "false"),
        ],
    },
    TableCase {
        args: &["get", "priorityclasses"],
        columns: &["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
        key: ("NAME", "high"),
        cells: &[("VALUE", "1000"), ("GLOBAL-DEFAULT", "false")],
    },
    TableCase {
        args: &["get", "persistentvolumes"],
        columns: &[
            "NAME",
            "CAPACITY",
            "ACCESS MODES",
            "RECLAIM POLICY",
            "STATUS",
            "CLAIM",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "REASON",
            "AGE",
        ],
        key: ("NAME", "pv-1"),
        cells: &[
            ("CAPACITY", "1Gi"),
            ("ACCESS MODES", "RWO"),
            ("STORAGECLASS", "fast"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "persistentvolumeclaims"],
        columns: &[
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE",
        ],
        key: ("NAME", "data"),
        cells: &[("STORAGECLASS", "fast")],
    },
    TableCase {
        args: &["-n", "shop", "get", "events"],
        columns: &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        key: ("OBJECT", "pod/web-0"),
        cells: &[
            ("TYPE", "Normal"),
            ("REASON", "Started"),
            ("MESSAGE", "Started container web"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "events.events.k8s.io"],
        columns: &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        key: ("OBJECT", "pod/web-0"),
        cells: &[("REASON", "Started"), ("MESSAGE", "Started container web")],
    },
    TableCase {
        args: &["-n", "shop", "get", "pods", "-o", "wide"],
        columns: &[
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES",
        ],
        key: ("NAME", "web-0"),
        cells: &[("STATUS", "Pending"), ("IP", "<none>"), ("NODE", "<none>")],
    },
    TableCase {
        args: &["-n", "shop", "get", "deployments", "-o", "wide"],
        columns: &[
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
        key: ("NAME", "web"),
        cells: &[
            ("CONTAINERS", "web"),
            ("IMAGES", "nginx:1.26"),
            ("SELECTOR", "app=web"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "services", "-o", "wide"],
        columns: &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR",
        ],
        key: ("NAME", "web"),
        cells: &[("SELECTOR", "app=web")],
    },
];

fn tables(k: &Kubectl) -> Result<()> {
    let failures: Vec<String> = TABLES
        .iter()
        .filter_map(|case| check_table(k, case).err())
        .map(|err| format!("{err:#}"))
        .collect();
    ensure!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

fn check_table(k: &Kubectl, case: &TableCase) -> Result<()> {
    let out = run_ok(k, case.args)?;
    let command = format!("kubectl {}", case.args.join(" "));
    let table = Table::parse(&out.stdout).with_context(|| out.to_string())?;
    ensure!(
        table.columns == case.columns,
        "`{command}`: columns {:?}, upstream has {:?}\n{}",
        table.columns,
        case.columns,
        out.stdout
    );
    let row = table
        .row(case.key.0, case.key.1)
        .with_context(|| format!("`{command}`: no row with {:?}\n{}", case.key, out.stdout))?;
    for (column, value) in case.cells {
        let cell = row.get(*column).map(String::as_str);
        ensure!(
            cell == Some(*value),
            "`{command}`: column {column} of {:?}: {cell:?}, expected {value:?}\n{}",
            case.key,
            out.stdout
        );
    }
    Ok(())
}

fn table_variants(k: &Kubectl) -> Result<()> {
    // Two kinds in one get: a table per kind, names prefixed with the resource.
    let out = shop(k, "get pods,deployments")?;
    let firsts: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    ensure!(
        firsts == ["NAME", "pod/web-0", "NAME", "deployment.apps/web"],
        "get pods,deployments:\n{}",
        out.stdout
    );

    // Across namespaces kubectl adds NAMESPACE.
    let out = run_ok(k, &["get", "pods", "-A"])?;
    let table = Table::parse(&out.stdout)?;
    ensure!(
        table.columns.first().map(String::as_str) == Some("NAMESPACE"),
        "get pods -A:\n{}",
        out.stdout
    );
    let row = table
        .row("NAME", "web-0")
        .context("get pods -A: no web-0")?;
    same_str(row.get("NAMESPACE"), "shop", "get pods -A NAMESPACE")?;

    // Label columns come from the object metadata the server puts in each Table row.
    let out = shop(k, "get pods --show-labels -L tier")?;
    let table = Table::parse(&out.stdout)?;
    let row = table.row("NAME", "web-0").context("no web-0")?;
    same_str(row.get("TIER"), "backend", "-L tier")?;
    same_str(
        row.get("LABELS"),
        "app=web,owner=ops,tier=backend",
        "--show-labels",
    )?;

    let out = shop(k, "get deployments --no-headers")?;
    ensure!(
        out.stdout.lines().count() == 1 && out.stdout.starts_with("web "),
        "--no-headers:\n{}",
        out.stdout
    );
    Ok(())
}

fn output_formats(k: &Kubectl) -> Result<()> {
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

fn pagination(k: &Kubectl) -> Result<()> {
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

fn api_resources(k: &Kubectl) -> Result<()> {
    let out = run_ok(k, &["api-resources"])?;
    let table = Table::parse(&out.stdout)?;
    ensure!(
        table.columns == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
        "api-resources columns {:?}",
        table.columns
    );
    for (name, short, version, namespaced, kind) in [
        ("pods", "po", "v1", "true", "Pod"),
        ("services", "svc", "v1", "true", "Service"),
        ("namespaces", "ns", "v1", "false", "Namespace"),
        (
            "persistentvolumeclaims",
            "pvc",
            "v1",
            "true",
            "PersistentVolumeClaim",
        ),
        ("events", "ev", "v1", "true", "Event"),
        ("deployments", "deploy", "apps/v1", "true", "Deployment"),
        ("replicasets", "rs", "apps/v1", "true", "ReplicaSet"),
        ("leases", "", "coordination.k8s.io/v1", "true", "Lease"),
        (
            "endpointslices",
            "",
            "discovery.k8s.io/v1",
            "true",
            "EndpointSlice",
        ),
        ("events", "ev", "events.k8s.io/v1", "true", "Event"),
        (
            "priorityclasses",
            "pc",
            "scheduling.k8s.io/v1",
            "false",
            "PriorityClass",
        ),
        (
            "storageclasses",
            "sc",
            "storage.k8s.io/v1",
            "false",
            "StorageClass",
        ),
    ] {
        let row = table
            .rows
            .iter()
            .find(|r| {
                r.get("NAME").map(String::as_str) == Some(name)
                    && r.get("APIVERSION").map(String::as_str) == Some(version)
            })
            .with_context(|| format!("api-resources: no {name} in {version}:\n{}", out.stdout))?;
        for (column, value) in [
            ("SHORTNAMES", short),
            ("NAMESPACED", namespaced),
            ("KIND", kind),
        ] {
            same_str(
                row.get(column),
                value,
                &format!("api-resources {name} ({version}) {column}"),
            )?;
        }
    }

    let out = run_ok(k, &["api-resources", "-o", "wide"])?;
    let table = Table::parse(&out.stdout)?;
    let pods = table
        .row("NAME", "pods")
        .context("api-resources -o wide: no pods")?;
    same_str(
        pods.get("VERBS"),
        "create,delete,deletecollection,get,list,patch,update,watch",
        "pods VERBS",
    )?;
    same_str(pods.get("CATEGORIES"), "all", "pods CATEGORIES")?;

    let out = run_ok(k, &["api-resources", "--api-group=apps", "-o", "name"])?;
    let names: BTreeSet<&str> = out.stdout.lines().collect();
    ensure!(
        names.contains("deployments.apps")
            && names.contains("replicasets.apps")
            && names.iter().all(|n| n.ends_with(".apps")),
        "api-resources --api-group=apps:\n{}",
        out.stdout
    );
    let out = run_ok(k, &["api-resources", "--namespaced=false", "-o", "name"])?;
    let names: BTreeSet<&str> = out.stdout.lines().collect();
    for expected in [
        "namespaces",
        "persistentvolumes",
        "storageclasses.storage.k8s.io",
        "priorityclasses.scheduling.k8s.io",
    ] {
        ensure!(
            names.contains(expected),
            "--namespaced=false lacks {expected}:\n{}",
            out.stdout
        );
    }
    ensure!(!names.contains("pods"), "--namespaced=false lists pods");

    let out = run_ok(k, &["api-versions"])?;
    let versions: BTreeSet<&str> = out.stdout.lines().collect();
    for expected in [
        "v1",
        "apps/v1",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
        "events.k8s.io/v1",
        "scheduling.k8s.io/v1",
        "storage.k8s.io/v1",
    ] {
        ensure!(
            versions.contains(expected),
            "api-versions lacks {expected}:\n{}",
            out.stdout
        );
    }

    // Short names resolve through discovery.
    let out = shop(k, "get deploy,rs,po,svc,cm,sa,ep,pvc,sc,pc -o name")?;
    for expected in [
        "deployment.apps/web",
        "replicaset.apps/web-rs",
        "pod/web-0",
        "service/web",
        "configmap/web-config",
        "serviceaccount/web",
        "endpoints/web",
        "persistentvolumeclaim/data",
        "storageclass.storage.k8s.io/fast",
        "priorityclass.scheduling.k8s.io/high",
    ] {
        ensure!(
            out.stdout.lines().any(|l| l == expected),
            "short names: {expected} missing:\n{}",
            out.stdout
        );
    }
    Ok(())
}

fn explain(k: &Kubectl) -> Result<()> {
    let out = run_ok(k, &["explain", "pod.spec.containers"])?;
    let text = &out.stdout;
    for expected in [
        "KIND:       Pod",
        "VERSION:    v1",
        "FIELD: containers <[]Container>",
        "  name\t<string> -required-",
        "  image\t<string>",
    ] {
        ensure!(
            text.lines().any(|l| l == expected),
            "explain pod.spec.containers lacks the line {expected:?}:\n{text}"
        );
    }
    ensure!(
        text.contains("List of containers belonging to the pod."),
        "explain lacks the field's description:\n{text}"
    );

    let out = run_ok(k, &["explain", "deployment.spec.replicas"])?;
    for expected in [
        "GROUP:      apps",
        "KIND:       Deployment",
        "FIELD: replicas <integer>",
    ] {
        ensure!(
            out.stdout.lines().any(|l| l == expected),
            "explain deployment.spec.replicas lacks {expected:?}:\n{}",
            out.stdout
        );
    }
    let out = run_fails(k, &["explain", "pod.spec.nosuchfield"])?;
    ensure!(
        out.stderr.contains("nosuchfield"),
        "explain of a missing field names it:\n{out}"
    );
    Ok(())
}

fn describe(k: &Kubectl) -> Result<()> {
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

fn watch(k: &Kubectl) -> Result<()> {
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

fn label_and_annotate(k: &Kubectl) -> Result<()> {
    let labels = |k: &Kubectl| -> Result<Value> {
        Ok(at(&get(k, "pod web-0")?, "/metadata/labels").clone())
    };
    let out = shop(k, "label pod web-0 color=red")?;
    same_text(&out.stdout, "pod/web-0 labeled\n", "label")?;
    same(at(&labels(k)?, "/color"), &json!("red"), "label color")?;

    let out = run_fails(k, &["-n", "shop", "label", "pod", "web-0", "color=blue"])?;
    ensure!(
        out.stderr.contains("--overwrite is false"),
        "relabelling without --overwrite:\n{out}"
    );
    same(at(&labels(k)?, "/color"), &json!("red"), "label kept")?;

    shop(k, "label pod web-0 color=blue --overwrite")?;
    same(
        at(&labels(k)?, "/color"),
        &json!("blue"),
        "label overwritten",
    )?;

    let out = shop(k, "label pod web-0 color-")?;
    same_text(&out.stdout, "pod/web-0 unlabeled\n", "unlabel")?;
    same(
        &labels(k)?,
        &json!({"app": "web", "tier": "backend", "owner": "ops"}),
        "labels after removing color",
    )?;

    // Several objects by selector.
    let out = shop(k, "label deployments,pods -l app=web stage=test")?;
    ensure!(
        out.stdout.contains("deployment.apps/web labeled")
            && out.stdout.contains("pod/web-0 labeled"),
        "label by selector:\n{out}"
    );
    shop(k, "label deployments,pods -l app=web stage-")?;

    let out = run_ok(
        k,
        &[
            "-n",
            "shop",
            "annotate",
            "pod",
            "web-0",
            "example.com/note=hello world",
        ],
    )?;
    same_text(&out.stdout, "pod/web-0 annotated\n", "annotate")?;
    let pod = get(k, "pod web-0")?;
    same(
        at(&pod, "/metadata/annotations/example.com~1note"),
        &json!("hello world"),
        "annotation",
    )?;
    shop(k, "annotate pod web-0 example.com/note-")?;
    let pod = get(k, "pod web-0")?;
    same(
        at(&pod, "/metadata/annotations/example.com~1note"),
        &Value::Null,
        "removed annotation",
    )?;
    ensure!(
        last_applied(&pod).is_some(),
        "removing one annotation removed the others: {}",
        at(&pod, "/metadata/annotations")
    );
    Ok(())
}

fn patch(k: &Kubectl) -> Result<()> {
    let containers = |d: &Value| at(d, "/spec/template/spec/containers").clone();
    let generation = |d: &Value| at(d, "/metadata/generation").as_i64().unwrap_or(0);
    let before = get(k, "deployment web")?;

    // Strategic merge: containers merge by name. A new element comes first: without
    // $setElementOrder, upstream's merge puts patch items before server-only ones.
    let out = patch_web(
        k,
        "strategic",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"busybox:1.36"}]}}}}"#,
    )?;
    same_text(&out.stdout, "deployment.apps/web patched\n", "patch output")?;
    let d = get(k, "deployment web")?;
    same(
        &names(&containers(&d)),
        &json!(["extra", "web"]),
        "containers after adding extra",
    )?;
    same(
        at(&d, "/spec/template/spec/containers/1/env"),
        &json!([{"name": "MODE", "value": "green"}]),
        "web env kept by strategic merge",
    )?;
    ensure!(
        generation(&d) == generation(&before) + 1,
        "a spec change bumps generation: {} -> {}",
        generation(&before),
        generation(&d)
    );

    // Strategic is kubectl patch's default.
    run_ok(
        k,
        &[
            "-n",
            "shop",
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}"#,
        ],
    )?;
    let d = get(k, "deployment web")?;
    same(
        &containers(&d),
        &json!([
            {"name": "extra", "image": "busybox:1.36"},
            {"name": "web", "image": "nginx:1.27", "env": [{"name": "MODE", "value": "green"}]}
        ]),
        "containers after a strategic image change",
    )?;

    patch_web(
        k,
        "strategic",
        r#"{"spec":{"template":{"spec":{"containers":[{"$patch":"delete","name":"extra"}]}}}}"#,
    )?;
    same(
        &names(&containers(&get(k, "deployment web")?)),
        &json!(["web"]),
        "containers after $patch: delete",
    )?;

    // JSON merge patch: lists are replaced whole, null removes.
    patch_web(
        k,
        "merge",
        r#"{"metadata":{"labels":{"patched":"merge"}},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}"#,
    )?;
    let d = get(k, "deployment web")?;
    same(
        at(&d, "/metadata/labels/patched"),
        &json!("merge"),
        "merge-patched label",
    )?;
    same(
        &names(&containers(&d)),
        &json!(["web"]),
        "containers after merge patch",
    )?;
    same(
        at(&d, "/spec/template/spec/containers/0/env"),
        &Value::Null,
        "env after a merge patch replaced the containers list",
    )?;
    let g = generation(&d);
    patch_web(k, "merge", r#"{"metadata":{"labels":{"patched":null}}}"#)?;
    let d = get(k, "deployment web")?;
    same(
        at(&d, "/metadata/labels/patched"),
        &Value::Null,
        "label removed by null",
    )?;
    ensure!(
        generation(&d) == g,
        "a metadata-only change bumped generation {g} -> {}",
        generation(&d)
    );

    // JSON patch, with a test operation.
    patch_web(
        k,
        "json",
        r#"[{"op":"test","path":"/metadata/name","value":"web"},{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/labels/json","value":"yes"}]"#,
    )?;
    let d = get(k, "deployment web")?;
    same(at(&d, "/spec/replicas"), &json!(4), "json-patched replicas")?;
    same(
        at(&d, "/metadata/labels/json"),
        &json!("yes"),
        "json-patched label",
    )?;
    let rv = at(&d, "/metadata/resourceVersion").clone();
    run_fails(
        k,
        &[
            "-n",
            "shop",
            "patch",
            "deployment",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/metadata/name","value":"other"},{"op":"replace","path":"/spec/replicas","value":9}]"#,
        ],
    )?;
    let d = get(k, "deployment web")?;
    same(
        at(&d, "/spec/replicas"),
        &json!(4),
        "replicas after a failed test op",
    )?;
    same(
        at(&d, "/metadata/resourceVersion"),
        &rv,
        "resourceVersion after a failed patch",
    )?;

    // A patch that changes nothing says so: the server wrote nothing.
    let out = patch_web(k, "merge", r#"{"spec":{"replicas":4}}"#)?;
    same_text(
        &out.stdout,
        "deployment.apps/web patched (no change)\n",
        "no-op patch",
    )?;
    same(
        at(&get(k, "deployment web")?, "/metadata/resourceVersion"),
        &rv,
        "resourceVersion after a no-op patch",
    )?;
    Ok(())
}

fn edit(k: &Kubectl) -> Result<()> {
    let image = shop(
        k,
        "get deployment web -o jsonpath={.spec.template.spec.containers[0].image}",
    )?
    .stdout;
    ensure!(
        !image.is_empty() && image != "nginx:1.28",
        "unexpected image {image:?}"
    );
    let out = k
        .command(&["-n", "shop", "edit", "deployment", "web"])
        .env("EDITOR", &format!("sed -i s#{image}#nginx:1.28#"))
        .run()?;
    ensure!(out.success(), "{out}");
    same_text(&out.stdout, "deployment.apps/web edited\n", "edit output")?;
    let d = get(k, "deployment web")?;
    same(
        at(&d, "/spec/template/spec/containers/0/image"),
        &json!("nginx:1.28"),
        "image after edit",
    )?;
    let rv = at(&d, "/metadata/resourceVersion").clone();

    let out = k
        .command(&["-n", "shop", "edit", "deployment", "web"])
        .env("EDITOR", "true")
        .run()?;
    ensure!(out.success(), "{out}");
    ensure!(
        format!("{}{}", out.stdout, out.stderr).contains("Edit cancelled, no changes made."),
        "edit without changes:\n{out}"
    );
    same(
        at(&get(k, "deployment web")?, "/metadata/resourceVersion"),
        &rv,
        "resourceVersion after a cancelled edit",
    )?;
    Ok(())
}

fn scale_and_rollout(k: &Kubectl) -> Result<()> {
    let generation = |d: &Value| at(d, "/metadata/generation").as_i64().unwrap_or(0);
    let before = get(k, "deployment web")?;

    let out = shop(k, "scale deployment web --replicas=3")?;
    same_text(&out.stdout, "deployment.apps/web scaled\n", "scale output")?;
    let d = get(k, "deployment web")?;
    same(at(&d, "/spec/replicas"), &json!(3), "replicas after scale")?;
    ensure!(
        generation(&d) == generation(&before) + 1,
        "scale bumps generation: {} -> {}",
        generation(&before),
        generation(&d)
    );
    let scale = get(k, "deployment web --subresource=scale")?;
    same(
        at(&scale, "/apiVersion"),
        &json!("autoscaling/v1"),
        "Scale apiVersion",
    )?;
    same(at(&scale, "/kind"), &json!("Scale"), "Scale kind")?;
    same(
        at(&scale, "/spec/replicas"),
        &json!(3),
        "Scale spec.replicas",
    )?;
    same(
        at(&scale, "/status/selector"),
        &json!("app=web"),
        "Scale status.selector",
    )?;

    let out = run_fails(
        k,
        &[
            "-n",
            "shop",
            "scale",
            "deployment",
            "web",
            "--current-replicas=2",
            "--replicas=5",
        ],
    )?;
    ensure!(
        out.stderr.contains("Expected replicas to be 2, was 3"),
        "{out}"
    );
    same(
        at(&get(k, "deployment web")?, "/spec/replicas"),
        &json!(3),
        "replicas after a failed precondition",
    )?;

    shop(k, "scale replicaset web-rs --replicas=2")?;
    same(
        at(&get(k, "replicaset web-rs")?, "/spec/replicas"),
        &json!(2),
        "replicaset replicas after scale",
    )?;

    let out = shop(k, "rollout pause deployment/web")?;
    same_text(&out.stdout, "deployment.apps/web paused\n", "rollout pause")?;
    same(
        at(&get(k, "deployment web")?, "/spec/paused"),
        &json!(true),
        "spec.paused",
    )?;
    let out = shop(k, "rollout resume deployment/web")?;
    same_text(
        &out.stdout,
        "deployment.apps/web resumed\n",
        "rollout resume",
    )?;
    let paused = at(&get(k, "deployment web")?, "/spec/paused").clone();
    ensure!(
        paused.is_null() || paused == json!(false),
        "spec.paused after resume: {paused}"
    );

    let out = shop(k, "rollout restart deployment/web")?;
    same_text(
        &out.stdout,
        "deployment.apps/web restarted\n",
        "rollout restart",
    )?;
    let d = get(k, "deployment web")?;
    ensure!(
        at(
            &d,
            "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"
        )
        .is_string(),
        "rollout restart sets the restartedAt template annotation: {}",
        at(&d, "/spec/template")
    );
    Ok(())
}

fn dry_run_server(k: &Kubectl) -> Result<()> {
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

fn diff(k: &Kubectl) -> Result<()> {
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

fn delete(k: &Kubectl) -> Result<()> {
    apply_stdin(
        k,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scratch-1\n  namespace: shop\n  labels:\n    purpose: scratch\n\
         ---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scratch-2\n  namespace: shop\n  labels:\n    purpose: scratch\n\
         ---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: doomed\n  namespace: shop\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n",
    )?;
    let out = shop(k, "delete configmap scratch-1")?;
    same_text(
        &out.stdout,
        "configmap \"scratch-1\" deleted\n",
        "delete output",
    )?;
    let out = not_found(k, "get configmap scratch-1")?;
    ensure!(
        out.stderr.contains("configmaps \"scratch-1\" not found"),
        "get after delete:\n{out}"
    );

    let out = shop(k, "delete configmaps -l purpose=scratch")?;
    same_text(
        &out.stdout,
        "configmap \"scratch-2\" deleted\n",
        "delete -l",
    )?;
    let out = shop(k, "get configmaps -l purpose=scratch -o name")?;
    same_text(&out.stdout, "", "configmaps left after delete -l")?;

    // A pod that was never scheduled goes at once, as upstream.
    let out = k
        .command(&["-n", "shop", "delete", "pod", "doomed"])
        .timeout(Duration::from_secs(15))
        .run()?;
    ensure!(
        out.success() && out.stdout.contains("\"doomed\" deleted"),
        "{out}"
    );
    not_found(k, "get pod doomed")?;
    Ok(())
}

fn wait_for_delete(k: &Kubectl) -> Result<()> {
    apply_stdin(
        k,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"guarded","namespace":"shop","finalizers":["example.com/guard"]},"data":{"a":"b"}}"#,
    )?;
    let timeout = Duration::from_secs(30);
    let mut delete = k
        .command(&["-n", "shop", "delete", "configmap", "guarded"])
        .timeout(timeout)
        .spawn()?;

    // The finalizer holds the object: marked for deletion, still there.
    let started = Instant::now();
    loop {
        let cm = get(k, "configmap guarded")?;
        if at(&cm, "/metadata/deletionTimestamp").is_string() {
            same(
                at(&cm, "/metadata/finalizers"),
                &json!(["example.com/guard"]),
                "finalizers while deleting",
            )?;
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(10),
            "no deletionTimestamp 10 s after delete: {cm}"
        );
    }
    let mut wait = k
        .command(&[
            "-n",
            "shop",
            "wait",
            "--for=delete",
            "configmap/guarded",
            "--timeout=25s",
        ])
        .timeout(timeout)
        .spawn()?;
    // Neither may finish while the finalizer holds the object: give them a second (the
    // wait ends early if the command's output does).
    let _ = wait.wait_for_line(Duration::from_secs(1), |_| false);
    ensure!(
        wait.is_running() && delete.is_running(),
        "wait or delete ended while the finalizer held the object:\nwait: {:?}\ndelete: {:?}",
        wait.stdout_lines(),
        delete.stdout_lines()
    );

    run_ok(
        k,
        &[
            "-n",
            "shop",
            "patch",
            "configmap",
            "guarded",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ],
    )?;
    let out = wait.finish()?;
    ensure!(out.success(), "wait --for=delete:\n{out}");
    same_text(
        &out.stdout,
        "configmap/guarded condition met\n",
        "wait output",
    )?;
    let out = delete.finish()?;
    ensure!(out.success(), "delete:\n{out}");
    same_text(
        &out.stdout,
        "configmap \"guarded\" deleted\n",
        "delete output",
    )?;
    not_found(k, "get configmap guarded")?;
    Ok(())
}

fn apply_list(k: &Kubectl) -> Result<()> {
    apply_list_with(k, &[])
}

/// A `kind: List` (what `get -o yaml` of several objects prints) applied as a whole.
fn apply_list_with(k: &Kubectl, extra: &[&str]) -> Result<()> {
    let list = json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "listed-1", "namespace": "shop"}, "data": {"n": "1"}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "listed-2", "namespace": "shop"}, "data": {"n": "2"}}
        ]
    });
    let mut args = vec!["apply", "-f", "-"];
    args.extend(extra);
    let out = run_ok_stdin(k, &args, &list.to_string())?;
    same_text(
        &out.stdout,
        "configmap/listed-1 created\nconfigmap/listed-2 created\n",
        "apply of a List",
    )?;
    same(
        at(&get(k, "configmap listed-2")?, "/data"),
        &json!({"n": "2"}),
        "data of a listed object",
    )?;
    Ok(())
}

fn create_generators(k: &Kubectl) -> Result<()> {
    let out = run_ok(k, &["create", "namespace", "gen"])?;
    same_text(&out.stdout, "namespace/gen created\n", "create namespace")?;
    run_ok(
        k,
        &[
            "-n",
            "gen",
            "create",
            "configmap",
            "gen-cm",
            "--from-literal=greeting=hello",
        ],
    )?;
    let cm = json_out(
        k,
        &["-n", "gen", "get", "configmap", "gen-cm", "-o", "json"],
    )?;
    same(
        at(&cm, "/data"),
        &json!({"greeting": "hello"}),
        "created configmap",
    )?;
    run_ok(
        k,
        &[
            "-n",
            "gen",
            "create",
            "secret",
            "generic",
            "gen-secret",
            "--from-literal=token=abc",
        ],
    )?;
    let secret = json_out(
        k,
        &["-n", "gen", "get", "secret", "gen-secret", "-o", "json"],
    )?;
    same(
        at(&secret, "/data"),
        &json!({"token": "YWJj"}),
        "created secret",
    )?;
    run_ok(
        k,
        &[
            "-n",
            "gen",
            "create",
            "deployment",
            "gen-deploy",
            "--image=nginx:1.25",
            "--replicas=2",
        ],
    )?;
    let d = json_out(
        k,
        &["-n", "gen", "get", "deployment", "gen-deploy", "-o", "json"],
    )?;
    same(
        at(&d, "/spec/replicas"),
        &json!(2),
        "created deployment replicas",
    )?;
    same(
        at(&d, "/spec/template/spec/containers/0/image"),
        &json!("nginx:1.25"),
        "created deployment image",
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Helpers

/// `kubectl ARGS`, which must succeed.
fn run_ok(k: &Kubectl, args: &[&str]) -> Result<KubectlOutput> {
    let out = k.run(args)?;
    ensure!(out.success(), "{out}");
    Ok(out)
}

/// `kubectl ARGS < stdin`, which must succeed.
fn run_ok_stdin(k: &Kubectl, args: &[&str], stdin: &str) -> Result<KubectlOutput> {
    let out = k.run_with_stdin(args, stdin)?;
    ensure!(out.success(), "{out}");
    Ok(out)
}

/// `kubectl -n shop WORDS` (split on whitespace), which must succeed.
fn shop(k: &Kubectl, words: &str) -> Result<KubectlOutput> {
    let mut args = vec!["-n", "shop"];
    args.extend(words.split_whitespace());
    run_ok(k, &args)
}

/// `kubectl -n shop get WORDS -o json`, parsed.
fn get(k: &Kubectl, words: &str) -> Result<Value> {
    let out = shop(k, &format!("get {words} -o json"))?;
    serde_json::from_str(&out.stdout).with_context(|| format!("not JSON: {out}"))
}

/// `kubectl apply -f -` with `manifest` as input.
fn apply_stdin(k: &Kubectl, manifest: &str) -> Result<KubectlOutput> {
    run_ok_stdin(k, &["apply", "-f", "-"], manifest)
}

/// `kubectl -n shop patch deployment web --type=TYPE -p BODY`.
fn patch_web(k: &Kubectl, patch_type: &str, body: &str) -> Result<KubectlOutput> {
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
fn run_fails(k: &Kubectl, args: &[&str]) -> Result<KubectlOutput> {
    let out = k.run(args)?;
    ensure!(
        !out.timed_out && out.code.is_some_and(|c| c != 0),
        "expected a failure:\n{out}"
    );
    Ok(out)
}

/// `kubectl -n shop WORDS`, which must answer NotFound.
fn not_found(k: &Kubectl, words: &str) -> Result<KubectlOutput> {
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
fn json_out(k: &Kubectl, args: &[&str]) -> Result<Value> {
    let out = run_ok(k, args)?;
    serde_json::from_str(&out.stdout).with_context(|| format!("not JSON: {out}"))
}

fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value.pointer(pointer).unwrap_or(&Value::Null)
}

/// The object's `kubectl.kubernetes.io/last-applied-configuration`, parsed.
fn last_applied(object: &Value) -> Option<Value> {
    let text = at(
        object,
        "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
    )
    .as_str()?;
    serde_json::from_str(text).ok()
}

/// The `name`s of a list of objects.
fn names(list: &Value) -> Value {
    Value::Array(
        list.as_array()
            .map(|items| items.iter().map(|i| at(i, "/name").clone()).collect())
            .unwrap_or_default(),
    )
}

fn same(actual: &Value, expected: &Value, what: &str) -> Result<()> {
    ensure!(
        actual == expected,
        "{what}: got {actual}, expected {expected}"
    );
    Ok(())
}

fn same_str(actual: Option<&String>, expected: &str, what: &str) -> Result<()> {
    ensure!(
        actual.map(String::as_str) == Some(expected),
        "{what}: got {actual:?}, expected {expected:?}"
    );
    Ok(())
}

fn same_text(actual: &str, expected: &str, what: &str) -> Result<()> {
    ensure!(
        actual == expected,
        "{what}: got {actual:?}, expected {expected:?}"
    );
    Ok(())
}

/// The command's output lines, as a set, must be `expected`.
fn same_lines(out: &KubectlOutput, expected: impl Iterator<Item = String>) -> Result<()> {
    let expected: BTreeSet<String> = expected.collect();
    let got: BTreeSet<String> = out.stdout.lines().map(str::to_owned).collect();
    if got != expected {
        let missing: Vec<_> = expected.difference(&got).collect();
        let extra: Vec<_> = got.difference(&expected).collect();
        bail!("missing lines {missing:?}, unexpected lines {extra:?}\n{out}");
    }
    Ok(())
}

fn fields(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The value after `key` on the first line of `describe` output that starts with it.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_owned())
}

/// The lines after a `describe` section header such as `Events:`.
fn section<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with(header))
        .skip(1)
        .collect()
}

/// kubectl's human-readable table: columns from the header (names are separated by at
/// least two spaces; a name may hold one, as in `NOMINATED NODE`), cells cut at the
/// header's column positions (kubectl aligns them), so empty cells stay empty.
#[derive(Debug)]
struct Table {
    columns: Vec<String>,
    rows: Vec<BTreeMap<String, String>>,
}

impl Table {
    fn parse(text: &str) -> Result<Self> {
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
    fn row(&self, column: &str, value: &str) -> Option<&BTreeMap<String, String>> {
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

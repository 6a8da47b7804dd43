//! Real kubectl against `keelson apiserver`: the scenarios users run every day, with
//! kubectl 1.33, 1.29 and 1.27 (one test each, the same scenario).
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
//!
//! The steps are grouped by topic, a module each (`apply`, `tables`, `reads`, `discovery`,
//! `writes`, `dry_run`, `deletes`, `generators`, `invalid`); `manifests` holds what the
//! first `apply` creates and `support` the helpers every step uses.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod apply;
mod deletes;
mod discovery;
mod dry_run;
mod generators;
mod invalid;
mod manifests;
mod reads;
mod support;
mod tables;
mod writes;

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use keelson_e2e::{ApiServerOptions, ApiServerProcess, Kubectl};

use apply::{apply_changes, apply_every_kind};
use deletes::{delete, wait_for_delete};
use discovery::{api_resources, explain};
use dry_run::{diff, dry_run_server};
use generators::{apply_list, create_generators, unknown_fields};
use invalid::invalid_objects;
use reads::{describe, output_formats, pagination, version, watch};
use tables::{table_variants, tables};
use writes::{edit, label_and_annotate, patch, scale_and_rollout};

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

/// kubectl 1.27 and 1.28 validate against OpenAPI v2 in gnostic protobuf and explain from
/// it; the whole scenario runs with the oldest supported release too.
#[test]
fn kubectl_1_27_scenarios() {
    run_scenario(27, SCENARIO);
}

type Step = fn(&Kubectl) -> Result<()>;

/// The scenario every kubectl release runs, in order.
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
    ("unknown fields are refused", unknown_fields),
    ("invalid objects: upstream's field errors", invalid_objects),
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

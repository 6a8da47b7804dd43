//! Step 5 of the acceptance test: a pod whose container keeps crashing.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use keelson_e2e::Kubectl;
use serde_json::Value;

use crate::support::{eventually, get, run};
use keelson_apiserver::pointer::At;

const CRASHER: &str = include_str!("crasher.yaml");

/// The crash pod's `kubectl get pod` row: (STATUS, restart count from the JSON).
fn crasher_row(k: &Kubectl) -> Result<(String, u64)> {
    let table = run(k, &["get", "pod", "crasher", "--no-headers"])?;
    let status = table.stdout.split_whitespace().nth(2).unwrap_or("");
    let pod = get(k, &["pod", "crasher"])?;
    let restarts = pod
        .at("/status/containerStatuses/0/restartCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok((status.to_owned(), restarts))
}

/// Step 5: A container that exits with 1 after a second: CrashLoopBackOff, restarts growing
/// (the first restart at once, the second after the 10 s back-off).
pub(crate) fn crash_loop(k: &Kubectl) -> Result<()> {
    let manifest = k.write_file("crasher.yaml", CRASHER)?;
    run(k, &["apply", "-f", manifest.to_str().context("path")?])?;
    let first = eventually("CrashLoopBackOff", Duration::from_secs(40), || {
        let (status, restarts) = crasher_row(k)?;
        Ok(if status == "CrashLoopBackOff" && restarts >= 1 {
            Ok(restarts)
        } else {
            Err(format!("{status} after {restarts} restarts"))
        })
    })?;
    let pod = get(k, &["pod", "crasher"])?;
    let last = &pod["status"]["containerStatuses"][0]["lastState"]["terminated"];
    ensure!(
        last["exitCode"] == 1 && last["reason"] == "Error",
        "last state: {last}"
    );
    eventually(
        "a restart count that grows to 2 or more",
        Duration::from_secs(40),
        || {
            let (status, restarts) = crasher_row(k)?;
            Ok(if restarts >= 2 && restarts > first {
                Ok(())
            } else {
                Err(format!(
                    "{status} after {restarts} restarts (first {first})"
                ))
            })
        },
    )
}

//! kubectl helpers for the acceptance test: checked runs, JSON reads, bounded waits, and
//! the Deployment's pods as the test looks at them.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use keelson_e2e::{Kubectl, KubectlOutput};
use serde_json::Value;

use crate::up::pause;
use keelson_apiserver::pointer::At;

/// The deadline of one kubectl command (above every `--timeout` the test passes).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(100);

/// Runs `kubectl ARGS`, which must succeed.
pub(crate) fn run(k: &Kubectl, args: &[&str]) -> Result<KubectlOutput> {
    let out = k.command(args).timeout(COMMAND_TIMEOUT).run()?;
    ensure!(out.success(), "{out}");
    Ok(out)
}

/// `kubectl get ARGS -o json`.
pub(crate) fn get(k: &Kubectl, args: &[&str]) -> Result<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    let out = run(k, &all)?;
    serde_json::from_str(&out.stdout).with_context(|| format!("not JSON: {out}"))
}

/// The string at `pointer` in `value`, or "".
pub(crate) fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.at(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The `items` of a list.
pub(crate) fn items(list: &Value) -> &[Value] {
    list["items"].as_array().map_or(&[], Vec::as_slice)
}

/// `kubectl rollout status deployment/web` must report success within 90 s.
pub(crate) fn rollout_status(k: &Kubectl) -> Result<()> {
    let out = run(k, &["rollout", "status", "deployment/web", "--timeout=90s"])?;
    ensure!(
        out.stdout.contains("successfully rolled out"),
        "rollout status:\n{out}"
    );
    Ok(())
}

/// Calls `check` every 200 ms until it returns `Ok(Ok(value))`, for at most `timeout`.
/// `Ok(Err(state))` means "not yet"; the last state is in the timeout error.
pub(crate) fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Result<T, String>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check()? {
            Ok(value) => return Ok(value),
            Err(state) => state,
        };
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
        }
        pause(Duration::from_millis(200));
    }
}

/// One pod of the Deployment.
#[derive(Debug, Clone)]
pub(crate) struct WebPod {
    pub(crate) name: String,
    pub(crate) node: String,
    pub(crate) ip: String,
    pub(crate) image: String,
    pub(crate) phase: String,
    pub(crate) ready: bool,
    pub(crate) terminating: bool,
}

/// Every pod labelled `app=web`, terminating ones included.
pub(crate) fn web_pods(k: &Kubectl) -> Result<Vec<WebPod>> {
    let list = get(k, &["pods", "-l", "app=web"])?;
    Ok(items(&list)
        .iter()
        .map(|p| WebPod {
            name: text(p, "/metadata/name").to_owned(),
            node: text(p, "/spec/nodeName").to_owned(),
            ip: text(p, "/status/podIP").to_owned(),
            image: text(p, "/spec/containers/0/image").to_owned(),
            phase: text(p, "/status/phase").to_owned(),
            ready: p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True"),
            terminating: p.at("/metadata/deletionTimestamp").is_some(),
        })
        .collect())
}

/// The pods that are not being deleted.
pub(crate) fn live(pods: &[WebPod]) -> Vec<WebPod> {
    pods.iter().filter(|p| !p.terminating).cloned().collect()
}

/// Waits until exactly `count` pods are live, every one Running, Ready and on `image`
/// (terminating ones may linger); returns them.
pub(crate) fn wait_live_pods(k: &Kubectl, count: usize, image: &str) -> Result<Vec<WebPod>> {
    eventually(
        &format!("{count} Running, Ready pods on {image}"),
        Duration::from_secs(60),
        || {
            let pods = live(&web_pods(k)?);
            let done = pods.len() == count
                && pods
                    .iter()
                    .all(|p| p.phase == "Running" && p.ready && p.image == image);
            Ok(if done {
                Ok(pods)
            } else {
                Err(format!("{pods:#?}"))
            })
        },
    )
}

/// The Ready condition's status of `node` ("True", "False", "Unknown").
pub(crate) fn node_ready(k: &Kubectl, node: &str) -> Result<String> {
    let node = get(k, &["node", node])?;
    Ok(node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
        .to_owned())
}

//! The acceptance test of issue 7: `keelson up --nodes 3` (the built binary, a temporary
//! data dir, a port of its choosing) driven by real kubectl 1.33, as a user would: a
//! Deployment with a Service, a ConfigMap and a Secret rolls out across the nodes, is
//! updated, undone and scaled; a crashing pod backs off; a node that loses power has its
//! pods evicted and replaced; a cascading delete; and a restart on the same data dir keeps
//! every object and brings the nodes back.
//!
//! Every wait is bounded; the cluster is killed when the test fails (a guard with Drop).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "acceptance/crash.rs"]
mod crash;
#[path = "acceptance/support.rs"]
mod support;
#[path = "acceptance/up.rs"]
mod up;
#[path = "acceptance/watch.rs"]
mod watch;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use keelson_e2e::Kubectl;
use serde_json::Value;

use support::{
    eventually, get, items, live, node_ready, rollout_status, run, text, wait_live_pods, web_pods,
};
use up::{NODES, Up};
use watch::AvailabilityWatch;

const WEB: &str = include_str!("acceptance/web.yaml");
const V1: &str = "registry.local/web:1";
const V2: &str = "registry.local/web:2";
/// `maxUnavailable: 25%` of 3 replicas, rounded down as upstream does.
const MAX_UNAVAILABLE: usize = 0;
/// `maxSurge: 25%` of 3 replicas, rounded up as upstream does.
const MAX_SURGE: usize = 1;
/// The power switch of a simulated node.
const STOPPED: &str = "sim.keelson.io/stopped";

/// Step 1: Apply the workload: it rolls out, one pod per node, and the Service lists the pods.
fn apply_and_roll_out(k: &Kubectl) -> Result<()> {
    let manifest = k.write_file("web.yaml", WEB)?;
    let out = run(k, &["apply", "-f", manifest.to_str().context("path")?])?;
    for created in [
        "configmap/web-config created",
        "secret/web-secret created",
        "deployment.apps/web created",
        "service/web created",
    ] {
        ensure!(out.stdout.contains(created), "apply: {out}");
    }
    rollout_status(k)?;
    let pods = wait_live_pods(k, 3, V1)?;
    // Upstream's default scoring (PodTopologySpread's system default hostname spreading
    // and NodeResourcesFit's LeastAllocated) strictly prefers an empty node among equal
    // ones, so three pods on three idle nodes land on three nodes.
    let nodes: BTreeSet<_> = pods.iter().map(|p| p.node.as_str()).collect();
    ensure!(nodes.len() == NODES, "pods not spread: {pods:#?}");
    let ips: BTreeSet<String> = pods.iter().map(|p| p.ip.clone()).collect();
    ensure!(
        ips.len() == 3 && !ips.contains(""),
        "distinct pod IPs: {pods:#?}"
    );
    eventually(
        "the Service's Endpoints and EndpointSlice",
        Duration::from_secs(30),
        || {
            let endpoints = get(k, &["endpoints", "web"])?;
            let listed: BTreeSet<String> = endpoints["subsets"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["addresses"].as_array().into_iter().flatten())
                .map(|a| text(a, "/ip").to_owned())
                .collect();
            let slices = get(
                k,
                &["endpointslices", "-l", "kubernetes.io/service-name=web"],
            )?;
            let sliced: BTreeSet<String> = items(&slices)
                .iter()
                .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
                .filter(|e| e["conditions"]["ready"] == Value::Bool(true))
                .flat_map(|e| e["addresses"].as_array().into_iter().flatten())
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect();
            Ok(if listed == ips && sliced == ips {
                Ok(())
            } else {
                Err(format!(
                    "pods {ips:?}, Endpoints {listed:?}, slices {sliced:?}"
                ))
            })
        },
    )
}

/// Step 2: `set image` rolls out with the availability bound kept at every observed state.
fn set_image_keeping_availability(k: &Kubectl) -> Result<()> {
    let mut watch = AvailabilityWatch::start(k.server(), "app=web", V2)?;
    run(k, &["set", "image", "deployment/web", &format!("app={V2}")])?;
    rollout_status(k)?;
    wait_live_pods(k, 3, V2)?;
    let seen = watch.finish()?;
    ensure!(
        seen.observations > 0 && seen.saw_image_available,
        "the watch saw the rollout: {seen:?}"
    );
    ensure!(
        seen.min_available >= 3 - MAX_UNAVAILABLE,
        "fewer than replicas - maxUnavailable available pods at some point: {seen:?}"
    );
    ensure!(
        seen.max_live <= 3 + MAX_SURGE,
        "more than replicas + maxSurge pods at some point: {seen:?}"
    );
    Ok(())
}

/// Step 3: `rollout undo` goes back to the first template.
fn undo(k: &Kubectl) -> Result<()> {
    run(k, &["rollout", "undo", "deployment/web"])?;
    rollout_status(k)?;
    let deployment = get(k, &["deployment", "web"])?;
    let image = text(&deployment, "/spec/template/spec/containers/0/image");
    ensure!(image == V1, "undo restores {V1}, not {image}");
    wait_live_pods(k, 3, V1).map(drop)
}

/// Step 4: `scale --replicas=10`: ten Running, Ready pods.
fn scale_to_ten(k: &Kubectl) -> Result<()> {
    run(k, &["scale", "deployment/web", "--replicas=10"])?;
    rollout_status(k)?;
    wait_live_pods(k, 10, V1).map(drop)
}

/// Step 6: Switch off a node that runs some of the Deployment's pods (not the crash pod's):
/// it turns Unknown after the grace period, its pods are evicted once their 2 s
/// toleration ends and stay Terminating (no kubelet confirms), and the Deployment is back
/// to 10 Ready pods on the other nodes. Returns the node and its evicted pods.
fn stop_a_node(k: &Kubectl) -> Result<(String, BTreeSet<String>)> {
    let crasher = get(k, &["pod", "crasher"])?;
    let crasher_node = text(&crasher, "/spec/nodeName").to_owned();
    let pods = live(&web_pods(k)?);
    let node = pods
        .iter()
        .map(|p| p.node.clone())
        .find(|n| *n != crasher_node)
        .with_context(|| format!("no node with web pods but not the crash pod: {pods:#?}"))?;
    let evicted: BTreeSet<String> = pods
        .iter()
        .filter(|p| p.node == node)
        .map(|p| p.name.clone())
        .collect();
    run(k, &["annotate", "node", &node, &format!("{STOPPED}=true")])?;
    eventually("the node to go Unknown", Duration::from_secs(60), || {
        let ready = node_ready(k, &node)?;
        Ok(if ready == "Unknown" {
            Ok(())
        } else {
            Err(ready)
        })
    })?;
    let table = run(k, &["get", "node", &node, "--no-headers"])?;
    ensure!(
        table.stdout.split_whitespace().nth(1) == Some("NotReady"),
        "{table}"
    );
    eventually(
        "10 Ready pods on the other nodes, the stopped node's pods Terminating",
        Duration::from_secs(60),
        || {
            let pods = web_pods(k)?;
            let deployment = get(k, &["deployment", "web"])?;
            let ready = deployment["status"]["readyReplicas"].as_u64();
            let available = deployment["status"]["availableReplicas"].as_u64();
            let alive = live(&pods);
            let replaced = alive.len() == 10
                && alive.iter().all(|p| p.ready && p.node != node)
                && ready == Some(10)
                && available == Some(10);
            // Evicted, yet still there: nobody on the node confirms the deletion.
            let terminating: BTreeSet<String> = pods
                .iter()
                .filter(|p| p.terminating && p.node == node)
                .map(|p| p.name.clone())
                .collect();
            Ok(if replaced && terminating == evicted {
                Ok(())
            } else {
                Err(format!(
                    "ready {ready:?}, available {available:?}, terminating {terminating:?} \
                     of {evicted:?}; pods {pods:#?}"
                ))
            })
        },
    )?;
    Ok((node, evicted))
}

/// Step 7: Delete the Deployment: its ReplicaSets and pods go (cascading, in the background),
/// except the pods on the stopped node, which stay Terminating as upstream leaves them
/// (no kubelet confirms, and the node has no `out-of-service` taint for the pod GC).
/// Switched back on, that node's kubelet finishes them and they go too.
fn delete_and_restore_power(k: &Kubectl, node: &str, evicted: &BTreeSet<String>) -> Result<()> {
    run(k, &["delete", "deployment", "web"])?;
    eventually(
        "ReplicaSets and live pods gone",
        Duration::from_secs(60),
        || {
            let sets = get(k, &["replicasets", "-l", "app=web"])?;
            let pods = web_pods(k)?;
            let left: BTreeSet<String> = pods.iter().map(|p| p.name.clone()).collect();
            let done = items(&sets).is_empty()
                && pods.iter().all(|p| p.terminating && p.node == node)
                && left == *evicted;
            Ok(if done {
                Ok(())
            } else {
                Err(format!(
                    "{} ReplicaSets; pods {pods:#?}",
                    items(&sets).len()
                ))
            })
        },
    )?;
    run(k, &["annotate", "node", node, &format!("{STOPPED}-")])?;
    eventually(
        "the node Ready and its pods gone",
        Duration::from_secs(60),
        || {
            let ready = node_ready(k, node)?;
            let pods = web_pods(k)?;
            Ok(if ready == "True" && pods.is_empty() {
                Ok(())
            } else {
                Err(format!("node {ready}; pods {pods:#?}"))
            })
        },
    )
}

/// Step 8: After a restart on the same data dir: the objects are there and every node's
/// kubelet is back (its Lease renewed since the restart, Ready).
fn after_restart(k: &Kubectl, since: jiff::Timestamp) -> Result<()> {
    let service = get(k, &["service", "web"])?;
    ensure!(service["spec"]["selector"]["app"] == "web", "{service}");
    let config = get(k, &["configmap", "web-config"])?;
    ensure!(config["data"]["GREETING"] == "hello", "{config}");
    let secret = get(k, &["secret", "web-secret"])?;
    ensure!(secret["data"]["TOKEN"] == "czNjcjN0", "{secret}"); // base64 of s3cr3t
    get(k, &["pod", "crasher"])?;
    eventually(
        "every node back: Lease renewed, Ready",
        Duration::from_secs(60),
        || {
            let leases = get(k, &["leases", "-n", "kube-node-lease"])?;
            let renewed: BTreeSet<&str> = items(&leases)
                .iter()
                .filter(|l| {
                    text(l, "/spec/renewTime")
                        .parse::<jiff::Timestamp>()
                        .is_ok_and(|t| t > since)
                })
                .map(|l| text(l, "/metadata/name"))
                .collect();
            let mut ready = BTreeSet::new();
            for index in 1..=NODES {
                let node = format!("keelson-node-{index}");
                if node_ready(k, &node)? == "True" && renewed.contains(node.as_str()) {
                    ready.insert(node);
                }
            }
            Ok(if ready.len() == NODES {
                Ok(())
            } else {
                Err(format!("renewed {renewed:?}, ready and renewed {ready:?}"))
            })
        },
    )
}

fn scenario(data: &Path, logs: &Path, up: &mut Up) -> Result<()> {
    let k = up.kubectl()?;
    apply_and_roll_out(&k).context("1. apply and roll out")?;
    set_image_keeping_availability(&k).context("2. set image")?;
    undo(&k).context("3. rollout undo")?;
    scale_to_ten(&k).context("4. scale to 10")?;
    crash::crash_loop(&k).context("5. CrashLoopBackOff")?;
    let (node, evicted) = stop_a_node(&k).context("6. a node loses power")?;
    delete_and_restore_power(&k, &node, &evicted).context("7. cascading delete")?;

    let status = up.terminate().context("8. SIGTERM")?;
    ensure!(status.code() == Some(0), "8. SIGTERM: keelson up {status}");
    let since = jiff::Timestamp::now();
    *up = Up::start(data, &logs.join("second.log"))?;
    let k = up.kubectl()?;
    after_restart(&k, since).context("8. after the restart")?;
    let status = up.terminate().context("8. the second SIGTERM")?;
    ensure!(status.code() == Some(0), "8. keelson up {status}");
    Ok(())
}

#[test]
fn keelson_up_runs_a_deployment_through_its_life_with_kubectl_1_33() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let mut up = Up::start(data.path(), &logs.path().join("first.log")).unwrap();
    if let Err(err) = scenario(data.path(), logs.path(), &mut up) {
        panic!("{err:#}\n── keelson up log (tail)\n{}", up.log_tail(60));
    }
}

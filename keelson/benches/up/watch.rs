//! Progress seen through watches: Nodes whose Ready condition is True, and pods created,
//! bound, Running and Ready. Each tracker is one watch task publishing its counts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, PodCondition};
use kube::api::Api;
use kube::runtime::{WatchStreamExt as _, watcher};
use tokio::sync::watch;

/// A watch task publishing into `rx`; aborted when dropped (its cluster may be gone).
pub(crate) struct Tracker<T> {
    pub(crate) rx: watch::Receiver<T>,
    task: tokio::task::JoinHandle<()>,
}

impl<T> Drop for Tracker<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn is_true<'a>(mut conditions: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    conditions.any(|(kind, status)| kind == "Ready" && status == "True")
}

fn node_ready(node: &Node) -> bool {
    let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
    is_true(
        conditions
            .into_iter()
            .flatten()
            .map(|c: &NodeCondition| (c.type_.as_str(), c.status.as_str())),
    )
}

/// Counts of pods that reached each stage (a pod, once counted, stays counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PodCounts {
    pub(crate) created: usize,
    pub(crate) bound: usize,
    pub(crate) running: usize,
    pub(crate) ready: usize,
}

const BOUND: u8 = 1;
const RUNNING: u8 = 2;
const READY: u8 = 4;

fn pod_stages(pod: &Pod) -> u8 {
    let mut stages = 0;
    if pod.spec.as_ref().is_some_and(|s| s.node_name.is_some()) {
        stages |= BOUND;
    }
    let status = pod.status.as_ref();
    if status.and_then(|s| s.phase.as_deref()) == Some("Running") {
        stages |= RUNNING;
    }
    let conditions = status.and_then(|s| s.conditions.as_ref());
    if is_true(
        conditions
            .into_iter()
            .flatten()
            .map(|c: &PodCondition| (c.type_.as_str(), c.status.as_str())),
    ) {
        stages |= READY;
    }
    stages
}

/// Watches Nodes; publishes how many are Ready.
pub(crate) fn track_nodes(client: &kube::Client) -> Tracker<usize> {
    let (tx, rx) = watch::channel(0);
    let api: Api<Node> = Api::all(client.clone());
    let task = tokio::spawn(async move {
        let mut ready: HashMap<String, bool> = HashMap::new();
        let mut events = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Apply(node) | watcher::Event::InitApply(node)) => {
                    let name = node.metadata.name.clone().unwrap_or_default();
                    ready.insert(name, node_ready(&node));
                }
                Ok(watcher::Event::Delete(node)) => {
                    ready.remove(node.metadata.name.as_deref().unwrap_or_default());
                }
                Ok(_) => continue,
                Err(e) => {
                    eprintln!("node watch: {e}");
                    continue;
                }
            }
            let count = ready.values().filter(|r| **r).count();
            if tx.send(count).is_err() {
                return;
            }
        }
    });
    Tracker { rx, task }
}

/// Watches pods in `namespace`; publishes the counts of each stage.
pub(crate) fn track_pods(client: &kube::Client, namespace: &str) -> Tracker<PodCounts> {
    let (tx, rx) = watch::channel(PodCounts::default());
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let task = tokio::spawn(async move {
        let mut stages: HashMap<String, u8> = HashMap::new();
        let mut counts = PodCounts::default();
        let mut events = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(event) = events.next().await {
            let pod = match event {
                Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                Ok(_) => continue,
                Err(e) => {
                    eprintln!("pod watch: {e}");
                    continue;
                }
            };
            let name = pod.metadata.name.clone().unwrap_or_default();
            let seen = stages.entry(name).or_insert_with(|| {
                counts.created += 1;
                0
            });
            let new = pod_stages(&pod) & !*seen;
            *seen |= new;
            counts.bound += usize::from(new & BOUND != 0);
            counts.running += usize::from(new & RUNNING != 0);
            counts.ready += usize::from(new & READY != 0);
            if tx.send(counts).is_err() {
                return;
            }
        }
    });
    Tracker { rx, task }
}

/// Waits until `done` holds for the published value, or `limit` (since `since`) passes;
/// prints the value every 10 s to stderr. Returns whether it held, and when.
pub(crate) async fn wait_until<T: std::fmt::Debug + Clone>(
    rx: &mut watch::Receiver<T>,
    since: Instant,
    limit: Duration,
    mut done: impl FnMut(&T) -> bool,
) -> Option<Duration> {
    let deadline = tokio::time::Instant::from_std(since + limit);
    let mut report = tokio::time::interval(Duration::from_secs(10));
    report.tick().await;
    loop {
        if done(&rx.borrow_and_update()) {
            return Some(since.elapsed());
        }
        tokio::select! {
            changed = rx.changed() => changed.ok()?,
            () = tokio::time::sleep_until(deadline) => return None,
            _ = report.tick() => {
                eprintln!("  … {:.0} s: {:?}", since.elapsed().as_secs_f64(), *rx.borrow());
            }
        }
    }
}

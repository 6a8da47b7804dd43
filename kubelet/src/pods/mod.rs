//! The pods bound to this node: a watch of them (field selector `spec.nodeName`), one
//! [`worker`] per pod, and housekeeping that removes runtime sandboxes whose pod the API no
//! longer has.
//!
//! A worker wakes on a new version of its pod, on a container event from the runtime
//! (upstream's event-driven PLEG), on a probe result change, or at a time it asked for (a
//! back-off expiring); it then syncs the pod toward its spec and posts the status if it
//! changed.

pub mod admission;
mod backoff;
mod env;
mod poster;
mod start;
mod status;
mod sync;
mod worker;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use keelson_client::events::{EventQueue, Recorder};
use kube::api::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::events::Reporter;
use kube::runtime::watcher;
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};

use crate::node::NodeView;
use crate::prober::{ProbeManager, ProbeNotice};
use crate::runtime::{Runtime, SandboxStatus};
use crate::{KubeletConfig, KubeletError};

/// What every worker of one kubelet shares.
pub(crate) struct Shared {
    pub(crate) client: kube::Client,
    pub(crate) config: Arc<KubeletConfig>,
    pub(crate) runtime: Arc<dyn Runtime>,
    /// Prefix of container ids in statuses (`containerd`, `simulated`).
    pub(crate) runtime_name: String,
    pub(crate) node: watch::Receiver<NodeView>,
    pub(crate) recorder: EventQueue,
    pub(crate) restarts: Mutex<backoff::Backoff>,
    pub(crate) pulls: Mutex<backoff::Backoff>,
    /// Pods admitted to this node and not yet gone, by UID (admission counts them).
    pub(crate) admitted: Mutex<HashMap<String, Arc<Pod>>>,
    pub(crate) prober: ProbeManager,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("node", &self.config.node_name)
            .finish_non_exhaustive()
    }
}

/// The started pod side of a kubelet.
#[derive(Debug)]
pub struct PodsHandle {
    task: tokio::task::JoinHandle<Result<(), KubeletError>>,
}

impl PodsHandle {
    /// Waits until every worker stopped (after `stop`).
    pub async fn finished(self) -> Result<(), KubeletError> {
        self.task.await.unwrap_or(Ok(()))
    }
}

/// Starts watching this node's pods and running them.
pub fn start(
    client: kube::Client,
    config: Arc<KubeletConfig>,
    runtime: Arc<dyn Runtime>,
    node: watch::Receiver<NodeView>,
    stop: watch::Receiver<bool>,
) -> PodsHandle {
    let task = tokio::spawn(async move {
        let version = runtime.version().await?;
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "kubelet".to_owned(),
                instance: Some(config.node_name.clone()),
            },
        );
        let (notices_tx, notices) = tokio::sync::mpsc::unbounded_channel();
        let prober = ProbeManager::new(runtime.clone(), notices_tx);
        let shared = Arc::new(Shared {
            client,
            config,
            runtime,
            runtime_name: version.runtime_name,
            node,
            recorder: EventQueue::start(recorder),
            restarts: Mutex::new(backoff::Backoff::containers()),
            pulls: Mutex::new(backoff::Backoff::containers()),
            admitted: Mutex::new(HashMap::new()),
            prober,
        });
        manage(shared, notices, stop).await
    });
    PodsHandle { task }
}

/// One pod's worker, as the manager reaches it.
#[derive(Debug)]
struct Handle {
    pod: watch::Sender<Option<Arc<Pod>>>,
    wake: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

async fn manage(
    shared: Arc<Shared>,
    mut notices: tokio::sync::mpsc::UnboundedReceiver<ProbeNotice>,
    stop: watch::Receiver<bool>,
) -> Result<(), KubeletError> {
    let mut container_events = shared.runtime.container_events().await?;
    let mut existing: HashMap<String, Vec<SandboxStatus>> = HashMap::new();
    for sandbox in shared.runtime.list_pod_sandboxes().await? {
        existing
            .entry(sandbox.metadata.uid.clone())
            .or_default()
            .push(sandbox);
    }
    let api: Api<Pod> = Api::all(shared.client.clone());
    let selector = format!("spec.nodeName={}", shared.config.node_name);
    let mut pods = watcher(api, watcher::Config::default().fields(&selector))
        .default_backoff()
        .boxed();
    let mut workers: HashMap<String, Handle> = HashMap::new();
    let mut listed: Option<HashSet<String>> = None;
    // Orphans are judged only once the first list arrived.
    let mut synced = false;
    let mut stopped = stop.clone();
    let mut housekeeping = tokio::time::interval(shared.config.housekeeping_interval);
    housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = pods.next() => match event {
                Some(Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod))) => {
                    if let Some(seen) = listed.as_mut() {
                        seen.insert(uid_of(&pod));
                    }
                    dispatch(&shared, &mut workers, &mut existing, pod, &stop);
                }
                Some(Ok(watcher::Event::Delete(pod))) => {
                    if let Some(w) = workers.get(&uid_of(&pod)) {
                        w.pod.send_replace(None);
                    }
                }
                Some(Ok(watcher::Event::Init)) => listed = Some(HashSet::new()),
                Some(Ok(watcher::Event::InitDone)) => {
                    synced = true;
                    let seen = listed.take().unwrap_or_default();
                    for (uid, w) in &workers {
                        if !seen.contains(uid) {
                            w.pod.send_replace(None);
                        }
                    }
                }
                Some(Err(error)) => tracing::warn!(%error, "watching this node's pods"),
                None => break,
            },
            Some(event) = container_events.next() => {
                if let Some(w) = workers.get(&event.pod_uid) {
                    w.wake.notify_one();
                }
            }
            Some(notice) = notices.recv() => match notice {
                ProbeNotice::Result(update) => {
                    if let Some(w) = workers.get(&update.pod_uid) {
                        w.wake.notify_one();
                    }
                }
                ProbeNotice::Event(event) => record_probe_event(&shared, event),
            },
            _ = housekeeping.tick() => {
                workers.retain(|_, w| !w.task.is_finished());
                if synced {
                    remove_orphans(&shared, &workers).await;
                }
            }
            () = async { let _ = stopped.wait_for(|s| *s).await; } => break,
        }
    }
    let drain = async {
        for (_, w) in workers.drain() {
            let _ = w.task.await;
        }
    };
    if tokio::time::timeout(shared.config.drain_timeout, drain)
        .await
        .is_err()
    {
        tracing::warn!(node = %shared.config.node_name, "pod workers did not stop in time");
    }
    Ok(())
}

fn uid_of(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

fn dispatch(
    shared: &Arc<Shared>,
    workers: &mut HashMap<String, Handle>,
    existing: &mut HashMap<String, Vec<SandboxStatus>>,
    pod: Pod,
    stop: &watch::Receiver<bool>,
) {
    let uid = uid_of(&pod);
    let pod = Arc::new(pod);
    if let Some(w) = workers.get(&uid) {
        w.pod.send_replace(Some(pod));
        return;
    }
    let (tx, rx) = watch::channel(Some(pod));
    let wake = Arc::new(Notify::new());
    let sandboxes = existing.remove(&uid).unwrap_or_default();
    let task = tokio::spawn(worker::run(
        shared.clone(),
        uid.clone(),
        rx,
        wake.clone(),
        sandboxes,
        stop.clone(),
    ));
    workers.insert(
        uid,
        Handle {
            pod: tx,
            wake,
            task,
        },
    );
}

/// Records a probe's `Unhealthy` or `ProbeWarning` event on the pod's container.
fn record_probe_event(shared: &Shared, event: crate::prober::ProbeEvent) {
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("Pod".to_owned()),
        name: Some(event.pod_name),
        namespace: Some(event.pod_namespace),
        uid: Some(event.pod_uid),
        field_path: Some(event.field_path),
        ..Default::default()
    };
    shared.recorder.record(
        reference,
        kube::runtime::events::EventType::Warning,
        event.reason,
        event.message,
    );
}

/// Stops and removes runtime sandboxes whose pod has no worker (deleted while the kubelet
/// was away, or left behind by a failed cleanup).
async fn remove_orphans(shared: &Shared, workers: &HashMap<String, Handle>) {
    let Ok(sandboxes) = shared.runtime.list_pod_sandboxes().await else {
        return;
    };
    for sandbox in sandboxes {
        if workers.contains_key(&sandbox.metadata.uid) {
            continue;
        }
        tracing::info!(pod = %sandbox.metadata.name, namespace = %sandbox.metadata.namespace,
            "removing a runtime pod the API no longer has");
        if let Err(error) = shared.runtime.stop_pod_sandbox(&sandbox.id).await {
            tracing::warn!(%error, "stopping an orphaned sandbox");
            continue;
        }
        if let Err(error) = shared.runtime.remove_pod_sandbox(&sandbox.id).await {
            tracing::warn!(%error, "removing an orphaned sandbox");
        }
    }
}

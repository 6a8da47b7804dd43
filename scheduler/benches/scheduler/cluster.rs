//! The in-process apiserver, the scheduler daemon, concurrent creates and the watcher
//! that counts bound pods.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use keelson_apiserver::api::ApiConfig;
use keelson_apiserver::cache::CacheConfig;
use keelson_apiserver::server::{self, RunningServer, ServerConfig};
use keelson_apiserver::storage::StorageUrl;
use keelson_scheduler::config::SchedulerConfig;
use keelson_scheduler::daemon::{self, DaemonConfig, DaemonError};
use kube::Resource;
use kube::api::{Api, ListParams, PartialObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::watch;

use crate::workload::{self, Kind};

/// Concurrent clients creating objects.
pub(crate) const CLIENTS: usize = 100;

/// How the scheduler reaches the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// In-process, as inside `keelson up` (`RunningServer::local_service`).
    InProcess,
    /// Over the loopback listener, as the `keelson scheduler` daemon.
    Tcp,
}

/// An apiserver with the embedded store in a temporary directory.
pub(crate) struct Cluster {
    server: RunningServer,
    /// The test's own client (nodes, pods, counting), over the listener.
    pub(crate) client: kube::Client,
    /// The scheduler's client.
    pub(crate) scheduler_client: kube::Client,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub(crate) async fn start(transport: Transport) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let api = ApiConfig {
            max_inflight_mutating: 1_000,
            max_inflight_readonly: 2_000,
            ..ApiConfig::default()
        };
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            storage: StorageUrl::default_for(dir.path()),
            api,
            cache: CacheConfig::default(),
            drain_timeout: Duration::from_secs(2),
        };
        let server = server::start(config).await.unwrap();
        let client =
            kube::Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
        let namespaces: Api<Namespace> = Api::all(client.clone());
        for ns in [workload::SETUP_NAMESPACE, workload::TEST_NAMESPACE] {
            let object: Namespace =
                serde_json::from_value(json!({ "metadata": { "name": ns } })).unwrap();
            namespaces
                .create(&PostParams::default(), &object)
                .await
                .unwrap();
        }
        let scheduler_client = match transport {
            Transport::InProcess => kube::Client::new(server.local_service(), "default"),
            Transport::Tcp => client.clone(),
        };
        Self {
            server,
            client,
            scheduler_client,
            _dir: dir,
        }
    }

    pub(crate) async fn stop(self) {
        self.server.stop().await.ok();
    }

    /// Creates nodes `0..count` (object, then status) from [`CLIENTS`] clients.
    pub(crate) async fn nodes(&self, count: usize) {
        let api: Api<Node> = Api::all(self.client.clone());
        parallel(count, move |i| {
            let api = api.clone();
            async move {
                let (node, status) = workload::node(i);
                api.create(&PostParams::default(), &node).await.unwrap();
                let name = workload::node_name(i);
                api.patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
                    .await
                    .unwrap();
            }
        })
        .await;
    }

    /// Creates the preemption case's PriorityClasses and waits until a list shows them,
    /// so that the Priority admission of the pods created next finds them.
    pub(crate) async fn priority_classes(&self) {
        let api: Api<PriorityClass> = Api::all(self.client.clone());
        let classes = workload::priority_classes();
        for class in &classes {
            api.create(&PostParams::default(), class).await.unwrap();
        }
        for _ in 0..500 {
            let listed = api.list(&ListParams::default()).await.unwrap();
            let present = |c: &PriorityClass| {
                listed
                    .items
                    .iter()
                    .any(|l| l.metadata.name == c.metadata.name)
            };
            if classes.iter().all(present) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the PriorityClasses never showed in a list");
    }

    /// Creates `count` pods of `kind` named `<prefix>-<i>` in `namespace`.
    pub(crate) async fn pods(
        &self,
        kind: Kind,
        namespace: &'static str,
        prefix: &str,
        count: usize,
    ) {
        create_pods(self.client.clone(), kind, namespace, prefix, count).await;
    }
}

/// Creates `count` pods of `kind` named `<prefix>-<i>` in `namespace` from [`CLIENTS`]
/// clients.
pub(crate) async fn create_pods(
    client: kube::Client,
    kind: Kind,
    namespace: &'static str,
    prefix: &str,
    count: usize,
) {
    // The body is encoded once and only the name changes, and the reply is not decoded:
    // what the server does per pod is measured, not this client's JSON (upstream's
    // clients speak protobuf).
    let template = serde_json::to_string(&workload::pod(kind, namespace, NAME_MARK)).unwrap();
    let (head, tail) = template.split_once(NAME_MARK).unwrap();
    let (head, tail) = (Arc::<str>::from(head), Arc::<str>::from(tail));
    let request = Arc::new(kube::core::Request::new(Pod::url_path(
        &(),
        Some(namespace),
    )));
    let prefix = Arc::<str>::from(prefix);
    parallel(count, move |i| {
        let client = client.clone();
        let body = format!("{head}{prefix}-{i}{tail}").into_bytes();
        let request = request.clone();
        async move {
            let post = request.create(&PostParams::default(), body).unwrap();
            client.request_text(post).await.unwrap();
        }
    })
    .await;
}

/// Stands for the pod's name in the encoded template (no pod name can contain `@`).
const NAME_MARK: &str = "@name@";

/// Runs `op(0..count)` from [`CLIENTS`] tasks, each taking the next index.
async fn parallel<F, Fut>(count: usize, op: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS.min(count) {
        let next = next.clone();
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                op(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Counts the pods of a namespace that have `spec.nodeName` set, from a watch.
pub(crate) struct BoundCounter {
    bound: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl BoundCounter {
    pub(crate) fn start(client: &kube::Client, namespace: &str) -> Self {
        let api: Api<PartialObjectMeta<Pod>> = Api::namespaced(client.clone(), namespace);
        let bound = Arc::new(AtomicUsize::new(0));
        let counter = bound.clone();
        // The server selects the bound pods and sends their metadata only.
        let config = watcher::Config::default().fields("spec.nodeName!=");
        let task = tokio::spawn(async move {
            let mut seen = HashSet::new();
            let mut events = watcher(api, config).boxed();
            while let Some(event) = events.next().await {
                let pod = match event {
                    Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                    _ => continue,
                };
                if let Some(name) = pod.metadata.name
                    && seen.insert(name)
                {
                    counter.store(seen.len(), Ordering::Relaxed);
                }
            }
        });
        Self { bound, task }
    }

    /// Pods bound so far.
    pub(crate) fn get(&self) -> usize {
        self.bound.load(Ordering::Relaxed)
    }

    /// Polls every 20 ms until `want` pods are bound or `limit` passes; the count.
    pub(crate) async fn wait(&self, want: usize, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        while self.get() < want && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.get()
    }
}

impl Drop for BoundCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running scheduler daemon (default profile, no leader election).
pub(crate) struct Scheduler {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), DaemonError>>,
}

impl Scheduler {
    pub(crate) fn start(client: &kube::Client) -> Self {
        let mut scheduler = SchedulerConfig::default();
        scheduler.leader_election.leader_elect = false;
        let config = DaemonConfig {
            scheduler,
            identity: "bench".to_owned(),
            drain_timeout: Duration::from_secs(5),
        };
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(daemon::run(client.clone(), config, rx));
        Self { stop, task }
    }

    pub(crate) async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.unwrap().unwrap();
    }
}

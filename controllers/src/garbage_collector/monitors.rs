//! Monitors: one metadata-only list+watch per deletable kind the apiserver serves, found by
//! discovery and refreshed every [`RESYNC`], feeding one channel of [`GraphEvent`]s.
//!
//! The shared informers (`crate::informers`) are typed; the GC needs every kind, known at
//! run time only, so it runs kube-runtime's watcher itself over
//! `Api<PartialObjectMeta<DynamicObject>>` (kube 5's form of `metadata_watcher`, which it
//! deprecates: metadata-only lists and watches, as upstream's metadata informers) and
//! dispatches deletions the same way: after a relist, objects not listed again are
//! reported deleted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::discovery::{ApiCapabilities, Discovery, Scope, verbs};
use kube::runtime::{WatchStreamExt as _, watcher};
use parking_lot::RwLock;
use tokio::sync::{mpsc, oneshot, watch};

use super::graph::{Identity, Observed};

/// How often discovery runs again (upstream: 30 s).
pub const RESYNC: Duration = Duration::from_secs(30);

/// Resources the GC never watches (upstream's ignored resources).
const IGNORED: &[(&str, &str)] = &[("", "events"), ("events.k8s.io", "events")];

/// What the graph builder processes, in order.
#[derive(Debug)]
pub enum GraphEvent {
    /// Added or updated.
    Upsert(Observed),
    /// Deleted.
    Delete(Identity),
    /// A worker verified that this owner does not exist.
    VirtualDelete(Identity),
    /// Answered once every event before it was processed.
    Barrier(oneshot::Sender<()>),
    /// A worker found a cluster-scoped dependent (first) naming a namespaced owner
    /// (second): reported with `OwnerRefInvalidNamespace`.
    InvalidOwner(Box<Identity>, Box<Identity>),
}

/// Resources by (apiVersion, kind), with whether they are namespaced.
type Kinds = HashMap<(String, String), (ApiResource, bool)>;

/// Served kinds by (apiVersion, kind): upstream's RESTMapper, from the last discovery.
#[derive(Debug, Default, Clone)]
pub struct Mapper {
    kinds: Arc<RwLock<Kinds>>,
}

impl Mapper {
    /// The resource serving `api_version`/`kind` and whether it is namespaced.
    pub fn resolve(&self, api_version: &str, kind: &str) -> Option<(ApiResource, bool)> {
        self.kinds
            .read()
            .get(&(api_version.to_owned(), kind.to_owned()))
            .cloned()
    }

    fn replace(&self, discovery: &Discovery) {
        let mut kinds = HashMap::new();
        for group in discovery.groups() {
            for version in group.versions() {
                for (ar, caps) in group.versioned_resources(version) {
                    let namespaced = caps.scope == Scope::Namespaced;
                    kinds.insert((ar.api_version.clone(), ar.kind.clone()), (ar, namespaced));
                }
            }
        }
        *self.kinds.write() = kinds;
    }
}

/// The deletable, watchable kinds at each group's preferred version (upstream's
/// `GetDeletableResources`), minus the ignored ones.
pub fn deletable(discovery: &Discovery) -> Vec<(ApiResource, ApiCapabilities)> {
    discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .filter(|(ar, caps)| {
            [verbs::LIST, verbs::WATCH, verbs::DELETE]
                .iter()
                .all(|v| caps.supports_operation(v))
                && !IGNORED.contains(&(ar.group.as_str(), ar.plural.as_str()))
        })
        .collect()
}

/// Runs discovery now and every [`RESYNC`], starting a monitor for each new deletable kind
/// and stopping those no longer served. `synced` turns true once the monitors of the
/// first successful discovery have listed.
pub async fn run(
    client: kube::Client,
    mapper: Mapper,
    events: mpsc::UnboundedSender<GraphEvent>,
    synced: watch::Sender<bool>,
) {
    let mut monitors: HashMap<(String, String), tokio::task::JoinHandle<()>> = HashMap::new();
    let mut first = true;
    loop {
        match Discovery::new(client.clone()).run().await {
            Ok(discovery) => {
                mapper.replace(&discovery);
                let wanted = deletable(&discovery);
                let keys: HashSet<(String, String)> = wanted
                    .iter()
                    .map(|(ar, _)| (ar.api_version.clone(), ar.plural.clone()))
                    .collect();
                monitors.retain(|key, task| {
                    let keep = keys.contains(key);
                    if !keep {
                        tracing::info!(resource = ?key, "garbage collector: kind no longer served");
                        task.abort();
                    }
                    keep
                });
                let mut ready = Vec::new();
                for (ar, _) in wanted {
                    let key = (ar.api_version.clone(), ar.plural.clone());
                    if monitors.contains_key(&key) {
                        continue;
                    }
                    let (tx, rx) = watch::channel(false);
                    ready.push(rx);
                    let task = tokio::spawn(monitor(client.clone(), ar, events.clone(), tx));
                    monitors.insert(key, task);
                }
                if first {
                    first = false;
                    for mut rx in ready {
                        let _ = rx.wait_for(|s| *s).await;
                    }
                    synced.send_replace(true);
                }
            }
            Err(error) => tracing::warn!(%error, "garbage collector: discovery failed"),
        }
        tokio::time::sleep(RESYNC).await;
    }
}

/// The graph's view of one object of kind `ar`.
pub fn observed(ar: &ApiResource, meta: &kube::api::ObjectMeta) -> Observed {
    Observed {
        identity: Identity {
            api_version: ar.api_version.clone(),
            kind: ar.kind.clone(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
        },
        owners: meta.owner_references.clone().unwrap_or_default(),
        deleting: meta.deletion_timestamp.is_some(),
        finalizers: meta.finalizers.clone().unwrap_or_default(),
    }
}

/// Lists and watches the metadata of every object of kind `ar`, forever.
async fn monitor(
    client: kube::Client,
    ar: ApiResource,
    events: mpsc::UnboundedSender<GraphEvent>,
    synced: watch::Sender<bool>,
) {
    let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client, &ar);
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut known: HashMap<String, Identity> = HashMap::new();
    let mut relisted: Option<HashSet<String>> = None;
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::debug!(kind = %ar.kind, %error, "garbage collector: watch failed; retrying");
                continue;
            }
        };
        let send = |e| events.send(e).is_ok();
        let alive = match event {
            watcher::Event::Init => {
                relisted = Some(HashSet::new());
                true
            }
            watcher::Event::InitApply(obj) | watcher::Event::Apply(obj) => {
                let seen = observed(&ar, &obj.metadata);
                if let Some(r) = relisted.as_mut() {
                    r.insert(seen.identity.uid.clone());
                }
                known.insert(seen.identity.uid.clone(), seen.identity.clone());
                send(GraphEvent::Upsert(seen))
            }
            watcher::Event::InitDone => {
                let listed = relisted.take().unwrap_or_default();
                let gone: Vec<String> = known
                    .keys()
                    .filter(|uid| !listed.contains(*uid))
                    .cloned()
                    .collect();
                let mut alive = true;
                for uid in gone {
                    if let Some(identity) = known.remove(&uid) {
                        alive &= send(GraphEvent::Delete(identity));
                    }
                }
                synced.send_replace(true);
                alive
            }
            watcher::Event::Delete(obj) => {
                let seen = observed(&ar, &obj.metadata);
                known.remove(&seen.identity.uid);
                send(GraphEvent::Delete(seen.identity))
            }
        };
        if !alive {
            return;
        }
    }
}

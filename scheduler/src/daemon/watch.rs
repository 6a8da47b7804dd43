//! The watchers: Nodes, Pods, Namespaces, the selectors of Services and ReplicaSets
//! (PodTopologySpread's default selector), PersistentVolumeClaims, PersistentVolumes,
//! StorageClasses (VolumeBinding) and PriorityClasses, through `kube::runtime::watcher`, each
//! turned into [`Update`]s on the scheduling task's one channel. A (re)list arrives as
//! one `…Listed` update holding every object, so the cache can drop what vanished.

use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{
    Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service,
};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;

use super::Message;
use crate::plugins::pod_topology_spread_score::{SelectorSource, WorkloadKind};

/// A change seen by a watcher.
#[derive(Debug)]
pub enum Update {
    /// A node was added or changed.
    Node(Arc<Node>),
    /// A node was deleted.
    NodeDeleted(String),
    /// Every node, after a (re)list.
    NodesListed(Vec<Arc<Node>>),
    /// A pod was added or changed.
    Pod(Arc<Pod>),
    /// A pod was deleted.
    PodDeleted(Arc<Pod>),
    /// Every pod, after a (re)list.
    PodsListed(Vec<Arc<Pod>>),
    /// A namespace was added or changed.
    Namespace(Arc<Namespace>),
    /// A namespace was deleted.
    NamespaceDeleted(String),
    /// Every namespace, after a (re)list.
    NamespacesListed(Vec<Arc<Namespace>>),
    /// A Service's or controller's (namespace, name, selector); `None` when it was
    /// deleted or selects nothing.
    Selector(SelectorSource, String, String, Option<LabelSelector>),
    /// Every selector of one source, after a (re)list.
    SelectorsListed(SelectorSource, Vec<(String, String, LabelSelector)>),
    /// A PersistentVolumeClaim change.
    Claims(Listing<PersistentVolumeClaim>),
    /// A PersistentVolume change.
    Volumes(Listing<PersistentVolume>),
    /// A StorageClass change.
    StorageClasses(Listing<StorageClass>),
    /// A PriorityClass change.
    PriorityClasses(Listing<PriorityClass>),
}

/// Spawns the watchers; they end when the channel closes.
pub(super) fn spawn(
    client: &kube::Client,
    tx: &mpsc::Sender<Message>,
) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(pump(
            Api::<Node>::all(client.clone()),
            tx.clone(),
            |e| match e {
                Listing::Apply(n) => Update::Node(n),
                Listing::Delete(n) => {
                    Update::NodeDeleted(n.metadata.name.clone().unwrap_or_default())
                }
                Listing::All(all) => Update::NodesListed(all),
            },
        )),
        tokio::spawn(pump(
            Api::<Pod>::all(client.clone()),
            tx.clone(),
            |e| match e {
                Listing::Apply(p) => Update::Pod(p),
                Listing::Delete(p) => Update::PodDeleted(p),
                Listing::All(all) => Update::PodsListed(all),
            },
        )),
        tokio::spawn(pump(
            Api::<Namespace>::all(client.clone()),
            tx.clone(),
            |e| match e {
                Listing::Apply(n) => Update::Namespace(n),
                Listing::Delete(n) => {
                    Update::NamespaceDeleted(n.metadata.name.clone().unwrap_or_default())
                }
                Listing::All(all) => Update::NamespacesListed(all),
            },
        )),
        tokio::spawn(pump(
            Api::<PersistentVolumeClaim>::all(client.clone()),
            tx.clone(),
            Update::Claims,
        )),
        tokio::spawn(pump(
            Api::<PersistentVolume>::all(client.clone()),
            tx.clone(),
            Update::Volumes,
        )),
        tokio::spawn(pump(
            Api::<StorageClass>::all(client.clone()),
            tx.clone(),
            Update::StorageClasses,
        )),
        tokio::spawn(pump(
            Api::<PriorityClass>::all(client.clone()),
            tx.clone(),
            Update::PriorityClasses,
        )),
        tokio::spawn(pump(Api::<Service>::all(client.clone()), tx.clone(), |e| {
            selectors(SelectorSource::Service, e, service_selector)
        })),
        tokio::spawn(pump(
            Api::<ReplicaSet>::all(client.clone()),
            tx.clone(),
            |e| {
                let source = SelectorSource::Controller(WorkloadKind::ReplicaSet);
                selectors(source, e, |rs: &ReplicaSet| {
                    rs.spec.as_ref().map(|s| s.selector.clone())
                })
            },
        )),
    ]
}

/// A Service's selector as a label selector; `None` without one (it selects nothing).
fn service_selector(s: &Service) -> Option<LabelSelector> {
    let labels = s.spec.as_ref()?.selector.clone()?;
    Some(LabelSelector {
        match_labels: Some(labels),
        match_expressions: None,
    })
}

/// A watcher event of a selecting object as a selector update.
fn selectors<K: kube::Resource>(
    source: SelectorSource,
    e: Listing<K>,
    selector_of: impl Fn(&K) -> Option<LabelSelector>,
) -> Update {
    let id = |o: &K| {
        let meta = o.meta();
        (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        )
    };
    match e {
        Listing::Apply(o) => {
            let (ns, name) = id(&o);
            Update::Selector(source, ns, name, selector_of(&o))
        }
        Listing::Delete(o) => {
            let (ns, name) = id(&o);
            Update::Selector(source, ns, name, None)
        }
        Listing::All(all) => Update::SelectorsListed(
            source,
            all.iter()
                .filter_map(|o| {
                    let (ns, name) = id(o);
                    selector_of(o).map(|s| (ns, name, s))
                })
                .collect(),
        ),
    }
}

/// A watcher event with `Init…` folded into one list.
#[derive(Debug)]
pub enum Listing<K> {
    /// Added or changed.
    Apply(Arc<K>),
    /// Deleted.
    Delete(Arc<K>),
    /// Every object, after a (re)list.
    All(Vec<Arc<K>>),
}

async fn pump<K>(api: Api<K>, tx: mpsc::Sender<Message>, map: impl Fn(Listing<K>) -> Update)
where
    K: kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let mut stream = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut buffer: Vec<Arc<K>> = Vec::new();
    while let Some(event) = stream.next().await {
        let listing = match event {
            Ok(Event::Apply(o)) => Listing::Apply(Arc::new(o)),
            Ok(Event::Delete(o)) => Listing::Delete(Arc::new(o)),
            Ok(Event::Init) => {
                buffer.clear();
                continue;
            }
            Ok(Event::InitApply(o)) => {
                buffer.push(Arc::new(o));
                continue;
            }
            Ok(Event::InitDone) => Listing::All(std::mem::take(&mut buffer)),
            Err(error) => {
                tracing::warn!(%error, "watch failed; retrying");
                continue;
            }
        };
        if tx.send(Message::Cluster(map(listing))).await.is_err() {
            return;
        }
    }
}

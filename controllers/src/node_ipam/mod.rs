//! Upstream's `node-ipam-controller` (the RangeAllocator): every node without a pod range
//! gets `spec.podCIDR`/`spec.podCIDRs`, one block of `node_cidr_mask_size` from each
//! cluster CIDR (`cluster_cidr`, comma-separated for dual-stack). Ranges already on nodes
//! are marked used at start (and whenever a node shows one), released when the node goes.
//! When no block is left the node gets a `CIDRNotAvailable` event. No cluster CIDR: off.

pub mod cidr;

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::EventType;

use crate::events::Recorder;
use parking_lot::Mutex;

use crate::informers::{Change, Informer, Received};
use crate::manager::Context;
use crate::node_lifecycle::{node_ref, record};
use crate::runner::{Requeue, run_workers};
use crate::workqueue::WorkQueue;
use cidr::{CidrError, CidrSet};

/// Upstream's component name.
pub const NAME: &str = "node-ipam-controller";

/// A failed allocation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No block left (retried; a released block wakes waiting nodes).
    #[error("node {0}: {1}")]
    Cidr(String, #[source] CidrError),
    /// Writing the node's ranges failed.
    #[error("assigning pod CIDRs to node {0}: {1}")]
    Patch(String, #[source] kube::Error),
}

#[derive(Default)]
struct Ranges {
    sets: Vec<CidrSet>,
    /// Per node name: its uid and the ranges it holds.
    held: HashMap<String, (Option<String>, Vec<String>)>,
}

impl Ranges {
    fn occupy(&mut self, cidrs: &[String]) {
        for c in cidrs {
            let result = match self.sets.iter_mut().find(|s| s.same_family(c)) {
                Some(set) => set.occupy(c),
                None => Err(CidrError::OutOfRange(
                    c.clone(),
                    "any cluster CIDR".to_owned(),
                )),
            };
            if let Err(error) = result {
                tracing::warn!(cidr = %c, %error, "pod CIDR on a node not marked used");
            }
        }
    }

    fn release(&mut self, cidrs: &[String]) {
        for c in cidrs {
            if let Some(set) = self.sets.iter_mut().find(|s| s.same_family(c)) {
                let _ = set.release(c);
            }
        }
    }

    /// One block from each set, or none at all.
    fn allocate(&mut self) -> Result<Vec<String>, CidrError> {
        let mut got = Vec::with_capacity(self.sets.len());
        for i in 0..self.sets.len() {
            match self.sets.get_mut(i).map(CidrSet::allocate) {
                Some(Ok(c)) => got.push(c),
                Some(Err(e)) => {
                    self.release(&got);
                    return Err(e);
                }
                None => {}
            }
        }
        Ok(got)
    }
}

fn pod_cidrs(node: &Node) -> Vec<String> {
    let spec = node.spec.as_ref();
    match spec
        .and_then(|s| s.pod_cidrs.clone())
        .filter(|c| !c.is_empty())
    {
        Some(cidrs) => cidrs,
        None => spec.and_then(|s| s.pod_cidr.clone()).into_iter().collect(),
    }
}

#[derive(Clone)]
struct Shared {
    ctx: Context,
    nodes: Informer<Node>,
    ranges: Arc<Mutex<Ranges>>,
    queue: WorkQueue<String>,
    recorder: Recorder,
}

/// Runs the controller until the manager stops (at once, idle, without a cluster CIDR).
pub async fn run(ctx: Context) {
    let settings = &ctx.settings;
    let Some(cluster) = settings
        .cluster_cidr
        .clone()
        .filter(|c| !c.trim().is_empty())
    else {
        tracing::info!("no cluster CIDR: node IPAM is off");
        return;
    };
    let sets: Result<Vec<CidrSet>, CidrError> = cluster
        .split(',')
        .map(|c| {
            let v6 = cidr::parse(c)?.1 == 128;
            let mask = if v6 {
                settings.node_cidr_mask_size_ipv6
            } else {
                settings.node_cidr_mask_size
            };
            CidrSet::new(c, mask)
        })
        .collect();
    let sets = match sets {
        Ok(sets) => sets,
        Err(error) => {
            tracing::error!(%error, "node IPAM not started");
            return;
        }
    };
    let shared = Shared {
        nodes: ctx.informers.get::<Node>(),
        ranges: Arc::new(Mutex::new(Ranges {
            sets,
            held: HashMap::new(),
        })),
        queue: WorkQueue::new(),
        recorder: ctx.recorder(NAME),
        ctx: ctx.clone(),
    };
    let mut node_rx = shared.nodes.subscribe();
    tokio::select! {
        () = shared.nodes.synced() => {}
        () = ctx.stopped() => return,
    }
    // Ranges already given are taken before anything is handed out.
    for node in shared.nodes.store().state() {
        let cidrs = pod_cidrs(&node);
        if !cidrs.is_empty() {
            let mut ranges = shared.ranges.lock();
            ranges.occupy(&cidrs);
            let name = node.metadata.name.clone().unwrap_or_default();
            ranges.held.insert(name, (node.metadata.uid.clone(), cidrs));
        }
    }
    let enqueue_all = {
        let (nodes, queue) = (shared.nodes.clone(), shared.queue.clone());
        move || {
            for node in nodes.store().state() {
                queue.add(node.metadata.name.clone().unwrap_or_default());
            }
        }
    };
    enqueue_all();
    let watch = tokio::spawn({
        let queue = shared.queue.clone();
        async move {
            while let Some(r) = node_rx.recv().await {
                match r {
                    Received::Change(Change::Applied { new, .. })
                    | Received::Change(Change::Deleted(new)) => {
                        queue.add(new.metadata.name.clone().unwrap_or_default());
                    }
                    Received::Resync => enqueue_all(),
                }
            }
        }
    });
    let queue = shared.queue.clone();
    run_workers(NAME, &ctx, queue, 1, move |name| {
        let shared = shared.clone();
        async move { sync(&shared, name).await }
    })
    .await;
    watch.abort();
}

/// Queues every node still waiting for a range (after one was released).
fn wake_waiting(shared: &Shared) {
    for node in shared.nodes.store().state() {
        if pod_cidrs(&node).is_empty() {
            shared
                .queue
                .add(node.metadata.name.clone().unwrap_or_default());
        }
    }
}

async fn sync(shared: &Shared, name: String) -> Result<Requeue, Error> {
    let Some(node) = shared.nodes.get(None, &name) else {
        let released = shared.ranges.lock().held.remove(&name);
        if let Some((_, cidrs)) = released {
            shared.ranges.lock().release(&cidrs);
            wake_waiting(shared);
        }
        return Ok(Requeue::No);
    };
    let uid = node.metadata.uid.clone();
    let has = pod_cidrs(&node);
    let cidrs = {
        let mut ranges = shared.ranges.lock();
        let held = ranges.held.get(&name).cloned();
        if !has.is_empty() {
            if held.as_ref() != Some(&(uid.clone(), has.clone())) {
                if let Some((_, old)) = held {
                    ranges.release(&old);
                }
                ranges.occupy(&has);
                ranges.held.insert(name, (uid, has));
            }
            return Ok(Requeue::No);
        }
        match held {
            // Given before, the write not yet seen (or failed): the same again.
            Some((held_uid, cidrs)) if held_uid == uid => Ok(cidrs),
            stale => {
                if let Some((_, old)) = stale {
                    ranges.release(&old);
                }
                let allocated = ranges.allocate();
                if let Ok(cidrs) = &allocated {
                    ranges.held.insert(name.clone(), (uid, cidrs.clone()));
                }
                allocated
            }
        }
    };
    let cidrs = match cidrs {
        Ok(cidrs) => cidrs,
        Err(error) => {
            let reference = node_ref(&name, node.metadata.uid.as_deref());
            let note = format!("Node {name} status is now: CIDRNotAvailable");
            record(
                &shared.recorder,
                &reference,
                EventType::Normal,
                "CIDRNotAvailable",
                note,
            )
            .await;
            return Err(Error::Cidr(name, error));
        }
    };
    let api: Api<Node> = Api::all(shared.ctx.client.clone());
    let patch = serde_json::json!({"spec": {"podCIDR": cidrs.first(), "podCIDRs": cidrs}});
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(Requeue::No),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(Requeue::No),
        Err(e) => {
            let reference = node_ref(&name, node.metadata.uid.as_deref());
            let note = format!("Node {name} status is now: CIDRAssignmentFailed");
            record(
                &shared.recorder,
                &reference,
                EventType::Normal,
                "CIDRAssignmentFailed",
                note,
            )
            .await;
            Err(Error::Patch(name, e))
        }
    }
}

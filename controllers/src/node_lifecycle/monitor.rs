//! The monitor pass, every `node_monitor_period` (upstream's `monitorNodeHealth`):
//! registers new nodes and forgets deleted ones (with upstream's events), judges every
//! node's health and marks overdue ones Unknown, then recomputes zone states from the
//! result and queues every node for its taints and pods.

use std::collections::HashMap;

use futures::StreamExt as _;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::PostParams;
use kube::runtime::events::EventType;

use super::{Error, Judged, LEASE_NAMESPACE, Shared, health, node_ref, record};
use crate::workqueue::WorkQueue;

/// Status writes in flight at once during a pass (upstream's `nodeUpdateWorkerSize`).
const PARALLEL: usize = 8;

/// Runs passes until the manager stops.
pub(super) async fn run(shared: Shared, queue: WorkQueue<String>) {
    let mut known: HashMap<String, Option<String>> = HashMap::new();
    let mut tick = tokio::time::interval(shared.ctx.settings.node_monitor_period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shared.ctx.stopped() => return,
        }
        let nodes = shared.nodes.store().state();
        known = register(&shared, &nodes, known).await;
        let judged: Vec<Node> = futures::stream::iter(nodes)
            .map(|node| {
                let shared = &shared;
                async move {
                    match update_health(shared, &node).await {
                        Ok(updated) => updated,
                        Err(error) => {
                            tracing::warn!(%error, "node health not updated");
                            (*node).clone()
                        }
                    }
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        *shared.state.judged.lock() = Judged {
            zones: health::zone_states(&judged),
            ready: judged
                .iter()
                .map(|n| {
                    let name = n.metadata.name.clone().unwrap_or_default();
                    (name, health::ready_status(n).map(str::to_owned))
                })
                .collect(),
        };
        for node in &judged {
            queue.add(node.metadata.name.clone().unwrap_or_default());
        }
    }
}

/// Records `RegisteredNode` for nodes not seen before and `RemovingNode` for nodes gone;
/// returns the nodes known now (name → uid).
async fn register(
    shared: &Shared,
    nodes: &[std::sync::Arc<Node>],
    known: HashMap<String, Option<String>>,
) -> HashMap<String, Option<String>> {
    let mut seen = HashMap::with_capacity(nodes.len());
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let uid = node.metadata.uid.clone();
        if !known.contains_key(&name) {
            let note = format!("Node {name} event: Registered Node {name} in Controller");
            let reference = node_ref(&name, uid.as_deref());
            record(
                &shared.recorder,
                &reference,
                EventType::Normal,
                "RegisteredNode",
                note,
            )
            .await;
        }
        seen.insert(name, uid);
    }
    for (name, uid) in known.iter().filter(|(n, _)| !seen.contains_key(*n)) {
        shared.state.probes.lock().remove(name);
        let note = format!("Node {name} event: Removing Node {name} from Controller");
        let reference = node_ref(name, uid.as_deref());
        record(
            &shared.recorder,
            &reference,
            EventType::Normal,
            "RemovingNode",
            note,
        )
        .await;
    }
    seen
}

/// Upstream's `tryUpdateNodeHealth`: notes any sign of life (Lease renewal, Ready
/// heartbeat); an overdue node's conditions become Unknown through `/status`, with the
/// `NodeNotReady` event when it was Ready. Returns the node as it is now.
async fn update_health(shared: &Shared, node: &Node) -> Result<Node, Error> {
    let settings = &shared.ctx.settings;
    let name = node.metadata.name.clone().unwrap_or_default();
    let now = Timestamp::now();
    let renewed = shared
        .leases
        .get(Some(LEASE_NAMESPACE), &name)
        .and_then(|l| l.spec.as_ref()?.renew_time.as_ref().map(|t| t.0));
    let probe = {
        let mut probes = shared.state.probes.lock();
        let probe = health::observe(probes.get(&name), node, renewed, now);
        probes.insert(name.clone(), probe.clone());
        probe
    };
    let overdue = health::overdue(
        &probe,
        node,
        settings.node_monitor_grace_period,
        settings.node_startup_grace_period,
        now,
    );
    let conditions = overdue
        .then(|| health::unknown_conditions(node, now))
        .flatten();
    let Some(conditions) = conditions else {
        return Ok(node.clone());
    };
    let mut next = node.clone();
    next.status.get_or_insert_default().conditions = Some(conditions);
    let api: Api<Node> = Api::all(shared.ctx.client.clone());
    let next = api
        .replace_status(&name, &PostParams::default(), &next)
        .await
        .map_err(|e| Error::Node(name.clone(), e))?;
    if health::ready_status(node) == Some("True") {
        let reference = node_ref(&name, next.metadata.uid.as_deref());
        let note = format!("Node {name} status is now: NodeNotReady");
        record(
            &shared.recorder,
            &reference,
            EventType::Normal,
            "NodeNotReady",
            note,
        )
        .await;
    }
    Ok(next)
}

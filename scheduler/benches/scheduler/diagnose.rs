//! What a timed-out case left behind: the measured pods still pending (nominated or not,
//! with their `PodScheduled` verdict) and the setup pods left, terminating or not; and
//! after the preemption case, whether its victims are gone from the store.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::workload::{SETUP_NAMESPACE, TEST_NAMESPACE};

/// Distinct `PodScheduled` verdicts shown, the most frequent first.
const SHOWN: usize = 3;

/// Prints, indented under the case's line, the state of the pods a timed-out case left.
pub(crate) async fn report(client: &kube::Client) {
    let measured: Api<Pod> = Api::namespaced(client.clone(), TEST_NAMESPACE);
    let setup: Api<Pod> = Api::namespaced(client.clone(), SETUP_NAMESPACE);
    let (measured, setup) = match (
        measured.list(&ListParams::default()).await,
        setup.list(&ListParams::default()).await,
    ) {
        (Ok(m), Ok(s)) => (m.items, s.items),
        (Err(error), _) | (_, Err(error)) => {
            println!("  diagnosis: cannot list pods: {error}");
            return;
        }
    };
    let pending: Vec<&Pod> = measured.iter().filter(|p| node_of(p).is_none()).collect();
    let taken: HashSet<&str> = measured.iter().filter_map(node_of).collect();
    let nominated: Vec<&str> = pending.iter().filter_map(|p| nominee_of(p)).collect();
    let on_taken = nominated.iter().filter(|n| taken.contains(*n)).count();
    let distinct: HashSet<&str> = nominated.iter().copied().collect();
    println!(
        "  pending measured pods: {} ({} with status.nominatedNodeName, on {} nodes; {on_taken} \
         of them nominated to a node a measured pod is already bound to)",
        pending.len(),
        nominated.len(),
        distinct.len()
    );
    let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
    for pod in &pending {
        *verdicts.entry(verdict(pod)).or_default() += 1;
    }
    let mut verdicts: Vec<(String, usize)> = verdicts.into_iter().collect();
    verdicts.sort_by_key(|v| std::cmp::Reverse(v.1));
    for (verdict, count) in verdicts.iter().take(SHOWN) {
        println!("    {count} × {verdict}");
    }
    let terminating = setup
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .count();
    println!(
        "  setup pods left: {} ({terminating} with deletionTimestamp, still stored)",
        setup.len()
    );
}

/// Prints the preemption case's victims: init pods gone from the store, and those still
/// stored with a `deletionTimestamp` (a graceful delete nobody finishes without a kubelet).
pub(crate) async fn victims(client: &kube::Client, init_pods: usize) {
    let setup: Api<Pod> = Api::namespaced(client.clone(), SETUP_NAMESPACE);
    match setup.list(&ListParams::default()).await {
        Ok(list) => {
            let terminating = list
                .items
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_some())
                .count();
            println!(
                "  victims: {} of {init_pods} init pods deleted; {terminating} left terminating",
                init_pods.saturating_sub(list.items.len())
            );
        }
        Err(error) => println!("  victims: cannot list the init pods: {error}"),
    }
}

fn nominee_of(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.nominated_node_name.as_deref())
        .filter(|n| !n.is_empty())
}

fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// `PodScheduled=<status> <reason>: <message>`, or that the pod has no such condition.
fn verdict(pod: &Pod) -> String {
    let condition = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"));
    match condition {
        Some(c) => format!(
            "PodScheduled={} {}: {}",
            c.status,
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        ),
        None => "no PodScheduled condition (never attempted)".to_owned(),
    }
}

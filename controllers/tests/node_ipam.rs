//! The node IPAM controller against an in-process apiserver: every node gets its own
//! block of the cluster CIDR, blocks survive a manager restart, exhaustion is reported on
//! the node, and a deleted node's block goes to the next node waiting.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::events::v1::Event;
use keelson_controllers::Settings;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::json;
use support::{Cluster, eventually};

fn settings(cluster: &Cluster, cidr: &str, mask: u8) -> Settings {
    let mut s = cluster.settings(&["nodeipam"]);
    s.cluster_cidr = Some(cidr.to_owned());
    s.node_cidr_mask_size = mask;
    s
}

async fn create(nodes: &Api<Node>, name: &str) {
    let node = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    nodes.create(&PostParams::default(), &node).await.unwrap();
}

/// The node's `spec.podCIDRs`, once set (checking `spec.podCIDR` is the first).
async fn cidrs(nodes: &Api<Node>, name: &str) -> Option<Vec<String>> {
    let spec = nodes.get(name).await.ok()?.spec?;
    let list = spec.pod_cidrs.filter(|l| !l.is_empty())?;
    assert_eq!(spec.pod_cidr.as_ref(), list.first());
    Some(list)
}

async fn assigned(nodes: &Api<Node>, name: &str) -> Vec<String> {
    eventually(&format!("a pod CIDR on {name}"), || cidrs(nodes, name)).await
}

#[tokio::test]
async fn nodes_get_distinct_blocks_that_a_restarted_manager_keeps() {
    let cluster = Cluster::start().await;
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    create(&nodes, "a").await;
    create(&nodes, "b").await;
    let manager = cluster.run(settings(&cluster, "10.10.0.0/16", 24));
    let a = assigned(&nodes, "a").await;
    let b = assigned(&nodes, "b").await;
    assert_ne!(a, b);
    for cidr in a.iter().chain(&b) {
        assert!(
            cidr.starts_with("10.10.") && cidr.ends_with(".0/24"),
            "{cidr}"
        );
    }
    manager.stop().await;

    // A new manager learns the blocks in use from the nodes before handing out more.
    let _manager = cluster.run(settings(&cluster, "10.10.0.0/16", 24));
    create(&nodes, "c").await;
    let c = assigned(&nodes, "c").await;
    let all: BTreeSet<_> = [&a, &b, &c].into_iter().flatten().collect();
    assert_eq!(all.len(), 3, "{a:?} {b:?} {c:?}");
    assert_eq!(cidrs(&nodes, "a").await.unwrap(), a);
    assert_eq!(cidrs(&nodes, "b").await.unwrap(), b);
}

#[tokio::test]
async fn an_exhausted_range_is_reported_and_a_deleted_nodes_block_is_reused() {
    let cluster = Cluster::start().await;
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let _manager = cluster.run(settings(&cluster, "10.20.0.0/23", 24));
    create(&nodes, "a").await;
    let a = assigned(&nodes, "a").await;
    create(&nodes, "b").await;
    let b = assigned(&nodes, "b").await;
    let both: BTreeSet<_> = a.iter().chain(&b).cloned().collect();
    let expected: BTreeSet<_> = ["10.20.0.0/24", "10.20.1.0/24"].map(String::from).into();
    assert_eq!(both, expected);

    create(&nodes, "c").await;
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    eventually("CIDRNotAvailable on c", || {
        let events = events.clone();
        async move {
            let list = events.list(&ListParams::default()).await.unwrap();
            list.items
                .iter()
                .any(|e| {
                    e.reason.as_deref() == Some("CIDRNotAvailable")
                        && e.note.as_deref() == Some("Node c status is now: CIDRNotAvailable")
                        && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("c")
                })
                .then_some(())
        }
    })
    .await;
    assert_eq!(cidrs(&nodes, "c").await, None);

    nodes.delete("a", &DeleteParams::default()).await.unwrap();
    assert_eq!(assigned(&nodes, "c").await, a);
}

#[tokio::test]
async fn dual_stack_nodes_get_a_block_of_each_family() {
    let cluster = Cluster::start().await;
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let mut s = settings(&cluster, "10.30.0.0/16,fd00:30::/56", 24);
    s.node_cidr_mask_size_ipv6 = 64;
    let _manager = cluster.run(s);
    create(&nodes, "a").await;
    create(&nodes, "b").await;
    let a = assigned(&nodes, "a").await;
    let b = assigned(&nodes, "b").await;
    assert_eq!(a.len(), 2);
    assert_ne!(a, b);
    for list in [&a, &b] {
        assert!(
            list[0].starts_with("10.30.") && list[0].ends_with("/24"),
            "{list:?}"
        );
        assert!(
            list[1].starts_with("fd00:30:") && list[1].ends_with("/64"),
            "{list:?}"
        );
    }
}

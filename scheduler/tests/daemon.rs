//! The scheduler daemon against an in-process apiserver (no kubelet): binding, the
//! unschedulable report, retry on a new node, taints, leader failover.
#![allow(clippy::unwrap_used)]

mod support;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use support::{Cluster, Scheduler};

/// Every node is too small, and no pod of lower priority could make room (upstream's
/// PostFilter message follows the filters').
const UNSCHEDULABLE: &str = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";

#[tokio::test(flavor = "multi_thread")]
async fn binds_reports_unschedulable_and_retries_on_a_new_node() {
    let cluster = Cluster::start().await;
    for n in ["n1", "n2", "n3"] {
        cluster.node(n, "4", None).await;
    }
    let scheduler = Scheduler::start(&cluster, "s1", false);
    for p in ["a", "b", "c"] {
        cluster.pod(p, "500m").await;
    }
    for p in ["a", "b", "c"] {
        let node = cluster.bound(p).await;
        assert!(["n1", "n2", "n3"].contains(&node.as_str()), "{p} on {node}");
    }

    cluster.pod("huge", "100").await;
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    let note = cluster
        .until("FailedScheduling event", || {
            let events = events.clone();
            async move {
                let list = events.list(&ListParams::default()).await.ok()?;
                list.items.into_iter().find_map(|e| {
                    let about = e.regarding.as_ref()?.name.as_deref()? == "huge";
                    (about && e.reason.as_deref() == Some("FailedScheduling")).then_some(e)
                })
            }
        })
        .await;
    assert_eq!(note.note.as_deref(), Some(UNSCHEDULABLE));
    assert_eq!(note.type_.as_deref(), Some("Warning"));
    assert_eq!(note.action.as_deref(), Some("Scheduling"));
    assert_eq!(
        note.reporting_controller.as_deref(),
        Some("default-scheduler")
    );
    let pods = cluster.pods();
    let condition = cluster
        .until("PodScheduled=False", || {
            let pods = pods.clone();
            async move {
                let p = pods.get("huge").await.ok()?;
                p.status?
                    .conditions?
                    .into_iter()
                    .find(|c| c.type_ == "PodScheduled")
            }
        })
        .await;
    assert_eq!(condition.status, "False");
    assert_eq!(condition.reason.as_deref(), Some("Unschedulable"));
    assert_eq!(condition.message.as_deref(), Some(UNSCHEDULABLE));

    cluster.node("big", "128", None).await;
    assert_eq!(cluster.bound("huge").await, "big");
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tainted_node_is_avoided() {
    let cluster = Cluster::start().await;
    cluster.node("tainted", "64", Some("dedicated")).await;
    cluster.node("plain", "4", None).await;
    let scheduler = Scheduler::start(&cluster, "s1", false);
    for p in ["a", "b", "c", "d"] {
        cluster.pod(p, "100m").await;
    }
    for p in ["a", "b", "c", "d"] {
        assert_eq!(cluster.bound(p).await, "plain");
    }
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn leader_failover() {
    let cluster = Cluster::start().await;
    cluster.node("n1", "4", None).await;
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "kube-system");
    let holder = |want: &'static str| {
        let leases = leases.clone();
        move || {
            let leases = leases.clone();
            async move {
                let lease = leases.get("kube-scheduler").await.ok()?;
                let spec = lease.spec?;
                (spec.holder_identity.as_deref() == Some(want)).then_some(spec)
            }
        }
    };
    let first = Scheduler::start(&cluster, "first", true);
    let spec = cluster.until("first leads", holder("first")).await;
    assert_eq!(spec.lease_duration_seconds, Some(15));
    assert!(spec.acquire_time.is_some() && spec.renew_time.is_some());
    let second = Scheduler::start(&cluster, "second", true);
    cluster.pod("a", "100m").await;
    assert_eq!(cluster.bound("a").await, "n1");
    assert!(
        holder("first")().await.is_some(),
        "the standby does not take a live lease"
    );

    first.stop().await;
    let spec = cluster.until("second leads", holder("second")).await;
    assert!(spec.lease_transitions.unwrap_or(0) >= 1);
    cluster.pod("b", "100m").await;
    assert_eq!(cluster.bound("b").await, "n1");
    second.stop().await;
}

//! NodePorts, NodeResourcesFit and profiles against an in-process apiserver (no kubelet):
//! host ports never shared, extended resources, the pod count, the init-container max
//! rule, pod overhead, and pods routed to the profile their `schedulerName` names.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Cluster, Scheduler};

fn container(name: &str, requests: Value) -> Value {
    json!({ "name": name, "image": "busybox", "resources": { "requests": requests, "limits": {} } })
}

#[tokio::test(flavor = "multi_thread")]
async fn pods_with_the_same_host_port_never_share_a_node() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    cluster.labeled_node("n2", json!({})).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let port = |host: u16| {
        json!({ "containers": [{ "name": "c", "image": "busybox",
            "ports": [{ "containerPort": 80, "hostPort": host, "protocol": "TCP" }] }] })
    };
    cluster.pod_with("web-0", json!({}), port(8080)).await;
    cluster.pod_with("web-1", json!({}), port(8080)).await;
    let mut nodes = vec![cluster.bound("web-0").await, cluster.bound("web-1").await];
    nodes.sort();
    assert_eq!(nodes, ["n1", "n2"]);
    cluster.pod_with("web-2", json!({}), port(8080)).await;
    assert_eq!(
        cluster.failed_scheduling("web-2").await,
        "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
    );
    // Another port, or the same port over UDP, still fits.
    cluster.pod_with("other-port", json!({}), port(9090)).await;
    cluster.bound("other-port").await;
    let udp = json!({ "containers": [{ "name": "c", "image": "busybox",
        "ports": [{ "containerPort": 80, "hostPort": 8080, "protocol": "UDP" }] }] });
    cluster.pod_with("udp", json!({}), udp).await;
    cluster.bound("udp").await;
    // A specific host IP overlaps the wildcard the others hold.
    let ip = json!({ "containers": [{ "name": "c", "image": "busybox",
        "ports": [{ "containerPort": 80, "hostPort": 8080, "hostIP": "10.0.0.1" }] }] });
    cluster.pod_with("one-ip", json!({}), ip).await;
    assert_eq!(
        cluster.failed_scheduling("one-ip").await,
        cluster.failed_scheduling("web-2").await
    );
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn extended_resources_and_the_pod_count() {
    let cluster = Cluster::start().await;
    let gpu = json!({ "cpu": "4", "memory": "32Gi", "pods": "110", "example.com/gpu": "2" });
    cluster.node_from("gpu", json!({}), json!(null), gpu).await;
    let small = json!({ "cpu": "4", "memory": "32Gi", "pods": "2" });
    cluster
        .node_from("small", json!({}), json!(null), small)
        .await;
    let scheduler = Scheduler::scoring_all(&cluster);
    let gpus = |n: u32| {
        let req = json!({ "cpu": "100m", "example.com/gpu": n.to_string() });
        json!({ "containers": [{ "name": "c", "image": "busybox",
            "resources": { "requests": req, "limits": { "example.com/gpu": n.to_string() } } }] })
    };
    cluster.pod_with("one-gpu", json!({}), gpus(1)).await;
    assert_eq!(cluster.bound("one-gpu").await, "gpu");
    cluster.pod_with("two-gpus", json!({}), gpus(2)).await;
    assert_eq!(
        cluster.failed_scheduling("two-gpus").await,
        "0/2 nodes are available: 2 Insufficient example.com/gpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
    );

    let on_small = json!({ "nodeSelector": { "kubernetes.io/hostname": "small" } });
    for name in ["c-0", "c-1"] {
        cluster.pod_with(name, json!({}), on_small.clone()).await;
        assert_eq!(cluster.bound(name).await, "small");
    }
    cluster.pod_with("c-2", json!({}), on_small).await;
    assert_eq!(
        cluster.failed_scheduling("c-2").await,
        "0/2 nodes are available: 1 Too many pods, 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
    );
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn init_containers_count_by_their_maximum_and_overhead_adds() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    let scheduler = Scheduler::scoring_all(&cluster);
    // Effective request max(3, 0.5 + 0.5) = 3 of 4 cpu; a sum would not fit.
    let init_max = json!({
        "initContainers": [container("init", json!({ "cpu": "3" }))],
        "containers": [container("a", json!({ "cpu": "500m" })), container("b", json!({ "cpu": "500m" }))],
    });
    cluster.pod_with("init-max", json!({}), init_max).await;
    assert_eq!(cluster.bound("init-max").await, "n1");
    // 1 cpu is left: 500m of containers plus 600m of overhead is too much ...
    let overhead = |cpu: &str| {
        json!({ "overhead": { "cpu": cpu },
                "containers": [container("c", json!({ "cpu": "500m" }))] })
    };
    cluster
        .pod_with("overhead", json!({}), overhead("600m"))
        .await;
    assert_eq!(
        cluster.failed_scheduling("overhead").await,
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    );
    // ... 400m of overhead is not.
    cluster
        .pod_with("overhead-ok", json!({}), overhead("400m"))
        .await;
    assert_eq!(cluster.bound("overhead-ok").await, "n1");
    // 100m is left: an init container alone is enough to reject.
    let late_init = json!({
        "initContainers": [container("init", json!({ "cpu": "200m" }))],
        "containers": [container("c", json!({}))],
    });
    cluster.pod_with("late-init", json!({}), late_init).await;
    assert_eq!(
        cluster.failed_scheduling("late-init").await,
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    );
    scheduler.stop().await;
}

const TWO_PROFILES: &str = r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: second
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
"#;

#[tokio::test(flavor = "multi_thread")]
async fn pods_go_to_the_profile_they_name() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    cluster.labeled_node("n2", json!({})).await;
    let config = keelson_scheduler::config::parse_yaml(TWO_PROFILES).unwrap();
    let scheduler = Scheduler::start_with(&cluster, config);
    let heavy = json!({ "nodeSelector": { "kubernetes.io/hostname": "n1" },
        "containers": [container("c", json!({ "cpu": "2", "memory": "8Gi" }))] });
    cluster.pod_with("heavy", json!({}), heavy).await;
    assert_eq!(cluster.bound("heavy").await, "n1");

    // Created first, so queued before the others: never scheduled by anyone.
    let stranger = json!({ "schedulerName": "nobody" });
    cluster.pod_with("stranger", json!({}), stranger).await;
    // The default profile spreads (LeastAllocated), the second packs (MostAllocated).
    cluster.pod_with("spread", json!({}), json!({})).await;
    let packed = json!({ "schedulerName": "second" });
    cluster.pod_with("packed", json!({}), packed).await;
    assert_eq!(cluster.bound("spread").await, "n2");
    assert_eq!(cluster.bound("packed").await, "n1");

    assert_eq!(cluster.node_of("stranger").await, None);
    assert!(!cluster.has_failed_scheduling("stranger").await);
    let status = cluster
        .pods()
        .get("stranger")
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(status.conditions, None, "no PodScheduled condition");
    scheduler.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_name_the_profile_that_scheduled() {
    let cluster = Cluster::start().await;
    cluster.labeled_node("n1", json!({})).await;
    let config = keelson_scheduler::config::parse_yaml(TWO_PROFILES).unwrap();
    let scheduler = Scheduler::start_with(&cluster, config);
    cluster
        .pod_with("packed", json!({}), json!({ "schedulerName": "second" }))
        .await;
    assert_eq!(cluster.bound("packed").await, "n1");
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(cluster.client.clone(), "default");
    let scheduled = cluster
        .until("Scheduled event", || {
            let events = events.clone();
            async move {
                let list = events.list(&Default::default()).await.ok()?;
                list.items
                    .into_iter()
                    .find(|e| e.reason.as_deref() == Some("Scheduled"))
            }
        })
        .await;
    assert_eq!(
        scheduled.note.as_deref(),
        Some("Successfully assigned default/packed to n1")
    );
    assert_eq!(scheduled.reporting_controller.as_deref(), Some("second"));
    scheduler.stop().await;
}

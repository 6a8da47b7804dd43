//! A pod's status changed by another writer is put right by the kubelet: the node lifecycle
//! controller marks the pods of an unresponsive node not Ready, and once the node answers
//! again its kubelet posts Ready again (upstream's status manager reconciles the same way).
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use keelson_kubelet::runtime::Runtime;
use keelson_kubelet::runtime::simulated::Simulated;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use support::{Cluster, eventually, fast_config};
use tokio::sync::watch;

fn ready(pod: &Pod) -> Option<(String, Option<String>)> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone()))
}

#[tokio::test]
async fn a_ready_condition_another_writer_turned_false_is_posted_again() {
    let cluster = Cluster::start().await;
    let runtime: Arc<dyn Runtime> = Arc::new(Simulated::new("n1"));
    let (stop, stop_rx) = watch::channel(false);
    let kubelet = tokio::spawn(keelson_kubelet::run(
        cluster.client.clone(),
        fast_config("n1"),
        runtime,
        stop_rx,
    ));
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "busybox:1.36"}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let is = |status: &'static str| {
        let pods = pods.clone();
        move || {
            let pods = pods.clone();
            async move {
                let pod = pods.get("web").await.unwrap();
                ready(&pod).filter(|(s, _)| s == status).map(|_| pod)
            }
        }
    };
    let running = eventually("a Ready pod", is("True")).await;

    // What the node lifecycle controller does to the pods of a node gone silent.
    let mut conditions = running.status.unwrap().conditions.unwrap();
    for c in conditions.iter_mut().filter(|c| c.type_ == "Ready") {
        c.status = "False".to_owned();
        c.reason = Some("NodeNotReady".to_owned());
    }
    let patch = json!({"status": {"conditions": conditions}});
    pods.patch_status("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();

    let back = eventually("the kubelet to post Ready again", is("True")).await;
    assert_eq!(ready(&back), Some(("True".to_owned(), None)));
    stop.send_replace(true);
    kubelet.await.unwrap().unwrap();
}

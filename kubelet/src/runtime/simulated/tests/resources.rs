//! Pod IPs, images, timers, the event subscriber, and what idle containers cost.

use futures::StreamExt;
use tokio::time::sleep;

use super::{IMAGE, container, next, pod, run, secs};
use crate::runtime::simulated::Simulated;
use crate::runtime::{
    ContainerConfig, ContainerEventKind as Kind, Runtime, RuntimeError, SandboxConfig,
};

#[tokio::test(start_paused = true)]
async fn pod_ips_come_from_the_cidr_and_are_reused() {
    let rt = Simulated::new("node-1");
    let in_cidr = |name: &str, cidr: &str| SandboxConfig {
        pod_cidr: Some(cidr.to_owned()),
        ..pod(name, &[])
    };
    let ip = |id: String| {
        let rt = rt.clone();
        async move { rt.pod_sandbox_status(&id).await.unwrap().ip.unwrap() }
    };
    let a = rt
        .run_pod_sandbox(&in_cidr("a", "10.244.3.0/24"))
        .await
        .unwrap();
    let b = rt
        .run_pod_sandbox(&in_cidr("b", "10.244.3.0/24"))
        .await
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(ip(a.clone()).await, "10.244.3.2");
    assert_eq!(ip(b.clone()).await, "10.244.3.3");
    rt.stop_pod_sandbox(&a).await.unwrap();
    assert_eq!(
        ip(a.clone()).await,
        "10.244.3.2",
        "a stopped sandbox keeps its IP"
    );
    rt.remove_pod_sandbox(&a).await.unwrap();
    let c = rt
        .run_pod_sandbox(&in_cidr("c", "10.244.3.0/24"))
        .await
        .unwrap();
    assert_eq!(ip(c).await, "10.244.3.2");

    let host = SandboxConfig {
        host_network: true,
        ..in_cidr("h", "10.244.3.0/24")
    };
    let h = rt.run_pod_sandbox(&host).await.unwrap();
    assert_eq!(ip(h).await, "192.168.0.10");
    let d = rt
        .run_pod_sandbox(&in_cidr("d", "10.244.3.0/24"))
        .await
        .unwrap();
    assert_eq!(
        ip(d).await,
        "10.244.3.4",
        "a host-network pod takes no pod IP"
    );

    let v6 = rt
        .run_pod_sandbox(&in_cidr("v6", "fd00:10:244:3::/64"))
        .await
        .unwrap();
    assert_eq!(ip(v6).await, "fd00:10:244:3::2");

    let tiny = |name: &str| in_cidr(name, "10.9.0.0/30");
    rt.run_pod_sandbox(&tiny("t1")).await.unwrap();
    let full = rt.run_pod_sandbox(&tiny("t2")).await;
    assert!(
        matches!(full, Err(RuntimeError::Unavailable(_))),
        "{full:?}"
    );
    let bad = rt.run_pod_sandbox(&in_cidr("bad", "10.9.0.0")).await;
    assert!(matches!(bad, Err(RuntimeError::Unavailable(_))), "{bad:?}");
}

#[tokio::test(start_paused = true)]
async fn removed_containers_timers_are_skipped() {
    let rt = Simulated::new("node-1");
    let (_, ids) = run(&rt, &pod("p", &[("exit-after", "5s")]), &["app"]).await;
    rt.remove_container(&ids[0]).await.unwrap();
    let mut events = rt.container_events().await.unwrap();
    sleep(secs(10)).await;
    assert_eq!(rt.pending_timers(), 0);
    let none = tokio::time::timeout(secs(1), events.next()).await;
    assert!(none.is_err(), "an event after removal: {none:?}");
}

#[tokio::test(start_paused = true)]
async fn a_new_subscriber_replaces_the_old_one() {
    let rt = Simulated::new("node-1");
    let mut first = rt.container_events().await.unwrap();
    let mut second = rt.container_events().await.unwrap();
    assert!(
        first.next().await.is_none(),
        "the first subscriber's stream ends"
    );
    let (_, ids) = run(&rt, &pod("p", &[]), &["app"]).await;
    assert_eq!(next(&mut second).await, (ids[0].clone(), Kind::Created));
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_idle_containers_cost_no_task() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let rt = Simulated::new("node-1");
    let pod = pod("p", &[]);
    let sandbox = rt.run_pod_sandbox(&pod).await.unwrap();
    rt.pull_image(IMAGE, &pod).await.unwrap();
    for n in 0..10_000 {
        let id = rt
            .create_container(&sandbox, &container(&format!("c{n}"), false), &pod)
            .await
            .unwrap();
        rt.start_container(&id).await.unwrap();
    }
    assert_eq!(rt.list_containers(None).await.unwrap().len(), 10_000);
    assert_eq!(metrics.num_alive_tasks(), 0);
    assert_eq!(rt.pending_timers(), 0);

    // Many timed containers share one task, which ends with the runtime.
    let (_, ids) = run(
        &rt,
        &self::pod("timed", &[("exit-after", "1m")]),
        &["a", "b", "c"],
    )
    .await;
    assert_eq!(
        (metrics.num_alive_tasks(), rt.pending_timers()),
        (1, ids.len())
    );
    drop(rt);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(metrics.num_alive_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn images_by_any_name_or_by_id() {
    let rt = Simulated::new("node-1");
    let pod = pod("p", &[]);
    let sandbox = rt.run_pod_sandbox(&pod).await.unwrap();
    let id = rt.pull_image(IMAGE, &pod).await.unwrap();
    assert_eq!(
        rt.pull_image("docker.io/library/nginx:1.27", &pod)
            .await
            .unwrap(),
        id
    );
    let other = rt.pull_image("busybox", &pod).await.unwrap();
    assert_ne!(other, id);
    let images = rt.list_images().await.unwrap();
    assert_eq!(images.len(), 2);
    for name in [IMAGE, "docker.io/library/nginx:1.27", id.as_str()] {
        let found = rt.image_status(name).await.unwrap().map(|i| i.id);
        assert_eq!(found.as_deref(), Some(id.as_str()), "{name}");
    }
    assert_eq!(rt.image_status("nginx:1.28").await.unwrap(), None);

    let by_id = ContainerConfig {
        image: id.clone(),
        ..container("app", false)
    };
    let c = rt.create_container(&sandbox, &by_id, &pod).await.unwrap();
    let status = rt.container_status(&c).await.unwrap();
    assert_eq!(
        (status.image.as_str(), status.image_ref.as_str()),
        ("docker.io/library/nginx:1.27", id.as_str())
    );
}

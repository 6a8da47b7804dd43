//! The simulated runtime through the `Runtime` trait, in tokio's paused time.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::time::sleep;

mod resources;
mod steering;

use super::Simulated;
use crate::runtime::{
    ContainerConfig, ContainerEvent, ContainerEventKind as Kind, ContainerMetadata, ContainerState,
    Runtime, RuntimeError, SandboxConfig, SandboxMetadata, SandboxState,
};

pub(super) const IMAGE: &str = "nginx:1.27";

pub(super) fn pod(name: &str, annotations: &[(&str, &str)]) -> SandboxConfig {
    SandboxConfig {
        metadata: SandboxMetadata {
            name: name.to_owned(),
            namespace: "default".to_owned(),
            uid: format!("uid-{name}"),
            attempt: 0,
        },
        hostname: name.to_owned(),
        annotations: annotations
            .iter()
            .map(|(k, v)| (format!("sim.keelson.io/{k}"), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        host_ip: "192.168.0.10".to_owned(),
        ..SandboxConfig::default()
    }
}

pub(super) fn container(name: &str, init: bool) -> ContainerConfig {
    ContainerConfig {
        metadata: ContainerMetadata {
            name: name.to_owned(),
            attempt: 0,
        },
        image: IMAGE.to_owned(),
        init,
        ..ContainerConfig::default()
    }
}

/// Runs the pod's sandbox, pulls the image and creates and starts `names`.
pub(super) async fn run(
    rt: &Simulated,
    pod: &SandboxConfig,
    names: &[&str],
) -> (String, Vec<String>) {
    let sandbox = rt.run_pod_sandbox(pod).await.unwrap();
    rt.pull_image(IMAGE, pod).await.unwrap();
    let mut ids = Vec::new();
    for name in names {
        let id = rt
            .create_container(&sandbox, &container(name, false), pod)
            .await
            .unwrap();
        rt.start_container(&id).await.unwrap();
        ids.push(id);
    }
    (sandbox, ids)
}

pub(super) async fn next(events: &mut BoxStream<'static, ContainerEvent>) -> (String, Kind) {
    let event = events.next().await.unwrap();
    (event.container_id, event.kind)
}

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test(start_paused = true)]
async fn sandbox_and_container_lifecycle() {
    let rt = Simulated::new("node-1");
    let version = rt.version().await.unwrap();
    assert_eq!(version.runtime_name, "simulated");
    assert_eq!(version.runtime_version, env!("CARGO_PKG_VERSION"));
    let mut events = rt.container_events().await.unwrap();
    let pod = pod("web", &[]);
    let sandbox = rt.run_pod_sandbox(&pod).await.unwrap();
    let status = rt.pod_sandbox_status(&sandbox).await.unwrap();
    assert_eq!(
        (status.state, status.ip.as_deref()),
        (SandboxState::Ready, Some("10.88.0.2"))
    );
    assert_eq!(status.metadata, pod.metadata);
    assert!(status.created_at > 0);

    let missing = rt
        .create_container("nope", &container("app", false), &pod)
        .await;
    assert!(
        matches!(missing, Err(RuntimeError::NotFound(_))),
        "{missing:?}"
    );
    let unpulled = rt
        .create_container(&sandbox, &container("app", false), &pod)
        .await;
    assert!(
        matches!(unpulled, Err(RuntimeError::CreateContainer(_))),
        "{unpulled:?}"
    );
    let image_ref = rt.pull_image(IMAGE, &pod).await.unwrap();
    let id = rt
        .create_container(&sandbox, &container("app", false), &pod)
        .await
        .unwrap();
    assert_eq!(next(&mut events).await, (id.clone(), Kind::Created));
    let created = rt.container_status(&id).await.unwrap();
    assert_eq!(created.state, ContainerState::Created);
    assert_eq!(
        (created.image.as_str(), created.image_ref.as_str()),
        (IMAGE, image_ref.as_str())
    );
    assert_eq!(
        (created.sandbox_id.as_str(), created.metadata.name.as_str()),
        (sandbox.as_str(), "app")
    );
    assert_eq!(created.started_at, 0);

    sleep(secs(2)).await;
    rt.start_container(&id).await.unwrap();
    assert_eq!(next(&mut events).await, (id.clone(), Kind::Started));
    let running = rt.container_status(&id).await.unwrap();
    assert_eq!(running.state, ContainerState::Running);
    assert_eq!(running.started_at - running.created_at, 2_000_000_000);
    assert!(matches!(
        rt.start_container(&id).await,
        Err(RuntimeError::StartContainer(_))
    ));
    assert_eq!(
        rt.list_containers(Some(&sandbox)).await.unwrap(),
        std::slice::from_ref(&running)
    );
    assert_eq!(rt.list_containers(None).await.unwrap(), [running]);
    assert_eq!(rt.list_containers(Some("nope")).await.unwrap(), []);
    assert_eq!(
        rt.exec_sync(&id, &["true".to_owned()], secs(1))
            .await
            .unwrap()
            .exit_code,
        0
    );

    rt.stop_container(&id, secs(30)).await.unwrap();
    assert_eq!(next(&mut events).await, (id.clone(), Kind::Stopped));
    let exited = rt.container_status(&id).await.unwrap();
    assert_eq!(
        (exited.state, exited.exit_code, exited.reason.as_str()),
        (ContainerState::Exited, 0, "Completed")
    );
    assert_eq!(exited.finished_at, exited.started_at);
    assert!(matches!(
        rt.exec_sync(&id, &[], secs(1)).await,
        Err(RuntimeError::NotFound(_))
    ));
    rt.stop_container(&id, secs(30)).await.unwrap();

    rt.remove_container(&id).await.unwrap();
    let event = events.next().await.unwrap();
    assert_eq!(
        (
            event.kind,
            event.sandbox_id.as_str(),
            event.pod_uid.as_str()
        ),
        (Kind::Deleted, sandbox.as_str(), "uid-web")
    );
    assert!(matches!(
        rt.container_status(&id).await,
        Err(RuntimeError::NotFound(_))
    ));
    rt.remove_container(&id).await.unwrap();

    rt.stop_pod_sandbox(&sandbox).await.unwrap();
    assert_eq!(
        rt.pod_sandbox_status(&sandbox).await.unwrap().state,
        SandboxState::NotReady
    );
    let late = rt
        .create_container(&sandbox, &container("late", false), &pod)
        .await;
    assert!(
        matches!(late, Err(RuntimeError::CreateContainer(_))),
        "{late:?}"
    );
    rt.remove_pod_sandbox(&sandbox).await.unwrap();
    assert!(rt.list_pod_sandboxes().await.unwrap().is_empty());
    assert!(matches!(
        rt.pod_sandbox_status(&sandbox).await,
        Err(RuntimeError::NotFound(_))
    ));
    assert!(matches!(
        rt.stop_pod_sandbox(&sandbox).await,
        Err(RuntimeError::NotFound(_))
    ));
    rt.remove_pod_sandbox(&sandbox).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn removing_a_sandbox_kills_and_removes_its_containers() {
    let rt = Simulated::new("node-1");
    let pod = pod("web", &[]);
    let (sandbox, ids) = run(&rt, &pod, &["a", "b"]).await;
    let (_, other) = run(&rt, &self::pod("other", &[]), &["c"]).await;
    let mut events = rt.container_events().await.unwrap();
    rt.remove_pod_sandbox(&sandbox).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(next(&mut events).await);
    }
    let want = vec![
        (ids[0].clone(), Kind::Stopped),
        (ids[0].clone(), Kind::Deleted),
        (ids[1].clone(), Kind::Stopped),
        (ids[1].clone(), Kind::Deleted),
    ];
    assert_eq!(seen, want);
    let left: Vec<String> = rt
        .list_containers(None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, other);
}

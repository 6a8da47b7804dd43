//! Behaviour steered by the `sim.keelson.io/` annotations, over (paused) time.

use tokio::time::{Instant, sleep};

use super::{IMAGE, container, next, pod, run, secs};
use crate::runtime::simulated::Simulated;
use crate::runtime::{
    ContainerEventKind as Kind, ContainerState, ProbeKind, ProbeOutcome, Runtime, RuntimeError,
};

#[tokio::test(start_paused = true)]
async fn exit_after_and_exit_code_end_the_container_on_time() {
    let rt = Simulated::new("node-1");
    let mut events = rt.container_events().await.unwrap();
    let pod = pod("job", &[("exit-after", "10s"), ("exit-code", "3")]);
    let start = Instant::now();
    let (_, ids) = run(&rt, &pod, &["main"]).await;
    let id = &ids[0];
    assert_eq!(next(&mut events).await, (id.clone(), Kind::Created));
    assert_eq!(next(&mut events).await, (id.clone(), Kind::Started));
    assert_eq!(rt.pending_timers(), 1);
    sleep(secs(9)).await;
    assert_eq!(
        rt.container_status(id).await.unwrap().state,
        ContainerState::Running
    );
    assert_eq!(next(&mut events).await, (id.clone(), Kind::Stopped));
    assert_eq!(start.elapsed(), secs(10));
    let status = rt.container_status(id).await.unwrap();
    assert_eq!(
        (status.state, status.exit_code, status.reason.as_str()),
        (ContainerState::Exited, 3, "Error")
    );
    assert_eq!(status.finished_at - status.started_at, 10_000_000_000);
    assert_eq!(rt.pending_timers(), 0);
}

#[tokio::test(start_paused = true)]
async fn init_containers_complete_at_once_by_default() {
    let rt = Simulated::new("node-1");
    let pod = pod("p", &[]);
    let sandbox = rt.run_pod_sandbox(&pod).await.unwrap();
    rt.pull_image(IMAGE, &pod).await.unwrap();
    let mut events = rt.container_events().await.unwrap();
    let init = rt
        .create_container(&sandbox, &container("setup", true), &pod)
        .await
        .unwrap();
    rt.start_container(&init).await.unwrap();
    let status = rt.container_status(&init).await.unwrap();
    assert_eq!(
        (status.state, status.exit_code, status.reason.as_str()),
        (ContainerState::Exited, 0, "Completed")
    );
    assert_eq!(status.finished_at, status.started_at);
    assert_eq!(next(&mut events).await.1, Kind::Created);
    assert_eq!(next(&mut events).await.1, Kind::Started);
    assert_eq!(next(&mut events).await.1, Kind::Stopped);

    let app = rt
        .create_container(&sandbox, &container("app", false), &pod)
        .await
        .unwrap();
    rt.start_container(&app).await.unwrap();
    sleep(secs(3600)).await;
    assert_eq!(
        rt.container_status(&app).await.unwrap().state,
        ContainerState::Running
    );
    assert_eq!(rt.pending_timers(), 0);
}

#[tokio::test(start_paused = true)]
async fn probes_answer_from_the_annotations_over_time() {
    let rt = Simulated::new("node-1");
    let pod = pod(
        "p",
        &[
            ("ready-after", "5s"),
            ("readiness-fail-after", "60s"),
            ("liveness-fail-after", "30s"),
            ("startup-after", "10s"),
        ],
    );
    let sandbox = rt.run_pod_sandbox(&pod).await.unwrap();
    rt.pull_image(IMAGE, &pod).await.unwrap();
    let id = rt
        .create_container(&sandbox, &container("app", false), &pod)
        .await
        .unwrap();
    let passes = |kind| {
        let (rt, id) = (rt.clone(), id.clone());
        async move { rt.simulated_probe(&id, kind).await.unwrap() == ProbeOutcome::Success }
    };
    use ProbeKind::*;
    for kind in [Readiness, Liveness, Startup] {
        assert!(
            !passes(kind).await,
            "{kind:?} passed before the container started"
        );
    }
    rt.start_container(&id).await.unwrap();
    // (seconds after start, readiness, liveness, startup)
    let timeline = [
        (0, false, true, false),
        (5, true, true, false),
        (10, true, true, true),
        (30, true, false, true),
        (60, false, false, true),
    ];
    let start = Instant::now();
    for (at, ready, live, started) in timeline {
        tokio::time::sleep_until(start + secs(at)).await;
        assert_eq!(passes(Readiness).await, ready, "readiness at {at}s");
        assert_eq!(passes(Liveness).await, live, "liveness at {at}s");
        assert_eq!(passes(Startup).await, started, "startup at {at}s");
    }
    rt.stop_container(&id, secs(0)).await.unwrap();
    assert!(!passes(Startup).await, "an exited container passed a probe");
    assert!(
        rt.simulated_probe("nope", Liveness)
            .await
            .is_some_and(|o| o != ProbeOutcome::Success)
    );
}

#[tokio::test(start_paused = true)]
async fn termination_delay_within_and_beyond_the_grace_period() {
    let rt = Simulated::new("node-1");
    let cases = [
        ("5s", 30, 5, 0, "Completed"),
        ("1m", 30, 30, 137, "Error"),
        ("5s", 0, 0, 137, "Error"),
    ];
    for (delay, grace, took, code, reason) in cases {
        let (_, ids) = run(
            &rt,
            &pod(&format!("p{delay}{grace}"), &[("termination-delay", delay)]),
            &["app"],
        )
        .await;
        let start = Instant::now();
        rt.stop_container(&ids[0], secs(grace)).await.unwrap();
        assert_eq!(start.elapsed(), secs(took), "delay {delay}, grace {grace}s");
        let status = rt.container_status(&ids[0]).await.unwrap();
        assert_eq!(
            (status.state, status.exit_code, status.reason.as_str()),
            (ContainerState::Exited, code, reason)
        );
    }
    // A container that exits by itself while stopping ends the stop early, with its own code.
    let (_, ids) = run(
        &rt,
        &pod(
            "early",
            &[
                ("termination-delay", "1m"),
                ("exit-after", "3s"),
                ("exit-code", "4"),
            ],
        ),
        &["app"],
    )
    .await;
    let start = Instant::now();
    rt.stop_container(&ids[0], secs(30)).await.unwrap();
    assert_eq!(start.elapsed(), secs(3));
    assert_eq!(rt.container_status(&ids[0]).await.unwrap().exit_code, 4);
}

#[tokio::test(start_paused = true)]
async fn stopping_a_sandbox_stops_its_containers_without_grace() {
    let rt = Simulated::new("node-1");
    let pod = pod("p", &[("termination-delay.slow", "10s")]);
    let (sandbox, ids) = run(&rt, &pod, &["slow", "quick"]).await;
    let pending = rt
        .create_container(&sandbox, &container("later", false), &pod)
        .await
        .unwrap();
    rt.stop_pod_sandbox(&sandbox).await.unwrap();
    let code = |id: String| {
        let rt = rt.clone();
        async move {
            let s = rt.container_status(&id).await.unwrap();
            (s.state, s.exit_code)
        }
    };
    assert_eq!(code(ids[0].clone()).await, (ContainerState::Exited, 137));
    assert_eq!(code(ids[1].clone()).await, (ContainerState::Exited, 0));
    assert_eq!(code(pending).await, (ContainerState::Created, 0));
}

#[tokio::test(start_paused = true)]
async fn image_pull_and_start_errors() {
    let rt = Simulated::new("node-1");
    let failing = pod("p", &[("image-pull-error", "manifest unknown")]);
    match rt.pull_image("nginx:nope", &failing).await {
        Err(RuntimeError::ImagePull { image, message }) => {
            assert_eq!(
                (image.as_str(), message.as_str()),
                ("nginx:nope", "manifest unknown")
            );
        }
        other => panic!("pull succeeded: {other:?}"),
    }
    assert!(rt.list_images().await.unwrap().is_empty());
    assert_eq!(rt.image_status("nginx:nope").await.unwrap(), None);

    let pod = pod("q", &[("start-error.bad", "exec: \"nope\": not found")]);
    let sandbox = rt.run_pod_sandbox(&pod).await.unwrap();
    let id = rt.pull_image(IMAGE, &pod).await.unwrap();
    let images = rt.list_images().await.unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].id, id);
    assert_eq!(images[0].repo_tags, ["docker.io/library/nginx:1.27"]);
    assert_eq!(
        rt.image_status("docker.io/library/nginx:1.27")
            .await
            .unwrap()
            .map(|i| i.id),
        Some(id.clone())
    );
    assert_eq!(
        rt.image_status(&id).await.unwrap().map(|i| i.id),
        Some(id.clone())
    );
    rt.pull_image("docker.io/library/nginx:1.27", &pod)
        .await
        .unwrap();
    assert_eq!(rt.list_images().await.unwrap().len(), 1);

    let bad = rt
        .create_container(&sandbox, &container("bad", false), &pod)
        .await
        .unwrap();
    match rt.start_container(&bad).await {
        Err(RuntimeError::StartContainer(message)) => {
            assert_eq!(message, "exec: \"nope\": not found")
        }
        other => panic!("start succeeded: {other:?}"),
    }
    let status = rt.container_status(&bad).await.unwrap();
    assert_eq!(
        (status.state, status.exit_code, status.reason.as_str()),
        (ContainerState::Exited, 128, "StartError")
    );
    assert_eq!(status.message, "exec: \"nope\": not found");
    let good = rt
        .create_container(&sandbox, &container("good", false), &pod)
        .await
        .unwrap();
    rt.start_container(&good).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn container_suffix_beats_the_plain_key() {
    let rt = Simulated::new("node-1");
    let pod = pod(
        "p",
        &[
            ("exit-after", "1s"),
            ("exit-code", "1"),
            ("exit-code.web", "2"),
            ("exit-after.db", "1h"),
        ],
    );
    let (_, ids) = run(&rt, &pod, &["web", "side", "db"]).await;
    sleep(secs(2)).await;
    let mut got = Vec::new();
    for id in &ids {
        let s = rt.container_status(id).await.unwrap();
        got.push((s.metadata.name, s.state, s.exit_code));
    }
    assert_eq!(
        got,
        [
            ("web".to_owned(), ContainerState::Exited, 2),
            ("side".to_owned(), ContainerState::Exited, 1),
            ("db".to_owned(), ContainerState::Running, 0),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn unparseable_values_are_ignored() {
    let rt = Simulated::new("node-1");
    let pod = pod(
        "p",
        &[
            ("exit-after", "soon"),
            ("exit-code", "x"),
            ("exit-after.job", "1s"),
            ("ready-after", "5 s"),
        ],
    );
    let (_, ids) = run(&rt, &pod, &["app", "job"]).await;
    assert_eq!(
        rt.simulated_probe(&ids[0], ProbeKind::Readiness).await,
        Some(ProbeOutcome::Success)
    );
    sleep(secs(3600)).await;
    let app = rt.container_status(&ids[0]).await.unwrap();
    let job = rt.container_status(&ids[1]).await.unwrap();
    assert_eq!(app.state, ContainerState::Running);
    assert_eq!((job.state, job.exit_code), (ContainerState::Exited, 0));
}

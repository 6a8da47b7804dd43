//! Probe workers in paused time: startup gating, stopping, jitter; one real HTTP probe.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, HTTPGetAction, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use keelson_kubelet::prober::{ProbeNotice, ProbeResult};
use tokio::time::Instant;

use crate::pods::*;

#[tokio::test(start_paused = true)]
async fn the_startup_probe_gates_the_others_and_then_stops() {
    let mut s = setup();
    s.fake.answer("c1", START, fail());
    s.fake.answer("c1", READY, PASS);
    s.fake.answer("c1", LIVE, PASS);
    let container = app(
        Some(probe(0, 10, 3)),
        Some(probe(0, 10, 3)),
        Some(probe(0, 5, 30)),
    );
    s.manager.add_pod(&pod("p1", "Always", vec![container]));
    let t0 = Instant::now();
    s.start("c1");
    until(t0, 10.0).await;
    assert_eq!(s.fake.probed("c1", START), 3);
    assert_eq!(
        (s.fake.probed("c1", READY), s.fake.probed("c1", LIVE)),
        (0, 0)
    );
    assert!(!s.manager.started("p1", "app", "c1"));
    assert!(!s.manager.ready("p1", "app", "c1"));

    s.fake.answer("c1", START, PASS);
    until(t0, 15.0).await;
    assert!(s.manager.started("p1", "app", "c1"));
    assert_eq!(
        s.fake.probed("c1", READY),
        1,
        "readiness probes right after startup succeeded"
    );
    assert_eq!(s.fake.probed("c1", LIVE), 1);
    assert!(s.manager.ready("p1", "app", "c1"));
    until(t0, 60.0).await;
    assert_eq!(
        s.fake.probed("c1", START),
        4,
        "no startup probe after its success"
    );
    assert_eq!(s.fake.probed("c1", READY), 5, "at 15, 25, 35, 45 and 55 s");
    let startup: Vec<_> = s.updates().into_iter().filter(|u| u.1 == START).collect();
    let want = vec![
        update("c1", START, ProbeResult::Unknown),
        update("c1", START, ProbeResult::Success),
    ];
    assert_eq!(startup, want);

    // A restarted container runs its startup probe again.
    s.fake.answer("c2", START, PASS);
    s.start("c2");
    until(Instant::now(), 0.0).await;
    assert_eq!(s.fake.probed("c2", START), 1);
}

#[tokio::test(start_paused = true)]
async fn workers_stop_with_their_pod_or_container() {
    let mut s = setup();
    for id in ["c1", "c2"] {
        s.fake.answer(id, READY, PASS);
        s.fake.answer(id, LIVE, PASS);
    }
    let container = app(Some(probe(0, 10, 3)), Some(probe(0, 10, 3)), None);
    s.manager.add_pod(&pod("p1", "Never", vec![container]));
    let t0 = Instant::now();
    s.start("c1");
    until(t0, 10.0).await;
    assert_eq!(s.fake.probed("c1", READY), 2);

    // Deletion: liveness stops with a last success, readiness goes on.
    s.manager.pod_terminating("p1");
    until(t0, 30.0).await;
    assert_eq!(
        (s.fake.probed("c1", LIVE), s.fake.probed("c1", READY)),
        (2, 4)
    );

    // restartPolicy Never: a stopped container is not probed again.
    s.manager.container_stopped("p1", "app", "c1");
    assert_eq!(s.manager.result("c1", READY), Some(ProbeResult::Failure));
    assert!(!s.manager.ready("p1", "app", "c1"));
    until(t0, 60.0).await;
    assert_eq!(s.fake.probed("c1", READY), 4);
    s.drain();

    let mut second = pod("p1", "Always", vec![app(None, Some(probe(0, 10, 3)), None)]);
    second.metadata.uid = Some("p2".to_owned());
    s.manager.add_pod(&second);
    s.manager
        .container_started("p2", "app", "c2", 0, "127.0.0.1");
    let t1 = Instant::now();
    until(t1, 10.0).await;
    assert_eq!(s.fake.probed("c2", READY), 2);
    s.manager.remove_pod("p2");
    assert_eq!(s.manager.result("c2", READY), None, "results are forgotten");
    until(t1, 60.0).await;
    assert_eq!(s.fake.probed("c2", READY), 2, "no probes after removal");
    let want = [ProbeResult::Failure, ProbeResult::Success].map(|r| update("c2", READY, r));
    assert_eq!(s.updates(), want, "nothing after the removal");
}

#[tokio::test(start_paused = true)]
async fn containers_running_before_the_kubelet_get_jittered_first_probes() {
    let s = setup();
    let containers: Vec<_> = (0..20)
        .map(|i| Container {
            name: format!("app{i}"),
            ..app(None, Some(probe(0, 10, 3)), None)
        })
        .collect();
    s.manager.add_pod(&pod("p1", "Always", containers));
    let t0 = Instant::now();
    let an_hour_ago = jiff::Timestamp::now().as_nanosecond() - 3_600_000_000_000;
    let an_hour_ago = i64::try_from(an_hour_ago).unwrap_or(0);
    for i in 0..20 {
        s.fake.answer(&format!("old{i}"), READY, PASS);
        s.manager.container_started(
            "p1",
            &format!("app{i}"),
            &format!("old{i}"),
            an_hour_ago,
            "",
        );
    }
    until(t0, 10.0).await;
    let mut firsts: Vec<Duration> = (0..20)
        .filter_map(|i| {
            s.fake
                .times(&format!("old{i}"), READY)
                .first()
                .map(|at| *at - t0)
        })
        .collect();
    assert_eq!(firsts.len(), 20, "every one probed within a period");
    firsts.sort();
    firsts.dedup();
    assert!(
        firsts.len() > 1,
        "spread over the period, not all at once: {firsts:?}"
    );
}

#[tokio::test]
async fn a_real_http_probe_reports_a_warning_for_a_redirect_elsewhere() {
    let app_server = axum::Router::new().route(
        "/moved",
        axum::routing::get(|| async {
            (
                axum::http::StatusCode::FOUND,
                [("location", "http://elsewhere.invalid/")],
                "bye",
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move { axum::serve(listener, app_server).await });
    let mut s = setup();
    let readiness = Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/moved".to_owned()),
            port: IntOrString::Int(i32::from(port)),
            ..Default::default()
        }),
        ..Default::default()
    };
    s.manager
        .add_pod(&pod("p1", "Always", vec![app(None, Some(readiness), None)]));
    s.start("c1");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let notice = tokio::time::timeout(Duration::from_secs(10), s.notices.recv()).await;
        seen.push(notice.ok().flatten().expect("a notice"));
    }
    let warning = seen.iter().find_map(|n| match n {
        ProbeNotice::Event(e) => Some((e.reason, e.message.clone())),
        ProbeNotice::Result(_) => None,
    });
    let message = "Readiness probe warning: Probe terminated redirects, Response body: bye";
    assert_eq!(warning, Some(("ProbeWarning", message.to_owned())));
    assert!(s.manager.ready("p1", "app", "c1"), "a warning is a pass");
}

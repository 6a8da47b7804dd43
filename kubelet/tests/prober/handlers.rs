//! `run_probe` for each handler, against real local servers (and the fake runtime for
//! exec and simulated answers).

use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ExecAction, GRPCAction, Probe, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use keelson_kubelet::prober::{ProbeTarget, run_probe};
use keelson_kubelet::runtime::{ProbeKind, ProbeOutcome};
use tokio::net::TcpListener;

use crate::fake::{Exec, Fake};

const LIVENESS: ProbeKind = ProbeKind::Liveness;

pub(crate) fn container(port: u16) -> Container {
    Container {
        name: "app".to_owned(),
        ports: Some(vec![ContainerPort {
            name: Some("web".to_owned()),
            container_port: i32::from(port),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

pub(crate) async fn run(fake: &Fake, container: &Container, probe: &Probe) -> ProbeOutcome {
    let target = ProbeTarget {
        container_id: "c1",
        pod_ip: "127.0.0.1",
        container,
    };
    run_probe(fake, &target, probe, LIVENESS).await
}

pub(crate) fn failure_containing(outcome: &ProbeOutcome, part: &str) -> bool {
    matches!(outcome, ProbeOutcome::Failure(message) if message.contains(part))
}

/// A port nothing listens on.
pub(crate) async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address").port()
}

// ---- tcpSocket ----

fn tcp_probe(port: u16) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            host: None,
            port: IntOrString::Int(i32::from(port)),
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn tcp_socket_passes_when_it_connects() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let fake = Fake::new();
    let c = container(port);
    assert_eq!(
        run(&fake, &c, &tcp_probe(port)).await,
        ProbeOutcome::Success
    );
    let closed = closed_port().await;
    let outcome = run(&fake, &c, &tcp_probe(closed)).await;
    assert!(
        failure_containing(&outcome, &format!("dial tcp 127.0.0.1:{closed}: ")),
        "{outcome:?}"
    );
}

// ---- grpc ----

fn grpc_probe(port: u16, service: &str) -> Probe {
    Probe {
        grpc: Some(GRPCAction {
            port: i32::from(port),
            service: Some(service.to_owned()),
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn grpc_passes_when_serving() {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("up", tonic_health::ServingStatus::Serving)
        .await;
    reporter
        .set_service_status("down", tonic_health::ServingStatus::NotServing)
        .await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let incoming = tokio_stream_incoming(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming),
    );
    let fake = Fake::new();
    let c = container(port);
    // The empty service is the server's overall health, which the reporter serves.
    let cases = [
        ("up", Ok(())),
        ("", Ok(())),
        (
            "down",
            Err(r#"service unhealthy (responded with "NOT_SERVING")"#),
        ),
        ("nope", Err("error: health rpc probe failed")),
    ];
    for (name, want) in cases {
        let outcome = run(&fake, &c, &grpc_probe(port, name)).await;
        match want {
            Ok(()) => assert_eq!(outcome, ProbeOutcome::Success, "{name}"),
            Err(part) => assert!(failure_containing(&outcome, part), "{name}: {outcome:?}"),
        }
    }
    let outcome = run(&fake, &c, &grpc_probe(closed_port().await, "up")).await;
    assert!(
        failure_containing(&outcome, "error: failed to connect service at"),
        "{outcome:?}"
    );
}

fn tokio_stream_incoming(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

// ---- exec and simulated answers ----

fn exec_probe(command: &[&str]) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|s| (*s).to_owned()).collect()),
        }),
        timeout_seconds: Some(2),
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn exec_passes_on_exit_zero_and_fails_with_its_output() {
    let fake = Fake::new();
    let c = container(80);
    let probe = exec_probe(&["cat", "/tmp/healthy"]);
    fake.set_exec(Exec::Exit(0, "ok", ""));
    assert_eq!(run(&fake, &c, &probe).await, ProbeOutcome::Success);
    fake.set_exec(Exec::Exit(1, "out;", "cat: /tmp/healthy: No such file"));
    let failed = ProbeOutcome::Failure("out;cat: /tmp/healthy: No such file".to_owned());
    assert_eq!(run(&fake, &c, &probe).await, failed);
    assert_eq!(
        fake.execs(),
        vec![vec!["cat".to_owned(), "/tmp/healthy".to_owned()]; 2]
    );
}

#[tokio::test(start_paused = true)]
async fn exec_timeout_is_a_failure_and_errors_are_retried() {
    let fake = Fake::new();
    let c = container(80);
    let probe = exec_probe(&["sh", "-c", "sleep 60"]);
    fake.set_exec(Exec::Hang);
    let started = tokio::time::Instant::now();
    let timed_out = ProbeOutcome::Failure(r#"command "sh -c sleep 60" timed out"#.to_owned());
    assert_eq!(run(&fake, &c, &probe).await, timed_out);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "timeoutSeconds bounds it"
    );
    assert_eq!(fake.execs().len(), 1, "a timeout is a failure, not retried");

    fake.set_exec(Exec::Broken);
    let outcome = run(&fake, &c, &probe).await;
    assert!(
        failure_containing(&outcome, "exec is broken"),
        "{outcome:?}"
    );
    assert_eq!(
        fake.execs().len(),
        4,
        "an errored probe is tried three times"
    );
}

#[tokio::test]
async fn a_simulated_answer_wins() {
    let fake = Fake::new();
    let c = container(80);
    fake.answer(
        "c1",
        LIVENESS,
        ProbeOutcome::Failure("simulated".to_owned()),
    );
    let probe = exec_probe(&["true"]);
    assert_eq!(
        run(&fake, &c, &probe).await,
        ProbeOutcome::Failure("simulated".to_owned())
    );
    assert!(fake.execs().is_empty(), "nothing exec'd");
    let target = ProbeTarget {
        container_id: "c1",
        pod_ip: "127.0.0.1",
        container: &c,
    };
    let readiness = run_probe(&fake, &target, &probe, ProbeKind::Readiness).await;
    assert_eq!(
        readiness,
        ProbeOutcome::Success,
        "other kinds are not simulated: exec ran"
    );
}

//! Running one probe once: the handler dispatch, upstream's retries of errored probes,
//! container port resolution, and the `tcpSocket` handler.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::net::TcpStream;

use super::{exec, grpc, http, spec};
use crate::runtime::{ProbeKind, ProbeOutcome, Runtime};

/// How often an errored probe is tried in one run (upstream's `maxProbeRetries`).
const MAX_TRIES: usize = 3;

/// The `User-Agent` of HTTP and gRPC probes: `kube-probe/<major>.<minor>`.
pub(crate) const USER_AGENT: &str = "kube-probe/1.33";

/// What a probe is run against.
#[derive(Debug, Clone, Copy)]
pub struct ProbeTarget<'a> {
    /// The runtime's container id (exec probes and simulated answers).
    pub container_id: &'a str,
    /// The pod's IP: the host of network probes that name none.
    pub pod_ip: &'a str,
    /// The container's spec (named ports).
    pub container: &'a Container,
}

/// One run's answer, as upstream's prober sees it before results are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Passed.
    Success,
    /// Passed, with a warning to record (an HTTP redirect that was not followed).
    Warning(String),
    /// Failed, with the handler's output.
    Failure(String),
    /// The probe could not be run (an unknown named port, a runtime error): upstream
    /// records an event and throws the result away.
    Error(String),
}

/// Runs `probe` once against `target`: the runtime's simulated answer when it has one,
/// else the probe's handler, bounded by its `timeoutSeconds`. An errored probe is
/// tried up to three times, then counts as a failure.
pub async fn run_probe(
    runtime: &dyn Runtime,
    target: &ProbeTarget<'_>,
    probe: &Probe,
    kind: ProbeKind,
) -> ProbeOutcome {
    match answer(runtime, target, probe, kind).await {
        Answer::Success | Answer::Warning(_) => ProbeOutcome::Success,
        Answer::Failure(output) | Answer::Error(output) => ProbeOutcome::Failure(output),
    }
}

/// Runs `probe` once, retrying errors as upstream does.
pub(crate) async fn answer(
    runtime: &dyn Runtime,
    target: &ProbeTarget<'_>,
    probe: &Probe,
    kind: ProbeKind,
) -> Answer {
    if let Some(outcome) = runtime.simulated_probe(target.container_id, kind).await {
        return match outcome {
            ProbeOutcome::Success => Answer::Success,
            ProbeOutcome::Failure(output) => Answer::Failure(output),
        };
    }
    let mut answer = Answer::Error("not run".to_owned());
    for _ in 0..MAX_TRIES {
        answer = once(runtime, target, probe).await;
        if !matches!(answer, Answer::Error(_)) {
            break;
        }
    }
    answer
}

async fn once(runtime: &dyn Runtime, target: &ProbeTarget<'_>, probe: &Probe) -> Answer {
    let timeout = spec::timeout(probe);
    if let Some(action) = &probe.exec {
        let command = action.command.clone().unwrap_or_default();
        return exec::probe(runtime, target.container_id, &command, timeout).await;
    }
    if let Some(action) = &probe.http_get {
        return match http::request(action, target.container, target.pod_ip) {
            Ok(request) => http::probe(request, timeout).await,
            Err(error) => Answer::Error(error),
        };
    }
    if let Some(action) = &probe.tcp_socket {
        let host = action.host.as_deref().filter(|h| !h.is_empty());
        return match resolve_port(&action.port, target.container) {
            Ok(port) => tcp(host.unwrap_or(target.pod_ip), port, timeout).await,
            Err(error) => Answer::Error(error),
        };
    }
    if let Some(action) = &probe.grpc {
        let service = action.service.as_deref().unwrap_or("");
        return match u16::try_from(action.port) {
            Ok(port) if port > 0 => grpc::probe(target.pod_ip, port, service, timeout).await,
            _ => Answer::Error(format!("invalid port number: {}", action.port)),
        };
    }
    Answer::Error(format!(
        "missing probe handler for container {}",
        target.container.name
    ))
}

/// Connects within the timeout and closes again (upstream's `DoTCPProbe`).
async fn tcp(host: &str, port: u16, timeout: Duration) -> Answer {
    let address = join_host_port(host, port);
    match tokio::time::timeout(timeout, TcpStream::connect(address.as_str())).await {
        Ok(Ok(_stream)) => Answer::Success,
        Ok(Err(error)) => Answer::Failure(format!("dial tcp {address}: {error}")),
        Err(_) => Answer::Failure(format!("dial tcp {address}: i/o timeout")),
    }
}

/// A probe's port: a number, or the name of one of the container's ports (or, as a last
/// resort, a number written as a string), between 1 and 65535.
pub(crate) fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    let number = match port {
        IntOrString::Int(number) => *number,
        IntOrString::String(name) => {
            let named = container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()));
            match (named, name.parse::<i32>()) {
                (Some(p), _) => p.container_port,
                (None, Ok(number)) => number,
                (None, Err(_)) => return Err(format!("port {name} not found")),
            }
        }
    };
    u16::try_from(number)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid port number: {number}"))
}

/// `host:port`, with an IPv6 host in brackets (Go's `net.JoinHostPort`).
pub(crate) fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ContainerPort;

    use super::*;

    fn container() -> Container {
        Container {
            name: "app".to_owned(),
            ports: Some(vec![ContainerPort {
                name: Some("http".to_owned()),
                container_port: 8080,
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn ports_resolve_as_upstream() {
        let cases: [(IntOrString, Result<u16, &str>); 6] = [
            (IntOrString::Int(80), Ok(80)),
            (IntOrString::String("http".into()), Ok(8080)),
            (IntOrString::String("9090".into()), Ok(9090)),
            (
                IntOrString::String("grpc".into()),
                Err("port grpc not found"),
            ),
            (IntOrString::Int(0), Err("invalid port number: 0")),
            (IntOrString::Int(70000), Err("invalid port number: 70000")),
        ];
        for (port, want) in cases {
            let got = resolve_port(&port, &container());
            assert_eq!(got, want.map_err(str::to_owned), "{port:?}");
        }
    }

    #[test]
    fn hosts_join_with_ports() {
        assert_eq!(join_host_port("10.0.0.1", 80), "10.0.0.1:80");
        assert_eq!(join_host_port("fd00::1", 80), "[fd00::1]:80");
        assert_eq!(join_host_port("example.com", 8080), "example.com:8080");
    }
}

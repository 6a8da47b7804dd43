//! The `grpc` handler (upstream's `pkg/probe/grpc`): `grpc.health.v1.Health/Check` with
//! the probe's `service` over plaintext HTTP/2 to the pod IP; `SERVING` passes. Dialing
//! and the call share one deadline of `timeoutSeconds`.

use std::time::Duration;

use tokio::time::{Instant, timeout_at};
use tonic::Code;
use tonic::transport::Endpoint;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::run::{Answer, USER_AGENT, join_host_port};

pub(super) async fn probe(host: &str, port: u16, service: &str, timeout: Duration) -> Answer {
    let deadline = Instant::now() + timeout;
    let address = join_host_port(host, port);
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .and_then(|e| e.user_agent(USER_AGENT))
        .map(|e| e.connect_timeout(timeout).timeout(timeout));
    let endpoint = match endpoint {
        Ok(endpoint) => endpoint,
        Err(error) => return Answer::Error(format!("gRPC address {address:?}: {error}")),
    };
    let channel = match timeout_at(deadline, endpoint.connect()).await {
        Ok(Ok(channel)) => channel,
        Ok(Err(error)) => {
            return Answer::Failure(format!(
                "error: failed to connect service at {address:?}: {}",
                chain(&error)
            ));
        }
        Err(_) => {
            return Answer::Failure(format!(
                "timeout: failed to connect service {address:?} within {timeout:?}: context deadline exceeded"
            ));
        }
    };
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let response = match timeout_at(deadline, HealthClient::new(channel).check(request)).await {
        Ok(Ok(response)) => response.into_inner(),
        Ok(Err(status)) => return Answer::Failure(rpc_failure(&status, timeout)),
        Err(_) => return Answer::Failure(deadline_message(timeout)),
    };
    match ServingStatus::try_from(response.status) {
        Ok(ServingStatus::Serving) => Answer::Success,
        status => {
            let name = status.map_or("UNKNOWN", |s| s.as_str_name());
            Answer::Failure(format!("service unhealthy (responded with {name:?})"))
        }
    }
}

/// Upstream's messages for a failed health RPC.
fn rpc_failure(status: &tonic::Status, timeout: Duration) -> String {
    match status.code() {
        Code::Unimplemented => format!(
            "this server doesn't implement the grpc health protocol (grpc.health.v1.Health): {}",
            status.message()
        ),
        Code::DeadlineExceeded => deadline_message(timeout),
        _ => format!("error: health rpc probe failed: {status}"),
    }
}

fn deadline_message(timeout: Duration) -> String {
    format!("timeout: health rpc did not complete within {timeout:?}")
}

/// An error with its sources (tonic's transport error alone says only "transport error").
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_failures_read_as_upstream() {
        let timeout = Duration::from_secs(1);
        let cases = [
            (
                tonic::Status::unimplemented("nope"),
                "this server doesn't implement the grpc health protocol (grpc.health.v1.Health): nope",
            ),
            (
                tonic::Status::deadline_exceeded("late"),
                "timeout: health rpc did not complete within 1s",
            ),
        ];
        for (status, want) in cases {
            assert_eq!(rpc_failure(&status, timeout), want);
        }
        let other = rpc_failure(&tonic::Status::not_found("unknown service"), timeout);
        assert!(
            other.starts_with("error: health rpc probe failed: "),
            "{other}"
        );
        assert!(other.contains("unknown service"), "{other}");
    }
}

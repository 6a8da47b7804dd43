//! The API client of the components `keelson up` runs in its own process.
//!
//! They send their requests to the API server's in-process service
//! (`keelson_apiserver::local`) instead of over loopback TCP: every request is still a
//! Kubernetes API request, routed, validated, admitted, stored, counted and watched exactly
//! as one from kubectl, without sockets and HTTP/1 framing, which cost the cluster an
//! eighth of its CPU at 10,000 pods. The components cannot tell: they get a `kube::Client`,
//! as from a kubeconfig.

use keelson_apiserver::local::LocalService;
use kube::client::retry::RetryPolicy;
use tower::retry::RetryLayer;
use tower::{BoxError, ServiceBuilder};

/// A client of `service`, retrying 429, 503 and 504 answers as a kubeconfig client does.
pub(crate) fn client(service: LocalService) -> kube::Client {
    let service = ServiceBuilder::new()
        .layer(RetryLayer::new(RetryPolicy::server_retry()))
        .map_err(BoxError::from)
        .service(service);
    kube::Client::new(service, "default")
}

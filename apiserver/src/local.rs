//! The API as an in-process tower service, for API clients that run in the server's own
//! process (`keelson up`'s scheduler, controllers and kubelets).
//!
//! A request sent here is handled exactly as one arriving on the listener: the same
//! routes, validation, admission, storage, metrics and watches; only sockets and HTTP/1
//! framing are skipped. Like upstream's loopback clients (the `system:masters` group,
//! exempt from `--max-requests-inflight` and API priority and fairness), these requests
//! are not refused for the in-flight limits, which protect the server from outside
//! clients: the components' bursts (a ReplicaSet's 500 creates) arrive here all at once,
//! where TCP connection set-up used to pace them.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::HttpBody;
use axum::http::{Request, Response};
use bytes::Bytes;
use tower::{BoxError, Service, ServiceExt as _};

/// Marks a request as sent through [`LocalService`] (a request extension, which nothing
/// arriving over the network can carry).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loopback;

/// The server's router for in-process clients; see the module docs.
#[derive(Debug, Clone)]
pub struct LocalService {
    router: axum::Router,
}

impl LocalService {
    pub(crate) fn new(router: axum::Router) -> Self {
        Self { router }
    }
}

/// The response, or why there is none (the handler panicked, or the runtime is ending).
pub type LocalFuture = Pin<
    Box<dyn Future<Output = Result<Response<axum::body::Body>, tokio::task::JoinError>> + Send>,
>;

impl<B> Service<Request<B>> for LocalService
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<axum::body::Body>;
    type Error = tokio::task::JoinError;
    type Future = LocalFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    /// Handles the request on a task of its own, as the listener does per connection, so
    /// one client's concurrent requests run in parallel on the runtime's workers rather
    /// than inside the task that awaits them.
    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(Loopback);
        let handling = tokio::spawn(self.router.clone().oneshot(request));
        Box::pin(async move {
            match handling.await? {
                Ok(response) => Ok(response),
                Err(never) => match never {},
            }
        })
    }
}

//! The HTTP surface: one router for discovery, OpenAPI, health, metrics and every
//! registered resource. Handlers never fail at the type level: an [`ApiError`] becomes a
//! Status response. [`app`] builds the router so tests can drive it without a socket.

mod body;
mod decode_error;
mod delete;
pub mod error;
mod patch;
mod read;
pub mod request;
mod respond;
mod subresource;
mod system;
mod watch;
mod write;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::{Semaphore, watch as tokio_watch};

pub use error::{ApiError, ApiResult, Cause};
pub(crate) use write::Part;

use crate::cache::Caches;
use crate::registry::SubresourceKind;
use crate::storage::Storage;
use request::{Output, Query, Target};

/// Limits and identity of the HTTP surface.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body (upstream: 3 MiB).
    pub max_body_bytes: usize,
    /// Read-only requests served at once before 429 (upstream `--max-requests-inflight`).
    pub max_inflight_readonly: usize,
    /// Mutating requests served at once before 429 (`--max-mutating-requests-inflight`).
    pub max_inflight_mutating: usize,
    /// Time limit of a non-watch request (upstream `--request-timeout`).
    pub request_timeout: Duration,
    /// Longest watch when the client gives no `timeoutSeconds` (`--min-request-timeout`).
    pub max_watch: Duration,
    /// How often an idle watch with `allowWatchBookmarks` gets a bookmark.
    pub bookmark_interval: Duration,
    /// `host:port` clients reach this server at (discovery's serverAddressByClientCIDRs).
    pub advertise_address: String,
    /// Where Service cluster IPs come from (`--service-cluster-ip-range`).
    pub service_cidr: crate::alloc::ServiceCidr,
    /// Where node ports come from (`--service-node-port-range`).
    pub node_port_range: crate::alloc::PortRange,
    /// Seconds the toleration DefaultTolerationSeconds adds for `not-ready` lasts
    /// (`--default-not-ready-toleration-seconds`).
    pub default_not_ready_toleration_seconds: i64,
    /// The same for `unreachable` (`--default-unreachable-toleration-seconds`).
    pub default_unreachable_toleration_seconds: i64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 3 * 1024 * 1024,
            max_inflight_readonly: 400,
            max_inflight_mutating: 200,
            request_timeout: Duration::from_secs(60),
            max_watch: Duration::from_secs(1800),
            bookmark_interval: Duration::from_secs(30),
            advertise_address: "127.0.0.1:6443".to_owned(),
            service_cidr: crate::alloc::ServiceCidr::default(),
            node_port_range: crate::alloc::PortRange::default(),
            default_not_ready_toleration_seconds: 300,
            default_unreachable_toleration_seconds: 300,
        }
    }
}

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState(Arc<StateInner>);

#[derive(Debug)]
struct StateInner {
    caches: Arc<Caches>,
    config: ApiConfig,
    readonly: Semaphore,
    mutating: Semaphore,
    shutdown: tokio_watch::Receiver<bool>,
    allocator: crate::alloc::Allocator,
}

impl AppState {
    /// State over started caches. Watches end when `shutdown` turns true.
    pub fn new(
        caches: Arc<Caches>,
        config: ApiConfig,
        shutdown: tokio_watch::Receiver<bool>,
    ) -> Self {
        Self(Arc::new(StateInner {
            readonly: Semaphore::new(config.max_inflight_readonly),
            allocator: crate::alloc::Allocator::new(&config),
            mutating: Semaphore::new(config.max_inflight_mutating),
            caches,
            config,
            shutdown,
        }))
    }

    pub(crate) fn caches(&self) -> &Caches {
        &self.0.caches
    }

    pub(crate) fn storage(&self) -> &Arc<dyn Storage> {
        self.0.caches.storage()
    }

    pub(crate) fn config(&self) -> &ApiConfig {
        &self.0.config
    }

    pub(crate) fn allocator(&self) -> &crate::alloc::Allocator {
        &self.0.allocator
    }

    pub(crate) fn shutdown(&self) -> tokio_watch::Receiver<bool> {
        self.0.shutdown.clone()
    }
}

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    system::routes().fallback(resource).with_state(state)
}

/// Everything a resource handler needs to know about its request.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub state: AppState,
    pub target: Target,
    pub query: Query,
    pub headers: HeaderMap,
    pub output: Output,
}

async fn resource(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    loopback: Option<axum::Extension<crate::local::Loopback>>,
    body: Body,
) -> Response {
    let started = Instant::now();
    let target = request::parse_path(uri.path());
    let (verb, labels) = match &target {
        Ok(t) => {
            let q = Query::parse(uri.query()).unwrap_or_default();
            let verb = request::verb(&method, t, &q);
            (
                verb,
                (
                    t.def.group,
                    t.def.version,
                    t.def.plural,
                    t.subresource.map_or("", |s| s.name),
                ),
            )
        }
        Err(_) => ("unknown", ("", "", "", "")),
    };
    let response = match target {
        Ok(target) => {
            match handle(state, target, uri, headers, body, verb, loopback.is_some()).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            }
        }
        Err(e) => e.into_response(),
    };
    let (group, version, plural, sub) = labels;
    crate::metrics::record_request(
        metric_verb(verb),
        group,
        version,
        plural,
        sub,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Upstream's verb label of `apiserver_request_total`.
fn metric_verb(verb: &str) -> &'static str {
    match verb {
        "get" => "GET",
        "list" => "LIST",
        "watch" => "WATCH",
        "create" => "POST",
        "update" => "PUT",
        "patch" => "PATCH",
        "delete" => "DELETE",
        "deletecollection" => "DELETECOLLECTION",
        _ => "UNKNOWN",
    }
}

async fn handle(
    state: AppState,
    target: Target,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    verb: &'static str,
    loopback: bool,
) -> ApiResult<Response> {
    let query = Query::parse(uri.query())?;
    let allowed = match target.subresource {
        Some(sub) => {
            sub.verbs.contains(&verb) || (verb == "create" && sub.verbs.contains(&"create"))
        }
        None => target.def.allows(verb),
    };
    if !allowed {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({verb} {})",
            target.def.qualified_plural()
        )));
    }
    if target.def.namespaced && target.namespace.is_none() && verb != "list" && verb != "watch" {
        return Err(ApiError::no_route());
    }
    let output = request::negotiate(&headers)?;
    let ctx = Ctx {
        state: state.clone(),
        target,
        query,
        headers,
        output,
    };
    if verb == "watch" {
        return watch::watch(ctx).await;
    }
    let mutating = !matches!(verb, "get" | "list");
    let semaphore = if mutating {
        &state.0.mutating
    } else {
        &state.0.readonly
    };
    // In-process clients are neither limited nor counted against the limit, as upstream's
    // exempt loopback clients (see `crate::local`).
    let _permit = if loopback {
        None
    } else {
        let Ok(permit) = semaphore.try_acquire() else {
            crate::metrics::record_dropped(mutating);
            return Err(ApiError::too_many_requests(
                "Too many requests, please try again later.",
                1,
            ));
        };
        Some(permit)
    };
    let _inflight = crate::metrics::inflight(mutating);
    let timeout = state.config().request_timeout;
    let work = dispatch(ctx, verb, body);
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::timeout(format!(
            "request did not complete within the allowed duration of {}s",
            timeout.as_secs()
        ))),
    }
}

async fn dispatch(ctx: Ctx, verb: &'static str, body: Body) -> ApiResult<Response> {
    if let Some(sub) = ctx.target.subresource {
        return match sub.kind {
            SubresourceKind::Status => subresource::status(ctx, verb, body).await,
            SubresourceKind::Scale => subresource::scale(ctx, verb, body).await,
            SubresourceKind::Binding => subresource::binding(ctx, body).await,
            SubresourceKind::Eviction => subresource::eviction(ctx, body).await,
            SubresourceKind::Streaming => Err(subresource::streaming(&ctx)),
        };
    }
    match verb {
        "get" => read::get(ctx).await,
        "list" => read::list(ctx).await,
        "create" => write::create(ctx, body).await,
        "update" => write::update(ctx, body).await,
        "patch" => patch::patch(ctx, body, patch::Mode::Main).await,
        "delete" => delete::delete(ctx, body).await,
        "deletecollection" => delete::delete_collection(ctx, body).await,
        _ => Err(ApiError::method_not_allowed("unsupported method")),
    }
}

//! Running the API server: open storage, make sure the system namespaces and the
//! `default/kubernetes` Service exist, repair the Service IP and node port allocations,
//! fill the watch cache, serve HTTP on loopback, and drain on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{ApiConfig, AppState, app};
use crate::cache::{CacheConfig, Caches};
use crate::storage::{self, Storage, StorageError, StorageUrl, keys};

/// Namespaces every cluster has.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Everything the API server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen (loopback only, until TLS and authentication exist).
    pub listen: SocketAddr,
    /// The storage backend.
    pub storage: StorageUrl,
    /// HTTP limits.
    pub api: ApiConfig,
    /// Watch cache settings.
    pub cache: CacheConfig,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
}

/// What can stop the server from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Plain HTTP was asked for on an address other hosts can reach.
    #[error(
        "refusing to serve plain HTTP on {0}: without TLS and authentication the API may only \
         listen on a loopback address (127.0.0.1 or ::1)"
    )]
    NotLoopback(SocketAddr),
    /// The storage could not be opened or read.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving HTTP failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A started server: its address, and the handle that stops it.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<(), ServerError>>,
    storage: Arc<dyn Storage>,
    caches: Arc<Caches>,
    router: axum::Router,
}

impl RunningServer {
    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API as an in-process tower service for clients in this process: see
    /// [`crate::local`]. Watches it serves end when the server stops, as the listener's do.
    pub fn local_service(&self) -> crate::local::LocalService {
        crate::local::LocalService::new(self.router.clone())
    }

    /// The storage it serves (for tests that inspect it).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Stops accepting, ends watches, waits for in-flight requests (bounded by the drain
    /// timeout), and returns how serving ended.
    pub async fn stop(self) -> Result<(), ServerError> {
        let _ = self.shutdown.send(true);
        let served = match self.task.await {
            Ok(r) => r,
            Err(e) => Err(ServerError::Serve(std::io::Error::other(e.to_string()))),
        };
        // The storage watch ends on shutdown too; once it has, the last handles on the
        // storage are ours and dropping them closes it (the embedded store's file is free).
        self.caches.stopped().await;
        drop(self.caches);
        drop(self.storage);
        served
    }

    /// Waits until the server ends by itself (an error) — used by the daemon alongside
    /// signals.
    pub async fn wait(&mut self) -> Result<(), ServerError> {
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(ServerError::Serve(std::io::Error::other(e.to_string()))),
        }
    }
}

/// Opens storage and starts serving; returns once the listener is bound and the cache is
/// filled.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    if !config.listen.ip().is_loopback() {
        return Err(ServerError::NotLoopback(config.listen));
    }
    let storage: Arc<dyn Storage> =
        Arc::new(storage::Metered(storage::open(&config.storage).await?));
    start_with_storage(config, storage).await
}

/// Starts serving over an already opened storage.
pub async fn start_with_storage(
    mut config: ServerConfig,
    storage: Arc<dyn Storage>,
) -> Result<RunningServer, ServerError> {
    if !config.listen.ip().is_loopback() {
        return Err(ServerError::NotLoopback(config.listen));
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    config.api.advertise_address = addr.to_string();
    let (shutdown, shutdown_rx) = watch::channel(false);
    ensure_namespaces(storage.as_ref()).await?;
    crate::alloc::ensure_kubernetes_service(storage.as_ref(), &config.api, addr).await?;
    crate::alloc::repair(storage.as_ref(), &config.api).await?;
    let caches = Caches::start(storage.clone(), config.cache.clone(), shutdown_rx.clone()).await?;
    let state = AppState::new(caches.clone(), config.api.clone(), shutdown_rx.clone());
    let router = app(state);
    let served = router.clone();
    let drain = config.drain_timeout;
    let mut stop = shutdown_rx;
    let task = tokio::spawn(async move {
        let mut graceful = stop.clone();
        let serve = axum::serve(listener, served)
            .with_graceful_shutdown(async move {
                let _ = graceful.wait_for(|s| *s).await;
            })
            .into_future();
        tokio::pin!(serve);
        tokio::select! {
            r = &mut serve => return r.map_err(ServerError::Serve),
            _ = stop.wait_for(|s| *s) => {}
        }
        match tokio::time::timeout(drain, serve).await {
            Ok(r) => r.map_err(ServerError::Serve),
            Err(_) => {
                tracing::warn!(
                    ?drain,
                    "requests still running after the drain timeout; stopping anyway"
                );
                Ok(())
            }
        }
    });
    tracing::info!(%addr, "API server listening");
    Ok(RunningServer {
        addr,
        shutdown,
        task,
        storage,
        caches,
        router,
    })
}

use std::future::IntoFuture as _;

/// Creates the system namespaces that are missing.
async fn ensure_namespaces(storage: &dyn Storage) -> Result<(), StorageError> {
    for ns in SYSTEM_NAMESPACES {
        let key = keys::object_key("namespaces", None, ns);
        let obj = json!({
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {
                "name": ns,
                "uid": uuid::Uuid::new_v4().to_string(),
                "creationTimestamp": crate::object::now_rfc3339(),
                "labels": {"kubernetes.io/metadata.name": ns},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        match storage
            .create(&key, serde_json::to_vec(&obj).unwrap_or_default().into())
            .await
        {
            Ok(_) | Err(StorageError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

//! The controller manager: optional leader election on `kube-system/kube-controller-manager`,
//! then every enabled controller as its own task over one shared informer factory, until
//! stopped; then a drain that lets workers finish the keys they hold.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kube::runtime::events::Reporter;

use crate::events::Recorder;
use tokio::sync::watch;

use crate::config::{KNOWN, Settings};
use crate::informers::Informers;

/// What every controller gets.
#[derive(Clone)]
pub struct Context {
    /// The API client.
    pub client: kube::Client,
    /// The shared informers.
    pub informers: Arc<Informers>,
    /// The manager's settings.
    pub settings: Arc<Settings>,
    stop: watch::Receiver<bool>,
    /// One recorder per controller name, so each controller's events are correlated
    /// together (upstream: one broadcaster per controller).
    recorders: Arc<parking_lot::Mutex<std::collections::HashMap<String, Recorder>>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context over `client` (informers start as controllers ask for them).
    pub fn new(client: kube::Client, settings: Settings, stop: watch::Receiver<bool>) -> Self {
        Self {
            informers: Arc::new(Informers::new(client.clone())),
            client,
            settings: Arc::new(settings),
            stop,
            recorders: Arc::default(),
        }
    }

    /// An event recorder reporting as `controller` (upstream's component name, e.g.
    /// `replicaset-controller`) from this instance; every call for one name shares its
    /// event correlation.
    pub fn recorder(&self, controller: &str) -> Recorder {
        self.recorders
            .lock()
            .entry(controller.to_owned())
            .or_insert_with(|| {
                Recorder::new(
                    self.client.clone(),
                    Reporter {
                        controller: controller.to_owned(),
                        instance: Some(self.settings.identity.clone()),
                    },
                )
            })
            .clone()
    }

    /// Resolves once the manager is stopping.
    pub async fn stopped(&self) {
        let mut stop = self.stop.clone();
        let _ = stop.wait_for(|s| *s).await;
    }

    /// Whether the manager is stopping.
    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }
}

/// A running controller: ends after [`Context::stopped`] resolves and its work drained.
pub type ControllerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The controller called `name` (an upstream name from [`KNOWN`]), if it is built.
fn start(name: &str, ctx: Context) -> Option<ControllerFuture> {
    // One arm per built controller.
    Some(match name {
        "replicaset-controller" => Box::pin(crate::replicaset::run(ctx)),
        "deployment-controller" => Box::pin(crate::deployment::run(ctx)),
        "garbage-collector-controller" => Box::pin(crate::garbage_collector::run(ctx)),
        "namespace-controller" => Box::pin(crate::namespace::run(ctx)),
        "node-lifecycle-controller" => Box::pin(crate::node_lifecycle::run(ctx)),
        "taint-eviction-controller" => Box::pin(crate::taint_eviction::run(ctx)),
        "node-ipam-controller" => Box::pin(crate::node_ipam::run(ctx)),
        "persistentvolume-binder-controller" => Box::pin(crate::volume_binder::run(ctx)),
        "local-path-provisioner" => Box::pin(crate::local_path::run(ctx)),
        "endpoints-controller" => Box::pin(crate::endpoints::run(ctx)),
        "endpointslice-controller" => Box::pin(crate::endpointslice::run(ctx)),
        _ => return None,
    })
}

/// Why the manager stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The lease could not be renewed in time; another instance may be leading.
    #[error("leaderelection lost")]
    LeaseLost,
}

/// Runs the enabled controllers until `stop` becomes `true`, then drains for
/// `drain_timeout`. With leader election on, waits to lead first and fails with
/// [`ManagerError::LeaseLost`] when leadership is lost.
pub async fn run(
    client: kube::Client,
    settings: Settings,
    stop: watch::Receiver<bool>,
) -> Result<(), ManagerError> {
    let drain_timeout = settings.drain_timeout;
    // The sender stays alive here: without leader election nothing else holds it, and a
    // closed channel would read as a lost lease.
    let (leading_tx, mut leading) = watch::channel(settings.leader_election.is_none());
    let elector = settings.leader_election.clone().map(|lease| {
        tokio::spawn(keelson_client::leader::run(
            client.clone(),
            lease,
            settings.identity.clone(),
            leading_tx.clone(),
            stop.clone(),
        ))
    });
    let mut stopping = stop.clone();
    let result = async {
        tokio::select! {
            r = leading.wait_for(|l| *l) => if r.is_err() { return Err(ManagerError::LeaseLost) },
            _ = stopping.wait_for(|s| *s) => return Ok(()),
        }
        // Controllers stop on the manager's stop or on a lost lease.
        let (halt_tx, halt) = watch::channel(false);
        let ctx = Context::new(client, settings, halt);
        let mut tasks = Vec::new();
        for known in KNOWN {
            if !ctx.settings.enabled.contains(known.name) {
                continue;
            }
            match start(known.name, ctx.clone()) {
                Some(fut) => {
                    tracing::info!(controller = known.name, "starting");
                    tasks.push((known.name, tokio::spawn(fut)));
                }
                None => tracing::warn!(controller = known.name, "not built yet; skipped"),
            }
        }
        let outcome = tokio::select! {
            _ = stopping.wait_for(|s| *s) => Ok(()),
            _ = leading.wait_for(|l| !*l) => Err(ManagerError::LeaseLost),
        };
        halt_tx.send_replace(true);
        let drain = futures::future::join_all(tasks.into_iter().map(|(name, task)| async move {
            if let Err(error) = task.await {
                tracing::error!(controller = name, %error, "controller task failed");
            }
        }));
        if tokio::time::timeout(drain_timeout, drain).await.is_err() {
            tracing::warn!("controllers did not drain in time");
        }
        outcome
    }
    .await;
    if let Some(task) = elector
        && tokio::time::timeout(drain_timeout, task).await.is_err()
    {
        tracing::warn!("leader election did not stop in time");
    }
    drop(leading_tx);
    result
}

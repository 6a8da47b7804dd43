//! What Keelson's API-client components (scheduler, controllers, kubelets) share:
//! building a client from a kubeconfig, naming this instance, leader election on a Lease,
//! event recording, Go durations and exact Kubernetes quantities. Everything here goes through the Kubernetes API; this crate never depends on
//! the apiserver.

pub mod correlator;
pub mod duration;
pub mod events;
pub mod leader;
pub mod quantity;

use std::path::Path;

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The kubeconfig file cannot be read or used.
    #[error("kubeconfig {path}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// No client could be built from the kubeconfig.
    #[error("building the API client")]
    Client(#[source] kube::Error),
}

/// An API client from a kubeconfig file (its current context).
pub async fn from_kubeconfig(path: &Path) -> Result<kube::Client, ClientError> {
    let kubeconfig_error = |source| ClientError::Kubeconfig {
        path: path.display().to_string(),
        source,
    };
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
    let options = kube::config::KubeConfigOptions::default();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(kubeconfig_error)?;
    kube::Client::try_from(config).map_err(ClientError::Client)
}

/// This instance's name in leases and events: `hostname_<unique hex>`, as upstream's
/// `hostname_uuid`.
pub fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{host}_{nanos:x}{:x}", std::process::id())
}

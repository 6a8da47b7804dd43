//! A container's environment (upstream's `makeEnvironmentVariables`): `envFrom`
//! ConfigMaps and Secrets, then `env` values with `$(VAR)` expansion, downward API fields
//! and resources, and ConfigMap and Secret keys; then the service variables.
//!
//! Reads go to the API at each container start: one GET per referenced ConfigMap or
//! Secret (each fetched once per start), nothing cached across starts.
//!
//! Service variables: only the master service's (`default/kubernetes`, one GET per start),
//! which upstream injects into every pod. Upstream also injects, when
//! `enableServiceLinks` is true, the variables of every Service of the pod's namespace;
//! that needs a list of the namespace's Services per start (or a Service watch per
//! kubelet, as upstream keeps), too costly for thousands of simulated kubelets, so it is
//! not done.

mod assemble;
mod expand;
mod fields;
mod resources;
mod services;

use std::collections::HashMap;

use futures::future::join_all;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Secret, Service};
use kube::api::Api;

use self::assemble::{Fetched, Sources, assemble, references};
use self::fields::Addresses;
use super::worker::Worker;

/// Upstream's master services: injected whatever `enableServiceLinks` says.
const MASTER_NAMESPACE: &str = "default";
const MASTER_SERVICE: &str = "kubernetes";

fn fetched<T>(result: Result<Option<T>, kube::Error>, data: impl FnOnce(T) -> Fetched) -> Fetched {
    match result {
        Ok(Some(object)) => data(object),
        Ok(None) => Fetched::Missing,
        // The API's own message, as upstream shows an API error.
        Err(kube::Error::Api(status)) if !status.message.is_empty() => {
            Fetched::Failed(status.message)
        }
        Err(error) => Fetched::Failed(error.to_string()),
    }
}

impl Worker {
    /// The container's environment variables, in order; the error is the message of its
    /// `CreateContainerConfigError`.
    pub(super) async fn environment(&self, c: &Container) -> Result<Vec<(String, String)>, String> {
        let spec = self.pod.spec.as_ref();
        if spec.and_then(|s| s.enable_service_links).is_none() {
            return Err(
                "nil pod.spec.enableServiceLinks encountered, cannot construct envvars".to_owned(),
            );
        }
        let namespace = self.namespace();
        let client = &self.shared.client;
        let (map_names, secret_names) = references(c);
        let maps_api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
        let secrets_api: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let maps = join_all(map_names.into_iter().map(|name| {
            let api = &maps_api;
            async move {
                let got = fetched(api.get_opt(&name).await, |cm| {
                    Fetched::Found(cm.data.unwrap_or_default())
                });
                (name, got)
            }
        }));
        let secrets = join_all(secret_names.into_iter().map(|name| {
            let api = &secrets_api;
            async move {
                let got = fetched(api.get_opt(&name).await, |secret| {
                    let data = secret.data.unwrap_or_default().into_iter();
                    Fetched::Found(
                        data.map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                            .collect(),
                    )
                });
                (name, got)
            }
        }));
        let (maps, secrets, services) = tokio::join!(maps, secrets, self.master_service_env());
        let config_maps: HashMap<String, Fetched> = maps.into_iter().collect();
        let secrets: HashMap<String, Fetched> = secrets.into_iter().collect();
        let services = services?;
        let pod_ips = self
            .sandbox
            .as_ref()
            .and_then(|(s, _)| s.ip.clone())
            .into_iter()
            .collect();
        let addresses = Addresses {
            pod_ips,
            host_ips: vec![self.shared.config.node_ip.clone()],
        };
        let allocatable = {
            let view = self.shared.node.borrow();
            let status = view.node.status.as_ref();
            status
                .and_then(|s| s.allocatable.clone())
                .unwrap_or_default()
        };
        let sources = Sources {
            pod: &self.pod,
            config_maps: &config_maps,
            secrets: &secrets,
            services: &services,
            addresses: &addresses,
            allocatable: &allocatable,
        };
        assemble(c, &sources)
    }

    /// The master service's variables (none when it does not exist).
    async fn master_service_env(&self) -> Result<Vec<(String, String)>, String> {
        let api: Api<Service> = Api::namespaced(self.shared.client.clone(), MASTER_NAMESPACE);
        match api.get_opt(MASTER_SERVICE).await {
            Ok(found) => Ok(services::service_env(found.as_slice())),
            Err(error) => {
                tracing::warn!(pod = %self.full_name(), %error, "reading the master service");
                Err("failed to list services when setting up env vars".to_owned())
            }
        }
    }
}

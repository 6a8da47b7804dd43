//! The `default/kubernetes` Service and its endpoints, as upstream's control plane keeps
//! them: the Service takes the first address of the service CIDR and exposes `https` 443
//! to the API server's port; the Endpoints (with the `skip-mirror` label) and the
//! EndpointSlice (labelled with the service name) point at the address the server listens
//! on. Reconciled at every start: created when missing, updated when the address changed.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::api::ApiConfig;
use crate::object;
use crate::pointer::At;
use crate::storage::{Storage, StorageError, keys};

/// The namespace and name of all three objects.
const NAMESPACE: &str = "default";
const NAME: &str = "kubernetes";

/// How often a write that lost a race is tried again.
const ATTEMPTS: usize = 5;

/// Ensures the `kubernetes` Service, Endpoints and EndpointSlice for a server listening
/// on `addr`.
pub async fn ensure_kubernetes_service(
    storage: &dyn Storage,
    config: &ApiConfig,
    addr: SocketAddr,
) -> Result<(), StorageError> {
    let port = addr.port();
    let ip = config.service_cidr.first().to_string();
    let service = service_object(&ip, port);
    reconcile(
        storage,
        "services/specs",
        service,
        &["/spec/ports", "/spec/type"],
    )
    .await?;
    reconcile(
        storage,
        "services/endpoints",
        endpoints_object(addr),
        &["/subsets", "/metadata/labels"],
    )
    .await?;
    reconcile(
        storage,
        "endpointslices",
        slice_object(addr),
        &["/endpoints", "/ports", "/addressType", "/metadata/labels"],
    )
    .await
}

/// Creates `wanted` under `prefix`, or, when it exists and differs at one of `owned`,
/// copies those parts over (keeping everything else, cluster IP included).
async fn reconcile(
    storage: &dyn Storage,
    prefix: &str,
    wanted: Value,
    owned: &[&str],
) -> Result<(), StorageError> {
    let key = keys::object_key(prefix, Some(NAMESPACE), NAME);
    for _ in 0..ATTEMPTS {
        let current = match storage.get(&key).await {
            Ok(kv) => kv,
            Err(StorageError::NotFound { .. }) => {
                let mut obj = wanted.clone();
                object::set_meta(&mut obj, "uid", json!(uuid::Uuid::new_v4().to_string()));
                object::set_meta(&mut obj, "creationTimestamp", json!(object::now_rfc3339()));
                match storage
                    .create(&key, object::to_stored_bytes(&obj).into())
                    .await
                {
                    Ok(_) => return Ok(()),
                    Err(StorageError::AlreadyExists { .. }) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let Ok(mut obj) = serde_json::from_slice::<Value>(&current.value) else {
            return Err(StorageError::Internal(format!(
                "{key} holds no JSON object"
            )));
        };
        let mut changed = false;
        for pointer in owned {
            let want = wanted.at(pointer).cloned().unwrap_or(Value::Null);
            if obj.at(pointer) != Some(&want) {
                set_pointer(&mut obj, pointer, want);
                changed = true;
            }
        }
        if !changed {
            return Ok(());
        }
        if obj.at("/metadata/generation").is_some() {
            let next = obj["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            object::set_meta(&mut obj, "generation", json!(next));
        }
        let bytes = object::to_stored_bytes(&obj);
        match storage
            .update(&key, current.mod_revision, bytes.into())
            .await
        {
            Ok(_) => {
                tracing::info!(%key, "reconciled the kubernetes service object");
                return Ok(());
            }
            Err(StorageError::Conflict { .. } | StorageError::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StorageError::Internal(format!(
        "{key}: too many concurrent writers"
    )))
}

/// Sets `value` at a two-level JSON pointer (`/spec/ports`, `/subsets`).
fn set_pointer(obj: &mut Value, pointer: &str, value: Value) {
    let mut parts = pointer.trim_start_matches('/').split('/');
    let (Some(first), second) = (parts.next(), parts.next()) else {
        return;
    };
    match second {
        None => obj[first] = value,
        Some(second) => obj[first][second] = value,
    }
}

/// The Service as upstream stores it.
fn service_object(ip: &str, port: u16) -> Value {
    let mut svc = json!({
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": port}],
            "clusterIP": ip,
            "clusterIPs": [ip],
            "type": "ClusterIP",
            "sessionAffinity": "None",
        },
        "status": {"loadBalancer": {}},
    });
    crate::defaults::apply("Service", &mut svc);
    svc
}

fn address_type(addr: SocketAddr) -> &'static str {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }
}

/// The Endpoints upstream's endpoint reconciler writes.
fn endpoints_object(addr: SocketAddr) -> Value {
    json!({
        "kind": "Endpoints",
        "apiVersion": "v1",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
        },
        "subsets": [{
            "addresses": [{"ip": addr.ip().to_string()}],
            "ports": [{"name": "https", "port": addr.port(), "protocol": "TCP"}],
        }],
    })
}

/// The EndpointSlice upstream's endpoint reconciler writes next to the Endpoints.
fn slice_object(addr: SocketAddr) -> Value {
    json!({
        "kind": "EndpointSlice",
        "apiVersion": "discovery.k8s.io/v1",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "generation": 1,
            "labels": {"kubernetes.io/service-name": NAME},
        },
        "addressType": address_type(addr),
        "endpoints": [{
            "addresses": [addr.ip().to_string()],
            "conditions": {"ready": true},
        }],
        "ports": [{"name": "https", "port": addr.port(), "protocol": "TCP"}],
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::storage::sqlite::{SqliteConfig, SqliteStorage};

    #[tokio::test]
    async fn created_then_reconciled_to_a_new_address() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(SqliteConfig::new(dir.path().join("s.db"))).unwrap();
        let config = ApiConfig::default();
        let get = |prefix: &'static str| {
            let storage = storage.clone();
            async move {
                let kv = storage
                    .get(&keys::object_key(prefix, Some("default"), "kubernetes"))
                    .await
                    .unwrap();
                (
                    serde_json::from_slice::<Value>(&kv.value).unwrap(),
                    kv.mod_revision,
                )
            }
        };
        ensure_kubernetes_service(&storage, &config, "127.0.0.1:6443".parse().unwrap())
            .await
            .unwrap();
        let (svc, svc_rev) = get("services/specs").await;
        assert_eq!(svc["spec"]["clusterIP"], "10.96.0.1");
        assert_eq!(svc["spec"]["ipFamilyPolicy"], "SingleStack");
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], 6443);
        let (ep, _) = get("services/endpoints").await;
        assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], "127.0.0.1");
        // Same address: nothing is written.
        ensure_kubernetes_service(&storage, &config, "127.0.0.1:6443".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(get("services/specs").await.1, svc_rev);
        // Another port: every object follows, the Service keeps its uid.
        ensure_kubernetes_service(&storage, &config, "127.0.0.1:7000".parse().unwrap())
            .await
            .unwrap();
        let (moved, _) = get("services/specs").await;
        assert_eq!(moved["spec"]["ports"][0]["targetPort"], 7000);
        assert_eq!(moved["metadata"]["uid"], svc["metadata"]["uid"]);
        let (slice, _) = get("endpointslices").await;
        assert_eq!(slice["ports"][0]["port"], 7000);
        assert_eq!(slice["metadata"]["generation"], 2);
        assert_eq!(slice["endpoints"][0]["addresses"][0], "127.0.0.1");
    }
}

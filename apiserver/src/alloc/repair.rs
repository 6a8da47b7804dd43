//! Repair, as upstream's repair controllers do it: the sets are rebuilt from the Services
//! actually stored, so numbers held by a Service are taken and leaked ones are free again.
//! Run at start-up, and whenever a stored set turns out unreadable or for another range.

use serde_json::Value;

use super::set::Allocated;
use super::{Allocator, Which, service, store};
use crate::api::ApiConfig;
use crate::registry;
use crate::storage::{ListOptions, Storage, StorageError, keys};

/// Services listed per page.
const PAGE: usize = 1000;

/// Every stored Service, read page by page from one snapshot.
async fn stored_services(storage: &dyn Storage) -> Result<Vec<Value>, StorageError> {
    let prefix =
        registry::find_kind("v1", "Service").map_or("services/specs", |d| d.storage_prefix);
    let prefix = keys::list_prefix(prefix, None);
    let mut options = ListOptions {
        limit: PAGE,
        ..Default::default()
    };
    let mut services = Vec::new();
    loop {
        let page = storage.list(&prefix, options.clone()).await?;
        services.extend(
            page.items
                .iter()
                .filter_map(|kv| serde_json::from_slice::<Value>(&kv.value).ok()),
        );
        match page.continue_token {
            Some(token) => options.continue_token = Some(token),
            None => return Ok(services),
        }
    }
}

/// The set `which` should be, from the stored Services.
pub(crate) async fn rebuild(
    storage: &dyn Storage,
    allocator: &Allocator,
    which: Which,
) -> Result<Allocated, StorageError> {
    let services = stored_services(storage).await?;
    Ok(from_services(allocator, which, &services))
}

/// The set `which` holding exactly the numbers of `services` (numbers outside the range,
/// left from an older configuration, are skipped).
fn from_services(allocator: &Allocator, which: Which, services: &[Value]) -> Allocated {
    let mut set = allocator.spec(which).empty();
    for svc in services {
        match which {
            Which::Ips => {
                if let Some(o) =
                    service::held_ip(svc).and_then(|ip| allocator.cidr.offset_of(ip).ok())
                {
                    set.allocate(o);
                }
            }
            Which::Ports => {
                for p in service::held_ports(svc) {
                    if let Some(o) = allocator.ports.offset_of(p) {
                        set.allocate(o);
                    }
                }
            }
        }
    }
    set
}

/// Rewrites both stored sets from the stored Services (with compare-and-swap, retried).
pub async fn repair(storage: &dyn Storage, config: &ApiConfig) -> Result<(), StorageError> {
    let allocator = Allocator::new(config);
    for which in [Which::Ips, Which::Ports] {
        let spec = allocator.spec(which);
        loop {
            let loaded = store::load(storage, &spec).await?;
            let wanted = rebuild(storage, &allocator, which).await?;
            if loaded.usable && loaded.revision.is_some() && loaded.set == wanted {
                break;
            }
            let leaked = loaded.set.iter().filter(|o| !wanted.has(*o)).count();
            let missing = wanted.iter().filter(|o| !loaded.set.has(*o)).count();
            match store::save(storage, &spec, &wanted, loaded.revision).await {
                Ok(_) => {
                    tracing::info!(
                        key = spec.key,
                        leaked,
                        missing,
                        taken = wanted.len(),
                        "repaired allocation range from the stored Services"
                    );
                    break;
                }
                Err(e) if store::lost_race(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_come_from_what_services_hold() {
        let config = ApiConfig {
            service_cidr: "10.0.0.0/24".parse().unwrap(),
            node_port_range: "30000-30009".parse().unwrap(),
            ..ApiConfig::default()
        };
        let allocator = Allocator::new(&config);
        let services = [
            json!({"spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"]}}),
            json!({"spec": {"type": "NodePort", "clusterIPs": ["10.0.0.9"], "ports": [{"nodePort": 30003}, {"nodePort": 31000}]}}),
            json!({"spec": {"clusterIP": "10.9.9.9"}}),
            json!({"spec": {"clusterIP": "None"}}),
            json!({"spec": {"type": "LoadBalancer", "healthCheckNodePort": 30009}}),
        ];
        let ips = from_services(&allocator, Which::Ips, &services);
        assert_eq!(ips.iter().collect::<Vec<_>>(), vec![0, 8]);
        let ports = from_services(&allocator, Which::Ports, &services);
        assert_eq!(ports.iter().collect::<Vec<_>>(), vec![3, 9]);
    }
}

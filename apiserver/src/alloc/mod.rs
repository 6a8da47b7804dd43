//! Allocation: Service cluster IPs and node ports, persisted through the storage layer.
//!
//! The truth is one stored set per range (`store`), changed only by compare-and-swap, so
//! two creates never get the same number even from two API servers on one etcd; a lock per
//! range only spares one process's concurrent writes from losing races to each other.
//! Admission calls [`allocate`] before validation; the write paths call
//! [`release_unstored`] when the object was then not stored and [`release_deleted`] once
//! it is gone. At start-up [`repair`] rebuilds the sets from the stored Services and
//! [`ensure_kubernetes_service`] writes the `default/kubernetes` Service and endpoints.
//!
//! Invariant: every number in [`service::held_ip`] / [`service::held_ports`] of a stored
//! Service is taken in its range, and releasing is only ever done for numbers an object
//! held (a deleted one) or had just been given (an unstored one).

mod assign;
mod kubernetes;
mod range;
mod repair;
mod service;
mod set;
mod store;

use std::net::IpAddr;

use serde_json::{Value, json};
use tokio::sync::Mutex;

pub use kubernetes::ensure_kubernetes_service;
pub use range::{PortRange, RangeError, ServiceCidr};
pub use repair::repair;

use crate::admission::Operation;
use crate::api::{ApiConfig, ApiError, ApiResult, Ctx, Part};
use crate::pointer::At;
use crate::registry::ResourceDef;
use crate::storage::Storage;
use assign::Failure;
use set::Allocated;
use store::RangeSpec;

/// How many times a write of a range is retried after losing a race.
const ATTEMPTS: usize = 64;

/// The ranges of one API server and the locks that serialize its own writes to them.
#[derive(Debug)]
pub struct Allocator {
    cidr: ServiceCidr,
    ports: PortRange,
    ips_lock: Mutex<()>,
    ports_lock: Mutex<()>,
}

/// One of the two ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    /// Cluster IPs.
    Ips,
    /// Node ports.
    Ports,
}

impl Allocator {
    /// The allocator of the ranges `config` names.
    pub fn new(config: &ApiConfig) -> Self {
        Self {
            cidr: config.service_cidr,
            ports: config.node_port_range,
            ips_lock: Mutex::new(()),
            ports_lock: Mutex::new(()),
        }
    }

    pub(crate) fn spec(&self, which: Which) -> RangeSpec {
        match which {
            Which::Ips => RangeSpec {
                key: store::IPS_KEY,
                range: self.cidr.to_string(),
                max: self.cidr.size(),
                band: self.cidr.static_band(),
            },
            Which::Ports => RangeSpec {
                key: store::PORTS_KEY,
                range: self.ports.to_string(),
                max: self.ports.size(),
                band: self.ports.static_band(),
            },
        }
    }

    /// Reads the range, lets `change` alter it, and writes it back with compare-and-swap,
    /// running `change` again on a fresh read when another writer came first. Nothing is
    /// written when `change` fails, changes nothing, or `dry_run` is set.
    async fn transact<T>(
        &self,
        storage: &dyn Storage,
        which: Which,
        dry_run: bool,
        mut change: impl FnMut(&mut Allocated) -> Result<T, Failure>,
    ) -> ApiResult<Result<T, Failure>> {
        let _serial = match which {
            Which::Ips => self.ips_lock.lock().await,
            Which::Ports => self.ports_lock.lock().await,
        };
        let spec = self.spec(which);
        for _ in 0..ATTEMPTS {
            let loaded = store::load(storage, &spec).await.map_err(ApiError::from)?;
            let mut set = if loaded.usable {
                loaded.set
            } else {
                repair::rebuild(storage, self, which)
                    .await
                    .map_err(ApiError::from)?
            };
            let before = set.clone();
            let result = match change(&mut set) {
                Ok(r) => r,
                Err(f) => return Ok(Err(f)),
            };
            if dry_run || (set == before && loaded.usable) {
                return Ok(Ok(result));
            }
            match store::save(storage, &spec, &set, loaded.revision).await {
                Ok(_) => return Ok(Ok(result)),
                Err(e) if store::lost_race(&e) => continue,
                Err(e) => return Err(ApiError::from(e)),
            }
        }
        Err(ApiError::internal(format!(
            "Internal error occurred: {}: too many concurrent allocations; try again",
            spec.key
        )))
    }

    /// Releases (or with `take`, takes back) numbers; failures are logged, since the
    /// start-up repair corrects what is left over.
    async fn adjust(&self, storage: &dyn Storage, ips: &[IpAddr], ports: &[i64], take: bool) {
        if !ips.is_empty() {
            let cidr = self.cidr;
            let r = self
                .transact(storage, Which::Ips, false, |set| {
                    for ip in ips {
                        if let Ok(o) = cidr.offset_of(*ip) {
                            toggle(set, o, take);
                        }
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = r {
                tracing::warn!(?ips, take, error = %e.message, "could not update the service IP range");
            }
        }
        if !ports.is_empty() {
            let range = self.ports;
            let r = self
                .transact(storage, Which::Ports, false, |set| {
                    for p in ports {
                        if let Some(o) = range.offset_of(*p) {
                            toggle(set, o, take);
                        }
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = r {
                tracing::warn!(?ports, take, error = %e.message, "could not update the node port range");
            }
        }
    }
}

fn toggle(set: &mut Allocated, offset: u32, take: bool) {
    if take {
        set.allocate(offset);
    } else {
        set.release(offset);
    }
}

/// The API error of a refused allocation for `def`/`name`.
fn failure_error(f: Failure, def: &'static ResourceDef, name: &str) -> ApiError {
    match f {
        Failure::Invalid(causes) => ApiError::invalid(def, name, causes),
        Failure::Internal(message) => {
            ApiError::internal(format!("Internal error occurred: {message}"))
        }
    }
}

/// The Service a write is about, when allocation has anything to do with it: `Some(old)`
/// for an update of the main resource, `Some(None)` for a create.
fn service_op<'a>(def: &ResourceDef, op: Operation<'a>) -> Option<Option<&'a Value>> {
    if def.kind != "Service" {
        return None;
    }
    match op {
        Operation::Create => Some(None),
        Operation::Update {
            old,
            part: Part::Main,
        } => Some(Some(old)),
        Operation::Update { .. } => None,
    }
}

/// Allocates what `obj` (stored form of `def`) needs, or refuses what it asks for.
pub(crate) async fn allocate(
    ctx: &Ctx,
    def: &'static ResourceDef,
    op: Operation<'_>,
    obj: &mut Value,
) -> ApiResult<()> {
    let Some(old) = service_op(def, op) else {
        return Ok(());
    };
    let allocator = ctx.state.allocator();
    let name = crate::object::name(obj).to_owned();
    match old {
        Some(old) => service::prepare_update(old, obj),
        None => service::normalize_create(obj),
    }
    let causes = assign::check_families(obj, &allocator.cidr);
    if !causes.is_empty() {
        return Err(ApiError::invalid(def, &name, causes));
    }
    let storage = ctx.state.storage().as_ref();
    let dry_run = ctx.query.dry_run;

    let ip_want = assign::ip_want(old, obj);
    let shown = crate::validation::go_value::string_slice(obj.at("/spec/clusterIPs"));
    let cidr = allocator.cidr;
    let ip = allocator
        .transact(storage, Which::Ips, dry_run, |set| {
            assign::take_ip(set, &cidr, ip_want, &shown)
        })
        .await?
        .map_err(|f| failure_error(f, def, &name))?;
    let new_ip = match ip_want {
        assign::IpWant::Requested(_) | assign::IpWant::Any => ip,
        _ => None,
    };

    let ports_want = assign::ports_want(old, obj);
    let range = allocator.ports;
    let ports = allocator
        .transact(storage, Which::Ports, dry_run, |set| {
            assign::take_ports(set, &range, &ports_want)
        })
        .await
        .and_then(|r| r.map_err(|f| failure_error(f, def, &name)));
    let ports = match ports {
        Ok(p) => p,
        Err(e) => {
            if let (Some(ip), false) = (new_ip, dry_run) {
                allocator.adjust(storage, &[ip], &[], false).await;
            }
            return Err(e);
        }
    };
    apply(obj, ip, &ports);
    // What the old object held and the new one does not is free once the update is
    // written; `release_unstored` takes it back if the write then fails.
    if let (Some(old), false) = (old, dry_run) {
        let (ips, ports) = difference(old, obj);
        allocator.adjust(storage, &ips, &ports, false).await;
    }
    Ok(())
}

/// Writes the decided numbers into the Service.
fn apply(obj: &mut Value, ip: Option<IpAddr>, ports: &assign::PortsTaken) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(ip) = ip {
        let text = ip.to_string();
        spec.insert("clusterIP".into(), json!(text));
        match spec.get_mut("clusterIPs").and_then(Value::as_array_mut) {
            Some(list) if !list.is_empty() => list[0] = json!(text),
            _ => {
                spec.insert("clusterIPs".into(), json!([text]));
            }
        }
    }
    if let Some(list) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for (p, taken) in list.iter_mut().zip(&ports.ports) {
            if let (Some(p), Some(n)) = (p.as_object_mut(), taken) {
                p.insert("nodePort".into(), json!(n));
            }
        }
    }
    if let Some(hc) = ports.health_check {
        spec.insert("healthCheckNodePort".into(), json!(hc));
    }
}

/// What `a` holds and `b` does not.
fn difference(a: &Value, b: &Value) -> (Vec<IpAddr>, Vec<i64>) {
    let ips = service::held_ip(a)
        .filter(|ip| service::held_ip(b) != Some(*ip))
        .into_iter()
        .collect();
    let kept = service::held_ports(b);
    let ports = service::held_ports(a)
        .into_iter()
        .filter(|p| !kept.contains(p))
        .collect();
    (ips, ports)
}

/// Releases what [`allocate`] took for an object that was then not stored.
pub(crate) async fn release_unstored(
    ctx: &Ctx,
    def: &'static ResourceDef,
    op: Operation<'_>,
    obj: &Value,
) {
    let Some(old) = service_op(def, op) else {
        return;
    };
    if ctx.query.dry_run {
        return;
    }
    let allocator = ctx.state.allocator();
    let storage = ctx.state.storage().as_ref();
    let empty = json!({});
    let before = old.unwrap_or(&empty);
    let (ips, ports) = difference(obj, before);
    allocator.adjust(storage, &ips, &ports, false).await;
    if let Some(old) = old {
        let (ips, ports) = difference(old, obj);
        allocator.adjust(storage, &ips, &ports, true).await;
    }
}

/// Releases what a deleted object held.
pub(crate) async fn release_deleted(ctx: &Ctx, def: &'static ResourceDef, last: &Value) {
    if def.kind != "Service" {
        return;
    }
    let allocator = ctx.state.allocator();
    let storage = ctx.state.storage().as_ref();
    let ips: Vec<IpAddr> = service::held_ip(last).into_iter().collect();
    allocator
        .adjust(storage, &ips, &service::held_ports(last), false)
        .await;
}

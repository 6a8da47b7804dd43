//! One container's environment from what was fetched for it (upstream's
//! `makeEnvironmentVariables`): `envFrom` in order, then `env` in order, later
//! definitions overriding earlier ones, then the service variables not defined already.
//!
//! Upstream collects the variables in a Go map, so their order reaches the runtime
//! unspecified; here a variable keeps the place of its first definition.

use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::expand::expand;
use super::fields::{Addresses, field_value};
use super::resources::{resource_value, with_default_limits};

/// A ConfigMap's or Secret's data as one fetch for this container start found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fetched {
    Found(BTreeMap<String, String>),
    /// The API answered NotFound.
    Missing,
    /// Any other failure, as the container's config error says it.
    Failed(String),
}

/// Everything a container's environment is made from.
#[derive(Debug)]
pub(crate) struct Sources<'a> {
    pub(crate) pod: &'a Pod,
    pub(crate) config_maps: &'a HashMap<String, Fetched>,
    pub(crate) secrets: &'a HashMap<String, Fetched>,
    /// Service variables, in order.
    pub(crate) services: &'a [(String, String)],
    pub(crate) addresses: &'a Addresses,
    pub(crate) allocatable: &'a BTreeMap<String, Quantity>,
}

/// The ConfigMaps and the Secrets the container's environment reads, each once, in order.
pub(crate) fn references(c: &Container) -> (Vec<String>, Vec<String>) {
    let (mut maps, mut secrets) = (Vec::new(), Vec::new());
    let add = |list: &mut Vec<String>, name: &str| {
        if !list.iter().any(|n| n == name) {
            list.push(name.to_owned());
        }
    };
    for from in c.env_from.iter().flatten() {
        if let Some(r) = &from.config_map_ref {
            add(&mut maps, &r.name);
        } else if let Some(r) = &from.secret_ref {
            add(&mut secrets, &r.name);
        }
    }
    for var in c.env.iter().flatten() {
        let Some(from) = var.value_from.as_ref().filter(|_| is_empty(&var.value)) else {
            continue;
        };
        if let Some(r) = &from.config_map_key_ref {
            add(&mut maps, &r.name);
        } else if let Some(r) = &from.secret_key_ref {
            add(&mut secrets, &r.name);
        }
    }
    (maps, secrets)
}

fn is_empty(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(str::is_empty)
}

/// Variables in the order of their first definition.
#[derive(Debug, Default)]
struct Vars {
    index: HashMap<String, usize>,
    list: Vec<(String, String)>,
}

impl Vars {
    fn set(&mut self, name: String, value: String) {
        match self.index.get(&name) {
            Some(&i) => self.list[i].1 = value,
            None => {
                self.index.insert(name.clone(), self.list.len());
                self.list.push((name, value));
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.list[i].1.as_str())
    }
}

/// The data of one referenced object: `Ok(None)` when it is missing and optional.
fn data<'a>(
    fetched: &'a HashMap<String, Fetched>,
    kind: &str,
    name: &str,
    optional: Option<bool>,
) -> Result<Option<&'a BTreeMap<String, String>>, String> {
    match fetched.get(name) {
        Some(Fetched::Found(data)) => Ok(Some(data)),
        Some(Fetched::Failed(message)) => Err(message.clone()),
        Some(Fetched::Missing) | None if optional == Some(true) => Ok(None),
        Some(Fetched::Missing) | None => Err(format!("{kind} \"{name}\" not found")),
    }
}

/// One key of a referenced ConfigMap or Secret (`kind` as upstream's messages spell it):
/// `Ok(None)` when the object or the key is missing and the reference is optional.
fn key_value(
    fetched: &HashMap<String, Fetched>,
    kind: &str,
    namespace: &str,
    name: &str,
    key: &str,
    optional: Option<bool>,
) -> Result<Option<String>, String> {
    let Some(found) = data(fetched, &kind.to_lowercase(), name, optional)? else {
        return Ok(None);
    };
    match found.get(key) {
        Some(value) => Ok(Some(value.clone())),
        None if optional == Some(true) => Ok(None),
        None => Err(format!(
            "couldn't find key {key} in {kind} {namespace}/{name}"
        )),
    }
}

/// The container's environment, or the message of its `CreateContainerConfigError`.
pub(crate) fn assemble(c: &Container, s: &Sources<'_>) -> Result<Vec<(String, String)>, String> {
    let namespace = s.pod.metadata.namespace.as_deref().unwrap_or_default();
    let mut vars = Vars::default();
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or_default();
        let found = if let Some(r) = &from.config_map_ref {
            data(s.config_maps, "configmap", &r.name, r.optional)?
        } else if let Some(r) = &from.secret_ref {
            data(s.secrets, "secret", &r.name, r.optional)?
        } else {
            None
        };
        for (key, value) in found.into_iter().flatten() {
            vars.set(format!("{prefix}{key}"), value.clone());
        }
    }
    let services: HashMap<&str, &str> = s
        .services
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut defaulted: Option<Container> = None;
    for var in c.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(value), _) if !value.is_empty() => expand(value, |name| {
                vars.get(name).or_else(|| services.get(name).copied())
            }),
            (_, Some(from)) => {
                if let Some(field) = &from.field_ref {
                    field_value(field, s.pod, s.addresses)?
                } else if let Some(resource) = &from.resource_field_ref {
                    let own =
                        defaulted.get_or_insert_with(|| with_default_limits(c, s.allocatable));
                    resource_value(resource, s.pod, own, s.allocatable)?
                } else if let Some(r) = &from.config_map_key_ref {
                    let found = key_value(
                        s.config_maps,
                        "ConfigMap",
                        namespace,
                        &r.name,
                        &r.key,
                        r.optional,
                    )?;
                    let Some(value) = found else { continue };
                    value
                } else if let Some(r) = &from.secret_key_ref {
                    let found =
                        key_value(s.secrets, "Secret", namespace, &r.name, &r.key, r.optional)?;
                    let Some(value) = found else { continue };
                    value
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        };
        vars.set(var.name.clone(), value);
    }
    // Service variables the container did not define itself, each once (the last
    // service to define a name wins, as in upstream's map).
    let mut out = vars.list;
    let mut added = HashSet::new();
    for (name, _) in s.services {
        if let Some(value) = services.get(name.as_str())
            && !vars.index.contains_key(name)
            && added.insert(name.as_str())
        {
            out.push((name.clone(), (*value).to_owned()));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "assemble_tests.rs"]
mod tests;

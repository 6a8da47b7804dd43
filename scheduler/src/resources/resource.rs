//! Resource names and the scheduler's integer `Resource` vector (upstream framework `Resource`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::quantity::ExactQuantity;

/// `cpu`, counted in millicores.
pub const CPU: &str = "cpu";
/// `memory`, counted in bytes.
pub const MEMORY: &str = "memory";
/// `ephemeral-storage`, counted in bytes.
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// `pods`, the number of pods a node admits.
pub const PODS: &str = "pods";

/// Exact per-name amounts, as quantities add and compare before any rounding.
pub type ResourceAmounts = BTreeMap<String, ExactQuantity>;

/// Reads a `ResourceList` exactly. The apiserver only stores valid quantities, so an
/// unparseable one cannot come from it; should one appear it counts as zero and is logged.
#[must_use]
pub fn amounts_from_list(list: &BTreeMap<String, Quantity>) -> ResourceAmounts {
    list.iter()
        .map(|(name, quantity)| {
            let exact = ExactQuantity::parse(&quantity.0).unwrap_or_else(|error| {
                tracing::warn!(resource = %name, quantity = %quantity.0, %error, "unparseable quantity counted as zero");
                ExactQuantity::ZERO
            });
            (name.clone(), exact)
        })
        .collect()
}

/// Adds every amount of `other` into `into`.
pub fn add_amounts(into: &mut ResourceAmounts, other: &ResourceAmounts) {
    for (name, amount) in other {
        let slot = into.entry(name.clone()).or_default();
        *slot = slot.saturating_add(*amount);
    }
}

/// Raises every amount of `into` to at least the one in `other`.
pub fn max_amounts(into: &mut ResourceAmounts, other: &ResourceAmounts) {
    for (name, amount) in other {
        into.entry(name.clone())
            .and_modify(|slot| *slot = (*slot).max(*amount))
            .or_insert(*amount);
    }
}

/// A name with a `kubernetes.io/` prefix belongs to Kubernetes itself (upstream
/// `IsPrefixedNativeResource`).
fn is_prefixed_native(name: &str) -> bool {
    name.contains("kubernetes.io/")
}

/// Upstream `IsExtendedResourceName`: a domain-qualified name outside `kubernetes.io/`,
/// not starting with `requests.`, valid as a qualified name once prefixed with `requests.`.
#[must_use]
pub fn is_extended_resource_name(name: &str) -> bool {
    if !name.contains('/') || is_prefixed_native(name) || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}"))
}

/// A DNS-subdomain prefix, `/`, and a name part of at most 63 characters that starts and
/// ends with an alphanumeric and otherwise holds alphanumerics, `-`, `_` and `.`.
fn is_qualified_name(value: &str) -> bool {
    let Some((prefix, name)) = value.split_once('/') else {
        return false;
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let prefix_ok = !prefix.is_empty()
        && prefix.len() <= 253
        && prefix.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && label.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    name_ok && prefix_ok
}

/// Upstream `IsScalarResourceName`: extended resources, `hugepages-*`,
/// `kubernetes.io/`-prefixed names and `attachable-volumes-*`.
#[must_use]
pub fn is_scalar_resource_name(name: &str) -> bool {
    is_extended_resource_name(name)
        || name.starts_with("hugepages-")
        || is_prefixed_native(name)
        || name.starts_with("attachable-volumes-")
}

/// Integer resource amounts as the scheduler compares them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    /// CPU in millicores (rounded up from the exact quantity).
    pub milli_cpu: i64,
    /// Memory in bytes (rounded up).
    pub memory: i64,
    /// Ephemeral storage in bytes (rounded up).
    pub ephemeral_storage: i64,
    /// Number of pods (only meaningful for a node's allocatable).
    pub allowed_pod_number: i64,
    /// Extended, hugepages and other scalar resources, in whole units.
    pub scalar: BTreeMap<String, i64>,
}

impl Resource {
    /// Converts a `ResourceList` (a node's allocatable, a pod's overhead…).
    #[must_use]
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Self {
        Self::from_amounts(&amounts_from_list(list))
    }

    /// Converts exact amounts; names that are neither native nor scalar are ignored.
    #[must_use]
    pub fn from_amounts(amounts: &ResourceAmounts) -> Self {
        let mut resource = Self::default();
        for (name, amount) in amounts {
            match name.as_str() {
                CPU => resource.milli_cpu = resource.milli_cpu.saturating_add(amount.milli_value()),
                MEMORY => resource.memory = resource.memory.saturating_add(amount.value()),
                EPHEMERAL_STORAGE => {
                    resource.ephemeral_storage =
                        resource.ephemeral_storage.saturating_add(amount.value());
                }
                PODS => {
                    resource.allowed_pod_number =
                        resource.allowed_pod_number.saturating_add(amount.value());
                }
                other if is_scalar_resource_name(other) => {
                    let slot = resource.scalar.entry(other.to_owned()).or_default();
                    *slot = slot.saturating_add(amount.value());
                }
                _ => {}
            }
        }
        resource
    }

    /// The amount of one resource by name (`cpu` in millicores); zero when absent.
    #[must_use]
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.milli_cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.allowed_pod_number,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }

    /// Adds (`sign` = 1) or subtracts (`sign` = -1) `other` field by field.
    pub fn apply(&mut self, other: &Self, sign: i64) {
        self.milli_cpu += sign * other.milli_cpu;
        self.memory += sign * other.memory;
        self.ephemeral_storage += sign * other.ephemeral_storage;
        self.allowed_pod_number += sign * other.allowed_pod_number;
        for (name, amount) in &other.scalar {
            let slot = self.scalar.entry(name.clone()).or_default();
            *slot += sign * amount;
            if *slot == 0 {
                self.scalar.remove(name);
            }
        }
    }

    /// True when nothing at all is requested (upstream's "pod requests nothing" check).
    #[must_use]
    pub fn is_empty_request(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn list(entries: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned())))
            .collect()
    }

    #[test]
    fn classifies_resource_names() {
        // (name, extended, scalar)
        let cases = [
            ("cpu", false, false),
            ("memory", false, false),
            ("example.com/gpu", true, true),
            ("nvidia.com/gpu", true, true),
            ("kubernetes.io/something", false, true),
            ("requests.example.com/foo", false, false),
            ("hugepages-2Mi", false, true),
            ("attachable-volumes-aws-ebs", false, true),
            ("Example.com/gpu", false, false),
            ("example.com/", false, false),
            ("unknown", false, false),
        ];
        for (name, extended, scalar) in cases {
            assert_eq!(is_extended_resource_name(name), extended, "extended {name}");
            assert_eq!(is_scalar_resource_name(name), scalar, "scalar {name}");
        }
    }

    #[test]
    fn converts_a_resource_list() {
        let r = Resource::from_list(&list(&[
            ("cpu", "1500m"),
            ("memory", "1Gi"),
            ("ephemeral-storage", "10G"),
            ("pods", "110"),
            ("example.com/gpu", "2"),
            ("hugepages-2Mi", "4Mi"),
            ("unknown", "5"),
        ]));
        assert_eq!(r.milli_cpu, 1500);
        assert_eq!(r.memory, 1 << 30);
        assert_eq!(r.ephemeral_storage, 10_000_000_000);
        assert_eq!(r.allowed_pod_number, 110);
        assert_eq!(
            r.scalar,
            BTreeMap::from([
                ("example.com/gpu".to_owned(), 2),
                ("hugepages-2Mi".to_owned(), 4 << 20)
            ])
        );
        assert_eq!(r.get("example.com/gpu"), 2);
        assert_eq!(r.get("unknown"), 0);
    }

    #[test]
    fn applies_and_reverts() {
        let base = Resource::from_list(&list(&[("cpu", "1"), ("example.com/gpu", "1")]));
        let mut total = Resource::default();
        total.apply(&base, 1);
        total.apply(&base, 1);
        assert_eq!(total.milli_cpu, 2000);
        total.apply(&base, -1);
        assert_eq!(total, base);
        assert!(Resource::default().is_empty_request());
        assert!(!base.is_empty_request());
    }
}

//! A pod's effective resource request (upstream `PodRequests` and `calculateResource`).
//!
//! The request is the larger of (app containers + restartable init containers) and, for each
//! ordinary init container, its own request plus the sidecars started before it; the pod
//! overhead is added on top. Amounts add exactly and are rounded only at the end.

use k8s_openapi::api::core::v1::{Container, Pod};

use super::quantity::ExactQuantity;
use super::resource::{
    CPU, MEMORY, Resource, ResourceAmounts, add_amounts, amounts_from_list, max_amounts,
};

/// CPU counted for a container that requests none, when scoring (upstream 100m).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory counted for a container that requests none, when scoring (upstream 200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Whether containers that leave cpu or memory out count with the scoring defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingRequests {
    /// Absent requests count as zero (filtering and node accounting).
    AsZero,
    /// Absent cpu/memory requests count as 100m / 200Mi (upstream non-zero requests).
    AsDefaults,
}

fn container_requests(container: &Container, missing: MissingRequests) -> ResourceAmounts {
    let mut amounts = container
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .map(amounts_from_list)
        .unwrap_or_default();
    if missing == MissingRequests::AsDefaults {
        amounts
            .entry(CPU.to_owned())
            .or_insert(ExactQuantity::from_milli(DEFAULT_MILLI_CPU_REQUEST));
        amounts
            .entry(MEMORY.to_owned())
            .or_insert(ExactQuantity::from_units(DEFAULT_MEMORY_REQUEST));
    }
    amounts
}

fn is_restartable(container: &Container) -> bool {
    container.restart_policy.as_deref() == Some("Always")
}

/// The pod's exact requests per resource name, overhead included.
#[must_use]
pub fn pod_request_amounts(pod: &Pod, missing: MissingRequests) -> ResourceAmounts {
    let Some(spec) = pod.spec.as_ref() else {
        return ResourceAmounts::new();
    };
    let mut total = ResourceAmounts::new();
    for container in &spec.containers {
        add_amounts(&mut total, &container_requests(container, missing));
    }
    let mut sidecars = ResourceAmounts::new();
    let mut init_peak = ResourceAmounts::new();
    for container in spec.init_containers.iter().flatten() {
        let own = container_requests(container, missing);
        if is_restartable(container) {
            // A sidecar keeps running: it adds to the steady state and to every later init step.
            add_amounts(&mut total, &own);
            add_amounts(&mut sidecars, &own);
            max_amounts(&mut init_peak, &sidecars);
        } else {
            let mut step = own;
            add_amounts(&mut step, &sidecars);
            max_amounts(&mut init_peak, &step);
        }
    }
    max_amounts(&mut total, &init_peak);
    if let Some(overhead) = spec.overhead.as_ref() {
        add_amounts(&mut total, &amounts_from_list(overhead));
    }
    total
}

/// What a pod takes from a node: its request and the non-zero cpu/memory used for scoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodResources {
    /// The effective request (absent requests count as zero).
    pub requests: Resource,
    /// CPU in millicores with the 100m default for containers that request none.
    pub non_zero_milli_cpu: i64,
    /// Memory in bytes with the 200Mi default for containers that request none.
    pub non_zero_memory: i64,
}

impl PodResources {
    /// Computes a pod's request and non-zero request.
    #[must_use]
    pub fn of(pod: &Pod) -> Self {
        let non_zero = pod_request_amounts(pod, MissingRequests::AsDefaults);
        let amount = |name: &str| non_zero.get(name).copied().unwrap_or_default();
        Self {
            requests: Resource::from_amounts(&pod_request_amounts(pod, MissingRequests::AsZero)),
            non_zero_milli_cpu: amount(CPU).milli_value(),
            non_zero_memory: amount(MEMORY).value(),
        }
    }
}

/// One resource of a pod's request as a score plugin counts it (`cpu` in millicores).
#[must_use]
pub fn pod_request_for(amounts: &ResourceAmounts, name: &str) -> i64 {
    let amount = amounts.get(name).copied().unwrap_or_default();
    if name == CPU {
        amount.milli_value()
    } else {
        amount.value()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use std::collections::BTreeMap;

    /// A container requesting `cpu`/`memory` (empty strings leave the request out).
    pub(crate) fn container(cpu: &str, memory: &str) -> Container {
        let mut requests = BTreeMap::new();
        if !cpu.is_empty() {
            requests.insert(CPU.to_owned(), Quantity(cpu.to_owned()));
        }
        if !memory.is_empty() {
            requests.insert(MEMORY.to_owned(), Quantity(memory.to_owned()));
        }
        Container {
            name: "c".to_owned(),
            resources: Some(ResourceRequirements {
                requests: Some(requests),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn sidecar(cpu: &str, memory: &str) -> Container {
        Container {
            restart_policy: Some("Always".to_owned()),
            ..container(cpu, memory)
        }
    }

    /// A pod with the given app and init containers.
    pub(crate) fn pod(containers: Vec<Container>, init: Vec<Container>) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers,
                init_containers: Some(init),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn computes_requests_as_upstream() {
        // (case, pod, milli_cpu, memory, non-zero milli_cpu, non-zero memory)
        let mi = 1024 * 1024;
        let cases = [
            ("empty", pod(vec![], vec![]), 0, 0, 0, 0),
            (
                "no requests",
                pod(vec![container("", "")], vec![]),
                0,
                0,
                100,
                200 * mi,
            ),
            (
                "sum of app containers",
                pod(vec![container("1", "1Gi"), container("500m", "")], vec![]),
                1500,
                1024 * mi,
                1500,
                1224 * mi,
            ),
            (
                "exact sum before rounding",
                pod(vec![container("0.5m", ""), container("0.5m", "")], vec![]),
                1,
                0,
                1,
                400 * mi,
            ),
            (
                "init container dominates",
                pod(vec![container("1", "1Gi")], vec![container("2", "512Mi")]),
                2000,
                1024 * mi,
                2000,
                1024 * mi,
            ),
            (
                "init containers take the max, not the sum",
                pod(
                    vec![container("100m", "")],
                    vec![container("1", ""), container("1", "")],
                ),
                1000,
                0,
                1000,
                200 * mi,
            ),
            (
                "sidecar adds to the app containers",
                pod(vec![container("1", "1Gi")], vec![sidecar("500m", "100Mi")]),
                1500,
                1124 * mi,
                1500,
                1124 * mi,
            ),
            (
                "init step after a sidecar counts the sidecar",
                pod(
                    vec![container("100m", "")],
                    vec![sidecar("1", "1Gi"), container("2", "1Gi")],
                ),
                3000,
                2048 * mi,
                3000,
                2048 * mi,
            ),
            (
                "init step before a sidecar does not",
                pod(
                    vec![container("100m", "")],
                    vec![container("2", "1Gi"), sidecar("1", "1Gi")],
                ),
                2000,
                1024 * mi,
                2000,
                1224 * mi,
            ),
        ];
        for (case, pod, cpu, memory, nz_cpu, nz_memory) in cases {
            let got = PodResources::of(&pod);
            assert_eq!(got.requests.milli_cpu, cpu, "{case}: cpu");
            assert_eq!(got.requests.memory, memory, "{case}: memory");
            assert_eq!(got.non_zero_milli_cpu, nz_cpu, "{case}: non-zero cpu");
            assert_eq!(got.non_zero_memory, nz_memory, "{case}: non-zero memory");
        }
    }

    #[test]
    fn adds_overhead_and_scalars() {
        let mut p = pod(vec![container("1", "")], vec![]);
        let spec = p.spec.as_mut().unwrap();
        spec.containers[0]
            .resources
            .as_mut()
            .unwrap()
            .requests
            .as_mut()
            .unwrap()
            .insert("example.com/gpu".to_owned(), Quantity("2".to_owned()));
        spec.overhead = Some(BTreeMap::from([
            (CPU.to_owned(), Quantity("250m".to_owned())),
            (MEMORY.to_owned(), Quantity("120Mi".to_owned())),
        ]));
        let got = PodResources::of(&p);
        assert_eq!(got.requests.milli_cpu, 1250);
        assert_eq!(got.requests.memory, 120 * 1024 * 1024);
        assert_eq!(got.requests.scalar.get("example.com/gpu"), Some(&2));
        assert_eq!(got.non_zero_memory, 320 * 1024 * 1024);
        let amounts = pod_request_amounts(&p, MissingRequests::AsZero);
        assert_eq!(pod_request_for(&amounts, CPU), 1250);
        assert_eq!(pod_request_for(&amounts, "example.com/gpu"), 2);
    }
}

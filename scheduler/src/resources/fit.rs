//! The NodeResourcesFit filter: which of a pod's requests a node cannot satisfy.

use std::collections::BTreeSet;

use super::node_info::NodeInfo;
use super::resource::{CPU, EPHEMERAL_STORAGE, MEMORY, PODS, Resource, is_extended_resource_name};

/// Extended resources the filter does not check (NodeResourcesFitArgs `ignoredResources`
/// and `ignoredResourceGroups`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoredResources {
    /// Full extended resource names to skip, such as `example.com/foo`.
    pub names: BTreeSet<String>,
    /// Extended resource prefixes (the part before `/`) to skip, such as `example.com`.
    pub groups: BTreeSet<String>,
}

impl IgnoredResources {
    fn ignores(&self, name: &str) -> bool {
        if !is_extended_resource_name(name) {
            return false;
        }
        let group = name.split('/').next().unwrap_or(name);
        self.names.contains(name) || self.groups.contains(group)
    }
}

/// One resource the node lacks for the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsufficientResource {
    /// The resource name (`pods`, `cpu`, `example.com/gpu`…).
    pub resource_name: String,
    /// The upstream reason, such as `Insufficient cpu` or `Too many pods`.
    pub reason: String,
    /// What the pod asks for (1 for pods).
    pub requested: i64,
    /// What the node's pods already use.
    pub used: i64,
    /// The node's allocatable amount.
    pub capacity: i64,
}

impl InsufficientResource {
    fn new(resource_name: &str, reason: String, requested: i64, used: i64, capacity: i64) -> Self {
        Self {
            resource_name: resource_name.to_owned(),
            reason,
            requested,
            used,
            capacity,
        }
    }

    fn lacking(name: &str, requested: i64, used: i64, capacity: i64) -> Self {
        Self::new(
            name,
            format!("Insufficient {name}"),
            requested,
            used,
            capacity,
        )
    }
}

/// Whether the pod's request fits the node, answered from the node's [`FitLine`] alone when
/// the request is only cpu and memory (then `None` never comes back); `None` when the
/// full check ([`fits_request`]) must decide.
///
/// [`FitLine`]: super::FitLine
#[must_use]
pub fn fits_on_line(request: &Resource, node: &NodeInfo) -> Option<bool> {
    if request.ephemeral_storage > 0 || !request.scalar.is_empty() {
        return None;
    }
    let line = node.line();
    let room = |wanted: i64, used: i64, capacity: i64| wanted == 0 || wanted <= capacity - used;
    Some(
        i64::from(line.pods) < line.allowed_pods
            && room(
                request.milli_cpu,
                line.requested_milli_cpu,
                line.allocatable_milli_cpu,
            )
            && room(
                request.memory,
                line.requested_memory,
                line.allocatable_memory,
            ),
    )
}

/// Checks a pod's request against a node, in upstream's order: pod count, cpu, memory,
/// ephemeral storage, then scalar resources by name. A pod requesting nothing is only
/// checked for the pod count. An empty result means the pod fits.
#[must_use]
pub fn fits_request(
    request: &Resource,
    node: &NodeInfo,
    ignored: &IgnoredResources,
) -> Vec<InsufficientResource> {
    let mut lacking = Vec::new();
    let line = node.line();
    let pods = i64::from(line.pods);
    let allowed = line.allowed_pods;
    if pods + 1 > allowed {
        lacking.push(InsufficientResource::new(
            PODS,
            "Too many pods".to_owned(),
            1,
            pods,
            allowed,
        ));
    }
    if request.is_empty_request() {
        return lacking;
    }
    let alloc = &node.allocatable;
    let used = &node.requested;
    // Ephemeral storage is read only when requested: it is not on the line.
    let storage = if request.ephemeral_storage > 0 {
        (used.ephemeral_storage, alloc.ephemeral_storage)
    } else {
        (0, 0)
    };
    let natives = [
        (
            CPU,
            request.milli_cpu,
            line.requested_milli_cpu,
            line.allocatable_milli_cpu,
        ),
        (
            MEMORY,
            request.memory,
            line.requested_memory,
            line.allocatable_memory,
        ),
        (
            EPHEMERAL_STORAGE,
            request.ephemeral_storage,
            storage.0,
            storage.1,
        ),
    ];
    for (name, wanted, in_use, capacity) in natives {
        if wanted > 0 && wanted > capacity - in_use {
            lacking.push(InsufficientResource::lacking(
                name, wanted, in_use, capacity,
            ));
        }
    }
    for (name, &wanted) in &request.scalar {
        if wanted == 0 || ignored.ignores(name) {
            continue;
        }
        let capacity = alloc.get(name);
        let in_use = used.get(name);
        if wanted > capacity - in_use {
            lacking.push(InsufficientResource::lacking(
                name, wanted, in_use, capacity,
            ));
        }
    }
    lacking
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::resources::node_info::tests::{named_pod, node};
    use crate::resources::pod::PodResources;
    use std::collections::BTreeMap;

    fn request(cpu: i64, memory: i64, scalars: &[(&str, i64)]) -> Resource {
        Resource {
            milli_cpu: cpu,
            memory,
            scalar: scalars.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            ..Default::default()
        }
    }

    /// A node with 10 cpu, 20 bytes of memory, 32 pods, 5 `example.com/aaa`, with one
    /// existing pod using 5 cpu and 19 bytes (upstream fit_test's usual shape).
    fn busy_node(pods: &str) -> NodeInfo {
        let mut info = NodeInfo::new(&node(
            "n",
            &[
                ("cpu", "10m"),
                ("memory", "20"),
                ("pods", pods),
                ("example.com/aaa", "5"),
                ("ephemeral-storage", "20"),
            ],
        ));
        info.add_pod(&named_pod("existing", "5m", "19"));
        info
    }

    #[test]
    fn reports_insufficient_resources() {
        let gpu = "example.com/aaa";
        // (case, request, pods allocatable, ignored, expected reasons)
        let cases: Vec<(&str, Resource, &str, IgnoredResources, Vec<&str>)> = vec![
            (
                "no request fits",
                request(0, 0, &[]),
                "32",
                IgnoredResources::default(),
                vec![],
            ),
            (
                "fits",
                request(5, 1, &[]),
                "32",
                IgnoredResources::default(),
                vec![],
            ),
            (
                "too much cpu",
                request(6, 1, &[]),
                "32",
                IgnoredResources::default(),
                vec!["Insufficient cpu"],
            ),
            (
                "too much cpu and memory",
                request(6, 2, &[]),
                "32",
                IgnoredResources::default(),
                vec!["Insufficient cpu", "Insufficient memory"],
            ),
            (
                "no pod slot, empty request",
                request(0, 0, &[]),
                "1",
                IgnoredResources::default(),
                vec!["Too many pods"],
            ),
            (
                "no pod slot and cpu",
                request(6, 0, &[]),
                "1",
                IgnoredResources::default(),
                vec!["Too many pods", "Insufficient cpu"],
            ),
            (
                "extended fits",
                request(1, 1, &[(gpu, 5)]),
                "32",
                IgnoredResources::default(),
                vec![],
            ),
            (
                "extended too large",
                request(1, 1, &[(gpu, 6)]),
                "32",
                IgnoredResources::default(),
                vec!["Insufficient example.com/aaa"],
            ),
            (
                "unknown extended resource",
                request(0, 0, &[("example.com/bbb", 1)]),
                "32",
                IgnoredResources::default(),
                vec!["Insufficient example.com/bbb"],
            ),
            (
                "ignored by name",
                request(0, 0, &[("example.com/bbb", 1)]),
                "32",
                IgnoredResources {
                    names: BTreeSet::from(["example.com/bbb".to_owned()]),
                    ..Default::default()
                },
                vec![],
            ),
            (
                "ignored by group",
                request(0, 0, &[("example.com/bbb", 1)]),
                "32",
                IgnoredResources {
                    groups: BTreeSet::from(["example.com".to_owned()]),
                    ..Default::default()
                },
                vec![],
            ),
            (
                "hugepages cannot be ignored",
                request(0, 0, &[("hugepages-2Mi", 1)]),
                "32",
                IgnoredResources {
                    names: BTreeSet::from(["hugepages-2Mi".to_owned()]),
                    ..Default::default()
                },
                vec!["Insufficient hugepages-2Mi"],
            ),
            (
                "zero scalar is skipped",
                request(0, 0, &[("example.com/bbb", 0)]),
                "32",
                IgnoredResources::default(),
                vec![],
            ),
        ];
        for (case, req, pods, ignored, want) in cases {
            let got: Vec<String> = fits_request(&req, &busy_node(pods), &ignored)
                .into_iter()
                .map(|r| r.reason)
                .collect();
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn reports_amounts_and_ephemeral_storage() {
        let mut p = named_pod("p", "", "");
        p.spec.as_mut().unwrap().containers[0]
            .resources
            .as_mut()
            .unwrap()
            .requests = Some(BTreeMap::from([(
            "ephemeral-storage".to_owned(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("25".to_owned()),
        )]));
        let got = fits_request(
            &PodResources::of(&p).requests,
            &busy_node("32"),
            &IgnoredResources::default(),
        );
        assert_eq!(
            got,
            vec![InsufficientResource {
                resource_name: "ephemeral-storage".to_owned(),
                reason: "Insufficient ephemeral-storage".to_owned(),
                requested: 25,
                used: 0,
                capacity: 20,
            }]
        );
    }

    #[test]
    fn the_line_answers_as_the_full_check_does() {
        let requests = [
            request(0, 0, &[]),
            request(5, 1, &[]),
            request(6, 1, &[]),
            request(5, 2, &[]),
            request(0, 1, &[]),
            request(1, 0, &[]),
        ];
        for pods in ["1", "2", "32"] {
            let node = busy_node(pods);
            for r in &requests {
                let full = fits_request(r, &node, &IgnoredResources::default()).is_empty();
                assert_eq!(fits_on_line(r, &node), Some(full), "{r:?} on {pods} pods");
            }
        }
        let node = busy_node("32");
        let mut storage = request(1, 1, &[]);
        storage.ephemeral_storage = 1;
        assert_eq!(fits_on_line(&storage, &node), None);
        assert_eq!(
            fits_on_line(&request(1, 1, &[("example.com/aaa", 1)]), &node),
            None
        );
    }
}

//! The benchmark cases (upstream scheduler_perf shape) and the objects they create.

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use serde_json::{Value, json};

/// Zones the nodes are spread over (`topology.kubernetes.io/zone`).
pub(crate) const ZONES: usize = 10;
/// Namespace of the pods placed before measuring.
pub(crate) const SETUP_NAMESPACE: &str = "sched-setup";
/// Namespace of the measured pods.
pub(crate) const TEST_NAMESPACE: &str = "sched-test";

/// What the pods of a case ask of the scheduler besides resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Resource requests only.
    Basic,
    /// Required anti-affinity on `kubernetes.io/hostname` against `color: green` pods.
    PodAntiAffinity,
    /// Required node affinity to half of the zones.
    NodeAffinity,
    /// `DoNotSchedule` spread, maxSkew 1 over zones.
    TopologySpreading,
    /// Upstream `PreemptionBasic`: low-priority init pods (900m) fill every node to 3.6 of
    /// 4 cpu; each measured high-priority pod (3000m) fits only after preempting three.
    Preemption,
}

impl Kind {
    /// The case name printed.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Basic => "Basic",
            Kind::PodAntiAffinity => "PodAntiAffinity",
            Kind::NodeAffinity => "NodeAffinity",
            Kind::TopologySpreading => "TopologySpreading",
            Kind::Preemption => "Preemption",
        }
    }
}

/// One benchmark case.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    /// The workload.
    pub(crate) kind: Kind,
    /// Nodes created.
    pub(crate) nodes: usize,
    /// Pods scheduled before measuring.
    pub(crate) init_pods: usize,
    /// Pods measured.
    pub(crate) measured_pods: usize,
}

impl Case {
    /// The label printed: `Basic 5000 nodes`.
    pub(crate) fn label(&self) -> String {
        format!("{} {} nodes", self.kind.name(), self.nodes)
    }
}

const KINDS: [Kind; 4] = [
    Kind::Basic,
    Kind::PodAntiAffinity,
    Kind::NodeAffinity,
    Kind::TopologySpreading,
];

/// Low-priority init pods per node in the preemption case: 4 × 900m of a 4-cpu node.
pub(crate) const PREEMPTION_PODS_PER_NODE: usize = 4;
/// PriorityClass of the preemption case's init pods (value 0, as upstream's template
/// that names no priority).
pub(crate) const LOW_PRIORITY: &str = "bench-low-priority";
/// PriorityClass of the preemption case's measured pods (upstream's template: 10).
pub(crate) const HIGH_PRIORITY: &str = "bench-high-priority";

/// The cases of a run. Anti-affinity allows one pod per node, so its measured pods are
/// capped at the nodes left free by the init pods. Preemption runs upstream's
/// `PreemptionBasic` sizes (1000 nodes, 4 init pods per node, one measured pod per node)
/// in full mode and 50 nodes with `--short` (each preemption tries every node as a
/// candidate up to 100 of them, so its cost grows with the square of a small cluster).
pub(crate) fn cases(short: bool) -> Vec<Case> {
    let sizes: &[(usize, usize, usize)] = if short {
        &[(500, 100, 500)]
    } else {
        &[(5000, 1000, 10_000), (500, 100, 1000)]
    };
    let mut out = Vec::new();
    for &(nodes, init_pods, measured) in sizes {
        for kind in KINDS {
            let measured_pods = match kind {
                // Upstream measures 1000 anti-affinity pods on 5000 nodes.
                Kind::PodAntiAffinity => measured.min(1000).min(nodes - init_pods),
                _ => measured,
            };
            out.push(Case {
                kind,
                nodes,
                init_pods,
                measured_pods,
            });
        }
    }
    let preemption_nodes = if short { 50 } else { 1000 };
    out.push(Case {
        kind: Kind::Preemption,
        nodes: preemption_nodes,
        init_pods: preemption_nodes * PREEMPTION_PODS_PER_NODE,
        measured_pods: preemption_nodes,
    });
    out
}

/// The two PriorityClasses of the preemption case (the apiserver's Priority admission
/// resolves a pod's `priorityClassName` to `spec.priority`).
pub(crate) fn priority_classes() -> Vec<PriorityClass> {
    [(LOW_PRIORITY, 0), (HIGH_PRIORITY, 10)]
        .into_iter()
        .map(|(name, value)| {
            serde_json::from_value(json!({
                "metadata": { "name": name },
                "value": value,
                "description": "scheduler benchmark",
            }))
            .unwrap_or_default()
        })
        .collect()
}

/// Node `i`: 4 cpu, 32Gi, 110 pods, hostname and zone labels. Its status goes in a
/// separate `patch_status` (create ignores status).
pub(crate) fn node(i: usize) -> (Node, Value) {
    let name = node_name(i);
    let node = serde_json::from_value(json!({
        "metadata": { "name": name, "labels": {
            "kubernetes.io/hostname": name,
            "topology.kubernetes.io/zone": zone(i % ZONES),
        }},
    }))
    .unwrap_or_default();
    let resources = json!({ "cpu": "4", "memory": "32Gi", "pods": "110" });
    let status = json!({ "status": {
        "capacity": resources, "allocatable": resources,
        "conditions": [{ "type": "Ready", "status": "True" }],
    }});
    (node, status)
}

/// The name of node `i`.
pub(crate) fn node_name(i: usize) -> String {
    format!("node-{i}")
}

fn zone(i: usize) -> String {
    format!("zone-{i}")
}

/// A pod of the case's kind requesting 100m / 500Mi. Preemption pods are upstream's
/// templates instead: in [`SETUP_NAMESPACE`] low priority, 900m, grace period 0; in
/// [`TEST_NAMESPACE`] high priority, 3000m (both 500Mi, limits equal to requests).
pub(crate) fn pod(kind: Kind, namespace: &str, name: &str) -> Pod {
    let mut spec = json!({ "containers": [{
        "name": "c", "image": "registry.k8s.io/pause:3.10",
        "resources": { "requests": { "cpu": "100m", "memory": "500Mi" } },
    }]});
    let mut labels = json!({ "app": "bench" });
    match kind {
        Kind::Basic => {}
        Kind::PodAntiAffinity => {
            labels["color"] = json!("green");
            spec["affinity"] = json!({ "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": { "matchExpressions": [
                        { "key": "color", "operator": "In", "values": ["green"] },
                    ]},
                    "topologyKey": "kubernetes.io/hostname",
                    "namespaces": [SETUP_NAMESPACE, TEST_NAMESPACE],
                }],
            }});
        }
        Kind::NodeAffinity => {
            let zones: Vec<String> = (0..ZONES / 2).map(zone).collect();
            spec["affinity"] = json!({ "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": [{
                    "matchExpressions": [{
                        "key": "topology.kubernetes.io/zone", "operator": "In", "values": zones,
                    }],
                }]},
            }});
        }
        Kind::TopologySpreading => {
            labels["spread"] = json!("zone");
            spec["topologySpreadConstraints"] = json!([{
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": { "matchLabels": { "spread": "zone" } },
            }]);
        }
        Kind::Preemption => {
            let (class, cpu) = if namespace == SETUP_NAMESPACE {
                spec["terminationGracePeriodSeconds"] = json!(0);
                (LOW_PRIORITY, "900m")
            } else {
                (HIGH_PRIORITY, "3000m")
            };
            let resources = json!({ "cpu": cpu, "memory": "500Mi" });
            spec["priorityClassName"] = json!(class);
            spec["containers"][0]["ports"] = json!([{ "containerPort": 80 }]);
            spec["containers"][0]["resources"] =
                json!({ "requests": resources, "limits": resources });
        }
    }
    serde_json::from_value(json!({
        "metadata": { "name": name, "namespace": namespace, "labels": labels },
        "spec": spec,
    }))
    .unwrap_or_default()
}

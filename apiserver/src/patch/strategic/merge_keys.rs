//! Upstream's patch strategies and merge keys (`x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`; the `patchStrategy`/`patchMergeKey` struct tags of
//! k8s.io/api v1.33), for every field of the served types that has one.
//!
//! The schemas k8s-openapi generates do not carry these, so they are kept here as facts.
//! A field that is not listed has no strategy: its lists are replaced whole, its objects
//! merged key by key.

/// How upstream patches a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strategy {
    /// `merge`: a list merged by its merge key, or a list of scalars merged as a set.
    Merge,
    /// `merge,retainKeys`: as [`Strategy::Merge`]; its elements are unions whose patches
    /// carry `$retainKeys`.
    MergeRetainKeys,
    /// `retainKeys`: an object (a union) whose patches carry `$retainKeys`.
    RetainKeys,
    /// `replace`: an object replaced whole instead of merged. No served type has one.
    #[cfg_attr(not(test), allow(dead_code))]
    Replace,
}

impl Strategy {
    /// Whether a list with this strategy is merged rather than replaced.
    pub(super) fn merges_lists(self) -> bool {
        matches!(self, Self::Merge | Self::MergeRetainKeys)
    }
}

/// The patch metadata of one field of one definition.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fact {
    /// OpenAPI definition name of the type that has the field.
    pub(super) definition: &'static str,
    /// JSON name of the field.
    pub(super) field: &'static str,
    /// Its patch strategy.
    pub(super) strategy: Strategy,
    /// Its merge key, for a merged list of objects.
    pub(super) merge_key: Option<&'static str>,
}

const fn keyed(definition: &'static str, field: &'static str, key: &'static str) -> Fact {
    Fact {
        definition,
        field,
        strategy: Strategy::Merge,
        merge_key: Some(key),
    }
}

const fn keyed_union(definition: &'static str, field: &'static str, key: &'static str) -> Fact {
    Fact {
        definition,
        field,
        strategy: Strategy::MergeRetainKeys,
        merge_key: Some(key),
    }
}

const fn set(definition: &'static str, field: &'static str) -> Fact {
    Fact {
        definition,
        field,
        strategy: Strategy::Merge,
        merge_key: None,
    }
}

const fn union(definition: &'static str, field: &'static str) -> Fact {
    Fact {
        definition,
        field,
        strategy: Strategy::RetainKeys,
        merge_key: None,
    }
}

const DEPLOYMENT_SPEC: &str = "io.k8s.api.apps.v1.DeploymentSpec";
const DEPLOYMENT_STATUS: &str = "io.k8s.api.apps.v1.DeploymentStatus";
const REPLICA_SET_STATUS: &str = "io.k8s.api.apps.v1.ReplicaSetStatus";
const CONTAINER: &str = "io.k8s.api.core.v1.Container";
const EPHEMERAL_CONTAINER: &str = "io.k8s.api.core.v1.EphemeralContainer";
const CONTAINER_STATUS: &str = "io.k8s.api.core.v1.ContainerStatus";
const POD_SPEC: &str = "io.k8s.api.core.v1.PodSpec";
const POD_STATUS: &str = "io.k8s.api.core.v1.PodStatus";
const NODE_SPEC: &str = "io.k8s.api.core.v1.NodeSpec";
const NODE_STATUS: &str = "io.k8s.api.core.v1.NodeStatus";
const NAMESPACE_STATUS: &str = "io.k8s.api.core.v1.NamespaceStatus";
const PVC_STATUS: &str = "io.k8s.api.core.v1.PersistentVolumeClaimStatus";
const SERVICE_SPEC: &str = "io.k8s.api.core.v1.ServiceSpec";
const SERVICE_STATUS: &str = "io.k8s.api.core.v1.ServiceStatus";
const SERVICE_ACCOUNT: &str = "io.k8s.api.core.v1.ServiceAccount";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Every strategy of the served types. Lists of the served types not named here
/// (tolerations, taints, envFrom, readinessGates, resizePolicy, containerStatuses,
/// EndpointSlice endpoints, managedFields, …) are atomic for strategic merge patch.
pub(super) const FACTS: &[Fact] = &[
    // apps/v1
    union(DEPLOYMENT_SPEC, "strategy"),
    keyed(DEPLOYMENT_STATUS, "conditions", "type"),
    keyed(REPLICA_SET_STATUS, "conditions", "type"),
    // core/v1 containers
    keyed(CONTAINER, "env", "name"),
    keyed(CONTAINER, "ports", "containerPort"),
    keyed(CONTAINER, "volumeMounts", "mountPath"),
    keyed(CONTAINER, "volumeDevices", "devicePath"),
    keyed(EPHEMERAL_CONTAINER, "env", "name"),
    keyed(EPHEMERAL_CONTAINER, "ports", "containerPort"),
    keyed(EPHEMERAL_CONTAINER, "volumeMounts", "mountPath"),
    keyed(EPHEMERAL_CONTAINER, "volumeDevices", "devicePath"),
    keyed(CONTAINER_STATUS, "volumeMounts", "mountPath"),
    keyed(CONTAINER_STATUS, "allocatedResourcesStatus", "name"),
    // core/v1 pods
    keyed(POD_SPEC, "containers", "name"),
    keyed(POD_SPEC, "initContainers", "name"),
    keyed(POD_SPEC, "ephemeralContainers", "name"),
    keyed_union(POD_SPEC, "volumes", "name"),
    keyed(POD_SPEC, "imagePullSecrets", "name"),
    keyed(POD_SPEC, "hostAliases", "ip"),
    keyed(POD_SPEC, "topologySpreadConstraints", "topologyKey"),
    keyed(POD_SPEC, "schedulingGates", "name"),
    keyed_union(POD_SPEC, "resourceClaims", "name"),
    keyed(POD_STATUS, "conditions", "type"),
    keyed(POD_STATUS, "podIPs", "ip"),
    keyed(POD_STATUS, "hostIPs", "ip"),
    keyed_union(POD_STATUS, "resourceClaimStatuses", "name"),
    // core/v1 others
    set(NODE_SPEC, "podCIDRs"),
    keyed(NODE_STATUS, "addresses", "type"),
    keyed(NODE_STATUS, "conditions", "type"),
    keyed(NAMESPACE_STATUS, "conditions", "type"),
    keyed(PVC_STATUS, "conditions", "type"),
    keyed(SERVICE_SPEC, "ports", "port"),
    keyed(SERVICE_STATUS, "conditions", "type"),
    keyed(SERVICE_ACCOUNT, "secrets", "name"),
    // meta/v1
    set(OBJECT_META, "finalizers"),
    keyed(OBJECT_META, "ownerReferences", "uid"),
];

/// The patch metadata upstream declares for `field` of `definition`, if any.
pub(super) fn lookup(definition: &str, field: &str) -> Option<&'static Fact> {
    FACTS
        .iter()
        .find(|fact| fact.field == field && fact.definition == definition)
}

#[cfg(test)]
mod tests {
    use super::*;

    const APPS: &str = "io.k8s.api.apps.v1.";
    const CORE: &str = "io.k8s.api.core.v1.";
    const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";

    #[test]
    fn definitions_use_known_prefixes() {
        for fact in FACTS {
            assert!(
                [APPS, CORE, META]
                    .iter()
                    .any(|prefix| fact.definition.starts_with(prefix)),
                "{}",
                fact.definition
            );
        }
    }

    #[test]
    fn each_field_is_listed_once() {
        for (i, a) in FACTS.iter().enumerate() {
            for b in &FACTS[i + 1..] {
                assert!(
                    a.definition != b.definition || a.field != b.field,
                    "{}.{} listed twice",
                    a.definition,
                    a.field
                );
            }
        }
    }

    #[test]
    fn lookup_finds_merge_keys() {
        let env = lookup("io.k8s.api.core.v1.Container", "env");
        assert_eq!(env.and_then(|f| f.merge_key), Some("name"));
        assert!(lookup("io.k8s.api.core.v1.PodSpec", "tolerations").is_none());
        let finalizers = lookup(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "finalizers",
        );
        assert!(finalizers.is_some_and(|f| f.strategy.merges_lists() && f.merge_key.is_none()));
        assert!(!Strategy::Replace.merges_lists());
    }
}

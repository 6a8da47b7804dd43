//! The registry of served resources: every kind is declared exactly once here, and every
//! handler, the watch cache, discovery, OpenAPI and Table printing read these entries.
//! Adding a kind is adding one [`ResourceDef`].

use k8s_openapi::api::{
    apps::v1 as apps, coordination::v1 as coordination, core::v1 as core,
    discovery::v1 as discovery, events::v1 as events, scheduling::v1 as scheduling,
    storage::v1 as storage,
};
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::pointer::At;
use crate::selector::fields::{self, FieldDef};
use crate::table::{self, TableDef};

/// Which verbs a resource or subresource answers.
pub type Verbs = &'static [&'static str];

/// The verbs of an ordinary read-write resource.
pub const ALL_VERBS: Verbs = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// What a subresource does when called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubresourceKind {
    /// `*/status`: get, update and patch only the status of the parent.
    Status,
    /// `*/scale`: an autoscaling/v1 Scale view of `spec.replicas`.
    Scale,
    /// `pods/binding`: sets `spec.nodeName` once.
    Binding,
    /// `pods/eviction`: a policy/v1 Eviction deletes the pod.
    Eviction,
    /// A streaming subresource (`pods/log`, `exec`, …) served by the kubelet; not yet
    /// available.
    Streaming,
}

/// A subresource of a resource, as discovery lists it.
#[derive(Debug, Clone, Copy)]
pub struct SubresourceDef {
    /// The path segment after the object name (`status`, `scale`, …).
    pub name: &'static str,
    /// What it does.
    pub kind: SubresourceKind,
    /// The group of the kind it takes and returns ("" for the parent's own group).
    pub group: &'static str,
    /// The version of that kind ("" for the parent's own version).
    pub version: &'static str,
    /// The kind it takes and returns ("" for the parent's own kind).
    pub object_kind: &'static str,
    /// The verbs it answers.
    pub verbs: Verbs,
}

const fn status() -> SubresourceDef {
    SubresourceDef {
        name: "status",
        kind: SubresourceKind::Status,
        group: "",
        version: "",
        object_kind: "",
        verbs: &["get", "patch", "update"],
    }
}

const fn scale() -> SubresourceDef {
    SubresourceDef {
        name: "scale",
        kind: SubresourceKind::Scale,
        group: "autoscaling",
        version: "v1",
        object_kind: "Scale",
        verbs: &["get", "patch", "update"],
    }
}

const fn streaming(name: &'static str, object_kind: &'static str, verbs: Verbs) -> SubresourceDef {
    SubresourceDef {
        name,
        kind: SubresourceKind::Streaming,
        group: "",
        version: "v1",
        object_kind,
        verbs,
    }
}

/// Stored objects of one kind may be served in another group-version (core/v1 Events are
/// also events.k8s.io/v1 Events). The registry entry of the served form names the two
/// directions.
#[derive(Debug, Clone, Copy)]
pub struct Conversion {
    /// Stored form → served form.
    pub to_served: fn(serde_json::Value) -> serde_json::Value,
    /// Served form → stored form.
    pub to_stored: fn(serde_json::Value) -> serde_json::Value,
}

/// One served resource.
#[derive(Debug)]
pub struct ResourceDef {
    /// API group; "" is the legacy core group served under `/api`.
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// The lowercase plural used in paths (`pods`).
    pub plural: &'static str,
    /// The lowercase singular (`pod`).
    pub singular: &'static str,
    /// The kind (`Pod`).
    pub kind: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names for kubectl (`po`).
    pub short_names: &'static [&'static str],
    /// Categories (`all`).
    pub categories: &'static [&'static str],
    /// Verbs of the main resource.
    pub verbs: Verbs,
    /// Subresources, in discovery order.
    pub subresources: &'static [SubresourceDef],
    /// The storage key segment (`pods`, `minions` for nodes, `services/specs`, …), as
    /// upstream lays out etcd. Two entries may share one (core and events.k8s.io Events).
    pub storage_prefix: &'static str,
    /// Whether `metadata.generation` exists and bumps on spec changes.
    pub has_generation: bool,
    /// Whether the main resource ignores `status` on writes (it has a `/status`).
    pub status_subresource: bool,
    /// Field selectors beyond `metadata.name` / `metadata.namespace`.
    pub fields: &'static [FieldDef],
    /// Server-side printing: the Table columns and how to fill them.
    pub table: &'static TableDef,
    /// The OpenAPI schema of the kind (from k8s-openapi).
    pub schema: fn(&mut SchemaGenerator) -> Schema,
    /// The OpenAPI definition name of the kind (`io.k8s.api.core.v1.Pod`).
    pub definition: &'static str,
    /// Conversion from and to the stored form, when it is stored as another kind.
    pub conversion: Option<Conversion>,
    /// Decodes a served-form object through its typed k8s-openapi struct and back: types
    /// are checked and unknown fields dropped, as upstream's typed decoding does.
    pub normalize: fn(serde_json::Value) -> Result<serde_json::Value, serde_json::Error>,
}

impl ResourceDef {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `PodList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The subresource with this name, if served.
    pub fn subresource(&self, name: &str) -> Option<&'static SubresourceDef> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Whether the main resource answers `verb`.
    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// `pods` or `deployments.apps`, as kubectl names a resource in messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(
    value: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Error> {
    let typed: T = serde_json::from_value(value)?;
    serde_json::to_value(typed)
}

/// A Deployment or ReplicaSet: k8s-openapi fills a missing `spec.selector` (a required
/// field) with an empty one, which would turn upstream's `spec.selector: Required value`
/// into a different error; the absence is kept for validation to see.
fn roundtrip_workload<T: serde::de::DeserializeOwned + serde::Serialize>(
    value: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Error> {
    let absent = value
        .at("/spec/selector")
        .is_none_or(serde_json::Value::is_null);
    let mut out = roundtrip::<T>(value)?;
    if absent
        && let Some(spec) = out
            .get_mut("spec")
            .and_then(serde_json::Value::as_object_mut)
    {
        spec.remove("selector");
    }
    Ok(out)
}

/// `stringData` is write-only, as upstream: its entries are merged over `data` (where they
/// are kept base64-encoded, as every `data` value) and it is never stored.
fn normalize_secret(value: serde_json::Value) -> Result<serde_json::Value, serde_json::Error> {
    let mut secret: core::Secret = serde_json::from_value(value)?;
    if let Some(strings) = secret.string_data.take() {
        let data = secret.data.get_or_insert_with(Default::default);
        for (key, text) in strings {
            data.insert(key, k8s_openapi::ByteString(text.into_bytes()));
        }
    }
    serde_json::to_value(secret)
}

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

const POD_SUBRESOURCES: &[SubresourceDef] = &[
    streaming("attach", "PodAttachOptions", &["create", "get"]),
    SubresourceDef {
        name: "binding",
        kind: SubresourceKind::Binding,
        group: "",
        version: "v1",
        object_kind: "Binding",
        verbs: &["create"],
    },
    SubresourceDef {
        name: "eviction",
        kind: SubresourceKind::Eviction,
        group: "policy",
        version: "v1",
        object_kind: "Eviction",
        verbs: &["create"],
    },
    streaming("exec", "PodExecOptions", &["create", "get"]),
    streaming("log", "Pod", &["get"]),
    streaming("portforward", "PodPortForwardOptions", &["create", "get"]),
    status(),
];

const STATUS_ONLY: &[SubresourceDef] = &[status()];
const SCALE_AND_STATUS: &[SubresourceDef] = &[scale(), status()];

/// Every served resource. Order is discovery order within a group-version.
pub static RESOURCES: &[ResourceDef] = &[
    ResourceDef {
        group: "",
        version: "v1",
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        categories: &[],
        verbs: &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        subresources: &[
            SubresourceDef {
                name: "finalize",
                kind: SubresourceKind::Status,
                group: "",
                version: "",
                object_kind: "",
                verbs: &["update"],
            },
            status(),
        ],
        storage_prefix: "namespaces",
        has_generation: false,
        status_subresource: true,
        fields: fields::NAMESPACE,
        table: &table::NAMESPACE,
        schema: schema_of::<core::Namespace>,
        normalize: roundtrip::<core::Namespace>,
        definition: "io.k8s.api.core.v1.Namespace",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "nodes",
        singular: "node",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[
            streaming(
                "proxy",
                "NodeProxyOptions",
                &["create", "delete", "get", "patch", "update"],
            ),
            status(),
        ],
        storage_prefix: "minions",
        has_generation: false,
        status_subresource: true,
        fields: fields::NODE,
        table: &table::NODE,
        schema: schema_of::<core::Node>,
        normalize: roundtrip::<core::Node>,
        definition: "io.k8s.api.core.v1.Node",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
        categories: &["all"],
        verbs: ALL_VERBS,
        subresources: POD_SUBRESOURCES,
        storage_prefix: "pods",
        has_generation: true,
        status_subresource: true,
        fields: fields::POD,
        table: &table::POD,
        schema: schema_of::<core::Pod>,
        normalize: roundtrip::<core::Pod>,
        definition: "io.k8s.api.core.v1.Pod",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "services",
        singular: "service",
        kind: "Service",
        namespaced: true,
        short_names: &["svc"],
        categories: &["all"],
        verbs: &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        subresources: &[
            streaming(
                "proxy",
                "ServiceProxyOptions",
                &["create", "delete", "get", "patch", "update"],
            ),
            status(),
        ],
        storage_prefix: "services/specs",
        has_generation: false,
        status_subresource: true,
        fields: fields::NONE,
        table: &table::SERVICE,
        schema: schema_of::<core::Service>,
        normalize: roundtrip::<core::Service>,
        definition: "io.k8s.api.core.v1.Service",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "endpoints",
        singular: "endpoints",
        kind: "Endpoints",
        namespaced: true,
        short_names: &["ep"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "services/endpoints",
        has_generation: false,
        status_subresource: false,
        fields: fields::NONE,
        table: &table::ENDPOINTS,
        schema: schema_of::<core::Endpoints>,
        normalize: roundtrip::<core::Endpoints>,
        definition: "io.k8s.api.core.v1.Endpoints",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "configmaps",
        singular: "configmap",
        kind: "ConfigMap",
        namespaced: true,
        short_names: &["cm"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "configmaps",
        has_generation: false,
        status_subresource: false,
        fields: fields::NONE,
        table: &table::CONFIG_MAP,
        schema: schema_of::<core::ConfigMap>,
        normalize: roundtrip::<core::ConfigMap>,
        definition: "io.k8s.api.core.v1.ConfigMap",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "secrets",
        singular: "secret",
        kind: "Secret",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "secrets",
        has_generation: false,
        status_subresource: false,
        fields: fields::SECRET,
        table: &table::SECRET,
        schema: schema_of::<core::Secret>,
        normalize: normalize_secret,
        definition: "io.k8s.api.core.v1.Secret",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "persistentvolumes",
        singular: "persistentvolume",
        kind: "PersistentVolume",
        namespaced: false,
        short_names: &["pv"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: STATUS_ONLY,
        storage_prefix: "persistentvolumes",
        has_generation: false,
        status_subresource: true,
        fields: fields::NONE,
        table: &table::PERSISTENT_VOLUME,
        schema: schema_of::<core::PersistentVolume>,
        normalize: roundtrip::<core::PersistentVolume>,
        definition: "io.k8s.api.core.v1.PersistentVolume",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "persistentvolumeclaims",
        singular: "persistentvolumeclaim",
        kind: "PersistentVolumeClaim",
        namespaced: true,
        short_names: &["pvc"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: STATUS_ONLY,
        storage_prefix: "persistentvolumeclaims",
        has_generation: false,
        status_subresource: true,
        fields: fields::NONE,
        table: &table::PERSISTENT_VOLUME_CLAIM,
        schema: schema_of::<core::PersistentVolumeClaim>,
        normalize: roundtrip::<core::PersistentVolumeClaim>,
        definition: "io.k8s.api.core.v1.PersistentVolumeClaim",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "events",
        has_generation: false,
        status_subresource: false,
        fields: fields::EVENT,
        table: &table::EVENT,
        schema: schema_of::<core::Event>,
        normalize: roundtrip::<core::Event>,
        definition: "io.k8s.api.core.v1.Event",
        conversion: None,
    },
    ResourceDef {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "serviceaccounts",
        has_generation: false,
        status_subresource: false,
        fields: fields::NONE,
        table: &table::SERVICE_ACCOUNT,
        schema: schema_of::<core::ServiceAccount>,
        normalize: roundtrip::<core::ServiceAccount>,
        definition: "io.k8s.api.core.v1.ServiceAccount",
        conversion: None,
    },
    ResourceDef {
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        categories: &["all"],
        verbs: ALL_VERBS,
        subresources: SCALE_AND_STATUS,
        storage_prefix: "deployments",
        has_generation: true,
        status_subresource: true,
        fields: fields::NONE,
        table: &table::DEPLOYMENT,
        schema: schema_of::<apps::Deployment>,
        normalize: roundtrip_workload::<apps::Deployment>,
        definition: "io.k8s.api.apps.v1.Deployment",
        conversion: None,
    },
    ResourceDef {
        group: "apps",
        version: "v1",
        plural: "replicasets",
        singular: "replicaset",
        kind: "ReplicaSet",
        namespaced: true,
        short_names: &["rs"],
        categories: &["all"],
        verbs: ALL_VERBS,
        subresources: SCALE_AND_STATUS,
        storage_prefix: "replicasets",
        has_generation: true,
        status_subresource: true,
        fields: fields::REPLICA_SET,
        table: &table::REPLICA_SET,
        schema: schema_of::<apps::ReplicaSet>,
        normalize: roundtrip_workload::<apps::ReplicaSet>,
        definition: "io.k8s.api.apps.v1.ReplicaSet",
        conversion: None,
    },
    ResourceDef {
        group: "discovery.k8s.io",
        version: "v1",
        plural: "endpointslices",
        singular: "endpointslice",
        kind: "EndpointSlice",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "endpointslices",
        has_generation: true,
        status_subresource: false,
        fields: fields::NONE,
        table: &table::ENDPOINT_SLICE,
        schema: schema_of::<discovery::EndpointSlice>,
        normalize: roundtrip::<discovery::EndpointSlice>,
        definition: "io.k8s.api.discovery.v1.EndpointSlice",
        conversion: None,
    },
    ResourceDef {
        group: "coordination.k8s.io",
        version: "v1",
        plural: "leases",
        singular: "lease",
        kind: "Lease",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "leases",
        has_generation: false,
        status_subresource: false,
        fields: fields::NONE,
        table: &table::LEASE,
        schema: schema_of::<coordination::Lease>,
        normalize: roundtrip::<coordination::Lease>,
        definition: "io.k8s.api.coordination.v1.Lease",
        conversion: None,
    },
    ResourceDef {
        group: "storage.k8s.io",
        version: "v1",
        plural: "storageclasses",
        singular: "storageclass",
        kind: "StorageClass",
        namespaced: false,
        short_names: &["sc"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "storageclasses",
        has_generation: false,
        status_subresource: false,
        fields: fields::NONE,
        table: &table::STORAGE_CLASS,
        schema: schema_of::<storage::StorageClass>,
        normalize: roundtrip::<storage::StorageClass>,
        definition: "io.k8s.api.storage.v1.StorageClass",
        conversion: None,
    },
    ResourceDef {
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "events",
        has_generation: false,
        status_subresource: false,
        fields: fields::EVENT,
        table: &table::EVENT,
        schema: schema_of::<events::Event>,
        normalize: roundtrip::<events::Event>,
        definition: "io.k8s.api.events.v1.Event",
        conversion: Some(crate::convert::EVENTS_V1),
    },
    ResourceDef {
        group: "scheduling.k8s.io",
        version: "v1",
        plural: "priorityclasses",
        singular: "priorityclass",
        kind: "PriorityClass",
        namespaced: false,
        short_names: &["pc"],
        categories: &[],
        verbs: ALL_VERBS,
        subresources: &[],
        storage_prefix: "priorityclasses",
        has_generation: false,
        status_subresource: false,
        fields: fields::NONE,
        table: &table::PRIORITY_CLASS,
        schema: schema_of::<scheduling::PriorityClass>,
        normalize: roundtrip::<scheduling::PriorityClass>,
        definition: "io.k8s.api.scheduling.v1.PriorityClass",
        conversion: None,
    },
];

/// The resource served at `group/version/plural`, if any.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource of a kind in a group-version (for `apiVersion` + `kind` in a body).
pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version)
}

/// The group-versions served, in discovery order: `("", "v1")` first, then groups.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// The distinct storage prefixes, each with the entry that owns its stored form (the one
/// without a conversion).
pub fn storage_owners() -> impl Iterator<Item = &'static ResourceDef> {
    RESOURCES.iter().filter(|r| r.conversion.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_storage_prefix_has_exactly_one_owner() {
        let mut prefixes: Vec<&str> = RESOURCES.iter().map(|r| r.storage_prefix).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        for p in prefixes {
            let owners = storage_owners().filter(|r| r.storage_prefix == p).count();
            assert_eq!(owners, 1, "storage prefix {p} has {owners} owners");
        }
    }

    #[test]
    fn no_storage_prefix_is_a_prefix_of_another() {
        for a in storage_owners() {
            for b in storage_owners() {
                if a.storage_prefix != b.storage_prefix {
                    let pa = format!("{}/", a.storage_prefix);
                    assert!(
                        !b.storage_prefix.starts_with(&pa),
                        "{pa} vs {}",
                        b.storage_prefix
                    );
                }
            }
        }
    }

    #[test]
    fn lookups_find_entries_by_path_and_by_kind() {
        assert_eq!(
            find("apps", "v1", "deployments").map(|r| r.kind),
            Some("Deployment")
        );
        assert_eq!(
            find("", "v1", "nodes").map(|r| r.storage_prefix),
            Some("minions")
        );
        assert!(find("apps", "v2", "deployments").is_none());
        assert_eq!(
            find_kind("events.k8s.io/v1", "Event").map(|r| r.group),
            Some("events.k8s.io")
        );
        assert_eq!(group_versions().first(), Some(&("", "v1")));
    }

    #[test]
    fn secret_string_data_is_merged_into_data_and_dropped() {
        let stored = normalize_secret(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"kept": "a2VwdA==", "user": "b2xk"},
            "stringData": {"user": "admin", "new": "x y"},
        }))
        .unwrap();
        assert_eq!(
            stored["data"],
            serde_json::json!({"kept": "a2VwdA==", "user": "YWRtaW4=", "new": "eCB5"})
        );
        assert!(stored.get("stringData").is_none(), "{stored}");
    }
}

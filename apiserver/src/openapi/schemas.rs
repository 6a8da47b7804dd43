//! The `definitions` / `components.schemas` of the documents: k8s-openapi's schemas of the
//! served kinds and everything they reference, list kinds, the kinds subresources take,
//! and the meta types the paths name, tagged with `x-kubernetes-group-version-kind`.

use k8s_openapi::api::{autoscaling::v1 as autoscaling, core::v1 as core, policy::v1 as policy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::discovery::subresource_gvk;
use crate::registry::{ResourceDef, SubresourceKind};

/// Which OpenAPI version a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// Swagger 2.0 (`/openapi/v2`): definitions under `#/definitions/`.
    V2,
    /// OpenAPI 3.0 (`/openapi/v3/...`): definitions under `#/components/schemas/`.
    V3,
}

impl Dialect {
    /// A reference to the definition `name`.
    pub(super) fn reference(self, name: &str) -> Value {
        let prefix = match self {
            Self::V2 => "#/definitions/",
            Self::V3 => "#/components/schemas/",
        };
        json!({ "$ref": format!("{prefix}{name}") })
    }

    /// A reference with a description beside it, as each dialect allows it.
    fn described_reference(self, name: &str, description: &str) -> Value {
        match self {
            Self::V2 => {
                let mut r = self.reference(name);
                if let Value::Object(fields) = &mut r {
                    fields.insert("description".into(), description.into());
                }
                r
            }
            Self::V3 => json!({ "allOf": [self.reference(name)], "description": description }),
        }
    }

    fn generator(self) -> SchemaGenerator {
        SchemaSettings::openapi3()
            .with(|s| {
                s.meta_schema = None;
                if self == Self::V2 {
                    s.definitions_path = "/definitions".into();
                }
            })
            .into_generator()
    }
}

/// A kind that is not a served resource but is taken or returned by a subresource.
#[derive(Debug)]
pub(super) struct ExtraKind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    /// Its definition name.
    pub(super) definition: &'static str,
    schema: fn(&mut SchemaGenerator) -> Schema,
}

/// The subresource kinds with a schema.
const EXTRA_KINDS: &[ExtraKind] = &[
    ExtraKind {
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        definition: "io.k8s.api.autoscaling.v1.Scale",
        schema: SchemaGenerator::subschema_for::<autoscaling::Scale>,
    },
    ExtraKind {
        group: "policy",
        version: "v1",
        kind: "Eviction",
        definition: "io.k8s.api.policy.v1.Eviction",
        schema: SchemaGenerator::subschema_for::<policy::Eviction>,
    },
    ExtraKind {
        group: "",
        version: "v1",
        kind: "Binding",
        definition: "io.k8s.api.core.v1.Binding",
        schema: SchemaGenerator::subschema_for::<core::Binding>,
    },
];

/// The kind of a group-version-kind that has a schema of its own, if any.
pub(super) fn extra_kind(group: &str, version: &str, kind: &str) -> Option<&'static ExtraKind> {
    EXTRA_KINDS
        .iter()
        .find(|e| e.group == group && e.version == version && e.kind == kind)
}

/// Meta types the paths refer to.
const META: &[fn(&mut SchemaGenerator) -> Schema] = &[
    SchemaGenerator::subschema_for::<meta::Status>,
    SchemaGenerator::subschema_for::<meta::DeleteOptions>,
    SchemaGenerator::subschema_for::<meta::Patch>,
    SchemaGenerator::subschema_for::<meta::WatchEvent<RawExtension>>,
    SchemaGenerator::subschema_for::<meta::APIResourceList>,
    SchemaGenerator::subschema_for::<meta::ListMeta>,
];

pub(super) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(super) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(super) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(super) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

/// The definition name of the list kind of `r` (`io.k8s.api.core.v1.PodList`).
pub(super) fn list_definition(r: &ResourceDef) -> String {
    format!("{}List", r.definition)
}

/// The definition a subresource of `r` takes and returns, if it has one.
pub(super) fn subresource_definition(
    r: &ResourceDef,
    sub: &crate::registry::SubresourceDef,
) -> Option<&'static str> {
    if sub.kind == SubresourceKind::Streaming {
        return None;
    }
    let (group, version, kind) = subresource_gvk(r, sub);
    if (group, version, kind) == (r.group, r.version, r.kind) {
        return Some(r.definition);
    }
    extra_kind(group, version, kind).map(|e| e.definition)
}

fn gvk_tag(group: &str, version: &str, kind: &str) -> Value {
    json!([{ "group": group, "kind": kind, "version": version }])
}

fn tag(definitions: &mut Map<String, Value>, name: &str, gvk: Value) {
    if let Some(Value::Object(schema)) = definitions.get_mut(name) {
        schema.insert("x-kubernetes-group-version-kind".into(), gvk);
    }
}

fn list_schema(dialect: Dialect, r: &ResourceDef) -> Value {
    json!({
        "description": format!("{}List is a list of {}.", r.kind, r.kind),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object.",
                "type": "string",
            },
            "items": {
                "description": format!("List of {}.", r.plural),
                "type": "array",
                "items": dialect.reference(r.definition),
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents.",
                "type": "string",
            },
            "metadata": dialect.described_reference(LIST_META, "Standard list metadata."),
        },
        "required": ["items"],
        "x-kubernetes-group-version-kind": gvk_tag(r.group, r.version, &r.list_kind()),
    })
}

/// Every definition the documents of `resources` need, in `dialect`.
pub(super) fn definitions(dialect: Dialect, resources: &[&ResourceDef]) -> Map<String, Value> {
    let mut generator = dialect.generator();
    for meta in META {
        meta(&mut generator);
    }
    let mut extras: Vec<&ExtraKind> = Vec::new();
    for r in resources {
        (r.schema)(&mut generator);
        for sub in r.subresources {
            let (group, version, kind) = subresource_gvk(r, sub);
            if let Some(extra) = extra_kind(group, version, kind)
                && !extras.iter().any(|e| e.definition == extra.definition)
            {
                (extra.schema)(&mut generator);
                extras.push(extra);
            }
        }
    }
    let mut definitions = generator.take_definitions(true);
    for r in resources {
        tag(
            &mut definitions,
            r.definition,
            gvk_tag(r.group, r.version, r.kind),
        );
        definitions.insert(list_definition(r), list_schema(dialect, r));
    }
    for extra in extras {
        tag(
            &mut definitions,
            extra.definition,
            gvk_tag(extra.group, extra.version, extra.kind),
        );
    }
    tag(&mut definitions, STATUS, gvk_tag("", "v1", "Status"));
    definitions
}

/// Definitions for validation: every served kind and subresource kind, without
/// descriptions, with references as plain `$ref`s.
pub(super) fn validation_definitions(resources: &[&ResourceDef]) -> Map<String, Value> {
    let mut generator = SchemaSettings::draft07()
        .with(|s| {
            s.meta_schema = None;
            s.transforms.clear();
        })
        .into_generator();
    SchemaGenerator::subschema_for::<meta::DeleteOptions>(&mut generator);
    for r in resources {
        (r.schema)(&mut generator);
    }
    for extra in EXTRA_KINDS {
        (extra.schema)(&mut generator);
    }
    let mut definitions = generator.take_definitions(false);
    for schema in definitions.values_mut() {
        strip_descriptions(schema);
    }
    definitions
}

fn strip_descriptions(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            // `properties` maps field names to schemas: a field may be called "description".
            for (key, child) in fields.iter_mut() {
                if key == "properties" {
                    if let Value::Object(properties) = child {
                        properties.values_mut().for_each(strip_descriptions);
                    }
                } else {
                    strip_descriptions(child);
                }
            }
            if fields.get("description").is_some_and(Value::is_string) {
                fields.remove("description");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

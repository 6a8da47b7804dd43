//! The shape of the served types, from the JSON schemas k8s-openapi generates, joined with
//! upstream's patch strategies from [`merge_keys`](super::merge_keys).

use std::sync::LazyLock;

use k8s_openapi::api::{
    apps::v1 as apps, autoscaling::v1 as autoscaling, coordination::v1 as coordination,
    core::v1 as core, discovery::v1 as discovery, events::v1 as events,
    scheduling::v1 as scheduling, storage::v1 as storage,
};
use schemars::generate::SchemaSettings;
use schemars::{Schema as JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

use super::merge_keys::{self, Fact, Strategy};

/// Adds one root type (and everything it references) to a generator.
type AddRoot = fn(&mut SchemaGenerator) -> JsonSchema;

/// The root kinds a strategic merge patch may target.
const ROOTS: &[AddRoot] = &[
    SchemaGenerator::subschema_for::<core::Namespace>,
    SchemaGenerator::subschema_for::<core::Node>,
    SchemaGenerator::subschema_for::<core::Pod>,
    SchemaGenerator::subschema_for::<core::Service>,
    SchemaGenerator::subschema_for::<core::Endpoints>,
    SchemaGenerator::subschema_for::<core::ConfigMap>,
    SchemaGenerator::subschema_for::<core::Secret>,
    SchemaGenerator::subschema_for::<core::PersistentVolume>,
    SchemaGenerator::subschema_for::<core::PersistentVolumeClaim>,
    SchemaGenerator::subschema_for::<core::Event>,
    SchemaGenerator::subschema_for::<core::ServiceAccount>,
    SchemaGenerator::subschema_for::<apps::Deployment>,
    SchemaGenerator::subschema_for::<apps::ReplicaSet>,
    SchemaGenerator::subschema_for::<discovery::EndpointSlice>,
    SchemaGenerator::subschema_for::<coordination::Lease>,
    SchemaGenerator::subschema_for::<storage::StorageClass>,
    SchemaGenerator::subschema_for::<events::Event>,
    SchemaGenerator::subschema_for::<scheduling::PriorityClass>,
    SchemaGenerator::subschema_for::<autoscaling::Scale>,
];

/// Every definition reachable from [`ROOTS`], by OpenAPI name.
static DEFINITIONS: LazyLock<Map<String, Value>> = LazyLock::new(|| {
    let mut generator = SchemaSettings::draft07().into_generator();
    for add in ROOTS {
        add(&mut generator);
    }
    generator.take_definitions(false)
});

/// A position in the type tree: the schema of the value there (absent when the value is
/// not described, e.g. an unknown field) and the definition it comes from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Schema {
    node: Option<&'static Value>,
    definition: Option<&'static str>,
}

/// A field of an object: its schema and its patch metadata.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    /// The schema of the field's value.
    pub(super) schema: Schema,
    fact: Option<&'static Fact>,
}

impl Schema {
    /// The schema of the definition named `definition`, if it is served.
    pub(super) fn root(definition: &str) -> Option<Self> {
        let (name, node) = DEFINITIONS.get_key_value(definition)?;
        Some(Self {
            node: Some(node),
            definition: Some(name.as_str()),
        })
    }

    /// A value nothing is known about: objects in it merge, lists are replaced.
    pub(super) const UNKNOWN: Self = Self {
        node: None,
        definition: None,
    };

    /// Follows a `$ref` to its definition.
    fn resolve(node: &'static Value) -> Self {
        let reference = node.get("$ref").and_then(Value::as_str).or_else(|| {
            // A reference wrapped as the only member of an `allOf`.
            match node.get("allOf").and_then(Value::as_array)?.as_slice() {
                [only] => only.get("$ref").and_then(Value::as_str),
                _ => None,
            }
        });
        match reference {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap_or(reference);
                Self::root(name).unwrap_or(Self::UNKNOWN)
            }
            None => Self {
                node: Some(node),
                definition: None,
            },
        }
    }

    /// The field `name` of this object (or a value of this map).
    pub(super) fn field(self, name: &str) -> Field {
        let Some(node) = self.node else {
            return Field::UNKNOWN;
        };
        if let Some(property) = node.get("properties").and_then(|p| p.get(name)) {
            return Field {
                schema: Self::resolve(property),
                fact: self
                    .definition
                    .and_then(|definition| merge_keys::lookup(definition, name)),
            };
        }
        match node.get("additionalProperties") {
            Some(values @ Value::Object(_)) => Field {
                schema: Self::resolve(values),
                fact: None,
            },
            _ => Field::UNKNOWN,
        }
    }

    /// The schema of the elements of this list.
    pub(super) fn items(self) -> Self {
        self.node
            .and_then(|node| node.get("items"))
            .map_or(Self::UNKNOWN, Self::resolve)
    }
}

impl Field {
    const UNKNOWN: Self = Self {
        schema: Schema::UNKNOWN,
        fact: None,
    };

    /// Whether lists in this field are merged (rather than replaced).
    pub(super) fn merges_lists(self) -> bool {
        self.fact.is_some_and(|fact| fact.strategy.merges_lists())
    }

    /// Whether this object field is replaced whole rather than merged.
    pub(super) fn replaces_object(self) -> bool {
        self.fact
            .is_some_and(|fact| fact.strategy == Strategy::Replace)
    }

    /// The key list elements are merged by.
    pub(super) fn merge_key(self) -> Option<&'static str> {
        self.fact.and_then(|fact| fact.merge_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_names_a_field_of_the_right_shape() {
        for fact in merge_keys::FACTS {
            let Some(definition) = DEFINITIONS.get(fact.definition) else {
                panic!("{} is not generated", fact.definition);
            };
            let property = &definition["properties"][fact.field];
            let resolved = Schema::resolve(property);
            let node = resolved.node.unwrap_or(&Value::Null);
            let is_list = property.get("type").and_then(Value::as_str) == Some("array");
            match fact.strategy {
                Strategy::Merge | Strategy::MergeRetainKeys => {
                    assert!(is_list, "{}.{} is not a list", fact.definition, fact.field);
                    let items = resolved.items();
                    match fact.merge_key {
                        Some(key) => assert!(
                            items.field(key).schema.node.is_some(),
                            "{}.{}: elements have no {key}",
                            fact.definition,
                            fact.field
                        ),
                        None => assert!(items.node.and_then(|n| n.get("properties")).is_none()),
                    }
                }
                Strategy::RetainKeys | Strategy::Replace => {
                    assert!(
                        node.get("properties").is_some(),
                        "{}.{} is not an object",
                        fact.definition,
                        fact.field
                    );
                }
            }
        }
    }

    #[test]
    fn walks_from_a_root_to_nested_merge_keys() {
        let Some(deployment) = Schema::root("io.k8s.api.apps.v1.Deployment") else {
            panic!("deployment is served");
        };
        let containers = deployment
            .field("spec")
            .schema
            .field("template")
            .schema
            .field("spec")
            .schema
            .field("containers");
        assert_eq!(containers.merge_key(), Some("name"));
        let env = containers.schema.items().field("env");
        assert!(env.merges_lists());
        assert_eq!(env.merge_key(), Some("name"));
        let pod_spec = deployment
            .field("spec")
            .schema
            .field("template")
            .schema
            .field("spec");
        let tolerations = pod_spec.schema.field("tolerations");
        assert!(!tolerations.merges_lists());
        assert_eq!(tolerations.merge_key(), None);
        let labels = deployment.field("metadata").schema.field("labels");
        assert!(labels.schema.field("app").schema.node.is_some());
        assert!(deployment.field("bogus").schema.node.is_none());
        assert!(Schema::root("io.k8s.api.policy.v1.Eviction").is_none());
    }
}

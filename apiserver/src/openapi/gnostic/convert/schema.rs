//! Definitions and schemas.

use serde_json::Value;

use super::{Converter, any, child, extension};
use crate::openapi::gnostic::messages::{
    AdditionalProperties, AdditionalPropertiesItem, ItemsItem, NamedSchema, Properties, Schema,
    TypeItem,
};

impl Converter {
    pub(super) fn named_schemas(&mut self, value: &Value, at: &str, key: &str) -> Vec<NamedSchema> {
        let at = format!("{at}/{key}");
        let mut out = Vec::new();
        for (name, schema) in self.object(value, &at, "").into_iter().flatten() {
            let schema = self.schema(schema, &child(&at, name));
            out.push(NamedSchema {
                name: name.clone(),
                value: Some(schema),
            });
        }
        out
    }

    pub(super) fn schema(&mut self, value: &Value, at: &str) -> Schema {
        let mut out = Schema::default();
        for (key, v) in self.object(value, at, "").into_iter().flatten() {
            match key.as_str() {
                "$ref" => out.xref = self.text(v, at, key),
                "format" => out.format = self.text(v, at, key),
                "title" => out.title = self.text(v, at, key),
                "description" => out.description = self.text(v, at, key),
                "default" => out.default = Some(any(v)),
                "multipleOf" => out.multiple_of = self.number(v, at, key),
                "maximum" => out.maximum = self.number(v, at, key),
                "exclusiveMaximum" => out.exclusive_maximum = self.flag(v, at, key),
                "minimum" => out.minimum = self.number(v, at, key),
                "exclusiveMinimum" => out.exclusive_minimum = self.flag(v, at, key),
                "maxLength" => out.max_length = self.integer(v, at, key),
                "minLength" => out.min_length = self.integer(v, at, key),
                "pattern" => out.pattern = self.text(v, at, key),
                "maxItems" => out.max_items = self.integer(v, at, key),
                "minItems" => out.min_items = self.integer(v, at, key),
                "uniqueItems" => out.unique_items = self.flag(v, at, key),
                "maxProperties" => out.max_properties = self.integer(v, at, key),
                "minProperties" => out.min_properties = self.integer(v, at, key),
                "required" => out.required = self.texts(v, at, key),
                "enum" => out.r#enum = self.anys(v, at, key),
                "additionalProperties" => {
                    let oneof = match v {
                        Value::Bool(allowed) => AdditionalProperties::Boolean(*allowed),
                        _ => AdditionalProperties::Schema(Box::new(
                            self.schema(v, &format!("{at}/additionalProperties")),
                        )),
                    };
                    out.additional_properties =
                        Some(AdditionalPropertiesItem { oneof: Some(oneof) });
                }
                "type" => {
                    let value = match v {
                        Value::String(t) => vec![t.clone()],
                        _ => self.texts(v, at, key),
                    };
                    out.r#type = Some(TypeItem { value });
                }
                "items" => {
                    let schema = match v {
                        Value::Array(items) => items
                            .iter()
                            .enumerate()
                            .map(|(i, item)| self.schema(item, &format!("{at}/items/{i}")))
                            .collect(),
                        _ => vec![self.schema(v, &format!("{at}/items"))],
                    };
                    out.items = Some(ItemsItem { schema });
                }
                "allOf" => match v {
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            let schema = self.schema(item, &format!("{at}/allOf/{i}"));
                            out.all_of.push(schema);
                        }
                    }
                    _ => self.skip(at, key),
                },
                "properties" => {
                    let additional_properties = self.named_schemas(v, at, key);
                    out.properties = Some(Properties {
                        additional_properties,
                    });
                }
                "discriminator" => out.discriminator = self.text(v, at, key),
                "readOnly" => out.read_only = self.flag(v, at, key),
                "example" => out.example = Some(any(v)),
                k if k.starts_with("x-") => out.vendor_extension.push(extension(k, v)),
                _ => self.skip(at, key),
            }
        }
        out
    }
}

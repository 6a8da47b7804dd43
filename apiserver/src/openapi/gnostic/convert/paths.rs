//! Paths, operations, parameters and responses.

use serde_json::{Map, Value};

use super::{Converter, any, child, extension};
use crate::openapi::gnostic::messages::{
    BodyParameter, JsonReference, NamedPathItem, NamedResponseValue, NonBodyParameter,
    NonBodyParameterOneof, Operation, Parameter, ParameterOneof, ParametersItem,
    ParametersItemOneof, PathItem, PathParameterSubSchema, Paths, QueryParameterSubSchema,
    Response, ResponseValue, ResponseValueOneof, Responses, SchemaItem, SchemaItemOneof,
};

impl Converter {
    pub(super) fn paths(&mut self, value: &Value, at: &str) -> Paths {
        let mut out = Paths::default();
        for (key, v) in self.object(value, at, "").into_iter().flatten() {
            if key.starts_with("x-") {
                out.vendor_extension.push(extension(key, v));
            } else {
                let item = self.path_item(v, &child(at, key));
                out.path.push(NamedPathItem {
                    name: key.clone(),
                    value: Some(item),
                });
            }
        }
        out
    }

    fn path_item(&mut self, value: &Value, at: &str) -> PathItem {
        let mut out = PathItem::default();
        for (key, v) in self.object(value, at, "").into_iter().flatten() {
            let at_key = child(at, key);
            match key.as_str() {
                "$ref" => out.xref = self.text(v, at, key),
                "get" => out.get = Some(self.operation(v, &at_key)),
                "put" => out.put = Some(self.operation(v, &at_key)),
                "post" => out.post = Some(self.operation(v, &at_key)),
                "delete" => out.delete = Some(self.operation(v, &at_key)),
                "options" => out.options = Some(self.operation(v, &at_key)),
                "head" => out.head = Some(self.operation(v, &at_key)),
                "patch" => out.patch = Some(self.operation(v, &at_key)),
                "parameters" => out.parameters = self.parameters(v, at, key),
                k if k.starts_with("x-") => out.vendor_extension.push(extension(k, v)),
                _ => self.skip(at, key),
            }
        }
        out
    }

    fn operation(&mut self, value: &Value, at: &str) -> Operation {
        let mut out = Operation::default();
        for (key, v) in self.object(value, at, "").into_iter().flatten() {
            match key.as_str() {
                "tags" => out.tags = self.texts(v, at, key),
                "summary" => out.summary = self.text(v, at, key),
                "description" => out.description = self.text(v, at, key),
                "operationId" => out.operation_id = self.text(v, at, key),
                "produces" => out.produces = self.texts(v, at, key),
                "consumes" => out.consumes = self.texts(v, at, key),
                "parameters" => out.parameters = self.parameters(v, at, key),
                "responses" => out.responses = Some(self.responses(v, &format!("{at}/responses"))),
                "schemes" => out.schemes = self.texts(v, at, key),
                "deprecated" => out.deprecated = self.flag(v, at, key),
                "security" => out.security = self.security(v, at, key),
                k if k.starts_with("x-") => out.vendor_extension.push(extension(k, v)),
                _ => self.skip(at, key),
            }
        }
        out
    }

    fn parameters(&mut self, value: &Value, at: &str, key: &str) -> Vec<ParametersItem> {
        let Some(items) = value.as_array() else {
            self.skip(at, key);
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.parameter(item, &format!("{at}/{key}/{i}")))
            .map(|oneof| ParametersItem { oneof: Some(oneof) })
            .collect()
    }

    fn parameter(&mut self, value: &Value, at: &str) -> Option<ParametersItemOneof> {
        let fields = self.object(value, at, "")?;
        if let Some(reference) = fields.get("$ref") {
            return Some(ParametersItemOneof::JsonReference(JsonReference {
                xref: self.text(reference, at, "$ref"),
                description: String::new(),
            }));
        }
        let parameter = match fields.get("in").and_then(Value::as_str) {
            Some("body") => ParameterOneof::BodyParameter(self.body_parameter(fields, at)),
            Some(place @ ("query" | "formData" | "path" | "header")) => {
                let simple = self.simple_parameter(fields, at);
                let oneof = match place {
                    "query" => NonBodyParameterOneof::Query(simple),
                    "formData" => NonBodyParameterOneof::FormData(simple),
                    "path" => NonBodyParameterOneof::Path(self.path_parameter(simple, at)),
                    _ => NonBodyParameterOneof::Header(self.path_parameter(simple, at)),
                };
                ParameterOneof::NonBodyParameter(NonBodyParameter { oneof: Some(oneof) })
            }
            _ => {
                self.skip(at, "in");
                return None;
            }
        };
        Some(ParametersItemOneof::Parameter(Parameter {
            oneof: Some(parameter),
        }))
    }

    fn body_parameter(&mut self, fields: &Map<String, Value>, at: &str) -> BodyParameter {
        let mut out = BodyParameter::default();
        for (key, v) in fields {
            match key.as_str() {
                "description" => out.description = self.text(v, at, key),
                "name" => out.name = self.text(v, at, key),
                "in" => out.r#in = self.text(v, at, key),
                "required" => out.required = self.flag(v, at, key),
                "schema" => out.schema = Some(Box::new(self.schema(v, &format!("{at}/schema")))),
                k if k.starts_with("x-") => out.vendor_extension.push(extension(k, v)),
                _ => self.skip(at, key),
            }
        }
        out
    }

    /// A query, form-data, path or header parameter, in the query layout.
    fn simple_parameter(
        &mut self,
        fields: &Map<String, Value>,
        at: &str,
    ) -> QueryParameterSubSchema {
        let mut out = QueryParameterSubSchema::default();
        for (key, v) in fields {
            match key.as_str() {
                "required" => out.required = self.flag(v, at, key),
                "in" => out.r#in = self.text(v, at, key),
                "description" => out.description = self.text(v, at, key),
                "name" => out.name = self.text(v, at, key),
                "allowEmptyValue" => out.allow_empty_value = self.flag(v, at, key),
                "type" => out.r#type = self.text(v, at, key),
                "format" => out.format = self.text(v, at, key),
                "collectionFormat" => out.collection_format = self.text(v, at, key),
                "default" => out.default = Some(any(v)),
                "uniqueItems" => out.unique_items = self.flag(v, at, key),
                "enum" => out.r#enum = self.anys(v, at, key),
                k if k.starts_with("x-") => out.vendor_extension.push(extension(k, v)),
                _ => self.skip(at, key),
            }
        }
        out
    }

    /// A path or header parameter: the query layout without `allowEmptyValue`.
    fn path_parameter(
        &mut self,
        simple: QueryParameterSubSchema,
        at: &str,
    ) -> PathParameterSubSchema {
        if simple.allow_empty_value {
            self.skip(at, "allowEmptyValue");
        }
        PathParameterSubSchema {
            required: simple.required,
            r#in: simple.r#in,
            description: simple.description,
            name: simple.name,
            r#type: simple.r#type,
            format: simple.format,
            collection_format: simple.collection_format,
            default: simple.default,
            unique_items: simple.unique_items,
            r#enum: simple.r#enum,
            vendor_extension: simple.vendor_extension,
        }
    }

    fn responses(&mut self, value: &Value, at: &str) -> Responses {
        let mut out = Responses::default();
        for (code, v) in self.object(value, at, "").into_iter().flatten() {
            if code.starts_with("x-") {
                out.vendor_extension.push(extension(code, v));
                continue;
            }
            let at = format!("{at}/{code}");
            let Some(fields) = self.object(v, &at, "") else {
                continue;
            };
            let oneof = if let Some(reference) = fields.get("$ref") {
                ResponseValueOneof::JsonReference(JsonReference {
                    xref: self.text(reference, &at, "$ref"),
                    description: String::new(),
                })
            } else {
                ResponseValueOneof::Response(self.response(fields, &at))
            };
            out.response_code.push(NamedResponseValue {
                name: code.clone(),
                value: Some(ResponseValue { oneof: Some(oneof) }),
            });
        }
        out
    }

    fn response(&mut self, fields: &Map<String, Value>, at: &str) -> Response {
        let mut out = Response::default();
        for (key, v) in fields {
            match key.as_str() {
                "description" => out.description = self.text(v, at, key),
                "schema" => {
                    let schema = self.schema(v, &format!("{at}/schema"));
                    out.schema = Some(SchemaItem {
                        oneof: Some(SchemaItemOneof::Schema(Box::new(schema))),
                    });
                }
                k if k.starts_with("x-") => out.vendor_extension.push(extension(k, v)),
                _ => self.skip(at, key),
            }
        }
        out
    }
}

//! Swagger 2.0 as JSON → gnostic's messages, the way gnostic reads a document: maps become
//! lists of named entries in document order, `x-` keys become vendor extensions whose
//! values are YAML text, free-shaped values (`default`, `enum`, `example`) become YAML too.
//! Whatever has no place in the messages is recorded, never silently dropped.

use serde_json::{Map, Value};

use super::messages::{
    AdditionalProperties, AdditionalPropertiesItem, Any, ApiKeySecurity,
    BasicAuthenticationSecurity, BodyParameter, Contact, Definitions, Document, Info, ItemsItem,
    JsonReference, License, NamedAny, NamedPathItem, NamedResponseValue, NamedSchema,
    NamedSecurityDefinitionsItem, NamedStringArray, NonBodyParameter, NonBodyParameterOneof,
    Operation, Parameter, ParameterOneof, ParametersItem, ParametersItemOneof, PathItem,
    PathParameterSubSchema, Paths, Properties, QueryParameterSubSchema, Response, ResponseValue,
    ResponseValueOneof, Responses, Schema, SchemaItem, SchemaItemOneof, SecurityDefinitions,
    SecurityDefinitionsItem, SecurityRequirement, SecurityScheme, StringArray, TypeItem,
};

/// `value` as gnostic's [`Any`]: its YAML text (JSON text, which YAML also reads, if the
/// YAML writer refuses it).
pub(super) fn any(value: &Value) -> Any {
    let yaml = serde_saphyr::to_string(value).unwrap_or_else(|_| value.to_string());
    Any { yaml }
}

/// The JSON pointer of `key` under `at`.
fn child(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn extension(name: &str, value: &Value) -> NamedAny {
    NamedAny {
        name: name.to_owned(),
        value: Some(any(value)),
    }
}

/// A conversion, collecting the JSON pointers of what the messages cannot hold.
#[derive(Debug, Default)]
pub(super) struct Converter {
    /// Pointers (`/definitions/io.k8s.api.core.v1.Pod/xml`) of values left out.
    pub(super) skipped: Vec<String>,
}

impl Converter {
    /// Records `key` of `at` (or `at` itself when `key` is empty) as left out.
    fn skip(&mut self, at: &str, key: &str) {
        self.skipped.push(if key.is_empty() {
            at.to_owned()
        } else {
            child(at, key)
        });
    }

    fn text(&mut self, value: &Value, at: &str, key: &str) -> String {
        match value {
            Value::String(s) => s.clone(),
            _ => {
                self.skip(at, key);
                String::new()
            }
        }
    }

    fn texts(&mut self, value: &Value, at: &str, key: &str) -> Vec<String> {
        match value {
            Value::Array(items) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => {
                self.skip(at, key);
                Vec::new()
            }
        }
    }

    fn flag(&mut self, value: &Value, at: &str, key: &str) -> bool {
        value.as_bool().unwrap_or_else(|| {
            self.skip(at, key);
            false
        })
    }

    fn number(&mut self, value: &Value, at: &str, key: &str) -> f64 {
        value.as_f64().unwrap_or_else(|| {
            self.skip(at, key);
            0.0
        })
    }

    fn integer(&mut self, value: &Value, at: &str, key: &str) -> i64 {
        value.as_i64().unwrap_or_else(|| {
            self.skip(at, key);
            0
        })
    }

    fn object<'v>(
        &mut self,
        value: &'v Value,
        at: &str,
        key: &str,
    ) -> Option<&'v Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.skip(at, key);
        }
        object
    }

    fn anys(&mut self, value: &Value, at: &str, key: &str) -> Vec<Any> {
        match value {
            Value::Array(items) => items.iter().map(any).collect(),
            _ => {
                self.skip(at, key);
                Vec::new()
            }
        }
    }

    /// The whole document.
    pub(super) fn document(&mut self, doc: &Value) -> Document {
        let mut out = Document::default();
        let Some(fields) = self.object(doc, "", "") else {
            return out;
        };
        for (key, v) in fields {
            match key.as_str() {
                "swagger" => out.swagger = self.text(v, "", key),
                "info" => out.info = Some(self.info(v, "/info")),
                "host" => out.host = self.text(v, "", key),
                "basePath" => out.base_path = self.text(v, "", key),
                "schemes" => out.schemes = self.texts(v, "", key),
                "consumes" => out.consumes = self.texts(v, "", key),
                "produces" => out.produces = self.texts(v, "", key),
                "paths" => out.paths = Some(self.paths(v, "/paths")),
                "definitions" => {
                    let additional_properties = self.named_schemas(v, "", key);
                    out.definitions = Some(Definitions {
                        additional_properties,
                    });
                }
                "security" => out.security = self.security(v, "", key),
                "securityDefinitions" => {
                    out.security_definitions =
                        Some(self.security_definitions(v, "/securityDefinitions"));
                }
                k if k.starts_with("x-") => out.vendor_extension.push(extension(k, v)),
                _ => self.skip("", key),
            }
        }
        out
    }

    fn info(&mut self, value: &Value, at: &str) -> Info {
        let mut out = Info::default();
        let Some(fields) = self.object(value, at, "") else {
            return out;
        };
        for (key, v) in fields {
            match key.as_str() {
                "title" => out.title = self.text(v, at, key),
                "version" => out.version = self.text(v, at, key),
                "description" => out.description = self.text(v, at, key),
                "termsOfService" => out.terms_of_service = self.text(v, at, key),
                "contact" => {
                    let mut contact = Contact::default();
                    let at = &child(at, key);
                    for (k, v) in self.object(v, at, "").into_iter().flatten() {
                        match k.as_str() {
                            "name" => contact.name = self.text(v, at, k),
                            "url" => contact.url = self.text(v, at, k),
                            "email" => contact.email = self.text(v, at, k),
                            x if x.starts_with("x-") => {
                                contact.vendor_extension.push(extension(x, v))
                            }
                            _ => self.skip(at, k),
                        }
                    }
                    out.contact = Some(contact);
                }
                "license" => {
                    let mut license = License::default();
                    let at = &child(at, key);
                    for (k, v) in self.object(v, at, "").into_iter().flatten() {
                        match k.as_str() {
                            "name" => license.name = self.text(v, at, k),
                            "url" => license.url = self.text(v, at, k),
                            x if x.starts_with("x-") => {
                                license.vendor_extension.push(extension(x, v))
                            }
                            _ => self.skip(at, k),
                        }
                    }
                    out.license = Some(license);
                }
                k if k.starts_with("x-") => out.vendor_extension.push(extension(k, v)),
                _ => self.skip(at, key),
            }
        }
        out
    }

    fn security(&mut self, value: &Value, at: &str, key: &str) -> Vec<SecurityRequirement> {
        let Some(items) = value.as_array() else {
            self.skip(at, key);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{at}/{key}/{i}");
            let mut requirement = SecurityRequirement::default();
            for (name, scopes) in self.object(item, &at, "").into_iter().flatten() {
                let value = Some(StringArray {
                    value: self.texts(scopes, &at, name),
                });
                requirement.additional_properties.push(NamedStringArray {
                    name: name.clone(),
                    value,
                });
            }
            out.push(requirement);
        }
        out
    }

    fn security_definitions(&mut self, value: &Value, at: &str) -> SecurityDefinitions {
        let mut out = SecurityDefinitions::default();
        for (name, scheme) in self.object(value, at, "").into_iter().flatten() {
            let at = format!("{at}/{name}");
            let Some(fields) = self.object(scheme, &at, "") else {
                continue;
            };
            let mut basic = BasicAuthenticationSecurity::default();
            let mut api_key = ApiKeySecurity::default();
            for (key, v) in fields {
                match key.as_str() {
                    "type" => {
                        basic.r#type = self.text(v, &at, key);
                        api_key.r#type.clone_from(&basic.r#type);
                    }
                    "description" => {
                        basic.description = self.text(v, &at, key);
                        api_key.description.clone_from(&basic.description);
                    }
                    "name" => api_key.name = self.text(v, &at, key),
                    "in" => api_key.r#in = self.text(v, &at, key),
                    k if k.starts_with("x-") => {
                        basic.vendor_extension.push(extension(k, v));
                        api_key.vendor_extension.push(extension(k, v));
                    }
                    _ => self.skip(&at, key),
                }
            }
            let scheme = match basic.r#type.as_str() {
                "basic" => SecurityScheme::BasicAuthenticationSecurity(basic),
                "apiKey" => SecurityScheme::ApiKeySecurity(api_key),
                _ => {
                    self.skip(&at, "type");
                    continue;
                }
            };
            out.additional_properties
                .push(NamedSecurityDefinitionsItem {
                    name: name.clone(),
                    value: Some(SecurityDefinitionsItem {
                        oneof: Some(scheme),
                    }),
                });
        }
        out
    }

    fn paths(&mut self, value: &Value, at: &str) -> Paths {
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

    fn named_schemas(&mut self, value: &Value, at: &str, key: &str) -> Vec<NamedSchema> {
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

    fn schema(&mut self, value: &Value, at: &str) -> Schema {
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

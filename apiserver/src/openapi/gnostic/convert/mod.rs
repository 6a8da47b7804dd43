//! Swagger 2.0 as JSON → gnostic's messages, the way gnostic reads a document: maps become
//! lists of named entries in document order, `x-` keys become vendor extensions whose
//! values are YAML text, free-shaped values (`default`, `enum`, `example`) become YAML too.
//! Whatever has no place in the messages is recorded, never silently dropped.

use serde_json::{Map, Value};

mod paths;
mod schema;

use super::messages::{
    Any, ApiKeySecurity, BasicAuthenticationSecurity, Contact, Definitions, Document, Info,
    License, NamedAny, NamedSecurityDefinitionsItem, NamedStringArray, SecurityDefinitions,
    SecurityDefinitionsItem, SecurityRequirement, SecurityScheme, StringArray,
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
}

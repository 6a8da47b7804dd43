use prost::Message as _;
use serde_json::{Value, json};

use super::*;
use crate::openapi::{V2Encoding, v2, v2_document};

fn decoded() -> Document {
    Document::decode(v2_document(V2Encoding::Protobuf).body.clone()).unwrap()
}

fn definition<'d>(doc: &'d Document, name: &str) -> &'d Schema {
    doc.definitions
        .as_ref()
        .unwrap()
        .additional_properties
        .iter()
        .find(|d| d.name == name)
        .and_then(|d| d.value.as_ref())
        .unwrap_or_else(|| panic!("no definition {name}"))
}

fn property<'s>(schema: &'s Schema, name: &str) -> &'s Schema {
    schema
        .properties
        .as_ref()
        .unwrap()
        .additional_properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_ref())
        .unwrap_or_else(|| panic!("no property {name}"))
}

fn types(schema: &Schema) -> Vec<&str> {
    schema
        .r#type
        .iter()
        .flat_map(|t| &t.value)
        .map(String::as_str)
        .collect()
}

/// The vendor extension `name`, read back as YAML the way kubectl reads it.
fn extension(extensions: &[NamedAny], name: &str) -> Value {
    let any = extensions
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value.as_ref())
        .unwrap_or_else(|| panic!("no extension {name}"));
    serde_saphyr::from_str(&any.yaml).unwrap()
}

#[test]
fn the_whole_json_document_has_a_place_in_the_messages() {
    let json: Value = serde_json::from_slice(&v2()).unwrap();
    let (_, skipped) = document(&json);
    assert!(skipped.is_empty(), "left out: {skipped:?}");
}

#[test]
fn pod_definition_reads_back() {
    let doc = decoded();
    assert_eq!(doc.swagger, "2.0");
    assert_eq!(doc.info.as_ref().unwrap().title, "Kubernetes");

    let pod = definition(&doc, "io.k8s.api.core.v1.Pod");
    assert_eq!(types(pod), ["object"]);
    assert!(
        pod.description
            .starts_with("Pod is a collection of containers")
    );
    assert_eq!(
        extension(&pod.vendor_extension, "x-kubernetes-group-version-kind"),
        json!([{ "group": "", "kind": "Pod", "version": "v1" }])
    );
    let spec = property(pod, "spec");
    assert_eq!(spec.xref, "#/definitions/io.k8s.api.core.v1.PodSpec");
    assert!(spec.all_of.is_empty());
    assert!(types(spec).is_empty());
    assert!(!spec.description.is_empty());
    assert_eq!(types(property(pod, "kind")), ["string"]);

    let pod_spec = definition(&doc, "io.k8s.api.core.v1.PodSpec");
    assert!(pod_spec.required.contains(&"containers".to_owned()));
    let containers = property(pod_spec, "containers");
    assert_eq!(types(containers), ["array"]);
    let items = &containers.items.as_ref().unwrap().schema;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].xref, "#/definitions/io.k8s.api.core.v1.Container");

    let container = definition(&doc, "io.k8s.api.core.v1.Container");
    assert_eq!(container.required, ["name"]);
    let node_selector = property(pod_spec, "nodeSelector");
    assert_eq!(types(node_selector), ["object"]);
    match &node_selector.additional_properties.as_ref().unwrap().oneof {
        Some(AdditionalProperties::Schema(value)) => assert_eq!(types(value), ["string"]),
        other => panic!("nodeSelector values: {other:?}"),
    }
    let port = property(definition(&doc, "io.k8s.api.core.v1.HTTPGetAction"), "port");
    let int_or_string = definition(&doc, port.xref.trim_start_matches("#/definitions/"));
    assert_eq!(types(int_or_string), ["string"]);
    assert_eq!(int_or_string.format, "int-or-string");
    let time = definition(&doc, "io.k8s.apimachinery.pkg.apis.meta.v1.Time");
    assert_eq!(time.format, "date-time");
}

#[test]
fn every_reference_and_type_is_one_kubectl_can_follow() {
    fn check(schema: &Schema, names: &[&str], at: &str) {
        if !schema.xref.is_empty() {
            let name = schema.xref.trim_start_matches("#/definitions/");
            assert!(names.contains(&name), "{at}: dangling {}", schema.xref);
            assert!(types(schema).is_empty(), "{at}: a reference with a type");
        }
        assert!(types(schema).len() <= 1, "{at}: several types");
        assert!(schema.all_of.is_empty(), "{at}: allOf");
        if types(schema) == ["array"] {
            assert_eq!(
                schema.items.as_ref().map(|i| i.schema.len()),
                Some(1),
                "{at}"
            );
        }
        for p in schema
            .properties
            .iter()
            .flat_map(|p| &p.additional_properties)
        {
            check(
                p.value.as_ref().unwrap(),
                names,
                &format!("{at}.{}", p.name),
            );
        }
        for item in schema.items.iter().flat_map(|i| &i.schema) {
            check(item, names, &format!("{at}[]"));
        }
        if let Some(AdditionalProperties::Schema(value)) = schema
            .additional_properties
            .as_ref()
            .and_then(|a| a.oneof.as_ref())
        {
            check(value, names, &format!("{at}{{}}"));
        }
    }
    let doc = decoded();
    let definitions = &doc.definitions.as_ref().unwrap().additional_properties;
    let names: Vec<&str> = definitions.iter().map(|d| d.name.as_str()).collect();
    for d in definitions {
        check(d.value.as_ref().unwrap(), &names, &d.name);
    }
}

#[test]
fn pod_path_reads_back() {
    let doc = decoded();
    let path = doc
        .paths
        .as_ref()
        .unwrap()
        .path
        .iter()
        .find(|p| p.name == "/api/v1/namespaces/{namespace}/pods/{name}")
        .and_then(|p| p.value.as_ref())
        .unwrap();
    let path_names: Vec<&str> = path
        .parameters
        .iter()
        .filter_map(|p| match &p.oneof {
            Some(ParametersItemOneof::Parameter(Parameter {
                oneof:
                    Some(ParameterOneof::NonBodyParameter(NonBodyParameter {
                        oneof: Some(NonBodyParameterOneof::Path(p)),
                    })),
            })) => Some(p.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(path_names, ["name", "namespace"]);

    let patch = path.patch.as_ref().unwrap();
    assert_eq!(patch.operation_id, "patchCoreV1NamespacedPod");
    assert_eq!(
        extension(&patch.vendor_extension, "x-kubernetes-group-version-kind"),
        json!({ "group": "", "kind": "Pod", "version": "v1" })
    );
    let mut body = None;
    let mut queries = Vec::new();
    for p in &patch.parameters {
        let Some(ParametersItemOneof::Parameter(Parameter { oneof: Some(p) })) = &p.oneof else {
            continue;
        };
        match p {
            ParameterOneof::BodyParameter(b) => body = Some(b),
            ParameterOneof::NonBodyParameter(NonBodyParameter {
                oneof: Some(NonBodyParameterOneof::Query(q)),
            }) => queries.push(q.name.as_str()),
            ParameterOneof::NonBodyParameter(_) => {}
        }
    }
    let body = body.unwrap();
    assert!(body.required);
    assert_eq!(
        body.schema.as_ref().unwrap().xref,
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
    );
    assert!(queries.contains(&"fieldValidation"), "{queries:?}");

    let responses = &patch.responses.as_ref().unwrap().response_code;
    let ok = responses.iter().find(|r| r.name == "200").unwrap();
    let Some(ResponseValueOneof::Response(ok)) = ok.value.as_ref().and_then(|v| v.oneof.as_ref())
    else {
        panic!("200 is not a response");
    };
    let Some(SchemaItemOneof::Schema(schema)) = ok.schema.as_ref().and_then(|s| s.oneof.as_ref())
    else {
        panic!("200 has no schema");
    };
    assert_eq!(schema.xref, "#/definitions/io.k8s.api.core.v1.Pod");
}

#[test]
fn values_of_free_shape_are_yaml() {
    assert_eq!(convert::any(&json!("get")).yaml, "get\n");
    assert_eq!(convert::any(&json!("yes")).yaml, "\"yes\"\n");
    assert_eq!(
        convert::any(&json!({ "group": "", "kind": "Pod", "version": "v1" })).yaml,
        "group: \"\"\nkind: Pod\nversion: v1\n"
    );
}

#[test]
fn what_has_no_place_is_reported() {
    let (doc, mut skipped) = document(&json!({
        "swagger": "2.0",
        "tags": [],
        "definitions": { "a/b": { "type": "object", "xml": {}, "x-extra": 1 } },
        "paths": { "/p": { "get": { "externalDocs": {}, "parameters": [{ "in": "cookie" }] } } },
    }));
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "/definitions/a~1b/xml",
            "/paths/~1p/get/externalDocs",
            "/paths/~1p/get/parameters/0/in",
            "/tags",
        ]
    );
    let a = definition(&doc, "a/b");
    assert_eq!(a.vendor_extension[0].name, "x-extra");
}

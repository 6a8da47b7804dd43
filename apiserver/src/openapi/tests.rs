use serde_json::{Value, json};

use super::*;

fn v3(path: &str) -> Value {
    let bytes = v3_document(path).unwrap_or_else(|| panic!("no document for {path}"));
    serde_json::from_slice(&bytes).unwrap()
}

/// Every `$ref` string in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                match (key.as_str(), child) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

/// Follows `$ref` / single-`allOf` as kubectl explain does.
fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    let reference = node["$ref"]
        .as_str()
        .or_else(|| node["allOf"][0]["$ref"].as_str());
    match reference {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => node,
    }
}

#[test]
fn index_lists_every_group_version() {
    let index = v3_index();
    let paths = index["paths"].as_object().unwrap();
    assert_eq!(paths.len(), group_versions().len());
    for (group, version) in group_versions() {
        let key = if group.is_empty() {
            format!("api/{version}")
        } else {
            format!("apis/{group}/{version}")
        };
        let url = paths[&key]["serverRelativeURL"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("/openapi/v3/{key}?hash=")),
            "{url}"
        );
        assert!(v3_document(&key).is_some());
    }
    assert!(v3_document("apis/nope.example.com/v1").is_none());
}

#[test]
fn core_document_tags_kinds_and_declares_field_validation() {
    let doc = v3("api/v1");
    assert_eq!(doc["openapi"], "3.0.0");
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "Pod", "version": "v1"}])
    );
    assert_eq!(
        schemas["io.k8s.api.core.v1.PodList"]["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "PodList", "version": "v1"}])
    );
    for meta in [
        "Status",
        "DeleteOptions",
        "Patch",
        "WatchEvent",
        "APIResourceList",
        "ObjectMeta",
    ] {
        let name = format!("io.k8s.apimachinery.pkg.apis.meta.v1.{meta}");
        assert!(schemas[&name].is_object(), "{name} missing");
    }

    let item = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"];
    let patch = &item["patch"];
    assert_eq!(patch["x-kubernetes-action"], "patch");
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "", "kind": "Pod", "version": "v1"})
    );
    let params = patch["parameters"].as_array().unwrap();
    assert!(
        params
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
    );
    assert!(patch["requestBody"]["content"]["application/merge-patch+json"].is_object());
    assert_eq!(item["get"]["x-kubernetes-action"], "get");
    assert!(item["delete"].is_object() && item["put"].is_object());
    let collection = &doc["paths"]["/api/v1/namespaces/{namespace}/pods"];
    assert_eq!(collection["get"]["x-kubernetes-action"], "list");
    assert_eq!(
        collection["delete"]["x-kubernetes-action"],
        "deletecollection"
    );
    assert!(doc["paths"]["/api/v1/pods"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/nodes/{name}"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/status"]["patch"].is_object());
    assert_eq!(
        doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["post"]["x-kubernetes-action"],
        "connect"
    );
}

#[test]
fn every_write_in_every_document_declares_field_validation() {
    for slot in V3.iter() {
        let doc = v3(&slot.path);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in ["post", "put", "patch"] {
                let Some(op) = item.get(method) else { continue };
                assert!(
                    op["x-kubernetes-group-version-kind"].is_object(),
                    "{path} {method}"
                );
                if op["x-kubernetes-action"] == "connect" {
                    continue;
                }
                let params = op["parameters"].as_array().unwrap();
                assert!(
                    params.iter().any(|p| p["name"] == "fieldValidation"),
                    "{path} {method} lacks fieldValidation"
                );
            }
        }
    }
}

#[test]
fn every_reference_resolves() {
    for slot in V3.iter() {
        let doc = v3(&slot.path);
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{r}"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{}: {r}",
                slot.path
            );
        }
    }
    let v2: Value = serde_json::from_slice(&v2()).unwrap();
    assert_eq!(v2["swagger"], "2.0");
    let mut found = Vec::new();
    refs(&v2, &mut found);
    for r in found {
        let name = r
            .strip_prefix("#/definitions/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(v2["definitions"][name].is_object(), "{r}");
    }
}

#[test]
fn explain_can_walk_from_pod_to_container_image() {
    let doc = v3("api/v1");
    let pod = &doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
    let spec = resolve(&doc, &pod["properties"]["spec"]);
    let containers = &spec["properties"]["containers"];
    assert_eq!(containers["type"], "array");
    let container = resolve(&doc, &containers["items"]);
    assert!(container["properties"]["image"]["description"].is_string());
    assert!(
        container["required"]
            .as_array()
            .unwrap()
            .contains(&json!("name"))
    );
}

#[test]
fn apps_document_has_scale_subresource() {
    let doc = v3("apis/apps/v1");
    let scale = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
    assert_eq!(
        scale["patch"]["x-kubernetes-group-version-kind"],
        json!({"group": "autoscaling", "kind": "Scale", "version": "v1"})
    );
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["io.k8s.api.autoscaling.v1.Scale"]["x-kubernetes-group-version-kind"],
        json!([{"group": "autoscaling", "kind": "Scale", "version": "v1"}])
    );
    assert!(schemas["io.k8s.api.apps.v1.Deployment"].is_object());
    assert!(
        schemas["io.k8s.api.core.v1.Pod"].is_null(),
        "core kinds leak into apps/v1"
    );
}

#[test]
fn v2_uses_definitions_and_the_same_extensions() {
    let v2: Value = serde_json::from_slice(&v2()).unwrap();
    assert_eq!(
        v2["definitions"]["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
        json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
    );
    let patch = &v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    assert_eq!(patch["parameters"][0]["in"], "body");
    assert!(v2.get("components").is_none());
}

#[test]
fn unknown_fields_are_found_with_their_paths() {
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "bogus": 1,
        "metadata": {
            "name": "p",
            "labels": {"anything.example.com/goes": "x"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "managedFields": [{"fieldsV1": {"f:spec": {"f:whatever": {}}}}],
            "nam": "typo",
        },
        "spec": {
            "containers": [
                {"name": "a", "image": "nginx", "resources": {"limits": {"cpu": "1", "memory": 5}}},
                {"name": "b", "imagex": "nginx", "ports": [{"containerPort": 80, "protocl": "TCP"}]},
            ],
            "nodeSelector": {"disk": "ssd"},
        },
    });
    let mut found = unknown_fields("io.k8s.api.core.v1.Pod", &pod);
    found.sort();
    assert_eq!(
        found,
        vec![
            "unknown field \"bogus\"",
            "unknown field \"metadata.nam\"",
            "unknown field \"spec.containers[1].imagex\"",
            "unknown field \"spec.containers[1].ports[0].protocl\"",
        ]
    );
}

#[test]
fn maps_int_or_string_and_nested_kinds_accept_their_values() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"any.key": "v", "other": "w"}, "binaryData": {"b": "AA=="}});
    assert!(unknown_fields("io.k8s.api.core.v1.ConfigMap", &cm).is_empty());
    let svc = json!({"spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}]}});
    assert!(unknown_fields("io.k8s.api.core.v1.Service", &svc).is_empty());
    let deploy = json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%"}},
        "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "imag": "x"}]}}}});
    assert_eq!(
        unknown_fields("io.k8s.api.apps.v1.Deployment", &deploy),
        vec!["unknown field \"spec.template.spec.containers[0].imag\""]
    );
    let scale = json!({"spec": {"replicas": 3, "replica": 2}});
    assert_eq!(
        unknown_fields("io.k8s.api.autoscaling.v1.Scale", &scale),
        vec!["unknown field \"spec.replica\""]
    );
    assert!(unknown_fields("io.example.Nope", &json!({"x": 1})).is_empty());
}

#[test]
fn duplicates_are_named_and_the_last_value_wins() {
    let body = br#"{"kind":"Pod","metadata":{"name":"a","labels":{"x":"1"},"name":"b"},
        "spec":{"containers":[{"name":"c","image":"i","image":"j"}]},"kind":"Pod"}"#;
    let (value, duplicates) = parse_with_duplicates(body).unwrap();
    assert_eq!(value["metadata"]["name"], "b");
    assert_eq!(value["spec"]["containers"][0]["image"], "j");
    assert_eq!(
        duplicates,
        vec![
            "duplicate field \"metadata.name\"",
            "duplicate field \"spec.containers[0].image\"",
            "duplicate field \"kind\"",
        ]
    );
    let (value, duplicates) = parse_with_duplicates(br#"[1, 2.5, null, true, "s"]"#).unwrap();
    assert_eq!(value, json!([1, 2.5, null, true, "s"]));
    assert!(duplicates.is_empty());
    assert!(parse_with_duplicates(b"{\"a\": 1} x").is_err());
    assert!(parse_with_duplicates(b"{\"a\": ").is_err());
}

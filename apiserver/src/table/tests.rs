use serde_json::json;

use super::*;

fn now() -> jiff::Timestamp {
    "2024-05-01T12:00:00Z"
        .parse()
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

const ALL: [(&str, &TableDef); 17] = [
    ("namespace", &NAMESPACE),
    ("node", &NODE),
    ("pod", &POD),
    ("service", &SERVICE),
    ("endpoints", &ENDPOINTS),
    ("configmap", &CONFIG_MAP),
    ("secret", &SECRET),
    ("pv", &PERSISTENT_VOLUME),
    ("pvc", &PERSISTENT_VOLUME_CLAIM),
    ("event", &EVENT),
    ("serviceaccount", &SERVICE_ACCOUNT),
    ("deployment", &DEPLOYMENT),
    ("replicaset", &REPLICA_SET),
    ("endpointslice", &ENDPOINT_SLICE),
    ("lease", &LEASE),
    ("storageclass", &STORAGE_CLASS),
    ("priorityclass", &PRIORITY_CLASS),
];

#[test]
fn every_kind_fills_one_cell_per_column() {
    for (kind, def) in ALL {
        for obj in [
            json!({}),
            json!({"metadata": {"name": "x"}, "spec": {}, "status": {}}),
        ] {
            assert_eq!((def.cells)(&obj, now()).len(), def.columns.len(), "{kind}");
        }
        let names: Vec<&str> = def.columns.iter().map(|c| c.name).collect();
        assert!(names.contains(&"Name"), "{kind} has a Name column");
        let name_col = def.columns.iter().find(|c| c.name == "Name");
        assert_eq!(name_col.map(|c| c.format), Some("name"), "{kind}");
        assert!(def.columns.iter().all(|c| !c.description.is_empty()));
    }
}

#[test]
fn column_headers_match_upstream() {
    let headers = |def: &TableDef, priority: i32| -> Vec<&str> {
        def.columns
            .iter()
            .filter(|c| c.priority == priority)
            .map(|c| c.name)
            .collect()
    };
    assert_eq!(
        headers(&POD, 0),
        ["Name", "Ready", "Status", "Restarts", "Age"]
    );
    assert_eq!(
        headers(&POD, 1),
        ["IP", "Node", "Nominated Node", "Readiness Gates"]
    );
    assert_eq!(
        headers(&EVENT, 0),
        ["Last Seen", "Type", "Reason", "Object", "Message"]
    );
    assert_eq!(
        headers(&EVENT, 1),
        ["Subobject", "Source", "First Seen", "Count", "Name"]
    );
    assert_eq!(
        headers(&SERVICE, 0),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age"
        ]
    );
    assert_eq!(
        headers(&PRIORITY_CLASS, 0),
        ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"]
    );
    assert_eq!(headers(&PERSISTENT_VOLUME_CLAIM, 1), ["VolumeMode"]);
    assert_eq!(REPLICA_SET.columns[1].kind, "integer");
    assert_eq!(PRIORITY_CLASS.columns[2].kind, "boolean");
}

#[test]
fn include_object_parses_the_three_values() {
    assert_eq!(IncludeObject::parse("None"), Some(IncludeObject::None));
    assert_eq!(
        IncludeObject::parse("Metadata"),
        Some(IncludeObject::Metadata)
    );
    assert_eq!(IncludeObject::parse("Object"), Some(IncludeObject::Object));
    assert_eq!(IncludeObject::parse("metadata"), None);
    assert_eq!(IncludeObject::default(), IncludeObject::Metadata);
}

fn config_map() -> Value {
    json!({
        "kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "cfg", "namespace": "default", "resourceVersion": "12",
            "creationTimestamp": "2024-05-01T11:59:55Z", "labels": {"a": "b"}},
        "data": {"k": "v"},
    })
}

#[test]
fn rendered_table_shape() {
    let table = render(
        &CONFIG_MAP,
        &[config_map()],
        IncludeObject::Metadata,
        true,
        json!({"resourceVersion": "42", "continue": "abc", "remainingItemCount": 3}),
        now(),
    );
    assert_eq!(
        table,
        json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": "42", "continue": "abc", "remainingItemCount": 3},
            "columnDefinitions": [
                {"name": "Name", "type": "string", "format": "name", "description": NAME.description, "priority": 0},
                {"name": "Data", "type": "string", "format": "", "description": CONFIG_MAP.columns[1].description, "priority": 0},
                {"name": "Age", "type": "string", "format": "", "description": AGE.description, "priority": 0},
            ],
            "rows": [{
                "cells": ["cfg", 1, "5s"],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"name": "cfg", "namespace": "default", "resourceVersion": "12",
                        "creationTimestamp": "2024-05-01T11:59:55Z", "labels": {"a": "b"}},
                },
            }],
        })
    );
}

#[test]
fn include_object_and_watch_form() {
    let obj = config_map();
    let full = render(
        &CONFIG_MAP,
        std::slice::from_ref(&obj),
        IncludeObject::Object,
        false,
        json!({"resourceVersion": null}),
        now(),
    );
    assert_eq!(full["rows"][0]["object"], obj);
    assert_eq!(full["columnDefinitions"], Value::Null);
    assert_eq!(full["metadata"], json!({}));

    let none = render(
        &CONFIG_MAP,
        &[obj],
        IncludeObject::None,
        true,
        json!({"resourceVersion": "1"}),
        now(),
    );
    assert_eq!(none["rows"][0]["object"], Value::Null);
    assert!(none["rows"][0].get("conditions").is_none());

    let empty = render(
        &CONFIG_MAP,
        &[],
        IncludeObject::Metadata,
        true,
        json!({"resourceVersion": "7"}),
        now(),
    );
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(empty["columnDefinitions"].as_array().map(Vec::len), Some(3));
}

#[test]
fn finished_pods_carry_row_conditions() {
    let pod = json!({"metadata": {"name": "job-x"}, "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": "Succeeded", "containerStatuses": [
            {"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
    let table = render(&POD, &[pod], IncludeObject::None, true, json!({}), now());
    assert_eq!(
        table["rows"][0]["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
    );
    assert_eq!(table["rows"][0]["cells"][2], json!("Completed"));
}

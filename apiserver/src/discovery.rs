//! Discovery documents built from the [registry](crate::registry): the legacy
//! `APIVersions` / `APIGroupList` / `APIGroup` / `APIResourceList` answers of `/api` and
//! `/apis`, and the aggregated `APIGroupDiscoveryList` (apidiscovery.k8s.io v2 and
//! v2beta1) that kubectl asks for first.
//!
//! The registry is static, so every document except [`api_versions`] (which names the
//! server's address) is built once and served from memory.

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use crate::registry::{RESOURCES, ResourceDef, SubresourceDef, group_versions};

/// `GET /api`: the legacy core group's versions.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{
            "clientCIDR": "0.0.0.0/0",
            "serverAddress": server_address,
        }],
    })
}

/// `GET /apis`: every named group with its versions (the core group is not listed).
pub fn api_group_list() -> &'static Value {
    static DOC: LazyLock<Value> = LazyLock::new(|| {
        let groups: Vec<Value> = groups().into_iter().map(group_body).collect();
        json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
    });
    &DOC
}

/// `GET /apis/<group>`: one named group, or `None` if it is not served.
pub fn api_group(group: &str) -> Option<&'static Value> {
    static DOCS: LazyLock<Vec<(&'static str, Value)>> = LazyLock::new(|| {
        groups()
            .into_iter()
            .map(|(name, versions)| {
                let mut doc = group_body((name, versions));
                if let Value::Object(fields) = &mut doc {
                    fields.insert("kind".into(), "APIGroup".into());
                    fields.insert("apiVersion".into(), "v1".into());
                }
                (name, doc)
            })
            .collect()
    });
    DOCS.iter()
        .find(|(name, _)| *name == group)
        .map(|(_, doc)| doc)
}

/// `GET /api/v1` (group "") or `GET /apis/<group>/<version>`: the resources of a
/// group-version with their subresources, or `None` if it is not served.
pub fn resource_list(group: &str, version: &str) -> Option<&'static Value> {
    static DOCS: LazyLock<Vec<((&'static str, &'static str), Value)>> = LazyLock::new(|| {
        group_versions()
            .into_iter()
            .map(|gv| (gv, build_resource_list(gv.0, gv.1)))
            .collect()
    });
    DOCS.iter()
        .find(|((g, v), _)| *g == group && *v == version)
        .map(|(_, doc)| doc)
}

/// Aggregated discovery (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;
/// as=APIGroupDiscoveryList`): the core group for `/api` (`legacy`), every named group
/// for `/apis`. `version` is `v2beta1` for kubectl 1.27–1.29; anything else is answered
/// as `v2` (the two have the same shape).
pub fn aggregated(legacy: bool, version: &str) -> &'static Value {
    static DOCS: LazyLock<[Value; 4]> = LazyLock::new(|| {
        [
            build_aggregated(true, "v2"),
            build_aggregated(false, "v2"),
            build_aggregated(true, "v2beta1"),
            build_aggregated(false, "v2beta1"),
        ]
    });
    let index = usize::from(!legacy) + if version == "v2beta1" { 2 } else { 0 };
    &DOCS[index]
}

/// The named groups with their versions, in registry order.
fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for (group, version) in group_versions() {
        if group.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(name, _)| *name == group) {
            Some((_, versions)) => versions.push(version),
            None => out.push((group, vec![version])),
        }
    }
    out
}

/// The body shared by an `APIGroupList` entry and an `APIGroup` answer.
fn group_body((name, versions): (&'static str, Vec<&'static str>)) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "groupVersion": format!("{name}/{v}"), "version": v }))
        .collect();
    let preferred = entries.first().cloned().unwrap_or(Value::Null);
    json!({ "name": name, "versions": entries, "preferredVersion": preferred })
}

/// The group, version and kind a subresource takes and returns: its own when the
/// registry names a version, the parent's otherwise.
pub(crate) fn subresource_gvk(
    parent: &ResourceDef,
    sub: &SubresourceDef,
) -> (&'static str, &'static str, &'static str) {
    let (group, version) = if sub.version.is_empty() {
        (parent.group, parent.version)
    } else {
        (sub.group, sub.version)
    };
    let kind = if sub.object_kind.is_empty() {
        parent.kind
    } else {
        sub.object_kind
    };
    (group, version, kind)
}

fn in_group_version(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceDef> {
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

fn build_resource_list(group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for r in in_group_version(group, version) {
        let mut main = Map::new();
        main.insert("name".into(), r.plural.into());
        main.insert("singularName".into(), r.singular.into());
        main.insert("namespaced".into(), r.namespaced.into());
        main.insert("kind".into(), r.kind.into());
        main.insert("verbs".into(), r.verbs.into());
        if !r.short_names.is_empty() {
            main.insert("shortNames".into(), r.short_names.into());
        }
        if !r.categories.is_empty() {
            main.insert("categories".into(), r.categories.into());
        }
        resources.push(Value::Object(main));
        for sub in r.subresources {
            let (sub_group, sub_version, kind) = subresource_gvk(r, sub);
            let mut entry = Map::new();
            entry.insert("name".into(), format!("{}/{}", r.plural, sub.name).into());
            entry.insert("singularName".into(), "".into());
            entry.insert("namespaced".into(), r.namespaced.into());
            if (sub_group, sub_version) != (r.group, r.version) {
                entry.insert("group".into(), sub_group.into());
                entry.insert("version".into(), sub_version.into());
            }
            entry.insert("kind".into(), kind.into());
            entry.insert("verbs".into(), sub.verbs.into());
            resources.push(Value::Object(entry));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({ "group": group, "version": version, "kind": kind })
}

fn resource_discovery(r: &ResourceDef) -> Value {
    let mut entry = Map::new();
    entry.insert("resource".into(), r.plural.into());
    entry.insert("responseKind".into(), gvk(r.group, r.version, r.kind));
    let scope = if r.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    };
    entry.insert("scope".into(), scope.into());
    entry.insert("singularResource".into(), r.singular.into());
    entry.insert("verbs".into(), r.verbs.into());
    if !r.short_names.is_empty() {
        entry.insert("shortNames".into(), r.short_names.into());
    }
    if !r.categories.is_empty() {
        entry.insert("categories".into(), r.categories.into());
    }
    if !r.subresources.is_empty() {
        let subs: Vec<Value> = r
            .subresources
            .iter()
            .map(|sub| {
                let (group, version, kind) = subresource_gvk(r, sub);
                json!({
                    "subresource": sub.name,
                    "responseKind": gvk(group, version, kind),
                    "verbs": sub.verbs,
                })
            })
            .collect();
        entry.insert("subresources".into(), subs.into());
    }
    Value::Object(entry)
}

fn build_aggregated(legacy: bool, version: &str) -> Value {
    let mut items = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (group, _) in group_versions() {
        if group.is_empty() != legacy || seen.contains(&group) {
            continue;
        }
        seen.push(group);
        let versions: Vec<Value> = group_versions()
            .into_iter()
            .filter(|(g, _)| *g == group)
            .map(|(g, v)| {
                let resources: Vec<Value> =
                    in_group_version(g, v).map(resource_discovery).collect();
                json!({ "version": v, "resources": resources, "freshness": "Current" })
            })
            .collect();
        items.push(json!({
            "metadata": { "name": group, "creationTimestamp": null },
            "versions": versions,
        }));
    }
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource<'a>(list: &'a Value, name: &str) -> &'a Value {
        list["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == name))
            .unwrap_or_else(|| panic!("{name} not listed"))
    }

    #[test]
    fn api_versions_names_the_server() {
        let doc = api_versions("10.0.0.1:6443");
        assert_eq!(doc["kind"], "APIVersions");
        assert_eq!(doc["versions"], json!(["v1"]));
        assert_eq!(
            doc["serverAddressByClientCIDRs"][0]["clientCIDR"],
            "0.0.0.0/0"
        );
        assert_eq!(
            doc["serverAddressByClientCIDRs"][0]["serverAddress"],
            "10.0.0.1:6443"
        );
    }

    #[test]
    fn group_list_has_named_groups_with_preferred_versions() {
        let doc = api_group_list();
        assert_eq!(doc["kind"], "APIGroupList");
        let groups = doc["groups"].as_array().unwrap();
        assert!(
            groups.iter().all(|g| g["name"] != ""),
            "core group listed under /apis"
        );
        let apps = groups.iter().find(|g| g["name"] == "apps").unwrap();
        assert_eq!(apps["versions"][0]["groupVersion"], "apps/v1");
        assert_eq!(
            apps["preferredVersion"],
            json!({"groupVersion": "apps/v1", "version": "v1"})
        );
        let named = group_versions()
            .iter()
            .filter(|(g, _)| !g.is_empty())
            .count();
        let listed: usize = groups
            .iter()
            .map(|g| g["versions"].as_array().unwrap().len())
            .sum();
        assert_eq!(named, listed);
    }

    #[test]
    fn api_group_answers_served_groups_only() {
        let apps = api_group("apps").unwrap();
        assert_eq!(apps["kind"], "APIGroup");
        assert_eq!(apps["name"], "apps");
        assert!(api_group("").is_none());
        assert!(api_group("nope.example.com").is_none());
    }

    #[test]
    fn core_resource_list_has_subresources_and_short_names() {
        let list = resource_list("", "v1").unwrap();
        assert_eq!(list["kind"], "APIResourceList");
        assert_eq!(list["groupVersion"], "v1");
        let pods = resource(list, "pods");
        assert_eq!(pods["namespaced"], true);
        assert_eq!(pods["singularName"], "pod");
        assert_eq!(pods["kind"], "Pod");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        let status = resource(list, "pods/status");
        assert_eq!(status["kind"], "Pod");
        assert_eq!(status["verbs"], json!(["get", "patch", "update"]));
        assert!(status.get("group").is_none());
        let eviction = resource(list, "pods/eviction");
        assert_eq!(
            (&eviction["group"], &eviction["version"]),
            (&json!("policy"), &json!("v1"))
        );
        assert_eq!(resource(list, "pods/log")["kind"], "Pod");
        assert_eq!(resource(list, "namespaces")["namespaced"], false);
        assert_eq!(resource(list, "nodes")["namespaced"], false);
        assert!(resource(list, "secrets").get("shortNames").is_none());
    }

    #[test]
    fn scale_subresource_is_an_autoscaling_scale() {
        let list = resource_list("apps", "v1").unwrap();
        assert_eq!(list["groupVersion"], "apps/v1");
        let scale = resource(list, "deployments/scale");
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["version"], "v1");
        assert_eq!(
            resource(list, "deployments")["shortNames"],
            json!(["deploy"])
        );
        assert!(resource_list("apps", "v2").is_none());
        assert!(resource_list("", "v2").is_none());
    }

    #[test]
    fn aggregated_documents_have_upstream_shape() {
        let legacy = aggregated(true, "v2");
        assert_eq!(legacy["kind"], "APIGroupDiscoveryList");
        assert_eq!(legacy["apiVersion"], "apidiscovery.k8s.io/v2");
        let items = legacy["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["metadata"]["name"], "");
        let v1 = &items[0]["versions"][0];
        assert_eq!(
            (&v1["version"], &v1["freshness"]),
            (&json!("v1"), &json!("Current"))
        );
        let pods = v1["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["resource"] == "pods"))
            .unwrap();
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["singularResource"], "pod");
        assert_eq!(
            pods["responseKind"],
            json!({"group": "", "version": "v1", "kind": "Pod"})
        );
        let status = pods["subresources"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["subresource"] == "status"))
            .unwrap();
        assert_eq!(status["responseKind"]["kind"], "Pod");
        assert_eq!(status["verbs"], json!(["get", "patch", "update"]));

        let groups = aggregated(false, "v2beta1");
        assert_eq!(groups["apiVersion"], "apidiscovery.k8s.io/v2beta1");
        let items = groups["items"].as_array().unwrap();
        assert!(items.iter().all(|i| i["metadata"]["name"] != ""));
        let apps = items
            .iter()
            .find(|i| i["metadata"]["name"] == "apps")
            .unwrap();
        let deployments = apps["versions"][0]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["resource"] == "deployments"))
            .unwrap();
        let scale = deployments["subresources"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["subresource"] == "scale"))
            .unwrap();
        assert_eq!(
            scale["responseKind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
        let nodes_scope = aggregated(true, "v2")["items"][0]["versions"][0]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["resource"] == "nodes"))
            .map(|n| n["scope"].clone());
        assert_eq!(nodes_scope, Some(json!("Cluster")));
    }
}

//! The `paths` of the documents: one operation per verb of every resource and subresource
//! of the registry, with upstream's paths and operation ids.
//!
//! Every operation on a kind carries `x-kubernetes-group-version-kind` and
//! `x-kubernetes-action`; every create, update and patch declares `fieldValidation`, which
//! kubectl ≥ 1.29 looks for on PATCH to leave field validation to the server.

use serde_json::{Map, Value};

use super::render::{Operation, PathItem, Payload, render_path};
use super::schemas::{self, Dialect};
use crate::discovery::subresource_gvk;
use crate::registry::{ResourceDef, SubresourceDef, SubresourceKind};

/// The media types a patch may be sent in. Strategic merge patch is deliberately not
/// advertised: kubectl would then compute its patches from these schemas, which lack
/// upstream's `x-kubernetes-patch-merge-key`s, instead of from its built-in types.
const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
];
const JSON: &[&str] = &["application/json"];
const ANY: &[&str] = &["*/*"];
const LIST_PRODUCES: &[&str] = &["application/json", "application/json;stream=watch"];
const TEXT: &[&str] = &["text/plain", "application/json"];

const LIST_QUERY: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const WRITE_QUERY: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
const PATCH_QUERY: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];
const DELETE_QUERY: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "orphanDependents",
    "propagationPolicy",
];
const DELETE_COLLECTION_QUERY: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];

fn streaming_query(sub: &str) -> &'static [&'static str] {
    match sub {
        "log" => &[
            "container",
            "follow",
            "limitBytes",
            "previous",
            "sinceSeconds",
            "tailLines",
            "timestamps",
        ],
        "exec" => &["command", "container", "stderr", "stdin", "stdout", "tty"],
        "attach" => &["container", "stderr", "stdin", "stdout", "tty"],
        "portforward" => &["ports"],
        "proxy" => &["path"],
        _ => &[],
    }
}

/// `core`, `apps`, `discovery` … as upstream names groups in tags and operation ids.
fn group_word(group: &str) -> &str {
    if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `CoreV1`, `AppsV1`.
fn gv_word(group: &str, version: &str) -> String {
    format!("{}{}", capitalized(group_word(group)), capitalized(version))
}

/// `/api/v1` or `/apis/apps/v1`.
pub(super) fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

fn definition(name: &str) -> Payload {
    Payload::Definition(name.to_owned())
}

impl Operation {
    /// An operation on `gvk` answering JSON, without body or responses yet.
    fn new(
        method: &'static str,
        id: String,
        description: String,
        gvk: (&'static str, &'static str, &'static str),
    ) -> Self {
        Self {
            method,
            id,
            description,
            action: method,
            gvk: Some(gvk),
            query: &[],
            consumes: ANY,
            body: None,
            responses: Vec::new(),
            produces: JSON,
        }
    }

    fn action(mut self, action: &'static str) -> Self {
        self.action = action;
        self
    }

    fn query(mut self, query: &'static [&'static str]) -> Self {
        self.query = query;
        self
    }

    fn body(mut self, consumes: &'static [&'static str], body: Payload) -> Self {
        self.consumes = consumes;
        self.body = Some(body);
        self
    }

    fn responds(mut self, codes: &[&'static str], payload: &Payload) -> Self {
        self.responses = codes.iter().map(|c| (*c, payload.clone())).collect();
        self
    }

    fn produces(mut self, produces: &'static [&'static str]) -> Self {
        self.produces = produces;
        self
    }
}

/// The paths of one resource: its collection, its objects, the all-namespaces list of a
/// namespaced resource, and one path per subresource.
fn resource_paths(r: &'static ResourceDef) -> Vec<PathItem> {
    let gv = gv_word(r.group, r.version);
    let (ns, scope): (&str, &[&'static str]) = if r.namespaced {
        ("Namespaced", &["namespace"])
    } else {
        ("", &[])
    };
    let base = prefix(r.group, r.version);
    let collection = if r.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{base}/{}", r.plural)
    };
    let gvk = (r.group, r.version, r.kind);
    let kind = r.kind;
    let object = definition(r.definition);
    let list = definition(&schemas::list_definition(r));
    let status = definition(schemas::STATUS);
    let options = definition(schemas::DELETE_OPTIONS);
    let patch = definition(schemas::PATCH);
    let op = |method, id: String, description: String| Operation::new(method, id, description, gvk);
    let list_op = |id: String| {
        op("get", id, format!("list or watch objects of kind {kind}"))
            .action("list")
            .query(LIST_QUERY)
            .responds(&["200"], &list)
            .produces(LIST_PRODUCES)
    };

    let mut collection_ops = Vec::new();
    if r.allows("list") {
        collection_ops.push(list_op(format!("list{gv}{ns}{kind}")));
    }
    if r.allows("create") {
        let create = op(
            "post",
            format!("create{gv}{ns}{kind}"),
            format!("create a {kind}"),
        );
        collection_ops.push(
            create
                .query(WRITE_QUERY)
                .body(ANY, object.clone())
                .responds(&["200", "201", "202"], &object),
        );
    }
    if r.allows("deletecollection") {
        let id = format!("delete{gv}Collection{ns}{kind}");
        let delete = op("delete", id, format!("delete collection of {kind}"));
        collection_ops.push(
            delete
                .action("deletecollection")
                .query(DELETE_COLLECTION_QUERY)
                .body(ANY, options.clone())
                .responds(&["200"], &status),
        );
    }

    let mut item_ops = Vec::new();
    if r.allows("get") {
        let read = op(
            "get",
            format!("read{gv}{ns}{kind}"),
            format!("read the specified {kind}"),
        );
        item_ops.push(read.responds(&["200"], &object));
    }
    if r.allows("update") {
        let id = format!("replace{gv}{ns}{kind}");
        let replace = op("put", id, format!("replace the specified {kind}"));
        item_ops.push(
            replace
                .query(WRITE_QUERY)
                .body(ANY, object.clone())
                .responds(&["200", "201"], &object),
        );
    }
    if r.allows("patch") {
        let id = format!("patch{gv}{ns}{kind}");
        let update = op(
            "patch",
            id,
            format!("partially update the specified {kind}"),
        );
        item_ops.push(
            update
                .query(PATCH_QUERY)
                .body(PATCH_TYPES, patch)
                .responds(&["200", "201"], &object),
        );
    }
    if r.allows("delete") {
        let delete = op(
            "delete",
            format!("delete{gv}{ns}{kind}"),
            format!("delete a {kind}"),
        );
        item_ops.push(
            delete
                .query(DELETE_QUERY)
                .body(ANY, options)
                .responds(&["200", "202"], &status),
        );
    }

    let params = |extra: &[&'static str]| -> Vec<&'static str> {
        extra
            .iter()
            .chain(scope)
            .copied()
            .chain(["pretty"])
            .collect()
    };
    let mut items = Vec::new();
    if r.namespaced && r.allows("list") {
        items.push(PathItem {
            path: format!("{base}/{}", r.plural),
            params: vec!["pretty"],
            operations: vec![list_op(format!("list{gv}{kind}ForAllNamespaces"))],
        });
    }
    if !collection_ops.is_empty() {
        items.push(PathItem {
            path: collection.clone(),
            params: params(&[]),
            operations: collection_ops,
        });
    }
    if !item_ops.is_empty() {
        items.push(PathItem {
            path: format!("{collection}/{{name}}"),
            params: params(&["name"]),
            operations: item_ops,
        });
    }
    for sub in r.subresources {
        let mut item = subresource_path(r, sub, &gv, ns);
        item.path = format!("{collection}/{{name}}/{}", sub.name);
        item.params = if sub.kind == SubresourceKind::Streaming {
            ["name"].iter().chain(scope).copied().collect()
        } else {
            params(&["name"])
        };
        items.push(item);
    }
    items
}

/// The operations of one subresource (path and path parameters are the caller's).
fn subresource_path(r: &ResourceDef, sub: &SubresourceDef, gv: &str, ns: &str) -> PathItem {
    let kind = r.kind;
    let sub_word = capitalized(sub.name);
    let streaming = sub.kind == SubresourceKind::Streaming;
    let payload = schemas::subresource_definition(r, sub)
        .map_or_else(|| definition(r.definition), definition);
    let mut operations = Vec::new();
    for verb in sub.verbs {
        let (method, id_verb) = match *verb {
            "get" => ("get", "read"),
            "update" => ("put", "replace"),
            "patch" => ("patch", "patch"),
            "create" => ("post", "create"),
            "delete" => ("delete", "delete"),
            _ => continue,
        };
        let description = format!("{id_verb} {} of the specified {kind}", sub.name);
        let id = format!("{id_verb}{gv}{ns}{kind}{sub_word}");
        let op = Operation::new(method, id, description, subresource_gvk(r, sub));
        let op = if streaming {
            let op = op
                .query(streaming_query(sub.name))
                .responds(&["200"], &Payload::Text)
                .produces(TEXT);
            if sub.name == "log" {
                op
            } else {
                let mut op = op.action("connect");
                op.id = format!("connect{gv}{}{ns}{kind}{sub_word}", capitalized(method));
                op
            }
        } else {
            match method {
                "get" => op.responds(&["200"], &payload),
                "patch" => op
                    .query(PATCH_QUERY)
                    .body(PATCH_TYPES, definition(schemas::PATCH))
                    .responds(&["200", "201"], &payload),
                "post" => op
                    .query(WRITE_QUERY)
                    .body(ANY, payload.clone())
                    .responds(&["200", "201", "202"], &payload),
                _ => op
                    .query(WRITE_QUERY)
                    .body(ANY, payload.clone())
                    .responds(&["200", "201"], &payload),
            }
        };
        operations.push(op);
    }
    PathItem {
        path: String::new(),
        params: Vec::new(),
        operations,
    }
}

/// `GET /api/v1/`: the group-version's resources.
fn discovery_path(group: &str, version: &str) -> PathItem {
    let mut op = Operation::new(
        "get",
        format!("get{}APIResources", gv_word(group, version)),
        "get available resources".into(),
        ("", "", ""),
    )
    .responds(&["200"], &definition(schemas::API_RESOURCE_LIST));
    op.gvk = None;
    op.consumes = JSON;
    PathItem {
        path: format!("{}/", prefix(group, version)),
        params: Vec::new(),
        operations: vec![op],
    }
}

/// The `paths` object for `resources` (one group-version for v3, everything for v2).
pub(super) fn paths(dialect: Dialect, resources: &[&'static ResourceDef]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut listed: Vec<(&str, &str)> = Vec::new();
    for r in resources {
        let tag = format!("{}_{}", group_word(r.group), r.version);
        let mut items = resource_paths(r);
        if !listed.contains(&(r.group, r.version)) {
            listed.push((r.group, r.version));
            items.push(discovery_path(r.group, r.version));
        }
        for item in items {
            let rendered = render_path(dialect, &item, &tag);
            out.insert(item.path, rendered);
        }
    }
    out
}

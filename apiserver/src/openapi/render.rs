//! The model of a path and its operations, and how each dialect writes it: Swagger 2.0
//! (body parameters, `consumes`/`produces`, `schema` on responses) or OpenAPI 3.0
//! (`requestBody` and response `content` by media type, parameter `schema`s).

use serde_json::{Map, Value, json};

use super::schemas::Dialect;

/// What a body or response holds.
#[derive(Debug, Clone)]
pub(super) enum Payload {
    /// An object of the named definition.
    Definition(String),
    /// Text (logs, streams).
    Text,
}

/// One operation of a path.
#[derive(Debug)]
pub(super) struct Operation {
    /// `get`, `put`, `post`, `patch`, `delete`.
    pub(super) method: &'static str,
    pub(super) id: String,
    pub(super) description: String,
    /// `x-kubernetes-action`.
    pub(super) action: &'static str,
    /// `x-kubernetes-group-version-kind`, as (group, version, kind).
    pub(super) gvk: Option<(&'static str, &'static str, &'static str)>,
    /// Names of the query parameters (see [`parameter`]).
    pub(super) query: &'static [&'static str],
    /// Media types of the body.
    pub(super) consumes: &'static [&'static str],
    pub(super) body: Option<Payload>,
    /// Responses by status code (401 is added to every operation).
    pub(super) responses: Vec<(&'static str, Payload)>,
    /// Media types of the responses.
    pub(super) produces: &'static [&'static str],
}

/// A path with its operations.
#[derive(Debug)]
pub(super) struct PathItem {
    pub(super) path: String,
    /// Path-level parameters: `name` and `namespace` (in the path), `pretty` (in the query).
    pub(super) params: Vec<&'static str>,
    pub(super) operations: Vec<Operation>,
}

/// Type and description of every parameter the operations use.
fn parameter(name: &str) -> (&'static str, &'static str) {
    match name {
        "name" => ("string", "name of the object"),
        "namespace" => (
            "string",
            "object name and auth scope, such as for teams and projects",
        ),
        "pretty" => ("string", "If 'true', then the output is pretty printed."),
        "allowWatchBookmarks" => ("boolean", "Requests watch events with type BOOKMARK."),
        "continue" => (
            "string",
            "The continue token of a previous list, to fetch its next chunk.",
        ),
        "fieldSelector" => ("string", "Restricts the returned objects by their fields."),
        "labelSelector" => ("string", "Restricts the returned objects by their labels."),
        "limit" => ("integer", "The maximum number of objects a list returns."),
        "resourceVersion" => (
            "string",
            "Which resource versions the request may be served from.",
        ),
        "resourceVersionMatch" => ("string", "How resourceVersion is applied to list calls."),
        "sendInitialEvents" => (
            "boolean",
            "Starts a watch with events of the current state.",
        ),
        "timeoutSeconds" => ("integer", "Timeout for the list/watch call."),
        "watch" => ("boolean", "Watch for changes instead of listing."),
        "dryRun" => (
            "string",
            "When present (All), modifications are not persisted.",
        ),
        "fieldManager" => ("string", "The name of the actor making the change."),
        "fieldValidation" => (
            "string",
            "How the server treats unknown and duplicate fields: Ignore, Warn or Strict.",
        ),
        "force" => (
            "boolean",
            "Force an apply request to take over conflicting fields.",
        ),
        "gracePeriodSeconds" => ("integer", "Seconds before the object should be deleted."),
        "orphanDependents" => ("boolean", "Deprecated: use propagationPolicy."),
        "propagationPolicy" => (
            "string",
            "Garbage collection: Orphan, Background or Foreground.",
        ),
        "container" => ("string", "The container to use."),
        "follow" => ("boolean", "Follow the log stream."),
        "limitBytes" => ("integer", "Bytes of log to return at most."),
        "previous" => (
            "boolean",
            "The log of the previous instance of the container.",
        ),
        "sinceSeconds" => ("integer", "Only logs newer than this many seconds."),
        "tailLines" => ("integer", "Lines from the end of the log to show."),
        "timestamps" => ("boolean", "Prefix every line with its RFC3339 timestamp."),
        "command" => (
            "string",
            "The command to execute, one argument per parameter.",
        ),
        "stdin" => ("boolean", "Redirect standard input."),
        "stdout" => ("boolean", "Redirect standard output."),
        "stderr" => ("boolean", "Redirect standard error."),
        "tty" => ("boolean", "Allocate a terminal."),
        "ports" => ("integer", "Ports to forward."),
        "path" => ("string", "The path to proxy to."),
        _ => ("string", ""),
    }
}

fn render_parameter(dialect: Dialect, name: &str, location: &str) -> Value {
    let (kind, description) = parameter(name);
    let mut p = Map::new();
    p.insert("name".into(), name.into());
    p.insert("in".into(), location.into());
    p.insert("description".into(), description.into());
    if location == "path" {
        p.insert("required".into(), true.into());
    }
    match dialect {
        Dialect::V2 => {
            p.insert("type".into(), kind.into());
            p.insert("uniqueItems".into(), true.into());
        }
        Dialect::V3 => {
            p.insert(
                "schema".into(),
                json!({ "type": kind, "uniqueItems": true }),
            );
        }
    }
    Value::Object(p)
}

fn payload_schema(dialect: Dialect, payload: &Payload) -> Value {
    match payload {
        Payload::Definition(name) => dialect.reference(name),
        Payload::Text => json!({ "type": "string" }),
    }
}

/// A v3 `content` object: the same schema under every media type.
fn content(dialect: Dialect, types: &[&str], payload: &Payload) -> Value {
    let schema = payload_schema(dialect, payload);
    let entries = types
        .iter()
        .map(|t| ((*t).to_owned(), json!({ "schema": schema })));
    Value::Object(entries.collect())
}

fn status_text(code: &str) -> &'static str {
    match code {
        "201" => "Created",
        "202" => "Accepted",
        _ => "OK",
    }
}

fn render_operation(dialect: Dialect, op: &Operation, tag: &str) -> Value {
    let mut o = Map::new();
    o.insert("description".into(), op.description.clone().into());
    o.insert("operationId".into(), op.id.clone().into());
    o.insert("tags".into(), json!([tag]));
    let mut params: Vec<Value> = op
        .query
        .iter()
        .map(|q| render_parameter(dialect, q, "query"))
        .collect();
    let mut responses = Map::new();
    for (code, payload) in &op.responses {
        let response = match dialect {
            Dialect::V2 => json!({
                "description": status_text(code),
                "schema": payload_schema(dialect, payload),
            }),
            Dialect::V3 => json!({
                "description": status_text(code),
                "content": content(dialect, op.produces, payload),
            }),
        };
        responses.insert((*code).to_owned(), response);
    }
    responses.insert("401".into(), json!({ "description": "Unauthorized" }));
    // A delete may come without options; every other body is required.
    let body_required = op.method != "delete";
    match (dialect, &op.body) {
        (Dialect::V2, body) => {
            if let Some(body) = body {
                let schema = payload_schema(dialect, body);
                params.insert(
                    0,
                    json!({ "name": "body", "in": "body", "required": body_required, "schema": schema }),
                );
            }
            o.insert("consumes".into(), op.consumes.into());
            o.insert("produces".into(), op.produces.into());
            o.insert("schemes".into(), json!(["https"]));
        }
        (Dialect::V3, Some(body)) => {
            let body = json!({
                "content": content(dialect, op.consumes, body),
                "required": body_required,
            });
            o.insert("requestBody".into(), body);
        }
        (Dialect::V3, None) => {}
    }
    if !params.is_empty() {
        o.insert("parameters".into(), params.into());
    }
    o.insert("responses".into(), Value::Object(responses));
    o.insert("x-kubernetes-action".into(), op.action.into());
    if let Some((g, v, k)) = op.gvk {
        let gvk = json!({ "group": g, "kind": k, "version": v });
        o.insert("x-kubernetes-group-version-kind".into(), gvk);
    }
    Value::Object(o)
}

/// A path item in `dialect`; `tag` is upstream's tag of the group-version (`core_v1`).
pub(super) fn render_path(dialect: Dialect, item: &PathItem, tag: &str) -> Value {
    let mut out = Map::new();
    for op in &item.operations {
        out.insert(op.method.into(), render_operation(dialect, op, tag));
    }
    if !item.params.is_empty() {
        let params: Vec<Value> = item
            .params
            .iter()
            .map(|p| {
                let location = if *p == "pretty" { "query" } else { "path" };
                render_parameter(dialect, p, location)
            })
            .collect();
        out.insert("parameters".into(), params.into());
    }
    Value::Object(out)
}

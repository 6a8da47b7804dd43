//! What a request asks for: the resource path, the query parameters, and the media types
//! of its body and of the answer it accepts.

use axum::http::{HeaderMap, Method, header};

use super::error::{ApiError, ApiResult};
use crate::registry::{self, ResourceDef, SubresourceDef};
use crate::table::IncludeObject;

/// The resource a path names.
#[derive(Debug, Clone)]
pub struct Target {
    /// The registry entry.
    pub def: &'static ResourceDef,
    /// The namespace in the path, for namespaced resources.
    pub namespace: Option<String>,
    /// The object name, when the path names one.
    pub name: Option<String>,
    /// The subresource, when the path names one.
    pub subresource: Option<&'static SubresourceDef>,
}

/// Parses `/api/v1/...` and `/apis/<g>/<v>/...` resource paths as upstream's request info
/// resolver does (`namespaces/<ns>/status|finalize` address the namespace itself).
pub fn parse_path(path: &str) -> ApiResult<Target> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::no_route()),
    };
    let rest: Vec<&str> = rest.to_vec();
    let (namespace, parts): (Option<&str>, &[&str]) = match rest.as_slice() {
        ["namespaces", ns, third, ..] if !matches!(*third, "status" | "finalize") => {
            (Some(*ns), &rest[2..])
        }
        other => (None, other),
    };
    let (plural, name, sub) = match parts {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return Err(ApiError::no_route()),
    };
    let def = registry::find(group, version, plural).ok_or_else(ApiError::no_route)?;
    if namespace.is_some() && !def.namespaced {
        return Err(ApiError::no_route());
    }
    let subresource = match sub {
        Some(s) => Some(def.subresource(s).ok_or_else(ApiError::no_route)?),
        None => None,
    };
    if name.is_some_and(str::is_empty) || namespace.is_some_and(str::is_empty) {
        return Err(ApiError::no_route());
    }
    Ok(Target {
        def,
        namespace: namespace.map(str::to_owned),
        name: name.map(str::to_owned),
        subresource,
    })
}

/// `fieldValidation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Unknown and duplicate fields are dropped silently.
    Ignore,
    /// They are dropped with a `Warning` header each (upstream's default).
    #[default]
    Warn,
    /// They fail the request with 400.
    Strict,
}

/// The query parameters of a resource request.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `watch=true`.
    pub watch: bool,
    /// `labelSelector`.
    pub label_selector: String,
    /// `fieldSelector`.
    pub field_selector: String,
    /// `limit` (0: none).
    pub limit: usize,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `resourceVersionMatch`.
    pub resource_version_match: Option<String>,
    /// `allowWatchBookmarks`.
    pub allow_watch_bookmarks: bool,
    /// `timeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldValidation`.
    pub field_validation: FieldValidation,
    /// `gracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `propagationPolicy`.
    pub propagation_policy: Option<String>,
    /// `orphanDependents` (deprecated).
    pub orphan_dependents: Option<bool>,
    /// `includeObject` for Tables.
    pub include_object: IncludeObject,
}

fn parse_bool(name: &str, value: &str) -> ApiResult<bool> {
    match value {
        "true" | "1" | "True" | "TRUE" => Ok(true),
        "false" | "0" | "False" | "FALSE" | "" => Ok(false),
        other => Err(ApiError::bad_request(format!(
            "invalid value {other:?} for query parameter {name}: expected true or false"
        ))),
    }
}

fn parse_int<T: std::str::FromStr>(name: &str, value: &str) -> ApiResult<T> {
    value.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid value {value:?} for query parameter {name}: expected an integer"
        ))
    })
}

impl Query {
    /// Parses a query string; unknown parameters are ignored as upstream does.
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
        let mut q = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "watch" => q.watch = parse_bool(&k, &v)?,
                "labelSelector" => q.label_selector = v,
                "fieldSelector" => q.field_selector = v,
                "limit" => q.limit = parse_int::<i64>(&k, &v)?.max(0) as usize,
                "continue" if !v.is_empty() => q.continue_token = Some(v),
                "resourceVersion" if !v.is_empty() => q.resource_version = Some(v),
                "resourceVersionMatch" if !v.is_empty() => q.resource_version_match = Some(v),
                "allowWatchBookmarks" => q.allow_watch_bookmarks = parse_bool(&k, &v)?,
                "timeoutSeconds" => q.timeout_seconds = Some(parse_int(&k, &v)?),
                "sendInitialEvents" => q.send_initial_events = Some(parse_bool(&k, &v)?),
                "dryRun" => match v.as_str() {
                    "All" => q.dry_run = true,
                    "" => {}
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "Invalid dry run value: {other:?}: supported values: \"All\""
                        )));
                    }
                },
                "fieldValidation" => {
                    q.field_validation = match v.as_str() {
                        "Strict" => FieldValidation::Strict,
                        "Warn" | "" => FieldValidation::Warn,
                        "Ignore" => FieldValidation::Ignore,
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "fieldValidation {other:?} is invalid: valid values are Ignore, Warn, Strict"
                            )));
                        }
                    }
                }
                "gracePeriodSeconds" => q.grace_period_seconds = Some(parse_int(&k, &v)?),
                "propagationPolicy" if !v.is_empty() => q.propagation_policy = Some(v),
                "orphanDependents" => q.orphan_dependents = Some(parse_bool(&k, &v)?),
                "includeObject" => {
                    q.include_object = IncludeObject::parse(&v).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "includeObject {v:?} is invalid: valid values are None, Metadata, Object"
                        ))
                    })?
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

/// The verb of a resource request, as upstream names it.
pub fn verb(method: &Method, target: &Target, query: &Query) -> &'static str {
    match *method {
        Method::GET | Method::HEAD if target.name.is_some() => "get",
        Method::GET | Method::HEAD if query.watch => "watch",
        Method::GET | Method::HEAD => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if target.name.is_some() => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}

/// The form the answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The object or list as JSON.
    Json,
    /// A `meta.k8s.io/v1` Table.
    Table,
    /// `PartialObjectMetadata` / `PartialObjectMetadataList`.
    Metadata,
}

/// Picks the answer's form from `Accept`, in the client's order of preference.
pub fn negotiate(headers: &HeaderMap) -> ApiResult<Output> {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.trim().is_empty())
    else {
        return Ok(Output::Json);
    };
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let mut as_kind = None;
        let mut group = None;
        let mut version = None;
        for p in parts {
            match p.split_once('=') {
                Some(("as", v)) => as_kind = Some(v),
                Some(("g", v)) => group = Some(v),
                Some(("v", v)) => version = Some(v),
                _ => {}
            }
        }
        let json_like = matches!(
            media,
            "application/json" | "*/*" | "application/*" | "application/yaml"
        );
        if !json_like {
            continue;
        }
        match as_kind {
            None => return Ok(Output::Json),
            Some("Table")
                if group == Some("meta.k8s.io") && matches!(version, Some("v1" | "v1beta1")) =>
            {
                return Ok(Output::Table);
            }
            Some("PartialObjectMetadata" | "PartialObjectMetadataList")
                if group == Some("meta.k8s.io") && matches!(version, Some("v1" | "v1beta1")) =>
            {
                return Ok(Output::Metadata);
            }
            Some(_) => continue,
        }
    }
    Err(ApiError::not_acceptable(format!(
        "only the following media types are accepted: application/json, application/yaml, \
         application/json;as=Table;v=v1;g=meta.k8s.io (asked for {accept})"
    )))
}

/// The body's media type without parameters (`application/json` when absent).
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "application/json".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn paths_resolve_like_upstream() {
        let t = parse_path("/api/v1/namespaces/default/pods/web/status").unwrap();
        assert_eq!(
            (t.def.plural, t.namespace.as_deref(), t.name.as_deref()),
            ("pods", Some("default"), Some("web"))
        );
        assert_eq!(t.subresource.map(|s| s.name), Some("status"));
        let t = parse_path("/api/v1/namespaces/default").unwrap();
        assert_eq!(
            (t.def.plural, t.name.as_deref(), t.namespace),
            ("namespaces", Some("default"), None)
        );
        let t = parse_path("/api/v1/namespaces/kube-system/finalize").unwrap();
        assert_eq!(
            (t.def.plural, t.name.as_deref()),
            ("namespaces", Some("kube-system"))
        );
        assert_eq!(t.subresource.map(|s| s.name), Some("finalize"));
        let t = parse_path("/apis/apps/v1/deployments").unwrap();
        assert_eq!(
            (t.def.kind, t.namespace, t.name),
            ("Deployment", None, None)
        );
        let t = parse_path("/apis/apps/v1/namespaces/x/deployments/d/scale").unwrap();
        assert_eq!(t.subresource.map(|s| s.name), Some("scale"));
        for bad in [
            "/api/v2/pods",
            "/apis/apps/v1/namespaces/x/nodes",
            "/api/v1/pods/a/b/c",
            "/api/v1/namespaces/x/pods/a/bogus",
            "/other",
        ] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_parameters_parse_and_bad_values_are_refused() {
        let q = Query::parse(Some("watch=1&limit=500&labelSelector=a%3Db&fieldValidation=Strict&dryRun=All&timeoutSeconds=30")).unwrap();
        assert!(q.watch && q.dry_run);
        assert_eq!(
            (q.limit, q.label_selector.as_str(), q.timeout_seconds),
            (500, "a=b", Some(30))
        );
        assert_eq!(q.field_validation, FieldValidation::Strict);
        assert!(Query::parse(Some("limit=abc")).is_err());
        assert!(Query::parse(Some("dryRun=Some")).is_err());
        assert!(Query::parse(Some("fieldValidation=Loose")).is_err());
    }

    #[test]
    fn accept_headers_choose_the_form() {
        let mut h = HeaderMap::new();
        assert_eq!(negotiate(&h).unwrap(), Output::Json);
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"));
        assert_eq!(negotiate(&h).unwrap(), Output::Table);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/vnd.kubernetes.protobuf, application/json"),
        );
        assert_eq!(negotiate(&h).unwrap(), Output::Json);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/vnd.kubernetes.protobuf"),
        );
        assert_eq!(negotiate(&h).unwrap_err().code, 406);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            ),
        );
        assert_eq!(negotiate(&h).unwrap(), Output::Metadata);
    }
}

//! Every failure the API answers is a `meta.k8s.io/v1` Status with upstream's reason and
//! code. Handlers return [`ApiError`]; it turns itself into the response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::registry::ResourceDef;
use crate::storage::StorageError;

/// One field problem of a 422 Invalid answer (`details.causes[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`, …
    pub reason: &'static str,
    /// What is wrong, in upstream's words (`Required value`).
    pub message: String,
    /// The field path (`spec.containers[0].image`).
    pub field: String,
}

/// A failed request: becomes a Status object with `code`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Upstream's `reason` (`NotFound`, `Conflict`, …).
    pub reason: &'static str,
    /// The human message kubectl prints.
    pub message: String,
    /// `details`: name, group, kind, uid, causes.
    pub details: Option<Value>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

fn details(def: &ResourceDef, name: &str) -> Value {
    json!({"name": name, "group": def.group, "kind": def.plural})
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// 404: `pods "web" not found`.
    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", def.qualified_plural()),
        );
        e.details = Some(details(def, name));
        e
    }

    /// 404 for a path that names no resource.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 409: `pods "web" already exists`.
    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", def.qualified_plural()),
        );
        e.details = Some(details(def, name));
        e
    }

    /// 409 Conflict with upstream's "the object has been modified" message.
    pub fn conflict_modified(def: &ResourceDef, name: &str) -> Self {
        Self::conflict(
            def,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 Conflict: `Operation cannot be fulfilled on pods "web": <why>`.
    pub fn conflict(def: &ResourceDef, name: &str, why: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                def.qualified_plural()
            ),
        );
        e.details = Some(details(def, name));
        e
    }

    /// 422 Invalid: `Pod "web" is invalid: [spec.x: Required value, …]`.
    pub fn invalid(def: &ResourceDef, name: &str, causes: Vec<Cause>) -> Self {
        let list: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let joined = if list.len() == 1 {
            list.join("")
        } else {
            format!("[{}]", list.join(", "))
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{}.{} \"{name}\" is invalid: {joined}", def.kind, def.group).replacen(
                &format!("{}. ", def.kind),
                &format!("{} ", def.kind),
                1,
            ),
        );
        if def.group.is_empty() {
            e.message = format!("{} \"{name}\" is invalid: {joined}", def.kind);
        }
        let causes: Vec<Value> = causes
            .into_iter()
            .map(|c| {
                // Upstream's `field` is omitempty: an error about the whole object has none.
                if c.field.is_empty() {
                    json!({"reason": c.reason, "message": c.message})
                } else {
                    json!({"reason": c.reason, "message": c.message, "field": c.field})
                }
            })
            .collect();
        e.details =
            Some(json!({"name": name, "group": def.group, "kind": def.kind, "causes": causes}));
        e
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 403 Forbidden: `pods "web" is forbidden: <why>` (what admission plugins answer).
    pub fn forbidden(def: &ResourceDef, name: &str, why: &str) -> Self {
        let mut e = Self::new(
            403,
            "Forbidden",
            format!("{} \"{name}\" is forbidden: {why}", def.qualified_plural()),
        );
        e.details = Some(details(def, name));
        e
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 406 NotAcceptable.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message)
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 410 Gone (expired resourceVersion or continue token).
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 429 TooManyRequests with `Retry-After`.
    pub fn too_many_requests(message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(429, "TooManyRequests", message);
        e.retry_after = Some(retry_after);
        e.details = Some(json!({"retryAfterSeconds": retry_after}));
        e
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// 503 ServiceUnavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        let mut e = Self::new(503, "ServiceUnavailable", message);
        e.retry_after = Some(1);
        e
    }

    /// 504 Timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    /// A storage failure on `def`/`name`, mapped to its status reason.
    pub fn from_storage(err: StorageError, def: &ResourceDef, name: &str) -> Self {
        match err {
            StorageError::NotFound { .. } => Self::not_found(def, name),
            StorageError::AlreadyExists { .. } => Self::already_exists(def, name),
            StorageError::Conflict { .. } => Self::conflict_modified(def, name),
            other => Self::from(other),
        }
    }

    /// The Status object.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match &err {
            StorageError::NotFound { .. } => Self::no_route(),
            StorageError::AlreadyExists { key } => {
                Self::new(409, "AlreadyExists", format!("{key} already exists"))
            }
            StorageError::Conflict { .. } => Self::new(409, "Conflict", err.to_string()),
            StorageError::Compacted { requested, .. } => Self::gone(format!(
                "too old resource version: {requested} ({})",
                match &err {
                    StorageError::Compacted { compacted, .. } => *compacted,
                    _ => 0,
                }
            )),
            StorageError::FutureRevision { .. } => {
                Self::timeout(format!("Too large resource version: {err}"))
            }
            StorageError::InvalidContinue { .. } | StorageError::InvalidKey { .. } => {
                Self::bad_request(err.to_string())
            }
            StorageError::Unavailable { .. } | StorageError::Timeout(_) => {
                Self::unavailable(err.to_string())
            }
            _ => Self::internal(err.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.status()).unwrap_or_default();
        let mut response = (code, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A Success Status (deletes that finish at once, bindings, evictions).
pub fn success_status(def: &ResourceDef, name: &str, uid: Option<&str>, code: u16) -> Value {
    let mut d = details(def, name);
    if let Some(uid) = uid {
        d["uid"] = Value::String(uid.to_owned());
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": d,
        "code": code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    #[test]
    fn messages_read_like_upstream() {
        let pods = registry::find("", "v1", "pods").unwrap();
        let deploy = registry::find("apps", "v1", "deployments").unwrap();
        assert_eq!(
            ApiError::not_found(pods, "web").message,
            "pods \"web\" not found"
        );
        assert_eq!(
            ApiError::not_found(deploy, "web").message,
            "deployments.apps \"web\" not found"
        );
        let c = ApiError::conflict_modified(deploy, "web");
        assert_eq!(c.code, 409);
        assert!(
            c.message
                .starts_with("Operation cannot be fulfilled on deployments.apps \"web\"")
        );
        let inv = ApiError::invalid(
            pods,
            "web",
            vec![
                Cause {
                    reason: "FieldValueRequired",
                    message: "Required value".into(),
                    field: "spec.containers[0].image".into(),
                },
                Cause {
                    reason: "FieldValueRequired",
                    message: "Required value".into(),
                    field: "spec.containers[0].name".into(),
                },
            ],
        );
        assert_eq!(
            inv.message,
            "Pod \"web\" is invalid: [spec.containers[0].image: Required value, spec.containers[0].name: Required value]"
        );
        let inv = ApiError::invalid(
            deploy,
            "web",
            vec![Cause {
                reason: "FieldValueInvalid",
                message: "bad".into(),
                field: "spec.x".into(),
            }],
        );
        assert_eq!(
            inv.message,
            "Deployment.apps \"web\" is invalid: spec.x: bad"
        );
        assert_eq!(inv.status()["details"]["causes"][0]["field"], "spec.x");
    }

    #[test]
    fn storage_errors_map_to_reasons() {
        let e = ApiError::from(StorageError::Compacted {
            requested: 3,
            compacted: 9,
        });
        assert_eq!((e.code, e.reason), (410, "Expired"));
        let e = ApiError::from(StorageError::Unavailable { reason: "x".into() });
        assert_eq!(e.code, 503);
        assert_eq!(e.retry_after, Some(1));
    }
}

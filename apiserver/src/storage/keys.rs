//! Key layout and list continuation tokens.
//!
//! Keys look like upstream's: `/registry/<resource>/<namespace>/<name>` for namespaced
//! objects and `/registry/<resource>/<name>` for cluster-scoped ones, where `<resource>` is
//! the resource's storage prefix (`pods`, `deployments`, `minions` for nodes, …; the
//! registry of kinds owns that mapping). Continue tokens use upstream's encoding (base64 of
//! `{"v":"meta.k8s.io/v1","rv":N,"start":"<rest of key>\u0000"}`), so a token is tied to the
//! snapshot revision it was issued at.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use serde::{Deserialize, Serialize};

use super::{Revision, StorageError};

/// The root every Keelson key lives under, as in kube-apiserver's default `--etcd-prefix`.
pub const ROOT: &str = "/registry";

/// The key of one object: `/registry/<resource>/<namespace>/<name>`, or without the
/// namespace for cluster-scoped resources.
pub fn object_key(resource_prefix: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ROOT}/{resource_prefix}/{ns}/{name}"),
        None => format!("{ROOT}/{resource_prefix}/{name}"),
    }
}

/// The prefix that lists a resource in one namespace (`Some`) or everywhere (`None`).
pub fn list_prefix(resource_prefix: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{ROOT}/{resource_prefix}/{ns}/"),
        None => format!("{ROOT}/{resource_prefix}/"),
    }
}

/// Checks a key given to get/create/update/delete.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    let reason = if !key.starts_with('/') {
        "keys start with /"
    } else if key.ends_with('/') {
        "keys do not end with /"
    } else if key.contains('\0') {
        "keys contain no NUL byte"
    } else if key.split('/').any(|seg| seg == "." || seg == "..") {
        "keys contain no . or .. segment"
    } else {
        return Ok(());
    };
    Err(StorageError::InvalidKey {
        key: key.to_owned(),
        reason,
    })
}

/// Checks a prefix given to list/watch/count: it must name a directory.
pub fn validate_prefix(prefix: &str) -> Result<(), StorageError> {
    if !prefix.starts_with('/') || !prefix.ends_with('/') || prefix.contains('\0') {
        return Err(StorageError::InvalidKey {
            key: prefix.to_owned(),
            reason: "prefixes start and end with /",
        });
    }
    Ok(())
}

/// The smallest key greater than every key starting with `prefix` (etcd's range end).
/// Prefixes end in `/`, so bumping that last byte is always possible.
pub fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.as_bytes().to_vec();
    // Prefixes are validated to end with '/', an ASCII byte below 0xff.
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    String::from_utf8(end).unwrap_or_else(|_| format!("{prefix}\u{10ffff}"))
}

#[derive(Serialize, Deserialize)]
struct ContinueToken {
    v: String,
    rv: Revision,
    start: String,
}

const TOKEN_VERSION: &str = "meta.k8s.io/v1";

/// Encodes the token for the page after `last_key`, read at `revision`.
pub fn encode_continue(prefix: &str, last_key: &str, revision: Revision) -> String {
    let rest = last_key.strip_prefix(prefix).unwrap_or(last_key);
    let token = ContinueToken {
        v: TOKEN_VERSION.to_owned(),
        rv: revision,
        start: format!("{rest}\0"),
    };
    // Serializing a struct of strings and an integer cannot fail.
    let json = serde_json::to_vec(&token).unwrap_or_default();
    URL_SAFE.encode(json)
}

/// Decodes a continue token into (the first key to read, the snapshot revision).
pub fn decode_continue(prefix: &str, token: &str) -> Result<(String, Revision), StorageError> {
    let bad = |reason: &str| StorageError::InvalidContinue {
        reason: reason.to_owned(),
    };
    let raw = URL_SAFE
        .decode(token.trim())
        .map_err(|_| bad("not base64"))?;
    let token: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad("not a token"))?;
    if token.v != TOKEN_VERSION {
        return Err(bad("unknown token version"));
    }
    if token.rv <= 0 {
        return Err(bad("token carries no revision"));
    }
    if token.start.is_empty() || token.start.starts_with('/') || token.start.contains("..") {
        return Err(bad("token start key is outside the listed prefix"));
    }
    Ok((format!("{prefix}{}", token.start), token.rv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_follow_upstream_layout() {
        assert_eq!(
            object_key("pods", Some("default"), "web"),
            "/registry/pods/default/web"
        );
        assert_eq!(
            object_key("minions", None, "node-1"),
            "/registry/minions/node-1"
        );
        assert_eq!(list_prefix("pods", None), "/registry/pods/");
        assert_eq!(
            list_prefix("pods", Some("kube-system")),
            "/registry/pods/kube-system/"
        );
    }

    #[test]
    fn key_validation() {
        assert!(validate_key("/registry/pods/a/b").is_ok());
        for bad in ["registry/x", "/registry/x/", "/a/../b", "/a/./b", "/a\0b"] {
            assert!(validate_key(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(validate_prefix("/registry/pods/").is_ok());
        assert!(validate_prefix("/registry/pods").is_err());
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        let end = prefix_end("/registry/pods/");
        assert_eq!(end, "/registry/pods0");
        assert!("/registry/pods/zzz" < end.as_str());
        assert!("/registry/podsx" > end.as_str());
    }

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let prefix = "/registry/pods/";
        let token = encode_continue(prefix, "/registry/pods/ns/web-7", 42);
        let (start, rv) = decode_continue(prefix, &token).unwrap();
        assert_eq!(rv, 42);
        assert_eq!(start, "/registry/pods/ns/web-7\0");
        assert!(start.as_str() > "/registry/pods/ns/web-7");
        assert!(decode_continue(prefix, "!!!").is_err());
        let evil = URL_SAFE.encode(br#"{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x"}"#);
        assert!(decode_continue(prefix, &evil).is_err());
        let no_rv = URL_SAFE.encode(br#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#);
        assert!(decode_continue(prefix, &no_rv).is_err());
    }
}

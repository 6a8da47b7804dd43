//! OpenAPI v2 and v3 documents built from k8s-openapi schemas, and schema-driven field validation.
//!
//! The documents describe every resource of the [registry](crate::registry): schemas
//! (k8s-openapi's, tagged with `x-kubernetes-group-version-kind`) and paths whose
//! operations carry `x-kubernetes-group-version-kind` / `x-kubernetes-action` and, on
//! writes, the `fieldValidation` parameter that tells kubectl ≥ 1.29 to leave validation
//! to the server. `kubectl explain` reads the same v3 documents.
//!
//! `/openapi/v2` is also served in gnostic's protobuf form ([`gnostic`]), which is what
//! kubectl 1.27 and 1.28 read for client-side validation and `kubectl explain`.
//!
//! Documents are built on first request and kept serialized; building one takes a
//! noticeable fraction of a second, so callers on an async runtime may prefer
//! `spawn_blocking` for the first call.

pub mod gnostic;
mod paths;
mod render;
mod schemas;
#[cfg(test)]
mod tests;
mod v2;
mod validate;

use std::sync::{LazyLock, OnceLock};

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::registry::{RESOURCES, ResourceDef, group_versions};
use schemas::Dialect;
pub use v2::{V2Document, V2Encoding, document as v2_document};

/// The Kubernetes version the documents describe.
const INFO_VERSION: &str = "v1.33.0";

/// One group-version's v3 document, built on first use.
#[derive(Debug)]
struct V3Slot {
    /// `api/v1`, `apis/apps/v1`.
    path: String,
    group: &'static str,
    version: &'static str,
    document: OnceLock<Bytes>,
}

impl V3Slot {
    fn document(&self) -> &Bytes {
        self.document
            .get_or_init(|| build_v3(self.group, self.version))
    }
}

static V3: LazyLock<Vec<V3Slot>> = LazyLock::new(|| {
    group_versions()
        .into_iter()
        .map(|(group, version)| V3Slot {
            path: paths::prefix(group, version)
                .trim_start_matches('/')
                .to_owned(),
            group,
            version,
            document: OnceLock::new(),
        })
        .collect()
});

fn resources_of(group: &str, version: &str) -> Vec<&'static ResourceDef> {
    RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect()
}

fn build_v3(group: &str, version: &str) -> Bytes {
    let resources = resources_of(group, version);
    let doc = json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": INFO_VERSION },
        "paths": paths::paths(Dialect::V3, &resources),
        "components": { "schemas": schemas::definitions(Dialect::V3, &resources) },
    });
    Bytes::from(doc.to_string())
}

/// FNV-1a: a cheap hash that is stable across builds and platforms.
fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `GET /openapi/v3`: every group-version's document with a URL whose `hash` changes
/// when the document does (clients cache by URL). Builds every document on first call.
pub fn v3_index() -> &'static Value {
    static INDEX: LazyLock<Value> = LazyLock::new(|| {
        let mut paths = Map::new();
        for slot in V3.iter() {
            let hash = stable_hash(slot.document());
            let url = format!("/openapi/v3/{}?hash={hash:016X}", slot.path);
            paths.insert(slot.path.clone(), json!({ "serverRelativeURL": url }));
        }
        json!({ "paths": paths })
    });
    &INDEX
}

/// `GET /openapi/v3/<path>` (`api/v1`, `apis/apps/v1`): the OpenAPI 3.0 document of one
/// group-version as JSON, or `None` if it is not served.
pub fn v3_document(path: &str) -> Option<Bytes> {
    let path = path.trim_matches('/');
    V3.iter()
        .find(|slot| slot.path == path)
        .map(|slot| slot.document().clone())
}

/// `GET /openapi/v2`: the Swagger 2.0 document of every served resource, as JSON.
pub fn v2() -> Bytes {
    v2_document(V2Encoding::Json).body.clone()
}

/// Every unknown field of `obj` against the schema of `definition`
/// (`io.k8s.api.core.v1.Pod`), worded as upstream's strict decoding does:
/// `unknown field "spec.containers[0].imagex"`. Maps (labels, data, …), preserved
/// unknown fields, int-or-string values and opaque objects (RawExtension, FieldsV1)
/// accept anything. An unknown definition has no unknown fields.
pub fn unknown_fields(definition: &str, obj: &Value) -> Vec<String> {
    static DEFINITIONS: LazyLock<Map<String, Value>> = LazyLock::new(|| {
        let resources: Vec<&'static ResourceDef> = RESOURCES.iter().collect();
        schemas::validation_definitions(&resources)
    });
    validate::unknown_fields(&DEFINITIONS, definition, obj)
}

/// Parses a JSON body, keeping the last value of a duplicated key as upstream's decoder
/// does, and names every duplicate as upstream does: `duplicate field "metadata.name"`.
pub fn parse_with_duplicates(body: &[u8]) -> Result<(Value, Vec<String>), serde_json::Error> {
    validate::parse_with_duplicates(body)
}

//! `/openapi/v2` in gnostic's protobuf form, as kube-apiserver serves it: the
//! `openapi.v2.Document` message of github.com/google/gnostic-models.
//!
//! kubectl 1.27 and 1.28 ask for this form only; they read it for client-side validation
//! (every kubectl reads it for a `kind: List`), to learn which kinds take the
//! `fieldValidation` parameter, and for `kubectl explain`. The messages are written by
//! hand with prost (`messages`) and filled from the JSON document (`convert`).

mod convert;
mod messages;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use prost::Message as _;
use serde_json::Value;

pub use messages::*;

/// The media type clients ask for (kubectl's `Accept`). Its `@` is not valid in a media
/// type, so upstream answers with [`CONTENT_TYPE`] and accepts both.
pub const ACCEPT_TYPE: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The `Content-Type` of the answer.
pub const CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `doc` (Swagger 2.0 as JSON) as gnostic's [`Document`], with the JSON pointers of
/// whatever the messages have no place for (none for the documents this server builds).
pub fn document(doc: &Value) -> (Document, Vec<String>) {
    let mut converter = convert::Converter::default();
    let document = converter.document(doc);
    (document, converter.skipped)
}

/// `doc` (Swagger 2.0 as JSON) encoded as gnostic's protobuf `Document`.
pub(crate) fn encode(doc: &Value) -> Bytes {
    let (document, skipped) = document(doc);
    if !skipped.is_empty() {
        tracing::warn!(
            ?skipped,
            "OpenAPI v2 values without a place in gnostic's messages"
        );
    }
    Bytes::from(document.encode_to_vec())
}

//! The messages of gnostic's `openapi.v2` protobuf package (`OpenAPIv2.proto`) that a
//! Kubernetes document uses, with gnostic's field numbers. Messages keep gnostic's names;
//! fields this server never writes are left out (a decoder skips them as unknown fields).

mod document;
mod paths;
mod schema;

pub use document::*;
pub use paths::*;
pub use schema::*;

//! The Keelson API server: the Kubernetes REST API over a pluggable storage layer.
//!
//! [`storage`] is the contract kube-apiserver's storage gives, with two backends (embedded
//! SQLite, etcd v3); this crate is the only one that touches it. [`registry`] declares
//! every served resource once; [`api`] serves them over HTTP from per-resource watch
//! caches ([`cache`]) with upstream's semantics, so real kubectl and kube-rs clients work
//! unmodified.

pub(crate) mod admission;
pub mod alloc;
pub mod api;
pub mod cache;
pub mod convert;
pub mod defaults;
pub mod discovery;
pub mod local;
pub mod metrics;
pub mod object;
pub mod openapi;
pub mod patch;
pub mod pointer;
pub mod protobuf;
pub mod registry;
pub mod selector;
pub mod server;
pub mod storage;
pub mod table;
pub mod validation;
mod value_visit;

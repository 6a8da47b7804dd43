//! The Keelson API server: the Kubernetes REST API over a pluggable storage layer.
//!
//! Today this crate holds the [`storage`] layer — one trait with the contract
//! kube-apiserver's storage gives, and its two backends (embedded SQLite, etcd v3). It is
//! the only crate that touches storage; every other component reaches the cluster through
//! the HTTP API this crate will serve.

pub mod storage;

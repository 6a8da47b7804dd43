//! Keelson's controllers: one reconciler per file, each driving the cluster toward desired
//! state through the Kubernetes API, as kube-controller-manager's.
//!
//! The shared machinery: [`config`] (which controllers, their settings), [`manager`] (leader
//! election, start, drain; the [`manager::Context`] each controller gets), [`informers`]
//! (one list+watch per kind, shared), [`workqueue`] (client-go's rate-limited queue) and
//! [`runner`] (workers over a queue); [`owner`] (controller references, adoption and release)
//! and [`podutil`] (active, ready, available pods); [`expectations`] (creates and deletes in
//! flight, so watch lag never makes a controller act twice); [`service_pods`] (which pods
//! back a Service, shared by the [`endpoints`] and [`endpointslice`] controllers).
//!
//! Architecture invariant: controllers talk to the cluster only through the API.

pub mod config;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod expectations;
pub mod garbage_collector;
pub mod informers;
pub mod local_path;
pub mod manager;
pub mod namespace;
pub mod node_ipam;
pub mod node_lifecycle;
pub mod owner;
pub mod podutil;
pub mod replicaset;
pub mod runner;
pub mod service_pods;
pub mod taint_eviction;
pub mod volume_binder;
pub mod workqueue;

pub use config::Settings;
pub use keelson_client::events;
pub use manager::{Context, ManagerError, run};

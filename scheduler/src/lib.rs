//! The Keelson scheduler: binds pending pods to nodes through the Kubernetes API.
//!
//! Being built (issue 5): `queue` (active, backoff and unschedulable pods), `config`
//! (KubeSchedulerConfiguration profiles), `resources` (per-node requested/allocatable
//! arithmetic and the NodeResourcesFit / BalancedAllocation rules).
pub mod config;
pub mod daemon;
pub mod framework;
pub mod plugins;
pub mod queue;
pub mod resources;
pub mod selector;
pub mod snapshot;

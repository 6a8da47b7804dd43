//! The Keelson scheduler: binds pending pods to nodes through the Kubernetes API.
//!
//! Nothing is built here yet: the scheduling queue, node snapshot and plugin framework arrive with the scheduler issue.

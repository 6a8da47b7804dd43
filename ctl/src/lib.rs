//! keelctl: a kubectl-compatible command line that applies YAML manifests through the Kubernetes API.
//!
//! Nothing is built here yet: the keelctl binary arrives with its own issue.

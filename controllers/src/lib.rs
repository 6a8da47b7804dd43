//! Keelson's controllers: one reconciler per file, each driving the cluster toward desired state through the Kubernetes API.
//!
//! Nothing is built here yet: the ReplicaSet, Deployment, endpoints, garbage-collector, namespace, node-lifecycle and volume controllers arrive with the controllers issue.

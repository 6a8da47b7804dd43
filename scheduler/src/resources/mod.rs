//! Node resource arithmetic as upstream kube-scheduler v1.33 does it: exact quantity parsing,
//! a pod's effective request (init-container max rule, sidecars, overhead, non-zero
//! defaults), per-node accounting with host ports, and the NodeResourcesFit,
//! NodeResourcesBalancedAllocation and NodePorts rules.
//!
//! Everything here is pure and synchronous; plugins wrap these functions.

pub mod fit;
pub mod node_info;
pub mod pod;
pub mod ports;
pub mod resource;
pub mod score;

pub use fit::{IgnoredResources, InsufficientResource, fits_request};
pub use keelson_client::quantity::{self, ExactQuantity, QuantityError};
pub use node_info::{FitLine, NodeInfo, pod_key};
pub use pod::{
    DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, MissingRequests, PodResources,
    pod_request_amounts,
};
pub use ports::{HostPort, HostPortInfo, NODE_PORTS_REASON, fits_ports, pod_host_ports};
pub use resource::{Resource, ResourceAmounts, is_extended_resource_name, is_scalar_resource_name};
pub use score::{
    FitScoring, MAX_NODE_SCORE, ResourceSpec, ScoringStrategy, UtilizationShapePoint,
    balanced_allocation_score, balanced_allocation_score_with, balanced_pod_requests,
    default_resources, fit_pod_requests, fit_score, fit_score_with,
};

//! Generated gRPC bindings (tonic + prost) for the CRI runtime.v1 API that the kubelet speaks to containerd.
//!
//! Nothing is built here yet: the CRI protobuf definitions and their build script arrive with the containerd runtime issue.

//! The Keelson kubelet: runs the pods bound to one node through a CRI-shaped runtime (containerd, or a simulated runtime).
//!
//! Nothing is built here yet: node registration, pod workers and the runtime boundary arrive with the kubelet issue.

//! The Keelson proxy: programs ClusterIP and NodePort load balancing for Services on a node.
//!
//! Nothing is built here yet: the iptables programming arrives with the proxy issue.

//! What the controller manager runs and with which settings: kube-controller-manager's
//! `--controllers` list (upstream names and their short aliases), worker counts and the
//! node-lifecycle, IPAM and storage settings.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use keelson_client::leader::LeaseSettings;

/// One controller the manager knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// Upstream's name (`replicaset-controller`).
    pub name: &'static str,
    /// Upstream's short alias (`replicaset`).
    pub alias: &'static str,
    /// Whether `*` turns it on.
    pub default_on: bool,
}

/// Every controller, in start order.
pub const KNOWN: &[Known] = &[
    Known {
        name: "replicaset-controller",
        alias: "replicaset",
        default_on: true,
    },
    Known {
        name: "deployment-controller",
        alias: "deployment",
        default_on: true,
    },
    Known {
        name: "endpoints-controller",
        alias: "endpoint",
        default_on: true,
    },
    Known {
        name: "endpointslice-controller",
        alias: "endpointslice",
        default_on: true,
    },
    Known {
        name: "garbage-collector-controller",
        alias: "garbagecollector",
        default_on: true,
    },
    Known {
        name: "namespace-controller",
        alias: "namespace",
        default_on: true,
    },
    Known {
        name: "node-lifecycle-controller",
        alias: "nodelifecycle",
        default_on: true,
    },
    Known {
        name: "taint-eviction-controller",
        alias: "taint-eviction-controller",
        default_on: true,
    },
    Known {
        name: "node-ipam-controller",
        alias: "nodeipam",
        default_on: true,
    },
    Known {
        name: "persistentvolume-binder-controller",
        alias: "persistentvolume-binder",
        default_on: true,
    },
    Known {
        name: "local-path-provisioner",
        alias: "local-path",
        default_on: true,
    },
];

/// A `--controllers` list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// A name no controller has.
    #[error("--controllers: {0:?} is not a known controller (known: {known})", known = known_names())]
    Unknown(String),
}

fn known_names() -> String {
    KNOWN.iter().map(|k| k.alias).collect::<Vec<_>>().join(", ")
}

/// Resolves a `--controllers` list as kube-controller-manager does: `*` is every
/// controller on by default, `foo` turns one on, `-foo` turns one off (names or aliases).
/// An empty list means `*`.
pub fn resolve(list: &[String]) -> Result<BTreeSet<&'static str>, ListError> {
    let find = |name: &str| {
        KNOWN
            .iter()
            .find(|k| k.name == name || k.alias == name)
            .map(|k| k.name)
            .ok_or_else(|| ListError::Unknown(name.to_owned()))
    };
    let items: Vec<&str> = list
        .iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let star = items.is_empty() || items.contains(&"*");
    let mut on: BTreeSet<&'static str> = if star {
        KNOWN
            .iter()
            .filter(|k| k.default_on)
            .map(|k| k.name)
            .collect()
    } else {
        BTreeSet::new()
    };
    for item in items {
        if item == "*" {
            continue;
        }
        match item.strip_prefix('-') {
            Some(off) => {
                on.remove(find(off)?);
            }
            None => {
                on.insert(find(item)?);
            }
        }
    }
    Ok(on)
}

/// Everything the manager and its controllers are configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Upstream names of the controllers to run.
    pub enabled: BTreeSet<&'static str>,
    /// Leader election on `kube-system/kube-controller-manager`, when on.
    pub leader_election: Option<LeaseSettings>,
    /// This instance's name in leases and events.
    pub identity: String,
    /// How long a shutdown waits for work in flight.
    pub drain_timeout: Duration,
    /// Workers per controller (upstream's `--concurrent-*-syncs`).
    pub workers: Workers,
    /// Node lifecycle: how long a node may go without renewing before it is Unknown
    /// (`--node-monitor-grace-period`, 40 s).
    pub node_monitor_grace_period: Duration,
    /// Node lifecycle: how often node health is checked (`--node-monitor-period`, 5 s).
    pub node_monitor_period: Duration,
    /// Node lifecycle: grace for a node that never posted status (`--node-startup-grace-period`, 60 s).
    pub node_startup_grace_period: Duration,
    /// Node IPAM: the cluster's pod CIDR (`--cluster-cidr`); `None` turns allocation off.
    pub cluster_cidr: Option<String>,
    /// Node IPAM: prefix length of each node's IPv4 range (`--node-cidr-mask-size`, 24).
    pub node_cidr_mask_size: u8,
    /// Node IPAM: prefix length of each node's IPv6 range (`--node-cidr-mask-size-ipv6`, 64).
    pub node_cidr_mask_size_ipv6: u8,
    /// Local provisioner: where volume directories are made (one per PV, under the
    /// selected node's directory `<root>/<node>/`).
    pub local_path_root: PathBuf,
}

/// Workers per controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workers {
    /// `--concurrent-replicaset-syncs` (5).
    pub replicaset: usize,
    /// `--concurrent-deployment-syncs` (5).
    pub deployment: usize,
    /// `--concurrent-endpoint-syncs` (5).
    pub endpoints: usize,
    /// `--concurrent-service-endpoint-syncs` (5).
    pub endpointslice: usize,
    /// `--concurrent-gc-syncs` (20).
    pub garbage_collector: usize,
    /// `--concurrent-namespace-syncs` (10).
    pub namespace: usize,
}

impl Default for Workers {
    fn default() -> Self {
        Self {
            replicaset: 5,
            deployment: 5,
            endpoints: 5,
            endpointslice: 5,
            garbage_collector: 20,
            namespace: 10,
        }
    }
}

impl Settings {
    /// Upstream's defaults with every default-on controller, no leader election.
    pub fn new(identity: String) -> Self {
        Self {
            enabled: KNOWN
                .iter()
                .filter(|k| k.default_on)
                .map(|k| k.name)
                .collect(),
            leader_election: None,
            identity,
            drain_timeout: Duration::from_secs(10),
            workers: Workers::default(),
            node_monitor_grace_period: Duration::from_secs(40),
            node_monitor_period: Duration::from_secs(5),
            node_startup_grace_period: Duration::from_secs(60),
            cluster_cidr: Some("10.244.0.0/16".to_owned()),
            node_cidr_mask_size: 24,
            node_cidr_mask_size_ipv6: 64,
            local_path_root: PathBuf::from("/var/lib/keelson/local-path"),
        }
    }

    /// Only the named controllers (upstream names or aliases; unknown names are an error).
    pub fn only(mut self, names: &[&str]) -> Result<Self, ListError> {
        let list: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        self.enabled = if list.is_empty() {
            BTreeSet::new()
        } else {
            resolve(&list)?
        };
        Ok(self)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<&'static str> {
        let list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        resolve(&list).unwrap().into_iter().collect()
    }

    #[test]
    fn lists_resolve_as_upstream() {
        assert_eq!(names(&[]).len(), KNOWN.len());
        assert_eq!(names(&["*"]).len(), KNOWN.len());
        assert_eq!(
            names(&["replicaset,deployment-controller"]),
            ["deployment-controller", "replicaset-controller"]
        );
        let all_but = names(&["*", "-nodeipam", "-garbage-collector-controller"]);
        assert_eq!(all_but.len(), KNOWN.len() - 2);
        assert!(!all_but.contains(&"node-ipam-controller"));
        let err = resolve(&["nope".to_owned()]).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"nope\" is not a known controller")
        );
    }
}

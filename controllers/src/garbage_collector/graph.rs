//! The dependency graph, as upstream's GraphBuilder keeps it: a node per object uid with its
//! owner references and the uids of its dependents. Owners referenced but not (yet)
//! observed get "virtual" nodes, which the workers verify with a live GET.
//!
//! Pure: every change returns the [`Action`]s it calls for (items to look at, events to
//! emit); the async shell carries them out.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// Upstream's `orphan` finalizer.
pub const ORPHAN: &str = "orphan";
/// Upstream's `foregroundDeletion` finalizer.
pub const FOREGROUND: &str = "foregroundDeletion";

/// An object's coordinates (an empty namespace for cluster-scoped objects).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Identity {
    /// `group/version` or `v1`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace, empty when cluster-scoped.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Uid.
    pub uid: String,
}

impl Identity {
    /// The coordinates an owner reference gives, in `namespace`.
    pub fn of_owner(owner: &OwnerReference, namespace: &str) -> Self {
        Self {
            api_version: owner.api_version.clone(),
            kind: owner.kind.clone(),
            namespace: namespace.to_owned(),
            name: owner.name.clone(),
            uid: owner.uid.clone(),
        }
    }

    /// Whether `owner` names exactly this object (uid, name, kind and apiVersion).
    pub fn matches(&self, owner: &OwnerReference) -> bool {
        owner.uid == self.uid
            && owner.name == self.name
            && owner.kind == self.kind
            && owner.api_version == self.api_version
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}/{}, namespace: {}, name: {}, uid: {}]",
            self.api_version, self.kind, self.namespace, self.name, self.uid
        )
    }
}

/// What a monitor saw of an object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// Its coordinates.
    pub identity: Identity,
    /// `metadata.ownerReferences`.
    pub owners: Vec<OwnerReference>,
    /// Whether `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// `metadata.finalizers`.
    pub finalizers: Vec<String>,
}

impl Observed {
    pub(super) fn has(&self, finalizer: &str) -> bool {
        self.finalizers.iter().any(|f| f == finalizer)
    }
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Its coordinates (for a virtual node, as its first dependent named it).
    pub identity: Identity,
    /// Its owner references.
    pub owners: Vec<OwnerReference>,
    /// Uids of the objects that name it as an owner.
    pub dependents: BTreeSet<String>,
    /// Has a deletionTimestamp.
    pub being_deleted: bool,
    /// Being deleted with the `foregroundDeletion` finalizer.
    pub deleting_dependents: bool,
    /// Being deleted with the `orphan` finalizer.
    pub orphaning: bool,
    /// Not observed by a monitor yet: only named by dependents.
    pub virtual_node: bool,
}

impl Node {
    pub(super) fn virtual_for(identity: Identity) -> Self {
        Self {
            identity,
            owners: Vec::new(),
            dependents: BTreeSet::new(),
            being_deleted: false,
            deleting_dependents: false,
            orphaning: false,
            virtual_node: true,
        }
    }
}

/// What a graph change asks the workers (or the event recorder) to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Look at this uid in attemptToDelete.
    AttemptDelete(String),
    /// Orphan the dependents of this uid.
    AttemptOrphan(String),
    /// Warn on `dependent` that its reference to `owner` names no object in its namespace.
    InvalidNamespace {
        /// The object holding the reference.
        dependent: Box<Identity>,
        /// The owner as referenced, in the dependent's namespace.
        owner: Box<Identity>,
    },
}

/// The graph and the cache of owners verified absent.
#[derive(Debug, Default)]
pub struct Graph {
    pub(super) nodes: HashMap<String, Node>,
    absent: HashSet<Identity>,
}

/// How many absent owners are remembered (upstream's LRU holds 500).
const ABSENT_CAPACITY: usize = 500;

impl Graph {
    /// The node of `uid`.
    pub fn node(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether `owner` was verified absent.
    pub fn is_absent(&self, owner: &Identity) -> bool {
        self.absent.contains(owner)
    }

    /// Whether the owner `reference` of an object in `namespace` was verified absent,
    /// at the only coordinates it can have: the object's namespace for a `namespaced`
    /// kind, none otherwise. A namespaced owner recorded absent without a namespace
    /// (the virtual node a cluster-scoped dependent makes) says nothing about it.
    pub fn recorded_absent(
        &self,
        reference: &OwnerReference,
        namespace: &str,
        namespaced: bool,
    ) -> bool {
        let namespace = if namespaced { namespace } else { "" };
        self.is_absent(&Identity::of_owner(reference, namespace))
    }

    /// Remembers that `owner` does not exist.
    pub fn mark_absent(&mut self, owner: Identity) {
        if self.absent.len() >= ABSENT_CAPACITY {
            self.absent.clear();
        }
        self.absent.insert(owner);
    }

    /// The dependents of `uid` whose reference to it blocks its deletion.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<&Node> {
        let Some(node) = self.nodes.get(uid) else {
            return Vec::new();
        };
        node.dependents
            .iter()
            .filter_map(|d| self.nodes.get(d))
            .filter(|d| {
                d.owners
                    .iter()
                    .any(|o| o.uid == uid && o.block_owner_deletion == Some(true))
            })
            .collect()
    }

    /// The dependents of `uid` that name `identity` exactly (matching) and those that
    /// name its uid otherwise or live in another namespace (nonmatching).
    pub(super) fn partition(&self, uid: &str, identity: &Identity) -> (Vec<String>, Vec<String>) {
        let (mut matching, mut nonmatching) = (Vec::new(), Vec::new());
        let Some(node) = self.nodes.get(uid) else {
            return (matching, nonmatching);
        };
        for dep_uid in &node.dependents {
            let Some(dep) = self.nodes.get(dep_uid) else {
                continue;
            };
            let (mut found, mut mismatch) = (false, false);
            if !identity.namespace.is_empty() && identity.namespace != dep.identity.namespace {
                mismatch = true;
            } else {
                for owner in dep.owners.iter().filter(|o| o.uid == identity.uid) {
                    if identity.matches(owner) {
                        found = true;
                    } else {
                        mismatch = true;
                    }
                }
            }
            if found {
                matching.push(dep_uid.clone());
            }
            if mismatch {
                nonmatching.push(dep_uid.clone());
            }
        }
        (matching, nonmatching)
    }

    pub(super) fn invalid_namespace(&self, dep_uid: &str, owner_uid: &str) -> Option<Action> {
        let dep = self.nodes.get(dep_uid)?;
        let owner = dep.owners.iter().find(|o| o.uid == owner_uid)?;
        Some(Action::InvalidNamespace {
            dependent: Box::new(dep.identity.clone()),
            owner: Box::new(Identity::of_owner(owner, &dep.identity.namespace)),
        })
    }

    /// A delete seen by a monitor.
    pub fn delete(&mut self, seen: &Identity) -> Vec<Action> {
        self.remove(&seen.uid, seen)
    }

    /// A worker verified that `gone` does not exist (the node of its uid may name other
    /// coordinates).
    pub fn virtual_delete(&mut self, gone: &Identity) -> Vec<Action> {
        let Some(node) = self.nodes.get(&gone.uid) else {
            return Vec::new();
        };
        let (matching, nonmatching) = self.partition(&gone.uid, gone);
        let is_virtual = node.virtual_node;
        let same = node.identity == *gone;
        if (is_virtual && nonmatching.is_empty()) || (!is_virtual && same) {
            return self.remove(&gone.uid, gone);
        }
        let mut actions = Vec::new();
        if !matching.is_empty() {
            self.mark_absent(gone.clone());
            actions.extend(matching.into_iter().map(Action::AttemptDelete));
        }
        if is_virtual && same {
            // Take the coordinates another dependent names and verify those.
            let other = nonmatching.iter().find_map(|d| {
                let dep = self.nodes.get(d)?;
                let owner = dep.owners.iter().find(|o| o.uid == gone.uid)?;
                let id = Identity::of_owner(owner, &dep.identity.namespace);
                (id != *gone).then_some(id)
            });
            if let Some(id) = other
                && let Some(node) = self.nodes.get_mut(&gone.uid)
            {
                node.identity = id;
                actions.push(Action::AttemptDelete(gone.uid.clone()));
            }
        }
        actions
    }

    fn remove(&mut self, uid: &str, gone: &Identity) -> Vec<Action> {
        let Some(node) = self.nodes.remove(uid) else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        for owner in &node.owners {
            if let Some(o) = self.nodes.get_mut(&owner.uid) {
                o.dependents.remove(uid);
                if o.deleting_dependents {
                    actions.push(Action::AttemptDelete(owner.uid.clone()));
                }
            }
        }
        if !node.dependents.is_empty() {
            self.mark_absent(gone.clone());
        }
        actions.extend(node.dependents.into_iter().map(Action::AttemptDelete));
        actions
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;

//! How the graph takes in what monitors observe, as upstream's GraphBuilder: new and
//! updated objects become (or turn virtual nodes into) observed nodes, owner references
//! become edges, and the transitions into foreground or orphan deletion queue work.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::graph::{Action, FOREGROUND, Graph, Identity, Node, ORPHAN, Observed};

impl Graph {
    /// An add or update seen by a monitor.
    pub fn upsert(&mut self, seen: Observed) -> Vec<Action> {
        let mut actions = Vec::new();
        let uid = seen.identity.uid.clone();
        // A virtual node becomes observed; dependents that named it otherwise are checked.
        if let Some(existing) = self.nodes.get(&uid)
            && existing.virtual_node
        {
            if existing.identity != seen.identity {
                let (_, invalid) = self.partition(&uid, &seen.identity);
                for dep in invalid {
                    let dep_ns = self.nodes.get(&dep).map(|d| d.identity.namespace.clone());
                    // A cluster-scoped dependent is reported by the worker, which always
                    // meets it.
                    if !seen.identity.namespace.is_empty()
                        && dep_ns.as_deref().is_some_and(|ns| !ns.is_empty())
                        && dep_ns.as_deref() != Some(seen.identity.namespace.as_str())
                    {
                        actions.extend(self.invalid_namespace(&dep, &uid));
                    }
                    actions.push(Action::AttemptDelete(dep));
                }
            }
            if let Some(node) = self.nodes.get_mut(&uid) {
                node.identity = seen.identity.clone();
                node.virtual_node = false;
            }
        }
        let deleting_dependents = seen.deleting && seen.has(FOREGROUND);
        let orphaning = seen.deleting && seen.has(ORPHAN);
        let (was_deleting_dependents, was_orphaning) = match self.nodes.get_mut(&uid) {
            None => {
                self.nodes.insert(
                    uid.clone(),
                    Node {
                        identity: seen.identity.clone(),
                        owners: seen.owners.clone(),
                        dependents: BTreeSet::new(),
                        being_deleted: seen.deleting,
                        deleting_dependents: false,
                        orphaning: false,
                        virtual_node: false,
                    },
                );
                self.add_to_owners(&uid, &seen.owners, &mut actions);
                (false, false)
            }
            Some(node) => {
                let before = (node.deleting_dependents, node.orphaning);
                let old = std::mem::replace(&mut node.owners, seen.owners.clone());
                node.being_deleted |= seen.deleting;
                let added: Vec<_> = seen
                    .owners
                    .iter()
                    .filter(|n| !old.iter().any(|o| o.uid == n.uid))
                    .cloned()
                    .collect();
                for o in &old {
                    let now = seen.owners.iter().find(|n| n.uid == o.uid);
                    let was_blocking = o.block_owner_deletion == Some(true);
                    let unblocked = now.is_none_or(|n| n.block_owner_deletion != Some(true));
                    if was_blocking && unblocked && self.nodes.contains_key(&o.uid) {
                        actions.push(Action::AttemptDelete(o.uid.clone()));
                    }
                    if now.is_none()
                        && let Some(owner) = self.nodes.get_mut(&o.uid)
                    {
                        owner.dependents.remove(&uid);
                    }
                }
                self.add_to_owners(&uid, &added, &mut actions);
                before
            }
        };
        // Transitions: the object starts waiting for its dependents.
        if let Some(node) = self.nodes.get_mut(&uid) {
            node.deleting_dependents = deleting_dependents;
            node.orphaning = orphaning;
            if orphaning && !was_orphaning {
                actions.push(Action::AttemptOrphan(uid.clone()));
            } else if deleting_dependents && !was_deleting_dependents {
                actions.extend(
                    node.dependents
                        .iter()
                        .map(|d| Action::AttemptDelete(d.clone())),
                );
                actions.push(Action::AttemptDelete(uid.clone()));
            }
        }
        actions
    }

    /// Adds `uid` to the dependents of `owners`, creating virtual nodes for owners not in
    /// the graph; a reference that may not resolve queues the dependent for verification.
    fn add_to_owners(&mut self, uid: &str, owners: &[OwnerReference], actions: &mut Vec<Action>) {
        let Some(namespace) = self.nodes.get(uid).map(|n| n.identity.namespace.clone()) else {
            return;
        };
        let mut suspicious = false;
        for owner in owners {
            match self.nodes.get_mut(&owner.uid) {
                None => {
                    let mut node = Node::virtual_for(Identity::of_owner(owner, &namespace));
                    node.dependents.insert(uid.to_owned());
                    self.nodes.insert(owner.uid.clone(), node);
                    actions.push(Action::AttemptDelete(owner.uid.clone()));
                }
                Some(node) => {
                    node.dependents.insert(uid.to_owned());
                    if suspicious {
                        continue;
                    }
                    let owner_ns = &node.identity.namespace;
                    if !owner_ns.is_empty() && *owner_ns != namespace {
                        if !node.virtual_node && !namespace.is_empty() {
                            let dependent = self.nodes.get(uid).map(|n| n.identity.clone());
                            actions.push(Action::InvalidNamespace {
                                dependent: Box::new(dependent.unwrap_or_default()),
                                owner: Box::new(Identity::of_owner(owner, &namespace)),
                            });
                        }
                        suspicious = true;
                    } else if !node.identity.matches(owner)
                        || (owner_ns.is_empty() && namespace != *owner_ns && node.virtual_node)
                    {
                        suspicious = true;
                    }
                }
            }
        }
        if suspicious {
            actions.push(Action::AttemptDelete(uid.to_owned()));
        }
    }
}

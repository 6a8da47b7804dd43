//! Secondary indexes of an informer's objects, as client-go's `Indexer`: each index is a
//! named function from an object to its index keys, and [`Indexes::by_index`] answers
//! "which objects have this key" without scanning the store.
//!
//! The informer's dispatch task applies every change here after its store and before
//! telling subscribers, so a subscriber woken by a change finds the index up to date.
//! An index may be added at any time: it is built from the objects already indexed, or,
//! for the first index of a kind, from the store (see [`Indexes::add`]). Until a kind has
//! an index, changes cost nothing here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::Resource;
use parking_lot::RwLock;

use super::{Informer, key_of};
use crate::owner::controller_of;

/// An index function: the keys an object is found under (none to leave it out).
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// The index of objects by the uid of their controller, or, for objects without one, by
/// [`orphan_key`] of their namespace (upstream's `controllerUID` pod index).
pub const BY_CONTROLLER: &str = "controllerUID";

/// The index of namespaced objects by namespace (client-go's `NamespaceIndex`, which its
/// listers use to list one namespace).
pub const BY_NAMESPACE: &str = "namespace";

/// The [`BY_NAMESPACE`] index function (cluster-scoped objects are left out).
pub fn namespace_keys<K: Resource>(obj: &K) -> Vec<String> {
    obj.meta()
        .namespace
        .iter()
        .filter(|ns| !ns.is_empty())
        .cloned()
        .collect()
}

/// The index of pods by the node they are bound to (upstream's `spec.nodeName` pod index
/// of the node lifecycle and taint eviction controllers).
pub const BY_NODE: &str = "spec.nodeName";

/// The [`BY_NODE`] index function (unbound pods are left out).
pub fn node_keys(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty())
        .into_iter()
        .collect()
}

/// The pods bound to `node`: through the [`BY_NODE`] index, else the whole store.
pub fn pods_on_node(pods: &Informer<Pod>, node: &str) -> Vec<Arc<Pod>> {
    pods.by_index(BY_NODE, node).unwrap_or_else(|_| {
        pods.store()
            .state()
            .into_iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
            .collect()
    })
}

/// An index was asked for that nobody added.
#[derive(Debug, thiserror::Error)]
#[error("no index named {0}")]
pub struct UnknownIndex(pub String);

/// The [`BY_CONTROLLER`] key of objects without a controller in `namespace`. Uids never
/// hold a `/`, so it cannot be mistaken for one.
pub fn orphan_key(namespace: &str) -> String {
    format!("orphan/{namespace}")
}

/// The [`BY_CONTROLLER`] index function.
pub fn controller_keys<K: Resource>(obj: &K) -> Vec<String> {
    let meta = obj.meta();
    match controller_of(meta) {
        Some(r) => vec![r.uid.clone()],
        None => vec![orphan_key(meta.namespace.as_deref().unwrap_or_default())],
    }
}

/// One index: its function and, by key, the objects under it.
struct Index<K> {
    name: String,
    func: IndexFn<K>,
    entries: HashMap<String, HashSet<Arc<str>>>,
}

/// An indexed object and its keys in each index (by position).
struct Entry<K> {
    obj: Arc<K>,
    keys: Vec<Vec<String>>,
}

struct Inner<K> {
    indexes: Vec<Index<K>>,
    /// Every object, by [`key_of`], once there is an index.
    objects: HashMap<Arc<str>, Entry<K>>,
}

/// The indexes of one informer.
pub struct Indexes<K> {
    inner: RwLock<Inner<K>>,
}

impl<K> Default for Indexes<K> {
    fn default() -> Self {
        Self {
            inner: RwLock::new(Inner {
                indexes: Vec::new(),
                objects: HashMap::new(),
            }),
        }
    }
}

impl<K> std::fmt::Debug for Indexes<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.read();
        let names: Vec<&str> = inner.indexes.iter().map(|i| i.name.as_str()).collect();
        f.debug_struct("Indexes").field("names", &names).finish()
    }
}

impl<K: Resource> Indexes<K> {
    /// Adds the index `name` unless it exists (several controllers may ask for the same
    /// one; the first function stays). The first index of a kind is built from
    /// `current()`, the store's objects; later ones from the objects already indexed.
    ///
    /// Called while the informer runs, this stays exact: the lock is held while the index
    /// is built, and every change the dispatch task applies afterwards sets an object's
    /// whole state, so one already in `current()` is simply applied again.
    pub fn add(&self, name: &str, func: IndexFn<K>, current: impl FnOnce() -> Vec<Arc<K>>) {
        let mut inner = self.inner.write();
        if inner.indexes.iter().any(|i| i.name == name) {
            return;
        }
        let inner = &mut *inner;
        if inner.indexes.is_empty() {
            for obj in current() {
                let key: Arc<str> = key_of(obj.as_ref()).into();
                inner.objects.insert(
                    key,
                    Entry {
                        obj,
                        keys: Vec::new(),
                    },
                );
            }
        }
        let mut index = Index {
            name: name.to_owned(),
            func,
            entries: HashMap::new(),
        };
        for (key, entry) in &mut inner.objects {
            let keys = (index.func)(&entry.obj);
            for k in &keys {
                index
                    .entries
                    .entry(k.clone())
                    .or_default()
                    .insert(key.clone());
            }
            entry.keys.push(keys);
        }
        inner.indexes.push(index);
    }

    /// The objects under `key` in the index `name` (client-go's `ByIndex`), in no order.
    pub fn by_index(&self, name: &str, key: &str) -> Result<Vec<Arc<K>>, UnknownIndex> {
        let inner = self.inner.read();
        let index = inner
            .indexes
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| UnknownIndex(name.to_owned()))?;
        let Some(members) = index.entries.get(key) else {
            return Ok(Vec::new());
        };
        Ok(members
            .iter()
            .filter_map(|m| inner.objects.get(m).map(|e| e.obj.clone()))
            .collect())
    }

    /// Records `obj` as it is now (added or updated).
    pub fn apply(&self, obj: &Arc<K>) {
        let mut inner = self.inner.write();
        if inner.indexes.is_empty() {
            return;
        }
        let inner = &mut *inner;
        let key: Arc<str> = key_of(obj.as_ref()).into();
        let new: Vec<Vec<String>> = inner.indexes.iter().map(|i| (i.func)(obj)).collect();
        let old = inner.objects.insert(
            key.clone(),
            Entry {
                obj: obj.clone(),
                keys: new.clone(),
            },
        );
        let old = old.map(|e| e.keys).unwrap_or_default();
        for (n, index) in inner.indexes.iter_mut().enumerate() {
            let before = old.get(n).map(Vec::as_slice).unwrap_or_default();
            let after = new.get(n).map(Vec::as_slice).unwrap_or_default();
            if before == after {
                continue;
            }
            for k in before.iter().filter(|k| !after.contains(k)) {
                unlink(&mut index.entries, k, &key);
            }
            for k in after {
                index
                    .entries
                    .entry(k.clone())
                    .or_default()
                    .insert(key.clone());
            }
        }
    }

    /// Forgets `obj` (deleted).
    pub fn delete(&self, obj: &K) {
        let mut inner = self.inner.write();
        let inner = &mut *inner;
        let key = key_of(obj);
        let Some((key, entry)) = inner.objects.remove_entry(key.as_str()) else {
            return;
        };
        for (index, keys) in inner.indexes.iter_mut().zip(&entry.keys) {
            for k in keys {
                unlink(&mut index.entries, k, &key);
            }
        }
    }
}

/// Removes `member` from the set under `key`, and the set when it empties.
fn unlink(entries: &mut HashMap<String, HashSet<Arc<str>>>, key: &str, member: &Arc<str>) {
    if let Some(set) = entries.get_mut(key) {
        set.remove(member);
        if set.is_empty() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;

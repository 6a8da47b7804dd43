//! The keys of one resource's objects by trigger value (see `channels`), so a list whose
//! field selector pins the trigger (a kubelet listing its node's pods, upstream's
//! `listByIndex`) reads its own keys instead of every object of the kind.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::channels::trigger_field;
use super::object::{CachedObject, Filter};
use crate::registry::ResourceDef;
use crate::selector::field;

#[derive(Debug)]
pub(super) struct TriggerIndex {
    field: Option<&'static str>,
    keys: HashMap<String, BTreeSet<String>>,
}

impl TriggerIndex {
    pub(super) fn new(def: &ResourceDef) -> Self {
        Self {
            field: trigger_field(def),
            keys: HashMap::new(),
        }
    }

    /// Rebuilds the index over `objects`.
    pub(super) fn replace<'a>(&mut self, objects: impl Iterator<Item = &'a Arc<CachedObject>>) {
        self.keys.clear();
        if let Some(field) = self.field {
            for object in objects {
                let value = field::value(&object.fields, field);
                self.keys
                    .entry(value.to_owned())
                    .or_default()
                    .insert(object.key.clone());
            }
        }
    }

    /// Follows one change of `key`: what it was (`before`) and what it is now (`now`,
    /// `None` when deleted).
    pub(super) fn update(
        &mut self,
        key: &str,
        before: Option<&CachedObject>,
        now: Option<&CachedObject>,
    ) {
        let Some(field) = self.field else { return };
        let old = before.map(|o| field::value(&o.fields, field));
        let new = now.map(|o| field::value(&o.fields, field));
        if old == new {
            return;
        }
        if let Some(old) = old
            && let Some(keys) = self.keys.get_mut(old)
        {
            keys.remove(key);
            if keys.is_empty() {
                self.keys.remove(old);
            }
        }
        if let Some(new) = new {
            self.keys
                .entry(new.to_owned())
                .or_default()
                .insert(key.to_owned());
        }
    }

    /// The keys of the objects whose trigger value `filter` pins, if it pins one.
    pub(super) fn keys_for(&self, filter: &Filter) -> Option<&BTreeSet<String>> {
        static NONE: BTreeSet<String> = BTreeSet::new();
        let value = filter.fields.exact(self.field?)?;
        Some(self.keys.get(value).unwrap_or(&NONE))
    }
}

//! PriorityClass values by name, as a fallback for pods whose priority admission did not
//! resolve: a pod with `priorityClassName` but no `priority` takes the class's value; a
//! pod with neither takes the `globalDefault` class's.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::scheduling::v1::PriorityClass;

use super::watch::Listing;

/// Every PriorityClass's value, by name, and which one is the global default.
#[derive(Debug, Default)]
pub(super) struct PriorityClasses {
    values: HashMap<String, (i32, bool)>,
}

impl PriorityClasses {
    /// Applies a watcher change.
    pub(super) fn apply(&mut self, change: Listing<PriorityClass>) {
        let entry = |c: &PriorityClass| {
            let name = c.metadata.name.clone().unwrap_or_default();
            (name, (c.value, c.global_default.unwrap_or(false)))
        };
        match change {
            Listing::Apply(c) => {
                let (name, v) = entry(&c);
                self.values.insert(name, v);
            }
            Listing::Delete(c) => {
                self.values
                    .remove(c.metadata.name.as_deref().unwrap_or_default());
            }
            Listing::All(all) => self.values = all.iter().map(|c| entry(c)).collect(),
        }
    }

    /// The pod with `spec.priority` filled in from its class (or the global default),
    /// when it has none; the pod itself otherwise.
    pub(super) fn resolve(&self, pod: Arc<Pod>) -> Arc<Pod> {
        let Some(spec) = pod.spec.as_ref().filter(|s| s.priority.is_none()) else {
            return pod;
        };
        let value = match spec.priority_class_name.as_deref() {
            Some(name) if !name.is_empty() => self.values.get(name).map(|(v, _)| *v),
            _ => self.values.values().find(|(_, d)| *d).map(|(v, _)| *v),
        };
        let Some(value) = value else {
            return pod;
        };
        let mut resolved = (*pod).clone();
        if let Some(spec) = resolved.spec.as_mut() {
            spec.priority = Some(value);
        }
        Arc::new(resolved)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn class(name: &str, value: i32, default: bool) -> Arc<PriorityClass> {
        Arc::new(
            serde_json::from_value(
                json!({"metadata": {"name": name}, "value": value, "globalDefault": default}),
            )
            .unwrap(),
        )
    }

    fn pod(class: Option<&str>, priority: Option<i32>) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [],
                "priorityClassName": class, "priority": priority}}))
            .unwrap(),
        )
    }

    #[test]
    fn priority_from_class_or_global_default() {
        let mut classes = PriorityClasses::default();
        classes.apply(Listing::All(vec![class("high", 1000, false)]));
        let cases = [
            (pod(Some("high"), None), Some(1000)),
            (pod(Some("high"), Some(5)), Some(5)),
            (pod(Some("unknown"), None), None),
            (pod(None, None), None),
        ];
        for (p, want) in &cases {
            let got = classes.resolve(Arc::clone(p));
            assert_eq!(got.spec.as_ref().unwrap().priority, *want);
        }
        classes.apply(Listing::Apply(class("base", 7, true)));
        let got = classes.resolve(pod(None, None));
        assert_eq!(got.spec.as_ref().unwrap().priority, Some(7));
        classes.apply(Listing::Delete(class("base", 7, true)));
        let got = classes.resolve(pod(None, None));
        assert_eq!(got.spec.as_ref().unwrap().priority, None);
    }
}

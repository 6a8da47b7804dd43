//! The published probe results, per container id and probe kind (upstream's
//! `results.Manager`, one map for the three kinds).

use std::collections::HashMap;
use std::sync::Arc;

use super::ProbeResult;
use crate::runtime::ProbeKind;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Entry {
    liveness: Option<ProbeResult>,
    readiness: Option<ProbeResult>,
    startup: Option<ProbeResult>,
}

impl Entry {
    fn slot(&mut self, kind: ProbeKind) -> &mut Option<ProbeResult> {
        match kind {
            ProbeKind::Liveness => &mut self.liveness,
            ProbeKind::Readiness => &mut self.readiness,
            ProbeKind::Startup => &mut self.startup,
        }
    }
}

/// Results by container id.
#[derive(Debug, Default)]
pub(crate) struct Results {
    by_container: HashMap<Arc<str>, Entry>,
}

impl Results {
    pub(crate) fn get(&self, container_id: &str, kind: ProbeKind) -> Option<ProbeResult> {
        let mut entry = *self.by_container.get(container_id)?;
        *entry.slot(kind)
    }

    /// Sets a result; true when it is new or differs from the one before (upstream then
    /// sends an update).
    pub(crate) fn set(&mut self, container_id: &str, kind: ProbeKind, result: ProbeResult) -> bool {
        let entry = match self.by_container.get_mut(container_id) {
            Some(entry) => entry,
            None => self
                .by_container
                .entry(Arc::from(container_id))
                .or_default(),
        };
        entry.slot(kind).replace(result) != Some(result)
    }

    /// Forgets a container.
    pub(crate) fn remove(&mut self, container_id: &str) {
        self.by_container.remove(container_id);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_container.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProbeKind::{Liveness as L, Readiness as R, Startup as S};
    use ProbeResult::{Failure, Success, Unknown};

    #[test]
    fn set_reports_changes_only() {
        let mut results = Results::default();
        let steps = [
            ("a", R, Failure, true),
            ("a", R, Failure, false),
            ("a", L, Success, true),
            ("a", R, Success, true),
            ("b", R, Success, true),
            ("a", S, Unknown, true),
            ("a", S, Success, true),
            ("a", L, Success, false),
        ];
        for (id, kind, result, changed) in steps {
            assert_eq!(
                results.set(id, kind, result),
                changed,
                "{id} {kind:?} {result:?}"
            );
            assert_eq!(results.get(id, kind), Some(result));
        }
        assert_eq!(results.len(), 2);
        results.remove("a");
        assert_eq!(results.get("a", R), None);
        assert_eq!(results.get("b", R), Some(Success));
        assert_eq!(results.get("b", L), None);
    }
}

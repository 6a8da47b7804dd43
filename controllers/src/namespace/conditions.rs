//! The deletion conditions a terminating namespace carries, as upstream's
//! namespaceConditionUpdater: each of five types is True with a failure reason while that
//! failure holds, False with its "ok" reason otherwise. Pure.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::NamespaceCondition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Discovery failed.
pub const DISCOVERY_FAILURE: &str = "NamespaceDeletionDiscoveryFailure";
/// A group/version could not be parsed.
pub const GV_PARSING_FAILURE: &str = "NamespaceDeletionGroupVersionParsingFailure";
/// Some content could not be deleted.
pub const CONTENT_FAILURE: &str = "NamespaceDeletionContentFailure";
/// Content remains.
pub const CONTENT_REMAINING: &str = "NamespaceContentRemaining";
/// Content held by finalizers remains.
pub const FINALIZERS_REMAINING: &str = "NamespaceFinalizersRemaining";

/// The maintained types, in upstream's order, with their "ok" reason and message.
const TYPES: [(&str, &str, &str); 5] = [
    (
        DISCOVERY_FAILURE,
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    (
        GV_PARSING_FAILURE,
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    (
        CONTENT_FAILURE,
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    (
        CONTENT_REMAINING,
        "ContentRemoved",
        "All content successfully removed",
    ),
    (
        FINALIZERS_REMAINING,
        "ContentHasNoFinalizers",
        "All content-preserving finalizers finished",
    ),
];

/// What one pass over a namespace's content found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Discovery's error.
    pub discovery_error: Option<String>,
    /// A group/version parsing error.
    pub group_version_error: Option<String>,
    /// Per-resource deletion errors.
    pub content_errors: Vec<String>,
    /// Objects remaining by `resource.group`.
    pub remaining: BTreeMap<String, usize>,
    /// Objects remaining by finalizer.
    pub finalizers: BTreeMap<String, usize>,
}

fn condition(type_: &str, status: &str, reason: &str, message: String) -> NamespaceCondition {
    NamespaceCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: None,
    }
}

/// The failing (True) conditions `findings` call for.
pub fn failures(findings: &Findings) -> Vec<NamespaceCondition> {
    let mut out = Vec::new();
    if let Some(e) = &findings.discovery_error {
        out.push(condition(
            DISCOVERY_FAILURE,
            "True",
            "DiscoveryFailed",
            e.clone(),
        ));
    }
    if let Some(e) = &findings.group_version_error {
        out.push(condition(
            GV_PARSING_FAILURE,
            "True",
            "GroupVersionParsingFailed",
            e.clone(),
        ));
    }
    if !findings.content_errors.is_empty() {
        let mut messages = findings.content_errors.clone();
        messages.sort();
        out.push(condition(
            CONTENT_FAILURE,
            "True",
            "ContentDeletionFailed",
            format!(
                "Failed to delete all resource types, {} remaining: {}",
                messages.len(),
                messages.join(", ")
            ),
        ));
    }
    let mut remaining: Vec<String> = findings
        .remaining
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| format!("{r} has {n} resource instances"))
        .collect();
    remaining.sort();
    if !remaining.is_empty() {
        out.push(condition(
            CONTENT_REMAINING,
            "True",
            "SomeResourcesRemain",
            format!("Some resources are remaining: {}", remaining.join(", ")),
        ));
    }
    let mut by_finalizer: Vec<String> = findings
        .finalizers
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(f, n)| format!("{f} in {n} resource instances"))
        .collect();
    by_finalizer.sort();
    if !by_finalizer.is_empty() {
        out.push(condition(
            FINALIZERS_REMAINING,
            "True",
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                by_finalizer.join(", ")
            ),
        ));
    }
    out
}

/// Sets every maintained condition in `conditions` from `failures` (the "ok" variant
/// for types not failing); a changed status gets `now` as its transition time. Whether
/// anything changed.
pub fn update(
    conditions: &mut Vec<NamespaceCondition>,
    failures: &[NamespaceCondition],
    now: &Time,
) -> bool {
    let mut changed = false;
    for (type_, reason, message) in TYPES {
        let new = failures
            .iter()
            .find(|c| c.type_ == type_)
            .cloned()
            .unwrap_or_else(|| condition(type_, "False", reason, message.to_owned()));
        match conditions.iter_mut().find(|c| c.type_ == type_) {
            None => {
                conditions.push(NamespaceCondition {
                    last_transition_time: Some(now.clone()),
                    ..new
                });
                changed = true;
            }
            Some(old)
                if old.status != new.status
                    || old.reason != new.reason
                    || old.message != new.message =>
            {
                if old.status != new.status {
                    old.last_transition_time = Some(now.clone());
                }
                old.status = new.status;
                old.reason = new.reason;
                old.message = new.message;
                changed = true;
            }
            Some(_) => {}
        }
    }
    changed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn find<'a>(c: &'a [NamespaceCondition], t: &str) -> &'a NamespaceCondition {
        c.iter().find(|c| c.type_ == t).unwrap()
    }

    #[test]
    fn failures_and_ok_variants() {
        let findings = Findings {
            content_errors: vec!["b failed".into(), "a failed".into()],
            remaining: [("pods.".to_owned(), 2), ("configmaps.".to_owned(), 0)].into(),
            finalizers: [("example.com/x".to_owned(), 1)].into(),
            ..Findings::default()
        };
        let now = Time(jiff::Timestamp::UNIX_EPOCH);
        let mut conditions = Vec::new();
        assert!(update(&mut conditions, &failures(&findings), &now));
        assert_eq!(conditions.len(), 5);
        let c = find(&conditions, CONTENT_FAILURE);
        assert_eq!(c.status, "True");
        assert_eq!(
            c.message.as_deref(),
            Some("Failed to delete all resource types, 2 remaining: a failed, b failed")
        );
        let c = find(&conditions, CONTENT_REMAINING);
        assert_eq!(c.reason.as_deref(), Some("SomeResourcesRemain"));
        assert_eq!(
            c.message.as_deref(),
            Some("Some resources are remaining: pods. has 2 resource instances")
        );
        let c = find(&conditions, FINALIZERS_REMAINING);
        assert_eq!(
            c.message.as_deref(),
            Some(
                "Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances"
            )
        );
        let c = find(&conditions, DISCOVERY_FAILURE);
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("False", Some("ResourcesDiscovered"))
        );
        // Unchanged: nothing to write.
        assert!(!update(&mut conditions, &failures(&findings), &now));
        // Everything gone: all False, transition time moved for the flipped ones.
        let later = Time(jiff::Timestamp::from_second(60).unwrap());
        assert!(update(
            &mut conditions,
            &failures(&Findings::default()),
            &later
        ));
        let c = find(&conditions, CONTENT_REMAINING);
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("False", Some("ContentRemoved"))
        );
        assert_eq!(c.last_transition_time, Some(later));
        assert_eq!(
            find(&conditions, DISCOVERY_FAILURE).last_transition_time,
            Some(now)
        );
    }
}

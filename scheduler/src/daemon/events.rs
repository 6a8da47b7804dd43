//! What the scheduler writes about a pod besides its binding: Events (`Scheduled`,
//! `FailedScheduling`, `Preempted`) and the `PodScheduled` condition. Pure builders; the
//! binder sends them. As upstream's per-profile recorders do, every event names the profile
//! (`schedulerName`) that handled the pod as its reporting controller.
//!
//! The events carry what upstream's `events.k8s.io/v1` recorder writes (an event time, an
//! action, a reporting controller and instance, no source or count), and are sent in the
//! core/v1 form the apiserver stores: `events.k8s.io/v1` only renames fields
//! (`note`→`message`, `regarding`→`involvedObject`, `reportingController`→
//! `reportingComponent`), so readers of either API see the same event, and the server
//! converts nothing either way.

use k8s_openapi::api::core::v1::{Event, ObjectReference, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};

/// Who reports an event: the profile's `schedulerName` (`reportingController`) and this
/// scheduler instance (`reportingInstance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reporter<'a> {
    /// The `schedulerName` of the profile that handled the pod.
    pub controller: &'a str,
    /// This instance's identity.
    pub instance: &'a str,
}

/// The kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The pod was bound (`Normal`, reason `Scheduled`, action `Binding`).
    Scheduled,
    /// The pod fits no node, or placing it failed (`Warning`, reason `FailedScheduling`,
    /// action `Scheduling`).
    FailedScheduling,
    /// The pod was preempted to make room for another (`Normal`, reason `Preempted`,
    /// action `Preempting`).
    Preempted,
}

/// The reason of a `PodScheduled=False` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotScheduled {
    /// No node fits the pod (`Unschedulable`).
    Unschedulable,
    /// Placing the pod failed for another reason, e.g. PreBind or the binding call
    /// (`SchedulerError`).
    SchedulerError,
}

impl NotScheduled {
    /// The condition's `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Unschedulable => "Unschedulable",
            Self::SchedulerError => "SchedulerError",
        }
    }
}

/// The note of a successful binding.
pub fn scheduled_note(namespace: &str, name: &str, node: &str) -> String {
    format!("Successfully assigned {namespace}/{name} to {node}")
}

/// The pod's name and namespace (`default` when unset).
pub(super) fn name_and_namespace(pod: &Pod) -> (String, String) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    (name, namespace.to_owned())
}

/// An event about `pod`, reported by `reporter` at `now`.
pub fn event(
    pod: &Pod,
    outcome: Outcome,
    note: String,
    reporter: Reporter<'_>,
    now: jiff::Timestamp,
) -> Event {
    let (reason, action, type_) = match outcome {
        Outcome::Scheduled => ("Scheduled", "Binding", "Normal"),
        Outcome::FailedScheduling => ("FailedScheduling", "Scheduling", "Warning"),
        Outcome::Preempted => ("Preempted", "Preempting", "Normal"),
    };
    let (name, namespace) = name_and_namespace(pod);
    Event {
        metadata: ObjectMeta {
            // Upstream names events `<object>.<hex nanoseconds>`.
            name: Some(format!("{name}.{:x}", now.as_nanosecond())),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        event_time: Some(MicroTime(now)),
        action: Some(action.to_owned()),
        reason: Some(reason.to_owned()),
        type_: Some(type_.to_owned()),
        message: Some(note),
        reporting_component: Some(reporter.controller.to_owned()),
        reporting_instance: Some(reporter.instance.to_owned()),
        involved_object: ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("Pod".to_owned()),
            name: Some(name),
            namespace: Some(namespace),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            ..ObjectReference::default()
        },
        ..Event::default()
    }
}

/// The merge patch that sets `PodScheduled=False` with `reason` and `message`, or `None`
/// when the pod already carries exactly that condition.
pub fn not_scheduled_patch(
    pod: &Pod,
    reason: NotScheduled,
    message: &str,
    now: jiff::Timestamp,
) -> Option<serde_json::Value> {
    let conditions = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let same = conditions.iter().any(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some(reason.reason())
            && c.message.as_deref() == Some(message)
    });
    if same {
        return None;
    }
    let mut merged: Vec<PodCondition> = conditions
        .into_iter()
        .filter(|c| c.type_ != "PodScheduled")
        .collect();
    merged.push(PodCondition {
        type_: "PodScheduled".to_owned(),
        status: "False".to_owned(),
        reason: Some(reason.reason().to_owned()),
        message: Some(message.to_owned()),
        last_transition_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now)),
        ..PodCondition::default()
    });
    // A merge patch replaces the whole list, so every other condition is carried over.
    Some(serde_json::json!({ "status": { "conditions": merged } }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodStatus;

    fn pod() -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some("web".into());
        p.metadata.namespace = Some("prod".into());
        p.metadata.uid = Some("u1".into());
        p
    }

    #[test]
    fn events_as_upstream() {
        let now = jiff::Timestamp::from_second(100).unwrap();
        let cases = [
            (Outcome::Scheduled, "Scheduled", "Binding", "Normal"),
            (
                Outcome::FailedScheduling,
                "FailedScheduling",
                "Scheduling",
                "Warning",
            ),
            (Outcome::Preempted, "Preempted", "Preempting", "Normal"),
        ];
        for (outcome, reason, action, type_) in cases {
            for profile in ["default-scheduler", "second"] {
                let reporter = Reporter {
                    controller: profile,
                    instance: "me",
                };
                let e = event(&pod(), outcome, "n".into(), reporter, now);
                assert_eq!(e.reason.as_deref(), Some(reason));
                assert_eq!(e.action.as_deref(), Some(action));
                assert_eq!(e.type_.as_deref(), Some(type_));
                assert_eq!(e.reporting_component.as_deref(), Some(profile));
                assert_eq!(e.reporting_instance.as_deref(), Some("me"));
                assert_eq!(e.metadata.namespace.as_deref(), Some("prod"));
                assert_eq!((e.source.as_ref(), e.count), (None, None));
                assert!(e.event_time.is_some() && e.first_timestamp.is_none());
                let r = e.involved_object;
                assert_eq!(
                    (r.kind.as_deref(), r.uid.as_deref()),
                    (Some("Pod"), Some("u1"))
                );
            }
        }
        assert_eq!(
            scheduled_note("prod", "web", "n1"),
            "Successfully assigned prod/web to n1"
        );
    }

    #[test]
    fn condition_patched_only_when_different() {
        use NotScheduled::{SchedulerError, Unschedulable};
        let now = jiff::Timestamp::from_second(100).unwrap();
        let mut p = pod();
        let first = "0/1 nodes are available:";
        let patch = not_scheduled_patch(&p, Unschedulable, first, now).unwrap();
        let conds = &patch["status"]["conditions"];
        assert_eq!(conds[0]["type"], "PodScheduled");
        assert_eq!(conds[0]["status"], "False");
        assert_eq!(conds[0]["reason"], "Unschedulable");
        let parsed: Vec<PodCondition> = serde_json::from_value(conds.clone()).unwrap();
        p.status = Some(PodStatus {
            conditions: Some(parsed),
            ..Default::default()
        });
        // (reason, message, the reason written when a patch is needed)
        let cases = [
            (Unschedulable, first, None),
            (
                Unschedulable,
                "0/2 nodes are available:",
                Some("Unschedulable"),
            ),
            (SchedulerError, first, Some("SchedulerError")),
        ];
        for (reason, message, want) in cases {
            let got = not_scheduled_patch(&p, reason, message, now);
            let written = got
                .as_ref()
                .map(|v| v["status"]["conditions"][0]["reason"].as_str().unwrap());
            assert_eq!(written, want, "{reason:?} {message}");
        }
    }
}

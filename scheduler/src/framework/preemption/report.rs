//! What preemption writes to the API, as pure builders: the victims' `DisruptionTarget`
//! condition, the note of their `Preempted` event, and the preemptor's
//! `status.nominatedNodeName`.

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use super::DISRUPTION_REASON;

/// The note of the `Preempted` event on a victim (upstream names the preemptor by UID).
#[must_use]
pub fn preempted_note(preemptor: &Pod, node: &str) -> String {
    let uid = preemptor.metadata.uid.as_deref().unwrap_or("");
    format!("Preempted by pod {uid} on node {node}")
}

/// The merge patch adding `DisruptionTarget=True` (reason `PreemptionByScheduler`) to a
/// victim, keeping its other conditions; `None` when it already carries it.
#[must_use]
pub fn disruption_patch(victim: &Pod, scheduler_name: &str, now: jiff::Timestamp) -> Option<Value> {
    let conditions = victim
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    if conditions
        .iter()
        .any(|c| c.type_ == "DisruptionTarget" && c.status == "True")
    {
        return None;
    }
    let mut merged = conditions;
    merged.push(PodCondition {
        type_: "DisruptionTarget".to_owned(),
        status: "True".to_owned(),
        reason: Some(DISRUPTION_REASON.to_owned()),
        message: Some(format!(
            "{scheduler_name}: preempting to accommodate a higher priority pod"
        )),
        last_transition_time: Some(Time(now)),
        ..PodCondition::default()
    });
    Some(json!({ "status": { "conditions": merged } }))
}

/// The merge patch setting (or, with `None`, clearing) `status.nominatedNodeName`.
#[must_use]
pub fn nomination_patch(node: Option<&str>) -> Value {
    json!({ "status": { "nominatedNodeName": node } })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builders_as_upstream() {
        let mut preemptor = Pod::default();
        preemptor.metadata.uid = Some("u-1".to_owned());
        assert_eq!(
            preempted_note(&preemptor, "n1"),
            "Preempted by pod u-1 on node n1"
        );

        let now = jiff::Timestamp::from_second(100).unwrap();
        let mut victim: Pod = serde_json::from_value(json!({
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}))
        .unwrap();
        let patch = disruption_patch(&victim, "default-scheduler", now).unwrap();
        let conds: Vec<PodCondition> =
            serde_json::from_value(patch["status"]["conditions"].clone()).unwrap();
        let types: Vec<&str> = conds.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "DisruptionTarget"]);
        assert_eq!(conds[1].reason.as_deref(), Some("PreemptionByScheduler"));
        assert_eq!(
            conds[1].message.as_deref(),
            Some("default-scheduler: preempting to accommodate a higher priority pod")
        );
        victim.status.as_mut().unwrap().conditions = Some(conds);
        assert!(disruption_patch(&victim, "default-scheduler", now).is_none());

        assert_eq!(
            nomination_patch(Some("n1")),
            json!({"status": {"nominatedNodeName": "n1"}})
        );
        assert_eq!(
            nomination_patch(None),
            json!({"status": {"nominatedNodeName": null}})
        );
    }
}

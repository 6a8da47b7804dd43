//! What controllers ask of a pod: active, ready, available (upstream's `podutil`).

use k8s_openapi::api::core::v1::{Pod, PodCondition};

/// Neither finished (Succeeded/Failed) nor being deleted (upstream's `IsPodActive`).
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none()
}

/// The pod's condition of type `kind`.
pub fn condition<'a>(pod: &'a Pod, kind: &str) -> Option<&'a PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
}

/// Whether the pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

/// Whether the pod has been Ready for at least `min_ready_seconds` at `now` (upstream's
/// `IsPodAvailable`: measured from the Ready condition's lastTransitionTime).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: jiff::Timestamp) -> bool {
    let Some(ready) = condition(pod, "Ready").filter(|c| c.status == "True") else {
        return false;
    };
    if min_ready_seconds <= 0 {
        return true;
    }
    match &ready.last_transition_time {
        Some(since) => {
            since.0 + jiff::SignedDuration::from_secs(i64::from(min_ready_seconds)) <= now
        }
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;

    fn pod(phase: &str, ready: Option<(&str, i64)>) -> Pod {
        let conditions = ready.map(|(status, since)| {
            json!([{ "type": "Ready", "status": status,
                     "lastTransitionTime": jiff::Timestamp::from_second(since).unwrap().to_string() }])
        });
        serde_json::from_value(json!({
            "metadata": { "name": "p" },
            "status": { "phase": phase, "conditions": conditions },
        }))
        .unwrap()
    }

    #[test]
    fn active_ready_available() {
        let now = jiff::Timestamp::from_second(100).unwrap();
        assert!(is_active(&pod("Pending", None)));
        assert!(!is_active(&pod("Succeeded", None)));
        assert!(!is_active(&pod("Failed", None)));
        let mut deleting = pod("Running", None);
        deleting.metadata.deletion_timestamp = Some(Time(now));
        assert!(!is_active(&deleting));

        let ready = pod("Running", Some(("True", 90)));
        assert!(is_ready(&ready));
        assert!(!is_ready(&pod("Running", Some(("False", 90)))));
        assert!(is_available(&ready, 0, now));
        assert!(is_available(&ready, 10, now));
        assert!(!is_available(&ready, 11, now));
        assert!(!is_available(&pod("Running", None), 0, now));
    }
}

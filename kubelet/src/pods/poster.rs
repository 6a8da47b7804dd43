//! What a worker writes to the API: the pod's status (posted when it changed, or when the
//! API's copy no longer shows what was posted), the final deletion, and events.

use k8s_openapi::api::core::v1::{ObjectReference, Pod, PodStatus};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::events::EventType;

use super::worker::Worker;

/// The status of a pod this kubelet refused (upstream: phase Failed with the reason).
pub(super) fn rejected(pod: &Pod, reason: &str, message: &str) -> PodStatus {
    let old = pod.status.clone().unwrap_or_default();
    PodStatus {
        phase: Some("Failed".to_owned()),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        conditions: old.conditions,
        qos_class: old.qos_class,
        start_time: old.start_time,
        ..PodStatus::default()
    }
}

/// Whether the API's copy of the status no longer shows what this kubelet posted: a
/// condition it posted is missing or has another status, reason or message, or the phase
/// differs. Another writer changed it (the node lifecycle controller marks the pods of an
/// unresponsive node not Ready); as upstream's status manager reconciles such a pod, the
/// kubelet posts its own view again. Conditions only others post are not compared.
pub(super) fn diverged(api: Option<&PodStatus>, posted: &PodStatus) -> bool {
    let Some(api) = api else {
        return true;
    };
    if api.phase != posted.phase {
        return true;
    }
    let theirs = api.conditions.as_deref().unwrap_or_default();
    posted.conditions.iter().flatten().any(|mine| {
        theirs
            .iter()
            .find(|c| c.type_ == mine.type_)
            .is_none_or(|c| {
                c.status != mine.status || c.reason != mine.reason || c.message != mine.message
            })
    })
}

fn is_gone(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.code == 404 || s.code == 409)
}

impl Worker {
    /// The pods of this pod's namespace.
    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.shared.client.clone(), self.namespace())
    }

    /// Posts `status` if it differs from the one last posted, or if the pod as last seen
    /// from the API no longer shows the one last posted ([`diverged`]); false when the
    /// write failed and should be retried.
    pub(super) async fn post(&mut self, status: PodStatus) -> bool {
        if self.posted.as_ref() == Some(&status) {
            if !diverged(self.pod.status.as_ref(), &status) {
                return true;
            }
            // The copy at hand may predate the post (its echo is still on the way): as
            // upstream's status manager, read the pod before writing the same status again.
            match self.pods().get_opt(self.name()).await {
                Ok(None) => return true,
                Ok(Some(live))
                    if live.metadata.uid.as_deref() != Some(self.uid.as_str())
                        || !diverged(live.status.as_ref(), &status) =>
                {
                    return true;
                }
                _ => {}
            }
        }
        let mut body = match serde_json::to_value(&status) {
            Ok(v) => v,
            Err(error) => {
                tracing::warn!(pod = %self.full_name(), %error, "encoding a pod status");
                return true;
            }
        };
        // A merge patch merges maps: fields this kubelet cleared must be cleared explicitly.
        if let Some(map) = body.as_object_mut() {
            for key in ["reason", "message"] {
                map.entry(key).or_insert(serde_json::Value::Null);
            }
        }
        let patch = serde_json::json!({"metadata": {"uid": self.uid}, "status": body});
        match self
            .pods()
            .patch_status(self.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                self.posted = Some(status);
                true
            }
            Err(error) if is_gone(&error) => {
                tracing::debug!(pod = %self.full_name(), %error, "status for a pod that is gone");
                self.posted = Some(status);
                true
            }
            Err(error) => {
                tracing::warn!(pod = %self.full_name(), %error, "posting pod status");
                false
            }
        }
    }

    /// Deletes the finished pod for good (grace 0, only this UID); true when done.
    pub(super) async fn delete_now(&self) -> bool {
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(self.uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match self.pods().delete(self.name(), &params).await {
            Ok(_) => true,
            Err(error) if is_gone(&error) => true,
            Err(error) => {
                tracing::warn!(pod = %self.full_name(), %error, "deleting a terminated pod");
                false
            }
        }
    }

    fn reference(&self, field_path: Option<String>) -> ObjectReference {
        ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("Pod".to_owned()),
            name: self.pod.metadata.name.clone(),
            namespace: self.pod.metadata.namespace.clone(),
            uid: self.pod.metadata.uid.clone(),
            resource_version: self.pod.metadata.resource_version.clone(),
            field_path,
        }
    }

    fn record(&self, reference: ObjectReference, type_: &str, reason: &str, note: String) {
        let type_ = if type_ == "Warning" {
            EventType::Warning
        } else {
            EventType::Normal
        };
        self.shared.recorder.record(reference, type_, reason, note);
    }

    /// An event about the pod (sent in the background; events never hold a sync up).
    pub(super) fn record_pod_event(&self, type_: &str, reason: &str, note: String) {
        self.record(self.reference(None), type_, reason, note);
    }

    /// An event about one of the pod's containers (`spec.containers{name}`).
    pub(super) fn record_container_event(
        &self,
        name: &str,
        type_: &str,
        reason: &str,
        note: String,
    ) {
        let init = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.as_ref())
            .is_some_and(|i| i.iter().any(|c| c.name == name));
        let list = if init { "initContainers" } else { "containers" };
        self.record(
            self.reference(Some(format!("spec.{list}{{{name}}}"))),
            type_,
            reason,
            note,
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use k8s_openapi::api::core::v1::PodCondition;

    use super::*;

    fn status(phase: &str, conditions: &[(&str, &str, Option<&str>)]) -> PodStatus {
        PodStatus {
            phase: Some(phase.to_owned()),
            conditions: Some(
                conditions
                    .iter()
                    .map(|(kind, status, reason)| PodCondition {
                        type_: (*kind).to_owned(),
                        status: (*status).to_owned(),
                        reason: reason.map(str::to_owned),
                        ..PodCondition::default()
                    })
                    .collect(),
            ),
            ..PodStatus::default()
        }
    }

    #[test]
    fn a_status_changed_by_another_writer_is_posted_again() {
        let posted = status(
            "Running",
            &[("Ready", "True", None), ("ContainersReady", "True", None)],
        );
        for (api, diverges, why) in [
            (Some(posted.clone()), false, "the API shows what was posted"),
            (
                Some(status(
                    "Running",
                    &[
                        ("Ready", "True", None),
                        ("ContainersReady", "True", None),
                        ("DisruptionTarget", "True", Some("DeletionByTaintManager")),
                    ],
                )),
                false,
                "a condition only others post",
            ),
            (
                Some(status(
                    "Running",
                    &[
                        ("Ready", "False", Some("NodeNotReady")),
                        ("ContainersReady", "True", None),
                    ],
                )),
                true,
                "the node lifecycle controller marked the pod not Ready",
            ),
            (
                Some(status(
                    "Running",
                    &[
                        ("Ready", "True", Some("Other")),
                        ("ContainersReady", "True", None),
                    ],
                )),
                true,
                "another reason",
            ),
            (
                Some(status("Running", &[("Ready", "True", None)])),
                true,
                "a posted condition is missing",
            ),
            (
                Some(status(
                    "Pending",
                    &[("Ready", "True", None), ("ContainersReady", "True", None)],
                )),
                true,
                "another phase",
            ),
            (None, true, "no status at all"),
        ] {
            assert_eq!(diverged(api.as_ref(), &posted), diverges, "{why}");
        }
    }
}

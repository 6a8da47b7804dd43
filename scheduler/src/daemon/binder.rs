//! Writes to the API on behalf of the scheduling task: the binding, the events and the
//! `PodScheduled` condition. Failures to report are logged, never fatal; a failed
//! binding is returned so the pod can be forgotten, reported and retried. Every write is
//! made on behalf of the profile (`schedulerName`) that handled the pod.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Binding, Event, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};

use super::BindFailure;
use super::events::{self, NotScheduled, Outcome, Reporter};
use crate::framework::preemption::report;

/// The API handles the scheduler writes with.
#[derive(Clone)]
pub(super) struct Binder {
    client: kube::Client,
    instance: String,
}

impl Binder {
    /// A binder reporting events as `instance`.
    pub(super) fn new(client: kube::Client, instance: String) -> Self {
        Self { client, instance }
    }

    /// The API client.
    pub(super) fn client(&self) -> &kube::Client {
        &self.client
    }

    fn pods(&self, pod: &Pod) -> Api<Pod> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        Api::namespaced(self.client.clone(), ns)
    }

    /// `POST pods/{name}/binding` to `node`, then the `Scheduled` event from `profile`.
    pub(super) async fn bind(
        &self,
        pod: Arc<Pod>,
        node: String,
        profile: &str,
    ) -> Result<(), BindFailure> {
        let (name, namespace) = events::name_and_namespace(&pod);
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                uid: pod.metadata.uid.clone(),
                ..ObjectMeta::default()
            },
            target: ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("Node".to_owned()),
                name: Some(node.clone()),
                ..ObjectReference::default()
            },
        };
        let pods = Pod::url_path(&(), Some(&namespace));
        self.post(pods, Some(("binding", &name)), &binding)
            .await
            .map_err(|e| bind_failure(&e))?;
        let note = events::scheduled_note(&namespace, &name, &node);
        self.emit(&pod, Outcome::Scheduled, note, profile).await;
        Ok(())
    }

    /// The `FailedScheduling` event from `profile` and, unless already identical, the
    /// `PodScheduled=False` condition with `reason`.
    pub(super) async fn report_failure(
        &self,
        pod: Arc<Pod>,
        reason: NotScheduled,
        message: String,
        profile: &str,
    ) {
        self.emit(&pod, Outcome::FailedScheduling, message.clone(), profile)
            .await;
        let now = jiff::Timestamp::now();
        let Some(patch) = events::not_scheduled_patch(&pod, reason, &message, now) else {
            return;
        };
        let name = pod.metadata.name.clone().unwrap_or_default();
        let result = self
            .pods(&pod)
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await;
        if let Err(error) = result {
            tracing::warn!(pod = %name, %error, "cannot set the PodScheduled condition");
        }
    }

    /// Preempts `victims` on `node` for `preemptor` (upstream `prepareCandidate`): each
    /// victim gets the `DisruptionTarget` condition, a graceful delete (its own grace
    /// period) and a `Preempted` event. A victim already gone is skipped.
    pub(super) async fn preempt(
        &self,
        preemptor: &Pod,
        node: &str,
        victims: Vec<Arc<Pod>>,
        scheduler_name: &str,
    ) {
        for victim in victims {
            let name = victim.metadata.name.clone().unwrap_or_default();
            let api = self.pods(&victim);
            if let Some(patch) =
                report::disruption_patch(&victim, scheduler_name, jiff::Timestamp::now())
            {
                let result = api
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
                    .await;
                if let Err(error) = result {
                    tracing::warn!(pod = %name, %error, "cannot mark the victim as a disruption target");
                }
            }
            if let Err(error) = api.delete(&name, &DeleteParams::default()).await {
                tracing::warn!(pod = %name, %error, "cannot delete a preemption victim");
                continue;
            }
            let mut event = events::event(
                &victim,
                Outcome::Preempted,
                report::preempted_note(preemptor, node),
                self.reporter(scheduler_name),
                jiff::Timestamp::now(),
            );
            // Upstream relates the event to the preemptor.
            event.related = Some(ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("Pod".to_owned()),
                name: preemptor.metadata.name.clone(),
                namespace: preemptor.metadata.namespace.clone(),
                uid: preemptor.metadata.uid.clone(),
                ..ObjectReference::default()
            });
            self.create_event(&event).await;
        }
    }

    /// Sets (or with `None` clears) the pod's `status.nominatedNodeName`.
    pub(super) async fn nominate(&self, pod: &Pod, node: Option<&str>) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let patch = report::nomination_patch(node);
        let result = self
            .pods(pod)
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await;
        if let Err(error) = result {
            tracing::warn!(pod = %name, %error, "cannot set the nominated node");
        }
    }

    fn reporter<'a>(&'a self, profile: &'a str) -> Reporter<'a> {
        Reporter {
            controller: profile,
            instance: &self.instance,
        }
    }

    async fn emit(&self, pod: &Pod, outcome: Outcome, note: String, profile: &str) {
        let reporter = self.reporter(profile);
        let event = events::event(pod, outcome, note, reporter, jiff::Timestamp::now());
        self.create_event(&event).await;
    }

    async fn create_event(&self, event: &Event) {
        let events = Event::url_path(&(), event.metadata.namespace.as_deref());
        if let Err(error) = self.post(events, None, event).await {
            tracing::warn!(%error, "cannot record an event");
        }
    }

    /// POSTs `body` to the collection at `path` (or to a `(subresource, name)` of one of
    /// its objects), without decoding the reply: nothing in a binding's or an event's reply
    /// is used, only whether the call succeeded.
    async fn post(
        &self,
        path: String,
        subresource: Option<(&str, &str)>,
        body: &impl serde::Serialize,
    ) -> Result<(), kube::Error> {
        let body = serde_json::to_vec(body).map_err(kube::Error::SerdeError)?;
        let collection = kube::core::Request::new(path);
        let params = PostParams::default();
        let request = match subresource {
            Some((sub, name)) => collection.create_subresource(sub, name, &params, body),
            None => collection.create(&params, body),
        }
        .map_err(kube::Error::BuildRequest)?;
        self.client.request_text(request).await.map(drop)
    }
}

/// A failed `pods/binding` call as upstream reports it: the API error's message behind
/// the DefaultBinder plugin's name; a 404 means the pod is gone.
pub(super) fn bind_failure(error: &kube::Error) -> BindFailure {
    let (text, not_found) = match error {
        kube::Error::Api(status) => (status.message.clone(), status.code == 404),
        other => (other.to_string(), false),
    };
    BindFailure {
        message: format!("running Bind plugin \"DefaultBinder\": {text}"),
        not_found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_failures_as_upstream_reports_them() {
        let api = |code: u16, message: &str| {
            let status = kube::core::Status::failure(message, "Conflict").with_code(code);
            kube::Error::Api(Box::new(status))
        };
        let cases = [
            (
                api(409, "pod web is already assigned to node \"n1\""),
                "running Bind plugin \"DefaultBinder\": pod web is already assigned to node \"n1\"",
                false,
            ),
            (
                api(404, "pods \"web\" not found"),
                "running Bind plugin \"DefaultBinder\": pods \"web\" not found",
                true,
            ),
            (
                kube::Error::LinesCodecMaxLineLengthExceeded,
                "running Bind plugin \"DefaultBinder\": Error finding newline character",
                false,
            ),
        ];
        for (error, message, not_found) in cases {
            let got = bind_failure(&error);
            assert_eq!(got.message, message);
            assert_eq!(got.not_found, not_found, "{message}");
        }
    }
}

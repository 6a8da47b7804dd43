//! Event recording for the controllers and kubelets.
//!
//! Events go through client-go's correlation first ([`crate::correlator`]): repeats are
//! counted on the first event, similar ones combined, and a source's events about one
//! object rate-limited — as upstream's controllers and kubelets send them. The events
//! are written as `events.k8s.io/v1`; a repeat sets the first one's `series`.
//!
//! (kube-runtime's `Recorder` is not used: it keeps every event it sent and scans them
//! all on each publish — 13% of the CPU while a ReplicaSet created 10,000 pods — and folds
//! all events of one reason on an object under the first one's note.)

use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as ApiEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Resource;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use tokio::sync::Mutex;

use crate::correlator::{Correlator, Facts, Verdict};

/// Publishes events as one component (a controller, a kubelet). Clones share the
/// correlation state, and send one event at a time in the order they were correlated
/// (as upstream's broadcaster does), so a count never overtakes the event it counts.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    reporter: Reporter,
    correlator: Arc<Mutex<Correlator>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("reporter", &self.reporter)
            .finish_non_exhaustive()
    }
}

fn type_name(t: EventType) -> &'static str {
    match t {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

impl Recorder {
    /// A recorder reporting as `reporter`, with fresh correlation state.
    pub fn new(client: kube::Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            correlator: Arc::default(),
        }
    }

    fn instance(&self) -> &str {
        self.reporter
            .instance
            .as_deref()
            .unwrap_or(&self.reporter.controller)
    }

    /// Sends one event about `reference`, unless correlation drops it or counts it on an
    /// earlier one.
    pub async fn publish(
        &self,
        ev: &Event,
        reference: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let note = ev.note.as_deref().unwrap_or("");
        let facts = Facts {
            source: &self.reporter.controller,
            host: self.instance(),
            regarding: reference,
            type_: type_name(ev.type_),
            reason: &ev.reason,
            note,
        };
        let now = jiff::Timestamp::now();
        let mut correlator = self.correlator.lock().await;
        let verdict = correlator.correlate(std::time::Instant::now(), &facts, || {
            // Upstream's name: the object's, then the time in hex nanoseconds.
            let object = reference.name.as_deref().unwrap_or("");
            format!("{object}.{:x}", now.as_nanosecond())
        });
        let namespace = reference.namespace.as_deref().unwrap_or("default");
        let api: Api<ApiEvent> = Api::namespaced(self.client.clone(), namespace);
        match verdict {
            Verdict::Skip => {
                tracing::debug!(reason = %ev.reason, "event dropped by the spam filter");
                Ok(())
            }
            Verdict::Create { name, note } => {
                let event = self.event(ev, reference, name, namespace, note, now);
                api.create(&PostParams::default(), &event).await.map(drop)
            }
            Verdict::Count { name, note, count } => {
                // events.k8s.io keeps an event's note: only its series moves.
                let series = serde_json::json!({
                    "series": {"count": count, "lastObservedTime": MicroTime(now)},
                });
                match api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(series))
                    .await
                {
                    Ok(_) => Ok(()),
                    // Gone meanwhile (expired, deleted): create it again, as upstream.
                    Err(kube::Error::Api(s)) if s.code == 404 => {
                        let event = self.event(ev, reference, name, namespace, note, now);
                        api.create(&PostParams::default(), &event).await.map(drop)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    fn event(
        &self,
        ev: &Event,
        reference: &ObjectReference,
        name: String,
        namespace: &str,
        note: String,
        now: jiff::Timestamp,
    ) -> ApiEvent {
        ApiEvent {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(namespace.to_owned()),
                ..ObjectMeta::default()
            },
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            note: Some(note),
            type_: Some(type_name(ev.type_).to_owned()),
            regarding: Some(reference.clone()),
            related: ev.secondary.clone(),
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(self.instance().to_owned()),
            event_time: Some(MicroTime(now)),
            ..ApiEvent::default()
        }
    }

    /// Records `reason` (also the action) with `note` about `reference`; a failure is
    /// logged, never fatal — events tell the story, they are not the state.
    pub async fn record(
        &self,
        reference: &ObjectReference,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note),
            action: reason.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.publish(&event, reference).await {
            tracing::warn!(controller = %self.reporter.controller, reason, %error, "event not recorded");
        }
    }

    /// [`Self::record`] about `obj`.
    pub async fn record_on<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        self.record(&obj.object_ref(&()), type_, reason, note).await;
    }
}

/// Events waiting in an [`EventQueue`] before new ones are dropped (client-go's
/// `maxQueuedEvents`).
pub const MAX_QUEUED_EVENTS: usize = 1000;

/// One queued event.
#[derive(Debug)]
struct Queued {
    reference: ObjectReference,
    type_: EventType,
    reason: String,
    note: String,
}

/// A recorder behind a bounded queue, as client-go's event broadcaster: callers never
/// wait, one task sends the events in order, one at a time (so a burst holds one
/// connection, not one per event), and while [`MAX_QUEUED_EVENTS`] wait, new events are
/// dropped. The task ends when every clone of the queue is dropped, after sending what
/// is queued.
#[derive(Debug, Clone)]
pub struct EventQueue {
    tx: tokio::sync::mpsc::Sender<Queued>,
}

impl EventQueue {
    /// Starts the sending task for `recorder`.
    pub fn start(recorder: Recorder) -> Self {
        Self::with_capacity(recorder, MAX_QUEUED_EVENTS)
    }

    fn with_capacity(recorder: Recorder, capacity: usize) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Queued>(capacity);
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                recorder
                    .record(&e.reference, e.type_, &e.reason, e.note)
                    .await;
            }
        });
        Self { tx }
    }

    /// Queues `reason` (also the action) with `note` about `reference`; whether it was
    /// queued (false: the queue is full, or its task is gone).
    pub fn record(
        &self,
        reference: ObjectReference,
        type_: EventType,
        reason: &str,
        note: String,
    ) -> bool {
        let event = Queued {
            reference,
            type_,
            reason: reason.to_owned(),
            note,
        };
        match self.tx.try_send(event) {
            Ok(()) => true,
            Err(error) => {
                tracing::debug!(reason, %error, "event dropped");
                false
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A client whose every request fails at once (nothing listens there).
    fn unreachable_client() -> kube::Client {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    fn reference() -> ObjectReference {
        ObjectReference {
            kind: Some("Pod".to_owned()),
            name: Some("p".to_owned()),
            namespace: Some("default".to_owned()),
            ..ObjectReference::default()
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_drops_new_events_and_the_caller_never_waits() {
        let reporter = Reporter {
            controller: "test".to_owned(),
            instance: None,
        };
        let queue = EventQueue::with_capacity(Recorder::new(unreachable_client(), reporter), 2);
        // The sending task has not run yet (one thread, no await so far): two fit, the
        // third is dropped.
        let queued: Vec<bool> = (0..3)
            .map(|i| queue.record(reference(), EventType::Normal, "R", format!("n{i}")))
            .collect();
        assert_eq!(queued, [true, true, false]);
    }
}

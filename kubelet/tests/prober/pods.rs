//! Pods, probes and a manager for the worker tests.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use keelson_kubelet::prober::{ProbeManager, ProbeNotice, ProbeResult, ProbeUpdate};
use keelson_kubelet::runtime::{ProbeKind, ProbeOutcome};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::fake::Fake;

pub(crate) const LIVE: ProbeKind = ProbeKind::Liveness;
pub(crate) const READY: ProbeKind = ProbeKind::Readiness;
pub(crate) const START: ProbeKind = ProbeKind::Startup;
pub(crate) const PASS: ProbeOutcome = ProbeOutcome::Success;

pub(crate) fn fail() -> ProbeOutcome {
    ProbeOutcome::Failure("boom".to_owned())
}

/// A probe answered by the fake (its handler is never run).
pub(crate) fn probe(initial_delay: i32, period: i32, failure_threshold: i32) -> Probe {
    Probe {
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(period),
        failure_threshold: Some(failure_threshold),
        ..Default::default()
    }
}

pub(crate) fn pod(uid: &str, restart_policy: &str, containers: Vec<Container>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web".to_owned()),
            namespace: Some("default".to_owned()),
            uid: Some(uid.to_owned()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers,
            restart_policy: Some(restart_policy.to_owned()),
            ..Default::default()
        }),
        status: None,
    }
}

pub(crate) fn app(
    liveness: Option<Probe>,
    readiness: Option<Probe>,
    startup: Option<Probe>,
) -> Container {
    Container {
        name: "app".to_owned(),
        liveness_probe: liveness,
        readiness_probe: readiness,
        startup_probe: startup,
        ..Default::default()
    }
}

pub(crate) struct Setup {
    pub(crate) fake: Arc<Fake>,
    pub(crate) manager: ProbeManager,
    pub(crate) notices: mpsc::UnboundedReceiver<ProbeNotice>,
}

pub(crate) fn setup() -> Setup {
    let fake = Arc::new(Fake::new());
    let (tx, notices) = mpsc::unbounded_channel();
    let manager = ProbeManager::new(fake.clone(), tx);
    Setup {
        fake,
        manager,
        notices,
    }
}

impl Setup {
    pub(crate) fn start(&self, container_id: &str) {
        let now = jiff::Timestamp::now().as_nanosecond();
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.manager
            .container_started("p1", "app", container_id, now, "127.0.0.1");
    }

    pub(crate) fn drain(&mut self) -> Vec<ProbeNotice> {
        std::iter::from_fn(|| self.notices.try_recv().ok()).collect()
    }

    /// The result updates among the notices so far: (container, kind, result).
    pub(crate) fn updates(&mut self) -> Vec<(String, ProbeKind, ProbeResult)> {
        let updates = self.drain().into_iter().filter_map(|n| match n {
            ProbeNotice::Result(ProbeUpdate {
                container_id,
                kind,
                result,
                ..
            }) => Some((container_id, kind, result)),
            ProbeNotice::Event(_) => None,
        });
        updates.collect()
    }
}

pub(crate) fn update(
    id: &str,
    kind: ProbeKind,
    result: ProbeResult,
) -> (String, ProbeKind, ProbeResult) {
    (id.to_owned(), kind, result)
}

/// Lets the clock run to just after `seconds` from `from`.
pub(crate) async fn until(from: Instant, seconds: f64) {
    tokio::time::sleep_until(from + Duration::from_secs_f64(seconds) + Duration::from_millis(1))
        .await;
}

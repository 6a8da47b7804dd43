//! Deleting everything in a namespace, as upstream's namespacedResourcesDeleter: every
//! namespaced kind discovery reports as deletable is emptied (deletecollection where
//! served, else one delete per object, both in the background), then listed again to see
//! what remains and which finalizers hold it.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams};
use kube::core::PartialObjectMeta;
use kube::discovery::{ApiCapabilities, Discovery, Scope, verbs};

use super::conditions::Findings;

/// How long content held by finalizers is given before looking again (upstream: 15 s).
pub const FINALIZER_ESTIMATE_SECONDS: i64 = 15;

/// What one pass found: [`Findings`] for the conditions and the estimated seconds until
/// the remaining content is gone (0 when nothing is expected to go by itself).
#[derive(Debug, Default)]
pub struct Outcome {
    /// For the conditions.
    pub findings: Findings,
    /// Seconds until remaining content should be gone.
    pub estimate: i64,
}

/// upstream's estimate for pods: the longest grace period of pods not yet terminal, or 0
/// once the namespace has been deleting longer than that.
pub fn estimate_pods(pods: &[Pod], deleting_for: Duration) -> i64 {
    let estimate = pods
        .iter()
        .filter(|p| {
            !matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            )
        })
        .filter_map(|p| p.spec.as_ref()?.termination_grace_period_seconds)
        .max()
        .unwrap_or(0)
        .max(0);
    if deleting_for >= Duration::from_secs(estimate.unsigned_abs()) {
        0
    } else {
        estimate
    }
}

/// The namespaced, deletable kinds at each group's preferred version.
fn deletable(discovery: &Discovery) -> Vec<(ApiResource, ApiCapabilities)> {
    discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .filter(|(_, caps)| {
            caps.scope == Scope::Namespaced && caps.supports_operation(verbs::DELETE)
        })
        .collect()
}

/// Deletes every object in `namespace`, deleting for `deleting_for` so far.
pub async fn delete_all_content(
    client: &kube::Client,
    namespace: &str,
    deleting_for: Duration,
) -> Outcome {
    let mut outcome = Outcome::default();
    let resources = match Discovery::new(client.clone()).run().await {
        Ok(discovery) => deletable(&discovery),
        Err(e) => {
            outcome.findings.discovery_error = Some(e.to_string());
            Vec::new()
        }
    };
    for (ar, caps) in resources {
        let gvr = format!("{}/{}, Resource={}", ar.group, ar.version, ar.plural);
        match delete_resource(client, namespace, &ar, &caps, deleting_for).await {
            Ok(found) => {
                outcome.estimate = outcome.estimate.max(found.estimate);
                if found.remaining > 0 {
                    let key = format!("{}.{}", ar.plural, ar.group);
                    outcome.findings.remaining.insert(key, found.remaining);
                    for (f, n) in found.finalizers {
                        *outcome.findings.finalizers.entry(f).or_default() += n;
                    }
                }
            }
            Err(Failed { estimate, message }) => {
                tracing::info!(%namespace, %gvr, %message, "namespace: content deletion failed");
                outcome.estimate = outcome.estimate.max(estimate);
                outcome.findings.content_errors.push(message);
            }
        }
    }
    outcome
}

/// What remains of one kind.
#[derive(Debug, Default)]
struct Remaining {
    estimate: i64,
    remaining: usize,
    finalizers: Vec<(String, usize)>,
}

/// One kind's failure, with the estimate made before it.
#[derive(Debug)]
struct Failed {
    estimate: i64,
    message: String,
}

async fn delete_resource(
    client: &kube::Client,
    namespace: &str,
    ar: &ApiResource,
    caps: &ApiCapabilities,
    deleting_for: Duration,
) -> Result<Remaining, Failed> {
    let fail = |estimate: i64| {
        move |e: kube::Error| Failed {
            estimate,
            message: e.to_string(),
        }
    };
    let mut estimate = 0;
    if ar.group.is_empty() && ar.plural == "pods" {
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let list = pods.list(&ListParams::default()).await.map_err(fail(0))?;
        estimate = estimate_pods(&list.items, deleting_for);
    }
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, ar);
    let background = DeleteParams::background();
    let mut collected = false;
    if caps.supports_operation(verbs::DELETE_COLLECTION) {
        match api
            .delete_collection(&background, &ListParams::default())
            .await
        {
            Ok(_) => collected = true,
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 405 => {}
            Err(e) => return Err(fail(estimate)(e)),
        }
    }
    let listable = caps.supports_operation(verbs::LIST);
    if !collected && listable {
        let meta: Api<PartialObjectMeta<DynamicObject>> =
            Api::namespaced_with(client.clone(), namespace, ar);
        let list = meta
            .list_metadata(&ListParams::default())
            .await
            .map_err(fail(estimate))?;
        for item in list.items {
            let name = item.metadata.name.unwrap_or_default();
            match api.delete(&name, &background).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(fail(estimate)(e)),
            }
        }
    }
    if !listable {
        return Ok(Remaining {
            estimate,
            ..Remaining::default()
        });
    }
    let meta: Api<PartialObjectMeta<DynamicObject>> =
        Api::namespaced_with(client.clone(), namespace, ar);
    let left = meta
        .list_metadata(&ListParams::default())
        .await
        .map_err(fail(estimate))?
        .items;
    let mut finalizers: Vec<(String, usize)> = Vec::new();
    for f in left
        .iter()
        .flat_map(|i| i.metadata.finalizers.iter().flatten())
    {
        match finalizers.iter_mut().find(|(name, _)| name == f) {
            Some((_, n)) => *n += 1,
            None => finalizers.push((f.clone(), 1)),
        }
    }
    let remaining = left.len();
    if estimate != 0 {
        return Ok(Remaining {
            estimate,
            remaining,
            finalizers: Vec::new(),
        });
    }
    if !finalizers.is_empty() {
        return Ok(Remaining {
            estimate: FINALIZER_ESTIMATE_SECONDS,
            remaining,
            finalizers,
        });
    }
    if remaining > 0 {
        return Err(Failed {
            estimate,
            message: format!(
                "unexpected items still remain in namespace: {namespace} for gvr: {}/{}, Resource={}",
                ar.group, ar.version, ar.plural
            ),
        });
    }
    Ok(Remaining::default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, PodStatus};

    fn pod(grace: Option<i64>, phase: &str) -> Pod {
        Pod {
            spec: Some(PodSpec {
                termination_grace_period_seconds: grace,
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    #[test]
    fn pod_estimates_follow_upstream() {
        let s = Duration::from_secs;
        let pods = [
            pod(Some(30), "Running"),
            pod(Some(90), "Succeeded"),
            pod(Some(10), "Pending"),
            pod(None, "Running"),
        ];
        // (pods, deleting for) → estimate
        let cases: [(&[Pod], Duration, i64); 5] = [
            (&pods, s(0), 30),
            (&pods, s(29), 30),
            (&pods, s(30), 0),
            (&pods[1..2], s(0), 0),
            (&[], s(0), 0),
        ];
        for (pods, elapsed, want) in cases {
            assert_eq!(estimate_pods(pods, elapsed), want, "{elapsed:?}");
        }
    }
}

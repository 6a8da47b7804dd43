//! The node's heartbeat Lease (`kube-node-lease/<node>`), as upstream's node lease
//! controller keeps it: created when missing with holder = node name, the configured
//! duration and an owner reference to the Node; renewed by replacing the cached object
//! (optimistic concurrency), re-read only on a conflict.

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::Api;
use kube::api::PostParams;

use crate::KubeletConfig;

/// Where node Leases live.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// The Lease to write at `now`: `base` (the last one read or written) with a new
/// `renewTime`, or a new one; the owner reference is added when missing.
pub(crate) fn renewed(
    base: Option<&Lease>,
    node: &Node,
    config: &KubeletConfig,
    now: Timestamp,
) -> Lease {
    let mut lease = base.cloned().unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(config.node_name.clone()),
            namespace: Some(LEASE_NAMESPACE.to_owned()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(config.node_name.clone()),
            lease_duration_seconds: Some(
                i32::try_from(config.lease_duration.as_secs()).unwrap_or(i32::MAX),
            ),
            ..Default::default()
        }),
    });
    lease.spec.get_or_insert_with(Default::default).renew_time = Some(MicroTime(now));
    let owned = lease
        .metadata
        .owner_references
        .as_ref()
        .is_some_and(|refs| !refs.is_empty());
    if !owned && let Some(uid) = node.metadata.uid.clone() {
        lease.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "v1".to_owned(),
            kind: "Node".to_owned(),
            name: config.node_name.clone(),
            uid,
            ..Default::default()
        }]);
    }
    lease
}

/// Keeps one node's Lease renewed.
#[derive(Debug)]
pub(crate) struct LeaseKeeper {
    api: Api<Lease>,
    cached: Option<Lease>,
}

fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(s) if s.code == code)
}

impl LeaseKeeper {
    pub(crate) fn new(client: kube::Client) -> Self {
        Self {
            api: Api::namespaced(client, LEASE_NAMESPACE),
            cached: None,
        }
    }

    /// Renews the Lease once (reading or creating it when nothing is cached or the cached
    /// copy is stale). An error means: try again soon.
    pub(crate) async fn renew(
        &mut self,
        node: &Node,
        config: &KubeletConfig,
    ) -> Result<(), kube::Error> {
        if let Some(cached) = self.cached.take() {
            let lease = renewed(Some(&cached), node, config, Timestamp::now());
            match self
                .api
                .replace(&config.node_name, &PostParams::default(), &lease)
                .await
            {
                Ok(written) => {
                    self.cached = Some(written);
                    return Ok(());
                }
                // Someone else wrote it, or it was deleted: read it again below.
                Err(e) if is_status(&e, 409) || is_status(&e, 404) => {}
                Err(e) => {
                    self.cached = Some(cached);
                    return Err(e);
                }
            }
        }
        let written = match self.api.get_opt(&config.node_name).await? {
            None => {
                let lease = renewed(None, node, config, Timestamp::now());
                self.api.create(&PostParams::default(), &lease).await?
            }
            Some(current) => {
                let lease = renewed(Some(&current), node, config, Timestamp::now());
                self.api
                    .replace(&config.node_name, &PostParams::default(), &lease)
                    .await?
            }
        };
        self.cached = Some(written);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("n1".to_owned()),
                uid: Some("uid-1".to_owned()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn new_lease_has_holder_duration_and_owner() {
        let config = KubeletConfig::new("n1");
        let now = Timestamp::from_second(1_000).unwrap();
        let lease = renewed(None, &node(), &config, now);
        assert_eq!(lease.metadata.namespace.as_deref(), Some(LEASE_NAMESPACE));
        assert_eq!(lease.metadata.name.as_deref(), Some("n1"));
        let spec = lease.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("n1"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
        assert_eq!(spec.renew_time, Some(MicroTime(now)));
        let owner = &lease.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (
                owner.api_version.as_str(),
                owner.kind.as_str(),
                owner.name.as_str(),
                owner.uid.as_str()
            ),
            ("v1", "Node", "n1", "uid-1")
        );
    }

    #[test]
    fn renewal_keeps_the_base_and_moves_renew_time() {
        let config = KubeletConfig::new("n1");
        let mut base = renewed(None, &node(), &config, Timestamp::from_second(1).unwrap());
        base.metadata.resource_version = Some("7".to_owned());
        base.metadata.owner_references = Some(vec![OwnerReference {
            name: "other".to_owned(),
            ..Default::default()
        }]);
        let later = Timestamp::from_second(2).unwrap();
        let lease = renewed(Some(&base), &node(), &config, later);
        assert_eq!(lease.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(lease.metadata.owner_references.unwrap()[0].name, "other");
        assert_eq!(lease.spec.unwrap().renew_time, Some(MicroTime(later)));
    }
}

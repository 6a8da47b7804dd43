//! The new ReplicaSet (upstream's `getAllReplicaSetsAndSyncRevision` and
//! `getNewReplicaSet`): find the one whose template is the Deployment's and bring its
//! revision and annotations up to date, or create it named `<deployment>-<hash>`; the
//! Deployment's revision follows the new ReplicaSet's.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt as _;
use kube::api::PostParams;
use kube::runtime::events::EventType;

use super::progress::{self, PROGRESSING};
use super::writes::is_code;
use super::{Ctl, DeploymentError, history, rolling, util};
use crate::owner;

type Result<T> = std::result::Result<T, DeploymentError>;

impl Ctl {
    /// (the new ReplicaSet, all old ones). With `create`, a missing new ReplicaSet is
    /// created. `rss` is kept up to date with what was written.
    pub(super) async fn all_rs_and_sync_revision(
        &self,
        d: &mut Deployment,
        rss: &mut Vec<ReplicaSet>,
        create: bool,
    ) -> Result<(Option<ReplicaSet>, Vec<ReplicaSet>)> {
        let new_index = util::find_new(d, rss);
        let old: Vec<ReplicaSet> = rss
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != new_index)
            .map(|(_, rs)| rs.clone())
            .collect();
        let new_revision = history::max_revision(&old) + 1;
        let new = match new_index {
            Some(i) => {
                let rs = self.sync_new_rs(d, &rss[i], new_revision).await?;
                rss[i] = rs.clone();
                Some(rs)
            }
            None if create => {
                let rs = self.create_new_rs(d, &old, new_revision).await?;
                rss.push(rs.clone());
                Some(rs)
            }
            None => None,
        };
        Ok((new, old))
    }

    /// An existing new ReplicaSet: its annotations and minReadySeconds, else the
    /// Deployment's revision and a first Progressing condition.
    async fn sync_new_rs(
        &self,
        d: &mut Deployment,
        rs: &ReplicaSet,
        new_revision: i64,
    ) -> Result<ReplicaSet> {
        let mut copy = rs.clone();
        let annotations_changed = history::set_new_rs_annotations(d, &mut copy, new_revision, true);
        let min_ready = d.spec.as_ref().and_then(|s| s.min_ready_seconds);
        let spec = copy.spec.get_or_insert_with(Default::default);
        if annotations_changed || spec.min_ready_seconds.unwrap_or(0) != min_ready.unwrap_or(0) {
            spec.min_ready_seconds = min_ready;
            return Ok(self
                .rs_api(d)
                .replace(&rs.name_any(), &PostParams::default(), &copy)
                .await?);
        }
        let revision = copy
            .annotations()
            .get(history::REVISION)
            .cloned()
            .unwrap_or_default();
        let mut changed = history::set_deployment_revision(d, &revision);
        let has_progressing = d
            .status
            .as_ref()
            .and_then(|s| progress::get(s, PROGRESSING))
            .is_some();
        if progress::has_deadline(d) && !has_progressing {
            let msg = format!("Found new replica set {:?}", rs.name_any());
            let cond = progress::condition(
                PROGRESSING,
                "True",
                progress::FOUND_NEW_RS,
                msg,
                progress::now(),
            );
            progress::set(d.status.get_or_insert_with(Default::default), cond);
            changed = true;
        }
        if changed {
            self.update_status(d).await?;
        }
        Ok(copy)
    }

    /// Creates the new ReplicaSet for the Deployment's template, sized by the strategy.
    async fn create_new_rs(
        &self,
        d: &mut Deployment,
        old: &[ReplicaSet],
        new_revision: i64,
    ) -> Result<ReplicaSet> {
        let spec = d.spec.clone().unwrap_or_default();
        let collisions = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = util::compute_hash(&spec.template, collisions);
        let mut template = spec.template.clone();
        let meta = template.metadata.get_or_insert_with(Default::default);
        meta.labels
            .get_or_insert_with(BTreeMap::new)
            .insert(util::HASH_LABEL.to_owned(), hash.clone());
        let labels = meta.labels.clone();
        let mut selector = spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(util::HASH_LABEL.to_owned(), hash.clone());
        let name = format!("{}-{hash}", d.name_any());
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: d.metadata.namespace.clone(),
                owner_references: Some(vec![owner::controller_ref(d)]),
                labels,
                ..ObjectMeta::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let mut all: Vec<&ReplicaSet> = old.iter().collect();
        all.push(&rs);
        let count = rolling::new_rs_new_replicas(d, &all, &rs);
        util::set_rs_replicas(&mut rs, count);
        history::set_new_rs_annotations(d, &mut rs, new_revision, false);

        let api = self.rs_api(d);
        let (created, existed) = match api.create(&PostParams::default(), &rs).await {
            Ok(created) => (created, false),
            Err(e) if is_code(&e, 409) => {
                let existing = api.get(&name).await?;
                let ours = owner::controller_of(&existing.metadata)
                    .is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
                let same = existing
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .is_some_and(|t| util::equal_ignore_hash(t, &spec.template));
                if !(ours && same) {
                    let status = d.status.get_or_insert_with(Default::default);
                    status.collision_count = Some(status.collision_count.unwrap_or(0) + 1);
                    if self.update_status(d).await.is_ok() {
                        tracing::info!(deployment = %d.name_any(), "found a hash collision; bumped collisionCount");
                    }
                    return Err(DeploymentError::Collision(name));
                }
                (existing, true)
            }
            Err(e) => {
                let terminating = matches!(&e, kube::Error::Api(s) if s.code == 403 && s.message.contains("terminat"));
                if !terminating {
                    let msg = format!("Failed to create new replica set {name:?}: {e}");
                    if progress::has_deadline(d) {
                        let cond = progress::condition(
                            PROGRESSING,
                            "False",
                            progress::FAILED_RS_CREATE,
                            msg.clone(),
                            progress::now(),
                        );
                        progress::set(d.status.get_or_insert_with(Default::default), cond);
                        let _ = self.update_status(d).await;
                    }
                    self.event(d, EventType::Warning, progress::FAILED_RS_CREATE, msg)
                        .await;
                }
                return Err(e.into());
            }
        };
        if !existed && count > 0 {
            let msg = format!("Scaled up replica set {name} from 0 to {count}");
            self.event(d, EventType::Normal, "ScalingReplicaSet", msg)
                .await;
        }
        let mut changed = history::set_deployment_revision(d, &new_revision.to_string());
        if !existed && progress::has_deadline(d) {
            let msg = format!("Created new replica set {name:?}");
            let cond = progress::condition(
                PROGRESSING,
                "True",
                progress::NEW_RS_CREATED,
                msg,
                progress::now(),
            );
            progress::set(d.status.get_or_insert_with(Default::default), cond);
            changed = true;
        }
        if changed {
            self.update_status(d).await?;
        }
        Ok(created)
    }
}

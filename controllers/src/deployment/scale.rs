//! Scaling without a rollout (upstream's `scale`): one active ReplicaSet takes the new
//! replicas; a saturated new one lets the old go to zero; mid-rollout, every active
//! ReplicaSet grows or shrinks in proportion to its share of the `max-replicas` it was
//! sized for, the largest taking the leftover.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::ResourceExt as _;

use super::{Ctl, DeploymentError, history, util};

type Result<T> = std::result::Result<T, DeploymentError>;

/// One scaling to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// The ReplicaSet.
    pub(crate) name: String,
    /// Its new size.
    pub(crate) size: i32,
    /// `Some(op)`: write even if only the replicas annotations change (proportional
    /// scaling); `None`: only if the size changes.
    pub(crate) op: Option<&'static str>,
}

/// Whether the new ReplicaSet has all the Deployment's replicas available, sized for them
/// (upstream's `IsSaturated`).
pub(crate) fn is_saturated(d: &Deployment, new: Option<&ReplicaSet>) -> bool {
    let Some(rs) = new else { return false };
    let want = util::replicas(d);
    util::rs_replicas(rs) == want
        && history::desired_replicas(rs) == Some(want)
        && util::rs_available(rs) == want
}

/// The replicas `rs` gains (or loses, when negative) of `to_add`, `added` being what
/// the ReplicaSets before it took (upstream's `GetReplicaSetProportion`).
fn proportion(d: &Deployment, rs: &ReplicaSet, to_add: i32, added: i32) -> i32 {
    let spec = util::rs_replicas(rs);
    if spec == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = fraction(d, rs);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// `rs`'s share of the new size by the max-replicas annotation it was sized for, as a
/// change (upstream's `getReplicaSetFraction`).
fn fraction(d: &Deployment, rs: &ReplicaSet) -> i32 {
    let spec = util::rs_replicas(rs);
    let want = util::replicas(d);
    if want == 0 {
        return -spec;
    }
    let max = want + util::max_surge(d);
    let annotated = match history::max_replicas(rs) {
        Some(n) if n != 0 => n,
        // Without the annotation, the Deployment's current size: not exact, but the
        // bounds in `proportion` keep it within limits.
        _ => d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0),
    };
    if annotated == 0 {
        return 0;
    }
    let size = f64::from(spec) * f64::from(max) / f64::from(annotated);
    // Within i32 by construction: spec and max are i32 and annotated ≥ 1.
    #[allow(clippy::cast_possible_truncation)]
    let rounded = size.round() as i32;
    rounded - spec
}

/// What upstream's `scale` does for the Deployment's new and old ReplicaSets.
pub(crate) fn plan(d: &Deployment, new: Option<&ReplicaSet>, old: &[ReplicaSet]) -> Vec<Step> {
    let want = util::replicas(d);
    let mut olds: Vec<&ReplicaSet> = old.iter().collect();
    olds.sort_by(|a, b| util::by_creation(b, a));
    let mut active: Vec<&ReplicaSet> = olds
        .iter()
        .copied()
        .chain(new)
        .filter(|rs| util::rs_replicas(rs) > 0)
        .collect();
    let step = |rs: &ReplicaSet, size, op| Step {
        name: rs.name_any(),
        size,
        op,
    };
    if new.is_none() && old.is_empty() {
        return Vec::new();
    }
    let latest = match active.len() {
        0 => new.or(olds.first().copied()),
        1 => Some(active[0]),
        _ => None,
    };
    if let Some(rs) = latest {
        if util::rs_replicas(rs) == want {
            return Vec::new();
        }
        return vec![step(rs, want, None)];
    }
    if is_saturated(d, new) {
        return olds
            .iter()
            .filter(|rs| util::rs_replicas(rs) > 0)
            .map(|rs| step(rs, 0, None))
            .collect();
    }
    if !util::is_rolling(d) {
        return Vec::new();
    }
    let current = active.iter().map(|rs| util::rs_replicas(rs)).sum::<i32>();
    let allowed = if want > 0 {
        want + util::max_surge(d)
    } else {
        0
    };
    let to_add = allowed - current;
    let op = match to_add {
        n if n > 0 => {
            active.sort_by(|a, b| util::by_size_newer(a, b));
            "up"
        }
        n if n < 0 => {
            active.sort_by(|a, b| util::by_size_older(a, b));
            "down"
        }
        _ => "",
    };
    let mut added = 0;
    let mut sizes: Vec<i32> = Vec::with_capacity(active.len());
    for rs in &active {
        let p = proportion(d, rs, to_add, added);
        sizes.push(util::rs_replicas(rs) + p);
        added += p;
    }
    if to_add != 0
        && let Some(first) = sizes.first_mut()
    {
        *first = (*first + to_add - added).max(0);
    }
    active
        .iter()
        .zip(sizes)
        .map(|(rs, size)| step(rs, size, Some(op)))
        .collect()
}

impl Ctl {
    /// Applies [`plan`], keeping `new` and `old` up to date.
    pub(super) async fn scale(
        &self,
        d: &Deployment,
        new: &mut Option<ReplicaSet>,
        old: &mut [ReplicaSet],
    ) -> Result<()> {
        for step in plan(d, new.as_ref(), old) {
            let target = new
                .as_mut()
                .filter(|rs| rs.name_any() == step.name)
                .or_else(|| old.iter_mut().find(|rs| rs.name_any() == step.name));
            let Some(rs) = target else { continue };
            let (_, updated) = match step.op {
                None => self.scale_and_record(d, rs, step.size).await?,
                Some(op) => self.scale_replica_set(d, rs, step.size, op).await?,
            };
            *rs = updated;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(name: &str, created: i64, spec: i32, max: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name,
                         "creationTimestamp": jiff::Timestamp::from_second(created).unwrap().to_string(),
                         "annotations": {history::MAX_REPLICAS: max.to_string(),
                                         history::DESIRED_REPLICAS: "10"}},
            "spec": {"replicas": spec, "selector": {}},
            "status": {"replicas": spec, "availableReplicas": spec},
        }))
        .unwrap()
    }

    fn deployment(replicas: i32) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d"},
            "spec": {"replicas": replicas, "selector": {}, "template": {},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}},
        }))
        .unwrap()
    }

    fn sizes(steps: &[Step]) -> Vec<(&str, i32)> {
        steps.iter().map(|s| (s.name.as_str(), s.size)).collect()
    }

    #[test]
    fn mid_rollout_scaling_is_proportional() {
        // Upstream's example: 10 replicas, maxSurge 3, mid-rollout with 8 old and 5 new,
        // scaled to 15 (max 18): 8*18/13 ≈ 11, 5*18/13 ≈ 7.
        let old = [rs("old", 1, 8, 13)];
        let new = rs("new", 2, 5, 13);
        let steps = plan(&deployment(15), Some(&new), &old);
        assert_eq!(sizes(&steps), [("old", 11), ("new", 7)]);
        assert!(steps.iter().all(|s| s.op == Some("up")));
        // Scaled down to 5 (max 8): 8*8/13 ≈ 5, 5*8/13 ≈ 3.
        let steps = plan(&deployment(5), Some(&new), &old);
        assert_eq!(sizes(&steps), [("old", 5), ("new", 3)]);
        // To zero: everything goes.
        let steps = plan(&deployment(0), Some(&new), &old);
        assert_eq!(sizes(&steps), [("old", 0), ("new", 0)]);
    }

    #[test]
    fn one_active_replica_set_takes_it_all() {
        let old = [rs("old", 1, 0, 13)];
        let new = rs("new", 2, 10, 13);
        assert_eq!(sizes(&plan(&deployment(4), Some(&new), &old)), [("new", 4)]);
        assert!(plan(&deployment(10), Some(&new), &old).is_empty());
        // Nothing active: the new one, else the newest old one.
        let old = [rs("a", 1, 0, 1), rs("b", 2, 0, 1)];
        assert_eq!(sizes(&plan(&deployment(3), None, &old)), [("b", 3)]);
    }

    #[test]
    fn a_saturated_new_replica_set_retires_the_old() {
        let old = [rs("old", 1, 2, 13)];
        let new = rs("new", 2, 10, 13);
        assert_eq!(
            sizes(&plan(&deployment(10), Some(&new), &old)),
            [("old", 0)]
        );
    }
}

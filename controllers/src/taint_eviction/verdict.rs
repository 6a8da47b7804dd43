//! The pure part of taint eviction: whether a toleration tolerates a taint (upstream's
//! `ToleratesTaint`), and what becomes of a pod on a node with NoExecute taints.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Taint, Toleration};

/// Whether `toleration` tolerates `taint`: the effect (if set) and key (if set) match, and
/// the value is equal (`Equal`, the default) or anything (`Exists`).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    fn set(s: &Option<String>) -> Option<&str> {
        s.as_deref().filter(|s| !s.is_empty())
    }
    if set(&toleration.effect).is_some_and(|e| e != taint.effect) {
        return false;
    }
    if set(&toleration.key).is_some_and(|k| k != taint.key) {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or_default() {
        "" | "Equal" => {
            toleration.value.as_deref().unwrap_or_default()
                == taint.value.as_deref().unwrap_or_default()
        }
        "Exists" => true,
        _ => false,
    }
}

/// What becomes of a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It stays: no NoExecute taint, or all tolerated forever.
    Keep,
    /// It is deleted now.
    EvictNow,
    /// It is deleted at this time unless the taints change.
    EvictAt(Timestamp),
}

/// The verdict for a pod with `tolerations` on a node with `taints` at `now`: any NoExecute
/// taint not tolerated evicts at once; otherwise the earliest `timeAdded + tolerationSeconds`
/// of the first toleration matching each taint (a taint without `timeAdded` counts from
/// `first_seen`, when this controller first scheduled the pod's eviction).
pub fn verdict(
    taints: &[Taint],
    tolerations: &[Toleration],
    first_seen: Timestamp,
    now: Timestamp,
) -> Verdict {
    let mut deadline: Option<Timestamp> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let Some(toleration) = tolerations.iter().find(|t| tolerates(t, taint)) else {
            return Verdict::EvictNow;
        };
        if let Some(seconds) = toleration.toleration_seconds {
            let start = taint.time_added.as_ref().map_or(first_seen, |t| t.0);
            let at = start
                .saturating_add(SignedDuration::from_secs(seconds.max(0)))
                .unwrap_or(Timestamp::MAX);
            deadline = Some(deadline.map_or(at, |d| d.min(at)));
        }
    }
    match deadline {
        None => Verdict::Keep,
        Some(at) if at <= now => Verdict::EvictNow,
        Some(at) => Verdict::EvictAt(at),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn taint(key: &str, value: Option<&str>, effect: &str, added: Option<i64>) -> Taint {
        Taint {
            key: key.into(),
            value: value.map(Into::into),
            effect: effect.into(),
            time_added: added.map(|s| Time(Timestamp::from_second(s).unwrap())),
        }
    }

    fn tol(key: &str, op: &str, value: &str, effect: &str, seconds: Option<i64>) -> Toleration {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Toleration {
            key: opt(key),
            operator: opt(op),
            value: opt(value),
            effect: opt(effect),
            toleration_seconds: seconds,
        }
    }

    #[test]
    fn tolerations_match_as_upstream() {
        let t = taint("k", Some("v"), "NoExecute", None);
        let cases = [
            (tol("k", "Equal", "v", "NoExecute", None), true),
            (tol("k", "", "v", "", None), true),
            (tol("k", "Equal", "w", "NoExecute", None), false),
            (tol("k", "Exists", "", "", None), true),
            (tol("", "Exists", "", "", None), true),
            (tol("", "Exists", "", "NoSchedule", None), false),
            (tol("other", "Exists", "", "", None), false),
            (tol("k", "Bogus", "v", "", None), false),
        ];
        for (toleration, expected) in cases {
            assert_eq!(tolerates(&toleration, &t), expected, "{toleration:?}");
        }
    }

    #[test]
    fn verdicts() {
        let ts = |s: i64| Timestamp::from_second(s).unwrap();
        let unreachable = taint("u", None, "NoExecute", Some(100));
        let no_schedule = taint("x", None, "NoSchedule", None);
        let forever = tol("u", "Exists", "", "NoExecute", None);
        let briefly = tol("u", "Exists", "", "NoExecute", Some(30));
        let cases = [
            (vec![no_schedule.clone()], vec![], Verdict::Keep),
            (vec![unreachable.clone()], vec![], Verdict::EvictNow),
            (
                vec![unreachable.clone()],
                vec![forever.clone()],
                Verdict::Keep,
            ),
            (
                vec![unreachable.clone()],
                vec![briefly.clone()],
                Verdict::EvictAt(ts(130)),
            ),
            // The first matching toleration decides.
            (
                vec![unreachable.clone()],
                vec![forever, briefly.clone()],
                Verdict::Keep,
            ),
            (
                vec![unreachable.clone(), taint("other", None, "NoExecute", None)],
                vec![briefly.clone()],
                Verdict::EvictNow,
            ),
            // Without timeAdded: from first_seen (50), so overdue at 110.
            (
                vec![taint("u", None, "NoExecute", None)],
                vec![briefly.clone()],
                Verdict::EvictNow,
            ),
            (
                vec![unreachable.clone()],
                vec![tol("u", "Exists", "", "", Some(-5))],
                Verdict::EvictNow,
            ),
        ];
        for (taints, tolerations, expected) in cases {
            assert_eq!(verdict(&taints, &tolerations, ts(50), ts(110)), expected);
        }
        assert_eq!(
            verdict(
                &[unreachable],
                std::slice::from_ref(&briefly),
                ts(50),
                ts(130)
            ),
            Verdict::EvictNow
        );
        let untimed = taint("u", None, "NoExecute", None);
        assert_eq!(
            verdict(&[untimed], &[briefly], ts(100), ts(110)),
            Verdict::EvictAt(ts(130))
        );
    }
}

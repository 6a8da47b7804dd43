//! The plugins behind a [`FitError`], recovered from its reason texts so the queue knows
//! which cluster events may make an unschedulable pod schedulable.

use std::collections::BTreeSet;

use crate::framework::fit_error::FitError;

/// The plugins a [`FitError`]'s reasons come from, for the queue's requeue rules (the
/// reasons are the in-tree plugins' fixed texts). Unknown reasons name no plugin, which
/// lets any cluster event retry the pod.
pub fn rejectors(error: &FitError) -> BTreeSet<String> {
    const TABLE: &[(&str, &str)] = &[
        ("Insufficient ", "NodeResourcesFit"),
        ("Too many pods", "NodeResourcesFit"),
        ("untolerated taint", "TaintToleration"),
        ("node affinity/selector", "NodeAffinity"),
        ("were unschedulable", "NodeUnschedulable"),
        ("requested node name", "NodeName"),
        ("free ports", "NodePorts"),
        ("pod affinity", "InterPodAffinity"),
        ("anti-affinity", "InterPodAffinity"),
        ("topology spread", "PodTopologySpread"),
        ("persistentvolumeclaim", "VolumeBinding"),
        ("PersistentVolumeClaims", "VolumeBinding"),
        ("persistent volumes to bind", "VolumeBinding"),
        ("volume node affinity conflict", "VolumeBinding"),
        ("non-existent pv", "VolumeBinding"),
        ("storageclass", "VolumeBinding"),
        ("pod is not owner", "VolumeBinding"),
    ];
    let mut out = BTreeSet::new();
    let texts = error
        .reasons
        .keys()
        .map(String::as_str)
        .chain(Some(error.pre_filter_msg.as_str()).filter(|m| !m.is_empty()));
    for reason in texts {
        for (needle, plugin) in TABLE {
            if reason.contains(needle) {
                out.insert((*plugin).to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejectors_from_reasons() {
        let cases: &[(&[&str], &[&str])] = &[
            (
                &["Insufficient cpu", "Too many pods"],
                &["NodeResourcesFit"],
            ),
            (
                &["node(s) had untolerated taint {a: b}"],
                &["TaintToleration"],
            ),
            (
                &[
                    "node(s) didn't match Pod's node affinity/selector",
                    "node(s) were unschedulable",
                ],
                &["NodeAffinity", "NodeUnschedulable"],
            ),
            (
                &[
                    "node(s) had volume node affinity conflict",
                    "node(s) didn't find available persistent volumes to bind",
                ],
                &["VolumeBinding"],
            ),
            (&["something new"], &[]),
        ];
        for (reasons, want) in cases {
            let mut e = FitError::new(3);
            e.add_node(reasons.iter().copied());
            let got: Vec<String> = rejectors(&e).into_iter().collect();
            assert_eq!(got, *want, "{reasons:?}");
        }
    }
}

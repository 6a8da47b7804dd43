//! Tests of plugin merging and multiPoint expansion.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::config::registry::REGISTRY;
use crate::config::wire::RawPlugins;

fn plugins(yaml: &str) -> RawPlugins {
    serde_saphyr::from_str(yaml).unwrap()
}

fn names(resolved: &ResolvedPlugins, point: ExtensionPoint) -> Vec<&str> {
    resolved.at(point).iter().map(String::as_str).collect()
}

fn scores(resolved: &ResolvedPlugins) -> Vec<(String, i64)> {
    resolved
        .score()
        .into_iter()
        .map(|p| (p.name, p.weight))
        .collect()
}

fn owned(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(n, w)| ((*n).to_owned(), *w)).collect()
}

#[test]
fn defaults_expand_to_every_extension_point() {
    let r = resolve("profiles[0]", None).unwrap();
    let cases: &[(ExtensionPoint, &[&str])] = &[
        (E::PreEnqueue, &["SchedulingGates"]),
        (E::QueueSort, &["PrioritySort"]),
        (
            E::PreFilter,
            &[
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "VolumeRestrictions",
                "NodeVolumeLimits",
                "VolumeBinding",
                "VolumeZone",
                "PodTopologySpread",
                "InterPodAffinity",
            ],
        ),
        (
            E::Filter,
            &[
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "VolumeRestrictions",
                "NodeVolumeLimits",
                "VolumeBinding",
                "VolumeZone",
                "PodTopologySpread",
                "InterPodAffinity",
            ],
        ),
        (E::PostFilter, &["DefaultPreemption"]),
        (
            E::PreScore,
            &[
                "TaintToleration",
                "NodeAffinity",
                "NodeResourcesFit",
                "VolumeBinding",
                "PodTopologySpread",
                "InterPodAffinity",
                "NodeResourcesBalancedAllocation",
            ],
        ),
        (E::Reserve, &["VolumeBinding"]),
        (E::Permit, &[]),
        (E::PreBind, &["VolumeBinding"]),
        (E::Bind, &["DefaultBinder"]),
        (E::PostBind, &[]),
    ];
    for (point, want) in cases {
        assert_eq!(names(&r, *point), *want, "{point:?}");
    }
    let want = owned(&[
        ("TaintToleration", 3),
        ("NodeAffinity", 2),
        ("NodeResourcesFit", 1),
        ("VolumeBinding", 1),
        ("PodTopologySpread", 2),
        ("InterPodAffinity", 2),
        ("NodeResourcesBalancedAllocation", 1),
        ("ImageLocality", 1),
    ]);
    assert_eq!(scores(&r), want);
}

#[test]
fn enabling_disabling_and_weights() {
    struct Case {
        name: &'static str,
        yaml: &'static str,
        point: ExtensionPoint,
        want: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "disable one score plugin",
            yaml: "score: {disabled: [{name: ImageLocality}]}",
            point: E::Score,
            want: &[
                "TaintToleration",
                "NodeAffinity",
                "NodeResourcesFit",
                "VolumeBinding",
                "PodTopologySpread",
                "InterPodAffinity",
                "NodeResourcesBalancedAllocation",
            ],
        },
        Case {
            name: "disable all score plugins, enable one",
            yaml: "score: {disabled: [{name: '*'}], enabled: [{name: ImageLocality, weight: 5}]}",
            point: E::Score,
            want: &["ImageLocality"],
        },
        Case {
            name: "explicit score entry moves first",
            yaml: "score: {enabled: [{name: ImageLocality, weight: 7}]}",
            point: E::Score,
            want: &[
                "ImageLocality",
                "TaintToleration",
                "NodeAffinity",
                "NodeResourcesFit",
                "VolumeBinding",
                "PodTopologySpread",
                "InterPodAffinity",
                "NodeResourcesBalancedAllocation",
            ],
        },
        Case {
            name: "multiPoint disable removes everywhere",
            yaml: "multiPoint: {disabled: [{name: NodePorts}]}",
            point: E::PreFilter,
            want: &[
                "NodeAffinity",
                "NodeResourcesFit",
                "VolumeRestrictions",
                "NodeVolumeLimits",
                "VolumeBinding",
                "VolumeZone",
                "PodTopologySpread",
                "InterPodAffinity",
            ],
        },
        Case {
            name: "filter disabled at one point only",
            yaml: "filter: {disabled: [{name: NodeName}, {name: TaintToleration}]}",
            point: E::Filter,
            want: &[
                "NodeUnschedulable",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "VolumeRestrictions",
                "NodeVolumeLimits",
                "VolumeBinding",
                "VolumeZone",
                "PodTopologySpread",
                "InterPodAffinity",
            ],
        },
        Case {
            name: "multiPoint star keeps only the listed",
            yaml: "multiPoint: {disabled: [{name: '*'}], enabled: [{name: PrioritySort}, {name: NodeName}, {name: DefaultBinder}]}",
            point: E::Filter,
            want: &["NodeName"],
        },
    ];
    for case in cases {
        let r = resolve("profiles[0]", Some(&plugins(case.yaml))).unwrap();
        assert_eq!(names(&r, case.point), case.want, "{}", case.name);
    }
}

#[test]
fn weights_follow_score_then_multi_point() {
    let cases: &[(&str, &str, i64)] = &[
        (
            "score: {enabled: [{name: ImageLocality, weight: 7}]}",
            "ImageLocality",
            7,
        ),
        (
            "multiPoint: {enabled: [{name: TaintToleration, weight: 9}]}",
            "TaintToleration",
            9,
        ),
        (
            "multiPoint: {enabled: [{name: TaintToleration, weight: 9}]}\nscore: {enabled: [{name: TaintToleration, weight: 4}]}",
            "TaintToleration",
            4,
        ),
        (
            "score: {enabled: [{name: ImageLocality, weight: 0}]}",
            "ImageLocality",
            1,
        ),
        ("{}", "NodeAffinity", 2),
    ];
    for (yaml, name, want) in cases {
        let r = resolve("profiles[0]", Some(&plugins(yaml))).unwrap();
        assert_eq!(r.weight(name), *want, "{yaml}");
    }
}

#[test]
fn plugin_errors() {
    let cases = [
        (
            "filter: {enabled: [{name: Foo}]}",
            r#"profiles[0].plugins.filter.enabled[0]: Invalid value: "Foo": plugin "Foo" does not exist"#,
        ),
        (
            "multiPoint: {disabled: [{name: Bar}]}",
            r#"profiles[0].plugins.multiPoint.disabled[0]: Invalid value: "Bar": plugin "Bar" does not exist"#,
        ),
        (
            "filter: {enabled: [{name: EBSLimits}]}",
            r#"profiles[0].plugins.filter.enabled[0]: Invalid value: "EBSLimits": was invalid in version "kubescheduler.config.k8s.io/v1" (KubeSchedulerConfiguration is version "kubescheduler.config.k8s.io/v1")"#,
        ),
        (
            "filter: {enabled: [{name: ImageLocality}]}",
            r#"profiles[0].plugins.filter.enabled[0]: Invalid value: "ImageLocality": plugin "ImageLocality" does not extend FilterPlugin"#,
        ),
        (
            "queueSort: {disabled: [{name: '*'}]}",
            "profiles[0].plugins.queueSort: Required value: no queue sort plugin is enabled",
        ),
        (
            "bind: {disabled: [{name: DefaultBinder}]}",
            "profiles[0].plugins.bind: Required value: at least one bind plugin is needed",
        ),
        (
            "filter: {enabled: [{name: NodeName}, {name: NodeName}]}",
            r#"profiles[0].plugins.filter.enabled[1]: Duplicate value: "NodeName""#,
        ),
    ];
    for (yaml, want) in cases {
        let err = resolve("profiles[0]", Some(&plugins(yaml))).unwrap_err();
        assert_eq!(err.to_string(), want, "{yaml}");
    }
}

#[test]
fn registry_knows_every_default() {
    for (name, _) in DEFAULT_MULTI_POINT {
        assert!(extension_points_of(name).is_some(), "{name}");
    }
    assert_eq!(DEFAULT_MULTI_POINT.len(), REGISTRY.len());
}

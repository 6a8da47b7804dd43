//! Tests of plugin argument defaults and validation.

#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::Value;

fn run(name: &str, json: &str) -> (PluginArgs, Vec<String>) {
    let mut args = PluginArgs::default();
    let mut errs = Vec::new();
    let value: Value = serde_json::from_str(json).unwrap();
    apply(
        &mut args,
        name,
        Some(&value),
        "profiles[0].pluginConfig[0]",
        &mut errs,
    );
    (args, errs.iter().map(ToString::to_string).collect())
}

#[test]
fn defaults_match_upstream() {
    let args = PluginArgs::default();
    let fit = &args.node_resources_fit.scoring_strategy;
    assert_eq!(fit.kind, ScoringStrategyType::LeastAllocated);
    assert_eq!(fit.resources, default_resources());
    assert_eq!(args.balanced_allocation.resources, default_resources());
    assert_eq!(
        args.pod_topology_spread.defaulting_type,
        DefaultingType::System
    );
    let system: Vec<(i32, String, String)> = args
        .pod_topology_spread
        .effective_constraints()
        .into_iter()
        .map(|c| (c.max_skew, c.topology_key, c.when_unsatisfiable))
        .collect();
    assert_eq!(
        system,
        vec![
            (
                3,
                "kubernetes.io/hostname".to_owned(),
                "ScheduleAnyway".to_owned()
            ),
            (
                5,
                "topology.kubernetes.io/zone".to_owned(),
                "ScheduleAnyway".to_owned()
            ),
        ]
    );
    assert_eq!(args.inter_pod_affinity.hard_pod_affinity_weight, 1);
    assert!(
        !args
            .inter_pod_affinity
            .ignore_preferred_terms_of_existing_pods
    );
    assert_eq!(args.default_preemption.min_candidate_nodes_percentage, 10);
    assert_eq!(args.default_preemption.min_candidate_nodes_absolute, 100);
    assert_eq!(args.volume_binding.bind_timeout_seconds, 600);
}

#[test]
fn configured_values_are_read_and_defaulted() {
    let (args, errs) = run(
        "NodeResourcesFit",
        r#"{"kind":"NodeResourcesFitArgs","scoringStrategy":{"type":"MostAllocated","resources":[{"name":"cpu"},{"name":"nvidia.com/gpu","weight":3}]},"ignoredResources":["example.com/foo"]}"#,
    );
    assert!(errs.is_empty(), "{errs:?}");
    let s = &args.node_resources_fit.scoring_strategy;
    assert_eq!(s.kind, ScoringStrategyType::MostAllocated);
    let want = vec![
        ResourceSpec {
            name: "cpu".to_owned(),
            weight: 1,
        },
        ResourceSpec {
            name: "nvidia.com/gpu".to_owned(),
            weight: 3,
        },
    ];
    assert_eq!(s.resources, want);
    assert_eq!(
        args.node_resources_fit.ignored_resources,
        vec!["example.com/foo".to_owned()]
    );

    let (args, errs) = run(
        "PodTopologySpread",
        r#"{"defaultingType":"List","defaultConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"}]}"#,
    );
    assert!(errs.is_empty(), "{errs:?}");
    let c = args.pod_topology_spread.effective_constraints();
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].max_skew, c[0].topology_key.as_str()), (1, "zone"));

    let (args, errs) = run("DefaultPreemption", r#"{"minCandidateNodesAbsolute":0}"#);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(args.default_preemption.min_candidate_nodes_percentage, 10);
    assert_eq!(args.default_preemption.min_candidate_nodes_absolute, 0);
}

#[test]
fn validation_errors() {
    let p = "profiles[0].pluginConfig[0].args";
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "InterPodAffinity",
            r#"{"hardPodAffinityWeight":101}"#,
            vec![format!(
                "{p}.hardPodAffinityWeight: Invalid value: 101: not in valid range [0, 100]"
            )],
        ),
        (
            "DefaultPreemption",
            r#"{"minCandidateNodesPercentage":0,"minCandidateNodesAbsolute":0}"#,
            vec![
                format!(
                    "{p}.minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute"
                ),
                format!(
                    "{p}.minCandidateNodesAbsolute: Invalid value: 0: cannot be zero at the same time as minCandidateNodesPercentage"
                ),
            ],
        ),
        (
            "DefaultPreemption",
            r#"{"minCandidateNodesPercentage":101,"minCandidateNodesAbsolute":-1}"#,
            vec![
                format!(
                    "{p}.minCandidateNodesPercentage: Invalid value: 101: not in valid range [0, 100]"
                ),
                format!(
                    "{p}.minCandidateNodesAbsolute: Invalid value: -1: not in valid range [0, inf)"
                ),
            ],
        ),
        (
            "VolumeBinding",
            r#"{"bindTimeoutSeconds":-1}"#,
            vec![format!(
                "{p}.bindTimeoutSeconds: Invalid value: -1: invalid BindTimeoutSeconds, should not be a negative value"
            )],
        ),
        (
            "NodeResourcesFit",
            r#"{"scoringStrategy":{"type":"Bogus"}}"#,
            vec![format!(
                r#"{p}.scoringStrategy.type: Unsupported value: "Bogus": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio""#
            )],
        ),
        (
            "NodeResourcesFit",
            r#"{"scoringStrategy":{"type":"LeastAllocated","resources":[{"name":"cpu","weight":101}]}}"#,
            vec![format!(
                "{p}.scoringStrategy.resources[0].weight: Invalid value: 101: resource weight of cpu not in valid range (0, 100]"
            )],
        ),
        (
            "NodeResourcesFit",
            r#"{"scoringStrategy":{"type":"RequestedToCapacityRatio"}}"#,
            vec![format!(
                "{p}.scoringStrategy.requestedToCapacityRatio: Required value: must be specified when type is RequestedToCapacityRatio"
            )],
        ),
        (
            "NodeResourcesFit",
            r#"{"scoringStrategy":{"type":"RequestedToCapacityRatio","requestedToCapacityRatio":{"shape":[{"utilization":50,"score":11},{"utilization":40,"score":0}]}}}"#,
            vec![
                format!(
                    "{p}.scoringStrategy.requestedToCapacityRatio.shape[1].utilization: Invalid value: 40: values must be sorted in increasing order"
                ),
                format!(
                    "{p}.scoringStrategy.requestedToCapacityRatio.shape[0].score: Invalid value: 11: not in valid range [0, 10]"
                ),
            ],
        ),
        (
            "NodeResourcesFit",
            r#"{"ignoredResourceGroups":["example.com/x"]}"#,
            vec![format!(
                r#"{p}.ignoredResourceGroups[0]: Invalid value: "example.com/x": resource group name can't contain '/'"#
            )],
        ),
        (
            "NodeResourcesBalancedAllocation",
            r#"{"resources":[{"name":"cpu","weight":2},{"name":"cpu"}]}"#,
            vec![
                format!("{p}.resources[0].weight: Invalid value: 2: must be 1"),
                format!(r#"{p}.resources[1].name: Duplicate value: "cpu""#),
            ],
        ),
        (
            "PodTopologySpread",
            r#"{"defaultConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"}]}"#,
            vec![format!(
                r#"{p}.defaultingType: Invalid value: "System": when .defaultConstraints are not empty"#
            )],
        ),
        (
            "PodTopologySpread",
            r#"{"defaultingType":"List","defaultConstraints":[{"maxSkew":0,"topologyKey":"","whenUnsatisfiable":"Maybe","labelSelector":{}},{"maxSkew":1,"topologyKey":"","whenUnsatisfiable":"Maybe"}]}"#,
            vec![
                format!(
                    "{p}.defaultConstraints[0].maxSkew: Invalid value: 0: not in valid range (0, inf)"
                ),
                format!("{p}.defaultConstraints[0].topologyKey: Required value: can not be empty"),
                format!(
                    r#"{p}.defaultConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway""#
                ),
                format!(
                    "{p}.defaultConstraints[0].labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod"
                ),
                format!("{p}.defaultConstraints[1].topologyKey: Required value: can not be empty"),
                format!(
                    r#"{p}.defaultConstraints[1].whenUnsatisfiable: Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway""#
                ),
                format!(r#"{p}.defaultConstraints[1]: Duplicate value: "{{, Maybe}}""#),
            ],
        ),
        (
            "PodTopologySpread",
            r#"{"defaultingType":"Sometimes"}"#,
            vec![format!(
                r#"{p}.defaultingType: Unsupported value: "Sometimes": supported values: "System", "List""#
            )],
        ),
        (
            "InterPodAffinity",
            r#"{"kind":"VolumeBindingArgs"}"#,
            vec![format!(
                r#"{p}: Invalid value: "VolumeBindingArgs": has to match plugin args"#
            )],
        ),
        (
            "NodeName",
            r#"{"foo":1}"#,
            vec![format!(
                r#"{p}: Invalid value: {{"foo":1}}: plugin "NodeName" takes no arguments"#
            )],
        ),
    ];
    for (name, json, want) in cases {
        let (_, errs) = run(name, json);
        assert_eq!(errs, want, "{name} {json}");
    }
}

#[test]
fn unknown_argument_fields_are_rejected() {
    let (_, errs) = run("VolumeBinding", r#"{"bindTimeout":5}"#);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("unknown field `bindTimeout`"), "{errs:?}");
}

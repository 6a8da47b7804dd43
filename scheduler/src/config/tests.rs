//! Tests of whole-document parsing, defaulting and validation.

#![allow(clippy::unwrap_used)]

use super::*;

const HEADER: &str =
    "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";

fn doc(body: &str) -> String {
    format!("{HEADER}{body}")
}

fn errors_of(yaml: &str) -> Vec<String> {
    match parse_yaml(yaml) {
        Err(e) => e.field_errors().iter().map(ToString::to_string).collect(),
        Ok(_) => panic!("expected an error for {yaml}"),
    }
}

#[test]
fn empty_documents_yield_defaults() {
    for text in ["", "{}", HEADER] {
        let config = parse_yaml(text).unwrap();
        assert_eq!(config, SchedulerConfig::default(), "{text:?}");
    }
    let c = SchedulerConfig::default();
    assert_eq!(c.parallelism, 16);
    assert_eq!(c.percentage_of_nodes_to_score, 0);
    assert_eq!(c.pod_initial_backoff, Duration::from_secs(1));
    assert_eq!(c.pod_max_backoff, Duration::from_secs(10));
    assert_eq!(c.leader_election, default_leader_election());
    assert_eq!(c.profiles.len(), 1);
    let p = &c.profiles[0];
    assert_eq!(p.scheduler_name, "default-scheduler");
    assert_eq!(p.percentage_of_nodes_to_score, None);
    assert_eq!(
        p.plugins.at(ExtensionPoint::Bind),
        ["DefaultBinder".to_owned()]
    );
    assert_eq!(p.args, PluginArgs::default());
    assert!(c.profile("default-scheduler").is_some());
    assert!(c.profile("other").is_none());
}

#[test]
fn reads_top_level_fields() {
    let yaml = doc(
        "parallelism: 4\npercentageOfNodesToScore: 100\npodInitialBackoffSeconds: 2\npodMaxBackoffSeconds: 20\n\
         leaderElection:\n  leaderElect: false\n  leaseDuration: 30s\n  renewDeadline: 20s\n  retryPeriod: 500ms\n  resourceName: my-sched\n\
         clientConnection: {kubeconfig: /x}\nenableProfiling: false\n",
    );
    let c = parse_yaml(&yaml).unwrap();
    assert_eq!(c.parallelism, 4);
    assert_eq!(c.percentage_of_nodes_to_score, 100);
    assert_eq!(c.pod_initial_backoff, Duration::from_secs(2));
    assert_eq!(c.pod_max_backoff, Duration::from_secs(20));
    let le = &c.leader_election;
    assert!(!le.leader_elect);
    assert_eq!(le.lease_duration, Duration::from_secs(30));
    assert_eq!(le.renew_deadline, Duration::from_secs(20));
    assert_eq!(le.retry_period, Duration::from_millis(500));
    assert_eq!(le.resource_name, "my-sched");
    assert_eq!(le.resource_namespace, "kube-system");
    assert_eq!(le.resource_lock, "leases");
}

#[test]
fn json_is_accepted() {
    let json = r#"{"apiVersion":"kubescheduler.config.k8s.io/v1","kind":"KubeSchedulerConfiguration","parallelism":8,"profiles":[{"schedulerName":"a"}]}"#;
    for parsed in [parse_json(json).unwrap(), parse_yaml(json).unwrap()] {
        assert_eq!(parsed.parallelism, 8);
        assert_eq!(parsed.profiles[0].scheduler_name, "a");
    }
}

#[test]
fn multiple_profiles() {
    let yaml = doc("profiles:\n\
         - schedulerName: default-scheduler\n\
         - schedulerName: bin-packer\n  percentageOfNodesToScore: 50\n  plugins:\n    score:\n      disabled: [{name: NodeResourcesBalancedAllocation}]\n  pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n        type: MostAllocated\n");
    let c = parse_yaml(&yaml).unwrap();
    let names: Vec<&str> = c
        .profiles
        .iter()
        .map(|p| p.scheduler_name.as_str())
        .collect();
    assert_eq!(names, ["default-scheduler", "bin-packer"]);
    let packer = c.profile("bin-packer").unwrap();
    assert_eq!(packer.percentage(0), 50);
    assert_eq!(c.profiles[0].percentage(7), 7);
    let strategy = packer.args.node_resources_fit.scoring_strategy.kind;
    assert_eq!(strategy, ScoringStrategyType::MostAllocated);
    let scored: Vec<String> = packer.plugins.score().into_iter().map(|p| p.name).collect();
    assert!(!scored.contains(&"NodeResourcesBalancedAllocation".to_owned()));
    assert!(
        packer.plugins.is_enabled("NodeResourcesBalancedAllocation"),
        "still in PreScore"
    );
    let default = c.profile("default-scheduler").unwrap();
    assert_eq!(
        default.args.node_resources_fit,
        NodeResourcesFitArgs::default()
    );
}

#[test]
fn validation_errors() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            doc("parallelism: 0\n"),
            vec!["parallelism: Invalid value: 0: should be an integer value greater than zero"],
        ),
        (
            doc("percentageOfNodesToScore: 101\n"),
            vec!["percentageOfNodesToScore: Invalid value: 101: not in valid range [0-100]"],
        ),
        (
            doc("percentageOfNodesToScore: -1\n"),
            vec!["percentageOfNodesToScore: Invalid value: -1: not in valid range [0-100]"],
        ),
        (
            doc("podInitialBackoffSeconds: 0\n"),
            vec!["podInitialBackoffSeconds: Invalid value: 0: must be greater than 0"],
        ),
        (
            doc("podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 4\n"),
            vec![
                "podMaxBackoffSeconds: Invalid value: 4: must be greater than or equal to PodInitialBackoffSeconds",
            ],
        ),
        (
            doc("profiles:\n- schedulerName: x\n- schedulerName: x\n"),
            vec![r#"profiles[1].schedulerName: Duplicate value: "x""#],
        ),
        (
            doc("profiles:\n- schedulerName: a\n- percentageOfNodesToScore: 200\n"),
            vec![
                "profiles[1].schedulerName: Required value",
                "profiles[1].percentageOfNodesToScore: Invalid value: 200: not in valid range [0-100]",
            ],
        ),
        (
            doc("profiles:\n- plugins: {filter: {enabled: [{name: Foo}]}}\n"),
            vec![
                r#"profiles[0].plugins.filter.enabled[0]: Invalid value: "Foo": plugin "Foo" does not exist"#,
            ],
        ),
        (
            doc("profiles:\n- pluginConfig: [{name: Foo, args: {}}]\n"),
            vec![
                r#"profiles[0].pluginConfig[0]: Invalid value: "Foo": plugin "Foo" does not exist"#,
            ],
        ),
        (
            doc("profiles:\n- pluginConfig: [{name: VolumeBinding}, {name: VolumeBinding}]\n"),
            vec![r#"profiles[0].pluginConfig[1]: Duplicate value: "VolumeBinding""#],
        ),
        (
            doc(
                "profiles:\n- pluginConfig: [{name: InterPodAffinity, args: {hardPodAffinityWeight: -1}}]\n",
            ),
            vec![
                "profiles[0].pluginConfig[0].args.hardPodAffinityWeight: Invalid value: -1: not in valid range [0, 100]",
            ],
        ),
        (
            doc(
                "profiles:\n- schedulerName: a\n- schedulerName: b\n  plugins: {queueSort: {disabled: [{name: '*'}]}}\n",
            ),
            vec!["profiles[1].plugins.queueSort: Required value: no queue sort plugin is enabled"],
        ),
        (
            doc("leaderElection: {leaseDuration: 10s, renewDeadline: 10s}\n"),
            vec![
                r#"leaderElection.leaseDuration: Invalid value: "10s": LeaseDuration must be greater than RenewDeadline"#,
            ],
        ),
        (
            doc("leaderElection: {retryPeriod: 0, resourceLock: endpoints}\n"),
            vec![
                r#"leaderElection.retryPeriod: Invalid value: "0s": must be greater than zero"#,
                r#"leaderElection.resourceLock: Invalid value: "endpoints": resourceLock value must be "leases""#,
            ],
        ),
        (
            doc("leaderElection: {leaseDuration: soon}\n"),
            vec![r#"leaderElection.leaseDuration: Invalid value: "soon": not a valid duration"#],
        ),
        (
            doc("leaderElection: {leaderElect: false, resourceLock: endpoints}\n"),
            vec![],
        ),
    ];
    for (yaml, want) in cases {
        let got = match parse_yaml(&yaml) {
            Ok(_) => Vec::new(),
            Err(_) => errors_of(&yaml),
        };
        assert_eq!(got, want, "{yaml}");
    }
}

#[test]
fn aggregated_message() {
    let err = parse_yaml(&doc("parallelism: 0\npodInitialBackoffSeconds: 0\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid scheduler configuration: [parallelism: Invalid value: 0: should be an integer value greater than zero, \
         podInitialBackoffSeconds: Invalid value: 0: must be greater than 0]"
    );
}

#[test]
fn unknown_api_version_or_kind() {
    let cases = [
        (
            "apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n",
            "kubescheduler.config.k8s.io/v1beta3",
            "KubeSchedulerConfiguration",
        ),
        (
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: Policy\n",
            "kubescheduler.config.k8s.io/v1",
            "Policy",
        ),
        ("parallelism: 3\n", "", ""),
    ];
    for (yaml, want_version, want_kind) in cases {
        match parse_yaml(yaml) {
            Err(ConfigError::UnknownKind { api_version, kind }) => {
                assert_eq!(
                    (api_version.as_str(), kind.as_str()),
                    (want_version, want_kind)
                );
            }
            other => panic!("{yaml}: {other:?}"),
        }
    }
}

#[test]
fn decoding_errors_carry_locations() {
    let broken = doc("profiles:\n  - schedulerName: [unclosed\n");
    let message = parse_yaml(&broken).unwrap_err().to_string();
    assert!(message.contains("line 4"), "{message}");

    let unknown = doc("parallelizm: 3\n");
    let message = parse_yaml(&unknown).unwrap_err().to_string();
    assert!(
        message.contains("parallelizm") && message.contains("line 3"),
        "{message}"
    );

    let wrong_type = doc("parallelism: many\n");
    let message = parse_yaml(&wrong_type).unwrap_err().to_string();
    assert!(message.contains("line 3"), "{message}");
}

#[test]
fn adaptive_nodes_to_score() {
    let cases = [
        (0, 0, 0),
        (50, 0, 50),
        (99, 10, 99),
        (100, 0, 100),
        (1000, 0, 420),
        (5000, 0, 500),
        (6000, 0, 300),
        (6250, 0, 312),
        (10000, 0, 500),
        (1000, 10, 100),
        (1000, 5, 100),
        (5000, 30, 1500),
        (5000, 100, 5000),
        (200, 100, 200),
    ];
    for (nodes, percentage, want) in cases {
        assert_eq!(
            nodes_to_score(nodes, percentage),
            want,
            "{nodes} nodes at {percentage}%"
        );
    }
}

use k8s_openapi::api::core::v1::Taint;

use super::*;

fn config() -> KubeletConfig {
    let mut config = KubeletConfig::new("n1");
    config.labels.insert("tier".to_owned(), "edge".to_owned());
    config.taints.push(Taint {
        key: "dedicated".to_owned(),
        value: Some("edge".to_owned()),
        effect: "NoSchedule".to_owned(),
        time_added: None,
    });
    config
}

#[test]
fn initial_node_has_labels_taints_and_annotation() {
    let config = config();
    let node = initial_node(&config, NodeStatus::default());
    let labels = node.metadata.labels.as_ref().unwrap();
    let arch = arch();
    for (k, v) in [
        ("kubernetes.io/hostname", "n1"),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", arch),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", arch),
        ("tier", "edge"),
    ] {
        assert_eq!(labels.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(
        node.metadata.annotations.as_ref().unwrap()[CONTROLLER_MANAGED_ATTACH_DETACH],
        "true"
    );
    assert_eq!(node.spec.unwrap().taints.unwrap()[0].key, "dedicated");
}

/// (case, existing labels, has annotation, expected patch)
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    bool,
    Option<Value>,
);

#[test]
fn reconcile_restores_only_kubelet_owned_metadata() {
    let config = config();
    let initial = initial_node(&config, NodeStatus::default());
    let cases: Vec<Case> = vec![
        (
            "up to date, with a user label",
            vec![
                ("user", "x"),
                ("tier", "edge"),
                ("kubernetes.io/hostname", "n1"),
                ("kubernetes.io/os", "linux"),
                ("kubernetes.io/arch", arch()),
                ("beta.kubernetes.io/os", "linux"),
                ("beta.kubernetes.io/arch", arch()),
            ],
            true,
            None,
        ),
        (
            "arch changed, hostname missing, annotation missing",
            vec![
                ("kubernetes.io/os", "linux"),
                ("kubernetes.io/arch", "s390"),
                ("beta.kubernetes.io/os", "linux"),
                ("beta.kubernetes.io/arch", arch()),
            ],
            false,
            Some(json!({"metadata": {
                "labels": {"kubernetes.io/arch": arch(), "kubernetes.io/hostname": "n1"},
                "annotations": {CONTROLLER_MANAGED_ATTACH_DETACH: "true"},
            }})),
        ),
    ];
    for (case, labels, annotated, expected) in cases {
        let existing = Node {
            metadata: ObjectMeta {
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                annotations: annotated.then(|| {
                    BTreeMap::from([(
                        CONTROLLER_MANAGED_ATTACH_DETACH.to_owned(),
                        "true".to_owned(),
                    )])
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            reconcile_patch(&config, &initial, &existing),
            expected,
            "{case}"
        );
    }
}

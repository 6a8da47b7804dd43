#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;

fn claim(extra: Value) -> PersistentVolumeClaim {
    let mut c = json!({
        "metadata": {"name": "c", "namespace": "ns", "uid": "u1"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                 "resources": {"requests": {"storage": "1Gi"}}}
    });
    merge(&mut c, extra);
    serde_json::from_value(c).unwrap()
}

fn pv(name: &str, size: &str, extra: Value) -> Arc<PersistentVolume> {
    let mut v = json!({
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                 "capacity": {"storage": size}},
        "status": {"phase": "Available"}
    });
    merge(&mut v, extra);
    Arc::new(serde_json::from_value(v).unwrap())
}

fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        for (k, v) in extra {
            match into.get_mut(&k) {
                Some(existing) if v.is_object() => merge(existing, v),
                _ => {
                    into.insert(k, v);
                }
            }
        }
    }
}

fn best(
    claim: &PersistentVolumeClaim,
    volumes: &[Arc<PersistentVolume>],
    node: Option<&NodeInfo>,
    delay: bool,
) -> Option<String> {
    find_best_match(claim, volumes, node, delay)
        .unwrap()
        .and_then(|v| v.metadata.name.clone())
}

#[test]
fn the_smallest_matching_volume_wins() {
    let c = claim(json!({}));
    type Case = (
        &'static str,
        Vec<Arc<PersistentVolume>>,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        ("none", vec![], None),
        ("too small", vec![pv("a", "500Mi", json!({}))], None),
        (
            "smallest big enough",
            vec![
                pv("big", "10Gi", json!({})),
                pv("small", "512Mi", json!({})),
                pv("fit", "1Gi", json!({})),
            ],
            Some("fit"),
        ),
        (
            "other class",
            vec![pv(
                "a",
                "1Gi",
                json!({"spec": {"storageClassName": "slow"}}),
            )],
            None,
        ),
        (
            "missing access mode",
            vec![pv(
                "a",
                "1Gi",
                json!({"spec": {"accessModes": ["ReadOnlyMany"]}}),
            )],
            None,
        ),
        (
            "fewer access modes first",
            vec![
                pv(
                    "many",
                    "1Gi",
                    json!({"spec": {"accessModes": ["ReadWriteOnce", "ReadOnlyMany"]}}),
                ),
                pv("one", "5Gi", json!({})),
            ],
            Some("one"),
        ),
        (
            "block volume",
            vec![pv("a", "1Gi", json!({"spec": {"volumeMode": "Block"}}))],
            None,
        ),
        (
            "not available",
            vec![pv("a", "1Gi", json!({"status": {"phase": "Released"}}))],
            None,
        ),
        (
            "being deleted",
            vec![pv(
                "a",
                "1Gi",
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}),
            )],
            None,
        ),
        (
            "pre-bound to another claim",
            vec![pv(
                "a",
                "1Gi",
                json!({"spec": {"claimRef": {"namespace": "ns", "name": "other"}}}),
            )],
            None,
        ),
        (
            "pre-bound to this claim beats smaller",
            vec![
                pv("small", "1Gi", json!({})),
                pv(
                    "mine",
                    "5Gi",
                    json!({"spec": {"claimRef": {"namespace": "ns", "name": "c"}}}),
                ),
            ],
            Some("mine"),
        ),
        (
            "pre-bound to an older claim of that name",
            vec![pv(
                "a",
                "1Gi",
                json!({"spec": {"claimRef": {"namespace": "ns", "name": "c", "uid": "u0"}}}),
            )],
            None,
        ),
    ];
    for (what, volumes, want) in cases {
        assert_eq!(best(&c, &volumes, None, false).as_deref(), want, "{what}");
    }
}

#[test]
fn selectors_classes_and_modes() {
    let labelled = pv(
        "l",
        "1Gi",
        json!({"metadata": {"labels": {"tier": "gold"}}}),
    );
    let plain = pv("p", "1Gi", json!({}));
    let volumes = [labelled, plain];
    let gold = claim(json!({"spec": {"selector": {"matchLabels": {"tier": "gold"}}}}));
    assert_eq!(best(&gold, &volumes, None, false).as_deref(), Some("l"));
    let silver = claim(json!({"spec": {"selector": {"matchLabels": {"tier": "silver"}}}}));
    assert_eq!(best(&silver, &volumes, None, false), None);
    // "" matches only volumes without a class.
    let none = claim(json!({"spec": {"storageClassName": ""}}));
    assert_eq!(best(&none, &volumes, None, false), None);
    let classless = [pv("n", "1Gi", json!({"spec": {"storageClassName": null}}))];
    assert_eq!(best(&none, &classless, None, false).as_deref(), Some("n"));
    let block = claim(json!({"spec": {"volumeMode": "Block"}}));
    let block_pv = [pv("b", "1Gi", json!({"spec": {"volumeMode": "Block"}}))];
    assert_eq!(best(&block, &block_pv, None, false).as_deref(), Some("b"));
    assert_eq!(best(&block, &volumes, None, false), None);
}

#[test]
fn delayed_binding_and_node_affinity() {
    let c = claim(json!({}));
    let affinity = |node: &str| {
        json!({"spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
        ]}]}}}})
    };
    let volumes = [
        pv("on-a", "1Gi", affinity("a")),
        pv("on-b", "2Gi", affinity("b")),
    ];
    let node = |name: &str| NodeInfo {
        name: name.to_owned(),
        labels: [("kubernetes.io/hostname".to_owned(), name.to_owned())].into(),
    };
    // Waiting for a consumer: nothing but a pre-bound volume matches.
    assert_eq!(best(&c, &volumes, None, true), None);
    assert_eq!(
        best(&c, &volumes, Some(&node("b")), true).as_deref(),
        Some("on-b")
    );
    assert_eq!(
        best(&c, &volumes, Some(&node("a")), true).as_deref(),
        Some("on-a")
    );
    assert_eq!(best(&c, &volumes, Some(&node("z")), true), None);
    let mine = [pv(
        "mine",
        "1Gi",
        json!({"spec": {"claimRef": {"namespace": "ns", "name": "c", "uid": "u1"}}}),
    )];
    assert_eq!(best(&c, &mine, None, true).as_deref(), Some("mine"));
}

#[test]
fn a_volume_asked_for_must_satisfy_the_claim() {
    let c = claim(json!({}));
    let cases = [
        (pv("v", "1Gi", json!({})), Ok(())),
        (pv("v", "1G", json!({})), Err("requested PV is too small")),
        (
            pv("v", "1Gi", json!({"spec": {"storageClassName": "slow"}})),
            Err("storageClassName does not match"),
        ),
        (
            pv("v", "1Gi", json!({"spec": {"volumeMode": "Block"}})),
            Err("incompatible volumeMode"),
        ),
        (
            pv(
                "v",
                "1Gi",
                json!({"spec": {"accessModes": ["ReadOnlyMany"]}}),
            ),
            Err("incompatible accessMode"),
        ),
    ];
    for (volume, want) in cases {
        assert_eq!(
            check_volume_satisfies_claim(&volume, &c),
            want.map_err(str::to_owned)
        );
    }
}

#[test]
fn the_newest_default_class_wins() {
    let class = |name: &str, created: &str, default: bool| {
        let mut c = json!({"metadata": {"name": name, "creationTimestamp": created},
                           "provisioner": "p"});
        if default {
            c["metadata"]["annotations"] =
                json!({"storageclass.kubernetes.io/is-default-class": "true"});
        }
        Arc::new(serde_json::from_value::<StorageClass>(c).unwrap())
    };
    let name = |classes: &[Arc<StorageClass>]| {
        default_class(classes).and_then(|c| c.metadata.name.clone())
    };
    assert_eq!(name(&[class("a", "2024-01-01T00:00:00Z", false)]), None);
    let classes = [
        class("old", "2024-01-01T00:00:00Z", true),
        class("new", "2024-02-01T00:00:00Z", true),
        class("newest-plain", "2024-03-01T00:00:00Z", false),
    ];
    assert_eq!(name(&classes).as_deref(), Some("new"));
    let tied = [
        class("b", "2024-01-01T00:00:00Z", true),
        class("a", "2024-01-01T00:00:00Z", true),
    ];
    assert_eq!(name(&tied).as_deref(), Some("a"));
}

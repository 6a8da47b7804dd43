use super::*;

fn host() -> HostInfo {
    HostInfo {
        kernel_version: "6.1.0".to_owned(),
        os_image: "Debian GNU/Linux 12 (bookworm)".to_owned(),
    }
}

fn facts(images: Vec<ImageInfo>) -> RuntimeFacts {
    RuntimeFacts {
        version: Some(RuntimeVersion {
            runtime_name: "simulated".to_owned(),
            runtime_version: "0.1.0".to_owned(),
        }),
        images: Some(images),
    }
}

fn image(id: &str, size: u64, tags: &[&str]) -> ImageInfo {
    ImageInfo {
        id: id.to_owned(),
        repo_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        repo_digests: vec![format!("repo@sha256:{id}")],
        size,
    }
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap()
}

fn node_with(status: NodeStatus) -> Node {
    Node {
        status: Some(status),
        ..Default::default()
    }
}

fn condition<'a>(status: &'a NodeStatus, kind: &str) -> &'a NodeCondition {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == kind)
        .unwrap()
}

#[test]
fn first_status_has_capacity_conditions_and_node_info() {
    let config = KubeletConfig::new("n1");
    let status = desired(&Node::default(), &config, &host(), &facts(vec![]), at(100));
    let capacity = status.capacity.as_ref().unwrap();
    for (name, amount) in [
        ("cpu", "4"),
        ("memory", "32Gi"),
        ("pods", "110"),
        ("ephemeral-storage", "100Gi"),
    ] {
        assert_eq!(capacity[name].0, amount, "capacity {name}");
    }
    assert_eq!(status.allocatable, status.capacity);
    let kinds: Vec<(&str, &str, Option<&str>)> = status
        .conditions
        .iter()
        .flatten()
        .map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "MemoryPressure",
                "False",
                Some("KubeletHasSufficientMemory")
            ),
            ("DiskPressure", "False", Some("KubeletHasNoDiskPressure")),
            ("PIDPressure", "False", Some("KubeletHasSufficientPID")),
            ("Ready", "True", Some("KubeletReady")),
        ]
    );
    assert_eq!(
        condition(&status, "Ready").message.as_deref(),
        Some("kubelet is posting ready status")
    );
    assert_eq!(
        condition(&status, "Ready").last_transition_time,
        Some(Time(at(100)))
    );
    let info = status.node_info.as_ref().unwrap();
    assert_eq!(info.container_runtime_version, "simulated://0.1.0");
    assert_eq!(info.kubelet_version, KUBELET_VERSION);
    assert_eq!(
        (info.operating_system.as_str(), info.kernel_version.as_str()),
        ("linux", "6.1.0")
    );
    assert_eq!(info.machine_id, MachineIds::of("n1").machine_id);
    let addresses: Vec<(&str, &str)> = status
        .addresses
        .iter()
        .flatten()
        .map(|a| (a.type_.as_str(), a.address.as_str()))
        .collect();
    assert_eq!(addresses, [("InternalIP", "127.0.0.1"), ("Hostname", "n1")]);
    assert_eq!(
        status
            .daemon_endpoints
            .unwrap()
            .kubelet_endpoint
            .unwrap()
            .port,
        10250
    );
}

#[test]
fn transitions_only_on_status_change() {
    let config = KubeletConfig::new("n1");
    let first = desired(&Node::default(), &config, &host(), &facts(vec![]), at(100));
    // Same status later: only heartbeats move, nothing changed.
    let second = desired(
        &node_with(first.clone()),
        &config,
        &host(),
        &facts(vec![]),
        at(200),
    );
    assert!(!changed(Some(&first), &second));
    // An API that leaves the empty image list out does not make every tick a change.
    let stored = NodeStatus {
        images: None,
        ..first.clone()
    };
    assert_eq!(second.images.as_deref(), Some(&[][..]));
    assert!(!changed(Some(&stored), &second));
    for kind in ["MemoryPressure", "Ready"] {
        assert_eq!(
            condition(&second, kind).last_transition_time,
            Some(Time(at(100))),
            "{kind}"
        );
        assert_eq!(
            condition(&second, kind).last_heartbeat_time,
            Some(Time(at(200))),
            "{kind}"
        );
    }
    // The runtime stops answering: Ready turns False now.
    let down = RuntimeFacts::default();
    let third = desired(&node_with(second.clone()), &config, &host(), &down, at(300));
    assert!(changed(Some(&second), &third));
    let ready = condition(&third, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_deref()),
        ("False", Some("KubeletNotReady"))
    );
    assert_eq!(ready.message.as_deref(), Some("container runtime is down"));
    assert_eq!(ready.last_transition_time, Some(Time(at(300))));
    // The runtime version and images are kept from before when the runtime is down.
    assert_eq!(
        third.node_info.as_ref().unwrap().container_runtime_version,
        "simulated://0.1.0"
    );
    // The node lifecycle controller marked everything Unknown: back to False/True, now.
    let mut unknown = third.clone();
    for c in unknown.conditions.iter_mut().flatten() {
        c.status = "Unknown".to_owned();
        c.reason = Some("NodeStatusUnknown".to_owned());
    }
    let back = desired(
        &node_with(unknown),
        &config,
        &host(),
        &facts(vec![]),
        at(400),
    );
    let pressure = condition(&back, "PIDPressure");
    assert_eq!(
        (pressure.status.as_str(), pressure.reason.as_deref()),
        ("False", Some("KubeletHasSufficientPID"))
    );
    assert_eq!(pressure.last_transition_time, Some(Time(at(400))));
    assert_eq!(condition(&back, "Ready").status, "True");
}

#[test]
fn keeps_what_others_own_and_equal_spellings() {
    let config = KubeletConfig::new("n1");
    let mut status = desired(&Node::default(), &config, &host(), &facts(vec![]), at(100));
    status
        .capacity
        .as_mut()
        .unwrap()
        .insert("cpu".to_owned(), Quantity("4000m".to_owned()));
    status
        .capacity
        .as_mut()
        .unwrap()
        .insert("example.com/dongle".to_owned(), Quantity("2".to_owned()));
    status.conditions.as_mut().unwrap().push(NodeCondition {
        type_: "NetworkUnavailable".to_owned(),
        status: "False".to_owned(),
        ..Default::default()
    });
    let next = desired(
        &node_with(status.clone()),
        &config,
        &host(),
        &facts(vec![]),
        at(200),
    );
    assert_eq!(
        next.capacity.as_ref().unwrap()["cpu"].0,
        "4000m",
        "same amount, stored spelling kept"
    );
    assert_eq!(
        next.allocatable.as_ref().unwrap()["example.com/dongle"].0,
        "2"
    );
    assert_eq!(condition(&next, "NetworkUnavailable").status, "False");
    // The allocatable gained the extended resource: a change; after that, none.
    assert!(changed(Some(&status), &next));
    let again = desired(
        &node_with(next.clone()),
        &config,
        &host(),
        &facts(vec![]),
        at(300),
    );
    assert!(!changed(Some(&next), &again));
}

#[test]
fn images_sorted_by_size_capped_at_50_with_5_names() {
    let tags: Vec<String> = (0..7).map(|i| format!("big:v{i}")).collect();
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    let mut images: Vec<ImageInfo> = (0..60_u64)
        .map(|i| image(&format!("i{i:02}"), i, &["x"]))
        .collect();
    images.push(image("big", 1000, &tag_refs));
    let listed = node_images(&images);
    assert_eq!(listed.len(), 50);
    assert_eq!(listed[0].size_bytes, Some(1000));
    assert_eq!(
        listed[0].names.as_deref().unwrap(),
        ["repo@sha256:big", "big:v0", "big:v1", "big:v2", "big:v3"]
    );
    assert_eq!(listed[1].size_bytes, Some(59));
    assert_eq!(listed[49].size_bytes, Some(11));
    // A new image changes the status.
    let config = KubeletConfig::new("n1");
    let before = desired(&Node::default(), &config, &host(), &facts(vec![]), at(100));
    let after = desired(
        &node_with(before.clone()),
        &config,
        &host(),
        &facts(vec![image("a", 5, &["a:1"])]),
        at(200),
    );
    assert!(changed(Some(&before), &after));
}

#[test]
fn condition_events_name_each_turn_once() {
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};
    let status = |ready: &str, memory: &str| NodeStatus {
        conditions: Some(vec![
            NodeCondition {
                type_: "MemoryPressure".to_owned(),
                status: memory.to_owned(),
                ..Default::default()
            },
            NodeCondition {
                type_: "Ready".to_owned(),
                status: ready.to_owned(),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    assert_eq!(
        condition_events(None, &status("True", "False")),
        ["NodeHasSufficientMemory", "NodeReady"]
    );
    assert!(condition_events(Some(&status("True", "False")), &status("True", "False")).is_empty());
    assert_eq!(
        condition_events(Some(&status("Unknown", "False")), &status("True", "False")),
        ["NodeReady"]
    );
    assert_eq!(
        condition_events(Some(&status("True", "False")), &status("False", "True")),
        ["NodeHasInsufficientMemory", "NodeNotReady"]
    );
}

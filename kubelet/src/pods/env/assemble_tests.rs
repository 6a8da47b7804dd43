//! The environment of one container from fixed sources.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::json;

use super::{Fetched, Sources, assemble, references};
use crate::pods::env::fields::Addresses;

fn data(pairs: &[(&str, &str)]) -> Fetched {
    Fetched::Found(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn pod() -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-1"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app"}]},
    }))
    .unwrap()
}

fn container(spec: serde_json::Value) -> Container {
    let mut spec = spec;
    spec["name"] = json!("app");
    serde_json::from_value(spec).unwrap()
}

struct Fixture {
    pod: Pod,
    config_maps: HashMap<String, Fetched>,
    secrets: HashMap<String, Fetched>,
    services: Vec<(String, String)>,
    addresses: Addresses,
    allocatable: BTreeMap<String, Quantity>,
}

impl Fixture {
    fn new() -> Self {
        let config_maps = HashMap::from([
            (
                "cm".to_owned(),
                data(&[("a", "1"), ("b", "2"), ("my.key", "x")]),
            ),
            ("other".to_owned(), data(&[("a", "other-a")])),
            ("gone".to_owned(), Fetched::Missing),
            (
                "broken".to_owned(),
                Fetched::Failed("the server is on fire".to_owned()),
            ),
        ]);
        let secrets = HashMap::from([
            ("s".to_owned(), data(&[("password", "hunter2")])),
            ("gone".to_owned(), Fetched::Missing),
        ]);
        Self {
            pod: pod(),
            config_maps,
            secrets,
            services: pairs(&SERVICES),
            addresses: Addresses {
                pod_ips: vec!["10.88.0.7".to_owned()],
                host_ips: vec!["192.168.1.2".to_owned()],
            },
            allocatable: BTreeMap::from([("memory".to_owned(), Quantity("2Gi".to_owned()))]),
        }
    }

    fn run(&self, c: serde_json::Value) -> Result<Vec<(String, String)>, String> {
        let sources = Sources {
            pod: &self.pod,
            config_maps: &self.config_maps,
            secrets: &self.secrets,
            services: &self.services,
            addresses: &self.addresses,
            allocatable: &self.allocatable,
        };
        assemble(&container(c), &sources)
    }
}

const SERVICES: [(&str, &str); 2] = [
    ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
    ("KUBERNETES_SERVICE_PORT", "443"),
];

fn with_services(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out = pairs(list);
    out.extend(pairs(&SERVICES));
    out
}

/// The environment, or the config error's message.
type Expected = Result<Vec<(String, String)>, &'static str>;

#[test]
fn environments() {
    let f = Fixture::new();
    let cases: Vec<(&str, serde_json::Value, Expected)> = vec![
        (
            "nothing: only the service variables",
            json!({}),
            Ok(with_services(&[])),
        ),
        (
            "plain values, an empty one, and expansion of earlier ones only",
            json!({"env": [
                {"name": "A", "value": "a"},
                {"name": "E"},
                {"name": "B", "value": "$(A)-$(C)-$$(A)-$(KUBERNETES_SERVICE_PORT)"},
                {"name": "C", "value": "c"},
            ]}),
            Ok(with_services(&[
                ("A", "a"),
                ("E", ""),
                ("B", "a-$(C)-$(A)-443"),
                ("C", "c"),
            ])),
        ),
        (
            "envFrom with prefixes; env overrides and keeps the first place",
            json!({
                "envFrom": [
                    {"configMapRef": {"name": "cm"}},
                    {"prefix": "S_", "secretRef": {"name": "s"}},
                    {"configMapRef": {"name": "other"}},
                ],
                "env": [{"name": "b", "value": "$(a)!"}, {"name": "KUBERNETES_SERVICE_HOST", "value": "mine"}],
            }),
            Ok(pairs(&[
                ("a", "other-a"),
                ("b", "other-a!"),
                ("my.key", "x"),
                ("S_password", "hunter2"),
                ("KUBERNETES_SERVICE_HOST", "mine"),
                ("KUBERNETES_SERVICE_PORT", "443"),
            ])),
        ),
        (
            "key references, optional ones skipped when missing",
            json!({"env": [
                {"name": "K", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "b"}}},
                {"name": "P", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
                {"name": "NOKEY", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "zz", "optional": true}}},
                {"name": "NOMAP", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "a", "optional": true}}},
                {"name": "NOSECRET", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "a", "optional": true}}},
            ], "envFrom": [{"configMapRef": {"name": "gone", "optional": true}}]}),
            Ok(with_services(&[("K", "2"), ("P", "hunter2")])),
        ),
        (
            "downward API fields and resources",
            json!({"env": [
                {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
                {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "URL", "value": "http://$(IP):80/$(NAME)"},
            ]}),
            Ok(with_services(&[
                ("NAME", "web"),
                ("IP", "10.88.0.7"),
                ("HOST", "192.168.1.2"),
                ("MEM", "2048"),
                ("URL", "http://10.88.0.7:80/web"),
            ])),
        ),
        (
            "a value wins over valueFrom",
            json!({"env": [{"name": "V", "value": "v", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "a"}}}]}),
            Ok(with_services(&[("V", "v")])),
        ),
        (
            "missing ConfigMap",
            json!({"envFrom": [{"configMapRef": {"name": "gone"}}]}),
            Err("configmap \"gone\" not found"),
        ),
        (
            "missing Secret",
            json!({"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "p"}}}]}),
            Err("secret \"gone\" not found"),
        ),
        (
            "missing ConfigMap key",
            json!({"env": [{"name": "K", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "zz"}}}]}),
            Err("couldn't find key zz in ConfigMap shop/cm"),
        ),
        (
            "missing Secret key",
            json!({"env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "zz"}}}]}),
            Err("couldn't find key zz in Secret shop/s"),
        ),
        (
            "a failed read fails even when optional",
            json!({"envFrom": [{"configMapRef": {"name": "broken", "optional": true}}]}),
            Err("the server is on fire"),
        ),
        (
            "the first error in order is the one reported",
            json!({
                "envFrom": [{"secretRef": {"name": "gone"}}],
                "env": [{"name": "K", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "a"}}}],
            }),
            Err("secret \"gone\" not found"),
        ),
        (
            "an unsupported field",
            json!({"env": [{"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]}),
            Err("field label not supported: spec.hostname"),
        ),
    ];
    for (what, spec, want) in cases {
        let got = f.run(spec);
        assert_eq!(got, want.map_err(str::to_owned), "{what}");
    }
}

#[test]
fn references_each_object_once_in_order() {
    let c = container(json!({
        "envFrom": [{"configMapRef": {"name": "b"}}, {"secretRef": {"name": "s1"}}],
        "env": [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "a", "key": "k"}}},
            {"name": "Y", "valueFrom": {"configMapKeyRef": {"name": "b", "key": "k"}}},
            {"name": "Z", "valueFrom": {"secretKeyRef": {"name": "s2", "key": "k"}}},
            {"name": "V", "value": "set", "valueFrom": {"secretKeyRef": {"name": "unread", "key": "k"}}},
            {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
    }));
    let (maps, secrets) = references(&c);
    assert_eq!(maps, ["b", "a"]);
    assert_eq!(secrets, ["s1", "s2"]);
}

//! Pods, pod specs (also in templates) and their containers.

use serde_json::{Value, json};

use super::{
    Obj, default_int, default_ptr, default_str, field, image, items, root_field, str_of,
    struct_field, volume,
};
use crate::pointer::At;

/// The container lists of a pod spec.
const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// A Pod: what upstream defaults only on pods (`SetDefaults_Pod`), then the pod spec, and
/// the service account the ServiceAccount admission plugin names when none is given
/// (mirror pods excepted).
pub(super) fn pod(obj: &mut Value) {
    let mirror = obj
        .at("/metadata/annotations/kubernetes.io~1config.mirror")
        .is_some();
    let Some(spec) = root_field(obj, "spec") else {
        return;
    };
    requests_from_limits(spec);
    default_ptr(spec, "enableServiceLinks", true);
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        host_ports(spec);
    }
    pod_spec(spec);
    if !mirror {
        default_str(spec, "serviceAccountName", "default");
        mirror_service_account(spec);
    }
}

/// A pod spec, in a Pod or a pod template (`SetDefaults_PodSpec` and what it holds).
pub(super) fn pod_spec(spec: &mut Obj) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_ptr(spec, "securityContext", json!({}));
    default_ptr(spec, "terminationGracePeriodSeconds", 30);
    default_str(spec, "schedulerName", "default-scheduler");
    mirror_service_account(spec);
    for v in items(spec, "volumes") {
        volume::volume(v);
    }
    for list in CONTAINER_LISTS {
        for c in items(spec, list) {
            container(c);
        }
    }
}

/// `serviceAccount` is the deprecated alias of `serviceAccountName`: the name wins, the
/// alias fills an empty name, and the alias always shows the name (upstream's conversion).
fn mirror_service_account(spec: &mut Obj) {
    let name = match str_of(spec, "serviceAccountName") {
        "" => str_of(spec, "serviceAccount").to_owned(),
        name => name.to_owned(),
    };
    if name.is_empty() {
        spec.remove("serviceAccountName");
        spec.remove("serviceAccount");
    } else {
        spec.insert("serviceAccountName".into(), name.clone().into());
        spec.insert("serviceAccount".into(), name.into());
    }
}

/// Requests default to limits, resource by resource, in init and app containers (pods
/// only, not templates).
fn requests_from_limits(spec: &mut Obj) {
    for list in ["initContainers", "containers"] {
        for c in items(spec, list) {
            let Some(resources) = field(c, "resources") else {
                continue;
            };
            let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
                continue;
            };
            if limits.is_empty() {
                continue;
            }
            let requests = resources.entry("requests").or_insert(json!({}));
            if requests.is_null() {
                *requests = json!({});
            }
            if let Some(requests) = requests.as_object_mut() {
                for (name, quantity) in limits {
                    requests.entry(name).or_insert(quantity);
                }
            }
        }
    }
}

/// With host networking every container port is also a host port.
fn host_ports(spec: &mut Obj) {
    for list in ["initContainers", "containers"] {
        for c in items(spec, list) {
            for p in items(c, "ports") {
                if let Some(port) = p.get("containerPort").cloned() {
                    default_int(p, "hostPort", port.as_i64().unwrap_or(0));
                }
            }
        }
    }
}

/// A container, init container or ephemeral container. Its `resources` is a Go struct,
/// so it always shows (`resources: {}`).
fn container(c: &mut Obj) {
    struct_field(c, "resources");
    let policy = image::pull_policy(str_of(c, "image"));
    default_str(c, "imagePullPolicy", policy);
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    for p in items(c, "ports") {
        default_str(p, "protocol", "TCP");
    }
    for e in items(c, "env") {
        if let Some(source) = field(e, "valueFrom") {
            if let Some(f) = field(source, "fieldRef") {
                default_str(f, "apiVersion", "v1");
            }
            if let Some(r) = field(source, "resourceFieldRef") {
                volume::resource_field_ref(r);
            }
        }
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = field(c, key) {
            probe(p);
        }
    }
    if let Some(lifecycle) = field(c, "lifecycle") {
        for key in ["postStart", "preStop"] {
            if let Some(h) = field(lifecycle, key).and_then(|h| field(h, "httpGet")) {
                http_get(h);
            }
        }
    }
}

fn probe(p: &mut Obj) {
    default_int(p, "timeoutSeconds", 1);
    default_int(p, "periodSeconds", 10);
    default_int(p, "successThreshold", 1);
    default_int(p, "failureThreshold", 3);
    if let Some(h) = field(p, "httpGet") {
        http_get(h);
    }
    if let Some(g) = field(p, "grpc") {
        default_ptr(g, "service", "");
    }
}

fn http_get(h: &mut Obj) {
    default_str(h, "path", "/");
    default_str(h, "scheme", "HTTP");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(v: Value) -> Value {
        let mut v = v;
        pod(&mut v);
        v
    }

    fn spec_of(containers: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"containers": containers}})
    }

    #[test]
    fn minimal_pod() {
        let got = defaulted(spec_of(json!([{"name": "c", "image": "nginx"}])));
        assert_eq!(
            got,
            json!({"metadata": {"name": "p"}, "spec": {
                "containers": [{
                    "name": "c", "image": "nginx", "imagePullPolicy": "Always",
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File", "resources": {},
                }],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "default",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": 30,
            }})
        );
        assert_eq!(defaulted(got.clone()), got);
    }

    #[test]
    fn given_values_are_kept() {
        let given = json!({"metadata": {"name": "p"}, "spec": {
            "containers": [{
                "name": "c", "image": "nginx", "imagePullPolicy": "Never",
                "terminationMessagePath": "/tmp/t", "terminationMessagePolicy": "FallbackToLogsOnError",
                "resources": {"requests": {"cpu": "1"}},
            }],
            "dnsPolicy": "Default", "enableServiceLinks": false, "restartPolicy": "Never",
            "schedulerName": "mine", "securityContext": {"runAsUser": 1},
            "serviceAccountName": "robot", "terminationGracePeriodSeconds": 0,
        }});
        let got = defaulted(given.clone());
        let mut want = given;
        want["spec"]["serviceAccount"] = json!("robot");
        assert_eq!(got, want);
    }

    #[test]
    fn service_account_alias() {
        let cases = [
            (json!({"serviceAccount": "old"}), ("old", "old")),
            (
                json!({"serviceAccountName": "new", "serviceAccount": "old"}),
                ("new", "new"),
            ),
            (json!({"serviceAccountName": ""}), ("default", "default")),
        ];
        for (extra, (name, alias)) in cases {
            let mut v = spec_of(json!([]));
            for (k, val) in extra.as_object().unwrap() {
                v["spec"][k] = val.clone();
            }
            let got = defaulted(v);
            assert_eq!(got["spec"]["serviceAccountName"], name, "{extra}");
            assert_eq!(got["spec"]["serviceAccount"], alias, "{extra}");
        }
        // Mirror pods get no service account.
        let mut v = spec_of(json!([]));
        v["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "x"});
        let got = defaulted(v);
        assert!(got["spec"].get("serviceAccountName").is_none());
        assert!(got["spec"].get("serviceAccount").is_none());
    }

    #[test]
    fn containers_in_depth() {
        let c = json!({
            "name": "c", "image": "nginx:1.27",
            "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
            "env": [
                {"name": "A", "value": "x"},
                {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "M", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
                {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
            ],
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}},
            "livenessProbe": {"httpGet": {"port": 8080}},
            "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 5},
            "startupProbe": {"exec": {"command": ["true"]}, "failureThreshold": 30},
            "lifecycle": {"preStop": {"httpGet": {"port": 80, "path": "/stop"}}},
        });
        let got = defaulted(spec_of(json!([c])));
        assert_eq!(
            got["spec"]["containers"][0],
            json!({
                "name": "c", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "ports": [
                    {"containerPort": 80, "protocol": "TCP"},
                    {"containerPort": 53, "protocol": "UDP"},
                ],
                "env": [
                    {"name": "A", "value": "x"},
                    {"name": "N", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    {"name": "M", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "0"}}},
                    {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
                ],
                "resources": {
                    "limits": {"cpu": "1", "memory": "1Gi"},
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                },
                "livenessProbe": {
                    "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                    "timeoutSeconds": 1, "periodSeconds": 10,
                    "successThreshold": 1, "failureThreshold": 3,
                },
                "readinessProbe": {
                    "grpc": {"port": 9000, "service": ""},
                    "timeoutSeconds": 1, "periodSeconds": 5,
                    "successThreshold": 1, "failureThreshold": 3,
                },
                "startupProbe": {
                    "exec": {"command": ["true"]},
                    "timeoutSeconds": 1, "periodSeconds": 10,
                    "successThreshold": 1, "failureThreshold": 30,
                },
                "lifecycle": {"preStop": {"httpGet": {"port": 80, "path": "/stop", "scheme": "HTTP"}}},
            })
        );
        assert_eq!(defaulted(got.clone()), got);
    }

    #[test]
    fn init_and_ephemeral_containers() {
        let mut v = spec_of(json!([]));
        v["spec"]["initContainers"] =
            json!([{"name": "i", "image": "busybox", "resources": {"limits": {"cpu": "1"}}}]);
        v["spec"]["ephemeralContainers"] =
            json!([{"name": "e", "image": "busybox:1", "resources": {"limits": {"cpu": "1"}}}]);
        let got = defaulted(v);
        let init = &got["spec"]["initContainers"][0];
        assert_eq!(init["imagePullPolicy"], "Always");
        assert_eq!(init["resources"]["requests"], json!({"cpu": "1"}));
        let eph = &got["spec"]["ephemeralContainers"][0];
        assert_eq!(eph["imagePullPolicy"], "IfNotPresent");
        assert_eq!(eph["terminationMessagePolicy"], "File");
        assert!(
            eph["resources"].get("requests").is_none(),
            "ephemeral: no requests"
        );
    }

    #[test]
    fn host_network_ports() {
        let mut v = spec_of(json!([{"name": "c", "image": "x", "ports": [
            {"containerPort": 80}, {"containerPort": 81, "hostPort": 9081},
        ]}]));
        v["spec"]["hostNetwork"] = json!(true);
        let got = defaulted(v);
        let ports = &got["spec"]["containers"][0]["ports"];
        assert_eq!(ports[0]["hostPort"], 80);
        assert_eq!(ports[1]["hostPort"], 9081);

        // Templates do not get host ports.
        let mut spec = json!({"hostNetwork": true, "containers": [
            {"name": "c", "image": "x", "ports": [{"containerPort": 80}]}
        ]});
        pod_spec(spec.as_object_mut().unwrap());
        assert!(spec["containers"][0]["ports"][0].get("hostPort").is_none());
    }

    #[test]
    fn templates_get_no_pod_only_defaults() {
        let mut spec = json!({"containers": [
            {"name": "c", "image": "x", "resources": {"limits": {"cpu": "1"}}}
        ]});
        pod_spec(spec.as_object_mut().unwrap());
        assert!(spec.get("enableServiceLinks").is_none());
        assert!(spec.get("serviceAccountName").is_none());
        assert!(spec["containers"][0]["resources"].get("requests").is_none());
        assert_eq!(spec["restartPolicy"], "Always");
    }

    #[test]
    fn volumes_are_defaulted() {
        let mut v = spec_of(json!([]));
        v["spec"]["volumes"] = json!([{"name": "scratch"}]);
        let got = defaulted(v);
        assert_eq!(
            got["spec"]["volumes"][0],
            json!({"name": "scratch", "emptyDir": {}})
        );
    }
}

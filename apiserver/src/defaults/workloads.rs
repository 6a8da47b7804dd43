//! Deployments and ReplicaSets (apps/v1), with their pod templates.

use serde_json::Value;

use super::{Obj, default_ptr, default_str, pod, root_field, str_of, struct_field};

/// A Deployment: one replica, a 25%/25% rolling update, 10 old ReplicaSets kept, a
/// 600 s progress deadline, and the pod template's defaults.
pub(super) fn deployment(obj: &mut Value) {
    let Some(spec) = root_field(obj, "spec") else {
        return;
    };
    default_ptr(spec, "replicas", 1);
    if let Some(strategy) = struct_field(spec, "strategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = struct_field(strategy, "rollingUpdate")
        {
            default_ptr(rolling, "maxUnavailable", "25%");
            default_ptr(rolling, "maxSurge", "25%");
        }
    }
    default_ptr(spec, "revisionHistoryLimit", 10);
    default_ptr(spec, "progressDeadlineSeconds", 600);
    template(spec);
}

/// A ReplicaSet: one replica, and the pod template's defaults.
pub(super) fn replica_set(obj: &mut Value) {
    let Some(spec) = root_field(obj, "spec") else {
        return;
    };
    default_ptr(spec, "replicas", 1);
    template(spec);
}

/// `spec.template`: its metadata (a Go struct, so it always shows) and the pod spec
/// defaults (not the pod-only ones).
fn template(spec: &mut Obj) {
    let Some(template) = struct_field(spec, "template") else {
        return;
    };
    struct_field(template, "metadata");
    if let Some(pod_spec) = struct_field(template, "spec") {
        pod::pod_spec(pod_spec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template_spec() -> Value {
        json!({"containers": [{"name": "c", "image": "nginx:1.27"}]})
    }

    fn defaulted_template() -> Value {
        json!({
            "containers": [{
                "name": "c", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File", "resources": {},
            }],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
        })
    }

    #[test]
    fn deployment_defaults() {
        let mut d = json!({"spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "a"}}, "spec": template_spec()},
        }});
        deployment(&mut d);
        let want = json!({"spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "a"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {"metadata": {"labels": {"app": "a"}}, "spec": defaulted_template()},
        }});
        assert_eq!(d, want);
        deployment(&mut d);
        assert_eq!(d, want, "idempotent");
    }

    #[test]
    fn deployment_strategies() {
        let cases = [
            (json!({"type": "Recreate"}), json!({"type": "Recreate"})),
            (
                json!({"rollingUpdate": {"maxSurge": 0}}),
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "25%"}}),
            ),
            (
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%", "maxSurge": 2}}),
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%", "maxSurge": 2}}),
            ),
        ];
        for (given, want) in cases {
            let mut d = json!({"spec": {"strategy": given.clone(), "replicas": 0,
                "revisionHistoryLimit": 0, "progressDeadlineSeconds": 30}});
            deployment(&mut d);
            assert_eq!(d["spec"]["strategy"], want, "{given}");
            assert_eq!(d["spec"]["replicas"], 0);
            assert_eq!(d["spec"]["revisionHistoryLimit"], 0);
            assert_eq!(d["spec"]["progressDeadlineSeconds"], 30);
        }
    }

    #[test]
    fn replica_set_defaults() {
        let mut rs = json!({"spec": {"template": {"spec": template_spec()}}});
        replica_set(&mut rs);
        assert_eq!(
            rs,
            json!({"spec": {"replicas": 1, "template": {"metadata": {}, "spec": defaulted_template()}}})
        );
        let mut rs = json!({"spec": {"replicas": 3}});
        replica_set(&mut rs);
        assert_eq!(rs["spec"]["replicas"], 3);
    }
}

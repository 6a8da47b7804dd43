//! Other ways to create: a `kind: List` applied as a whole, and `kubectl create`'s
//! imperative generators (namespace, configmap, secret, deployment), and unknown fields
//! refused on the way in.

use anyhow::{Result, ensure};
use keelson_e2e::Kubectl;
use serde_json::json;

use crate::support::{at, get, json_out, run_ok, run_ok_stdin, same, same_text};

/// A `kind: List` (what `get -o yaml` of several objects prints) applied as a whole.
pub(crate) fn apply_list(k: &Kubectl) -> Result<()> {
    let list = json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "listed-1", "namespace": "shop"}, "data": {"n": "1"}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "listed-2", "namespace": "shop"}, "data": {"n": "2"}}
        ]
    });
    let args = ["apply", "-f", "-"];
    let out = run_ok_stdin(k, &args, &list.to_string())?;
    same_text(
        &out.stdout,
        "configmap/listed-1 created\nconfigmap/listed-2 created\n",
        "apply of a List",
    )?;
    same(
        at(&get(k, "configmap listed-2")?, "/data"),
        &json!({"n": "2"}),
        "data of a listed object",
    )?;
    Ok(())
}

pub(crate) fn create_generators(k: &Kubectl) -> Result<()> {
    let out = run_ok(k, &["create", "namespace", "gen"])?;
    same_text(&out.stdout, "namespace/gen created\n", "create namespace")?;
    run_ok(
        k,
        &[
            "-n",
            "gen",
            "create",
            "configmap",
            "gen-cm",
            "--from-literal=greeting=hello",
        ],
    )?;
    let cm = json_out(
        k,
        &["-n", "gen", "get", "configmap", "gen-cm", "-o", "json"],
    )?;
    same(
        at(&cm, "/data"),
        &json!({"greeting": "hello"}),
        "created configmap",
    )?;
    run_ok(
        k,
        &[
            "-n",
            "gen",
            "create",
            "secret",
            "generic",
            "gen-secret",
            "--from-literal=token=abc",
        ],
    )?;
    let secret = json_out(
        k,
        &["-n", "gen", "get", "secret", "gen-secret", "-o", "json"],
    )?;
    same(
        at(&secret, "/data"),
        &json!({"token": "YWJj"}),
        "created secret",
    )?;
    run_ok(
        k,
        &[
            "-n",
            "gen",
            "create",
            "deployment",
            "gen-deploy",
            "--image=nginx:1.25",
            "--replicas=2",
        ],
    )?;
    let d = json_out(
        k,
        &["-n", "gen", "get", "deployment", "gen-deploy", "-o", "json"],
    )?;
    same(
        at(&d, "/spec/replicas"),
        &json!(2),
        "created deployment replicas",
    )?;
    same(
        at(&d, "/spec/template/spec/containers/0/image"),
        &json!("nginx:1.25"),
        "created deployment image",
    )?;
    Ok(())
}

/// An unknown field is refused and nothing is created: by the server (`fieldValidation=
/// Strict`) for a single object, by kubectl's own OpenAPI v2 validation inside a List.
pub(crate) fn unknown_fields(k: &Kubectl) -> Result<()> {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "typo", "namespace": "shop"},
        "spec": {
            "replicass": 2,
            "selector": {"matchLabels": {"app": "typo"}},
            "template": {
                "metadata": {"labels": {"app": "typo"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}
            }
        }
    });
    let out = k.run_with_stdin(&["apply", "-f", "-"], &deployment.to_string())?;
    ensure!(
        !out.success()
            && out
                .stderr
                .contains(r#"strict decoding error: unknown field "spec.replicass""#),
        "a single object with an unknown field:\n{out}"
    );
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [deployment]});
    let out = k.run_with_stdin(&["apply", "-f", "-"], &list.to_string())?;
    ensure!(
        !out.success()
            && out.stderr.contains(
                r#"ValidationError(Deployment.spec): unknown field "replicass" in io.k8s.api.apps.v1.DeploymentSpec"#
            ),
        "a List with an unknown field:\n{out}"
    );
    let out = k.run(&["-n", "shop", "get", "deployment", "typo"])?;
    ensure!(
        out.stderr.contains("(NotFound)"),
        "nothing is created:\n{out}"
    );
    Ok(())
}

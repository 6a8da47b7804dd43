//! Invalid objects refused as upstream refuses them: kubectl prints the server's field
//! errors (`The Deployment "x" is invalid: spec.selector: …`), one per line when there are
//! several, and nothing changes in the cluster.

use anyhow::{Result, ensure};
use keelson_e2e::Kubectl;
use serde_json::json;

use crate::support::{get, run_ok_stdin, same};

/// What kubectl prints on stderr for a 422, and that it failed.
fn refused(k: &Kubectl, args: &[&str], stdin: &str, expected: &str) -> Result<()> {
    let out = k.run_with_stdin(args, stdin)?;
    ensure!(
        !out.success() && out.stderr.contains(expected),
        "kubectl {} should print\n{expected}\n{out}",
        args.join(" ")
    );
    Ok(())
}

pub(crate) fn invalid_objects(k: &Kubectl) -> Result<()> {
    let mismatch = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mismatch", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "mismatch"}},
            "template": {
                "metadata": {"labels": {"app": "other"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}
            }
        }
    });
    refused(
        k,
        &["apply", "-f", "-"],
        &mismatch.to_string(),
        "The Deployment \"mismatch\" is invalid: spec.template.metadata.labels: Invalid value: \
         map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`\n",
    )?;

    // Several causes: one per line, in the order upstream's validation finds them.
    let broken = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "broken", "namespace": "shop"},
        "spec": {"containers": [
            {"name": "app"},
            {"name": "app", "image": "busybox"}
        ]}
    });
    refused(
        k,
        &["create", "-f", "-"],
        &broken.to_string(),
        "The Pod \"broken\" is invalid: \n\
         * spec.containers[0].image: Required value\n\
         * spec.containers[1].name: Duplicate value: \"app\"\n",
    )?;

    // An immutable ConfigMap keeps its data.
    let frozen = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "frozen", "namespace": "shop"},
        "immutable": true, "data": {"a": "1"}
    });
    run_ok_stdin(k, &["apply", "-f", "-"], &frozen.to_string())?;
    refused(
        k,
        &[
            "-n",
            "shop",
            "patch",
            "configmap",
            "frozen",
            "-p",
            r#"{"data":{"a":"2"}}"#,
        ],
        "",
        "The ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when \
         `immutable` is set\n",
    )?;
    same(
        &get(k, "configmap frozen")?["data"],
        &json!({"a": "1"}),
        "the refused patch changed nothing",
    )?;

    for (kind, name) in [("deployment", "mismatch"), ("pod", "broken")] {
        let out = k.run(&["-n", "shop", "get", kind, name])?;
        ensure!(
            out.stderr.contains("(NotFound)"),
            "nothing is created:\n{out}"
        );
    }
    Ok(())
}

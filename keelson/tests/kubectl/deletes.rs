//! `delete` by name, by selector and of an unscheduled pod, and `wait --for=delete` on an
//! object a finalizer holds.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use keelson_e2e::Kubectl;
use serde_json::json;

use crate::support::{apply_stdin, at, get, not_found, run_ok, same, same_text, shop};

pub(crate) fn delete(k: &Kubectl) -> Result<()> {
    apply_stdin(
        k,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scratch-1\n  namespace: shop\n  labels:\n    purpose: scratch\n\
         ---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scratch-2\n  namespace: shop\n  labels:\n    purpose: scratch\n\
         ---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: doomed\n  namespace: shop\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n",
    )?;
    let out = shop(k, "delete configmap scratch-1")?;
    same_text(
        &out.stdout,
        "configmap \"scratch-1\" deleted\n",
        "delete output",
    )?;
    let out = not_found(k, "get configmap scratch-1")?;
    ensure!(
        out.stderr.contains("configmaps \"scratch-1\" not found"),
        "get after delete:\n{out}"
    );

    let out = shop(k, "delete configmaps -l purpose=scratch")?;
    same_text(
        &out.stdout,
        "configmap \"scratch-2\" deleted\n",
        "delete -l",
    )?;
    let out = shop(k, "get configmaps -l purpose=scratch -o name")?;
    same_text(&out.stdout, "", "configmaps left after delete -l")?;

    // A pod that was never scheduled goes at once, as upstream.
    let out = k
        .command(&["-n", "shop", "delete", "pod", "doomed"])
        .timeout(Duration::from_secs(15))
        .run()?;
    ensure!(
        out.success() && out.stdout.contains("\"doomed\" deleted"),
        "{out}"
    );
    not_found(k, "get pod doomed")?;
    Ok(())
}

pub(crate) fn wait_for_delete(k: &Kubectl) -> Result<()> {
    apply_stdin(
        k,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"guarded","namespace":"shop","finalizers":["example.com/guard"]},"data":{"a":"b"}}"#,
    )?;
    let timeout = Duration::from_secs(30);
    let mut delete = k
        .command(&["-n", "shop", "delete", "configmap", "guarded"])
        .timeout(timeout)
        .spawn()?;

    // The finalizer holds the object: marked for deletion, still there.
    let started = Instant::now();
    loop {
        let cm = get(k, "configmap guarded")?;
        if at(&cm, "/metadata/deletionTimestamp").is_string() {
            same(
                at(&cm, "/metadata/finalizers"),
                &json!(["example.com/guard"]),
                "finalizers while deleting",
            )?;
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(10),
            "no deletionTimestamp 10 s after delete: {cm}"
        );
    }
    let mut wait = k
        .command(&[
            "-n",
            "shop",
            "wait",
            "--for=delete",
            "configmap/guarded",
            "--timeout=25s",
        ])
        .timeout(timeout)
        .spawn()?;
    // Neither may finish while the finalizer holds the object: give them a second (the
    // wait ends early if the command's output does).
    let _ = wait.wait_for_line(Duration::from_secs(1), |_| false);
    ensure!(
        wait.is_running() && delete.is_running(),
        "wait or delete ended while the finalizer held the object:\nwait: {:?}\ndelete: {:?}",
        wait.stdout_lines(),
        delete.stdout_lines()
    );

    run_ok(
        k,
        &[
            "-n",
            "shop",
            "patch",
            "configmap",
            "guarded",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ],
    )?;
    let out = wait.finish()?;
    ensure!(out.success(), "wait --for=delete:\n{out}");
    same_text(
        &out.stdout,
        "configmap/guarded condition met\n",
        "wait output",
    )?;
    let out = delete.finish()?;
    ensure!(out.success(), "delete:\n{out}");
    same_text(
        &out.stdout,
        "configmap \"guarded\" deleted\n",
        "delete output",
    )?;
    not_found(k, "get configmap guarded")?;
    Ok(())
}

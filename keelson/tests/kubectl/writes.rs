//! Changes to live objects: `label` and `annotate`, `patch` (strategic, merge, json), `edit`
//! with a scripted EDITOR, `scale` and `rollout`.

use anyhow::{Result, ensure};
use keelson_e2e::Kubectl;
use serde_json::{Value, json};

use crate::support::{
    at, get, last_applied, names, patch_web, run_fails, run_ok, same, same_text, shop,
};

pub(crate) fn label_and_annotate(k: &Kubectl) -> Result<()> {
    let labels = |k: &Kubectl| -> Result<Value> {
        Ok(at(&get(k, "pod web-0")?, "/metadata/labels").clone())
    };
    let out = shop(k, "label pod web-0 color=red")?;
    same_text(&out.stdout, "pod/web-0 labeled\n", "label")?;
    same(at(&labels(k)?, "/color"), &json!("red"), "label color")?;

    let out = run_fails(k, &["-n", "shop", "label", "pod", "web-0", "color=blue"])?;
    ensure!(
        out.stderr.contains("--overwrite is false"),
        "relabelling without --overwrite:\n{out}"
    );
    same(at(&labels(k)?, "/color"), &json!("red"), "label kept")?;

    shop(k, "label pod web-0 color=blue --overwrite")?;
    same(
        at(&labels(k)?, "/color"),
        &json!("blue"),
        "label overwritten",
    )?;

    let out = shop(k, "label pod web-0 color-")?;
    same_text(&out.stdout, "pod/web-0 unlabeled\n", "unlabel")?;
    same(
        &labels(k)?,
        &json!({"app": "web", "tier": "backend", "owner": "ops"}),
        "labels after removing color",
    )?;

    // Several objects by selector.
    let out = shop(k, "label deployments,pods -l app=web stage=test")?;
    ensure!(
        out.stdout.contains("deployment.apps/web labeled")
            && out.stdout.contains("pod/web-0 labeled"),
        "label by selector:\n{out}"
    );
    shop(k, "label deployments,pods -l app=web stage-")?;

    let out = run_ok(
        k,
        &[
            "-n",
            "shop",
            "annotate",
            "pod",
            "web-0",
            "example.com/note=hello world",
        ],
    )?;
    // kubectl 1.27 itself prints the stem here; 1.29 and later print "annotated".
    let verb = if k.minor() <= 27 {
        "annotate"
    } else {
        "annotated"
    };
    same_text(&out.stdout, &format!("pod/web-0 {verb}\n"), "annotate")?;
    let pod = get(k, "pod web-0")?;
    same(
        at(&pod, "/metadata/annotations/example.com~1note"),
        &json!("hello world"),
        "annotation",
    )?;
    shop(k, "annotate pod web-0 example.com/note-")?;
    let pod = get(k, "pod web-0")?;
    same(
        at(&pod, "/metadata/annotations/example.com~1note"),
        &Value::Null,
        "removed annotation",
    )?;
    ensure!(
        last_applied(&pod).is_some(),
        "removing one annotation removed the others: {}",
        at(&pod, "/metadata/annotations")
    );
    Ok(())
}

pub(crate) fn patch(k: &Kubectl) -> Result<()> {
    let containers = |d: &Value| at(d, "/spec/template/spec/containers").clone();
    let generation = |d: &Value| at(d, "/metadata/generation").as_i64().unwrap_or(0);
    let before = get(k, "deployment web")?;

    // Strategic merge: containers merge by name. A new element comes first: without
    // $setElementOrder, upstream's merge puts patch items before server-only ones.
    let out = patch_web(
        k,
        "strategic",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"busybox:1.36"}]}}}}"#,
    )?;
    same_text(&out.stdout, "deployment.apps/web patched\n", "patch output")?;
    let d = get(k, "deployment web")?;
    same(
        &names(&containers(&d)),
        &json!(["extra", "web"]),
        "containers after adding extra",
    )?;
    same(
        at(&d, "/spec/template/spec/containers/1/env"),
        &json!([{"name": "MODE", "value": "green"}]),
        "web env kept by strategic merge",
    )?;
    ensure!(
        generation(&d) == generation(&before) + 1,
        "a spec change bumps generation: {} -> {}",
        generation(&before),
        generation(&d)
    );

    // Strategic is kubectl patch's default.
    run_ok(
        k,
        &[
            "-n",
            "shop",
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}"#,
        ],
    )?;
    let d = get(k, "deployment web")?;
    same(
        &containers(&d),
        &json!([
            {"name": "extra", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
             "resources": {},
             "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"},
            {"name": "web", "image": "nginx:1.27", "env": [{"name": "MODE", "value": "green"}],
             "imagePullPolicy": "IfNotPresent", "resources": {},
             "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
        ]),
        "containers after a strategic image change (with upstream's defaults)",
    )?;

    patch_web(
        k,
        "strategic",
        r#"{"spec":{"template":{"spec":{"containers":[{"$patch":"delete","name":"extra"}]}}}}"#,
    )?;
    same(
        &names(&containers(&get(k, "deployment web")?)),
        &json!(["web"]),
        "containers after $patch: delete",
    )?;

    // JSON merge patch: lists are replaced whole, null removes.
    patch_web(
        k,
        "merge",
        r#"{"metadata":{"labels":{"patched":"merge"}},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}"#,
    )?;
    let d = get(k, "deployment web")?;
    same(
        at(&d, "/metadata/labels/patched"),
        &json!("merge"),
        "merge-patched label",
    )?;
    same(
        &names(&containers(&d)),
        &json!(["web"]),
        "containers after merge patch",
    )?;
    same(
        at(&d, "/spec/template/spec/containers/0/env"),
        &Value::Null,
        "env after a merge patch replaced the containers list",
    )?;
    let g = generation(&d);
    patch_web(k, "merge", r#"{"metadata":{"labels":{"patched":null}}}"#)?;
    let d = get(k, "deployment web")?;
    same(
        at(&d, "/metadata/labels/patched"),
        &Value::Null,
        "label removed by null",
    )?;
    ensure!(
        generation(&d) == g,
        "a metadata-only change bumped generation {g} -> {}",
        generation(&d)
    );

    // JSON patch, with a test operation.
    patch_web(
        k,
        "json",
        r#"[{"op":"test","path":"/metadata/name","value":"web"},{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/labels/json","value":"yes"}]"#,
    )?;
    let d = get(k, "deployment web")?;
    same(at(&d, "/spec/replicas"), &json!(4), "json-patched replicas")?;
    same(
        at(&d, "/metadata/labels/json"),
        &json!("yes"),
        "json-patched label",
    )?;
    let rv = at(&d, "/metadata/resourceVersion").clone();
    run_fails(
        k,
        &[
            "-n",
            "shop",
            "patch",
            "deployment",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/metadata/name","value":"other"},{"op":"replace","path":"/spec/replicas","value":9}]"#,
        ],
    )?;
    let d = get(k, "deployment web")?;
    same(
        at(&d, "/spec/replicas"),
        &json!(4),
        "replicas after a failed test op",
    )?;
    same(
        at(&d, "/metadata/resourceVersion"),
        &rv,
        "resourceVersion after a failed patch",
    )?;

    // A patch that changes nothing says so: the server wrote nothing.
    let out = patch_web(k, "merge", r#"{"spec":{"replicas":4}}"#)?;
    same_text(
        &out.stdout,
        "deployment.apps/web patched (no change)\n",
        "no-op patch",
    )?;
    same(
        at(&get(k, "deployment web")?, "/metadata/resourceVersion"),
        &rv,
        "resourceVersion after a no-op patch",
    )?;
    Ok(())
}

pub(crate) fn edit(k: &Kubectl) -> Result<()> {
    let image = shop(
        k,
        "get deployment web -o jsonpath={.spec.template.spec.containers[0].image}",
    )?
    .stdout;
    ensure!(
        !image.is_empty() && image != "nginx:1.28",
        "unexpected image {image:?}"
    );
    let out = k
        .command(&["-n", "shop", "edit", "deployment", "web"])
        .env("EDITOR", &format!("sed -i s#{image}#nginx:1.28#"))
        .run()?;
    ensure!(out.success(), "{out}");
    same_text(&out.stdout, "deployment.apps/web edited\n", "edit output")?;
    let d = get(k, "deployment web")?;
    same(
        at(&d, "/spec/template/spec/containers/0/image"),
        &json!("nginx:1.28"),
        "image after edit",
    )?;
    let rv = at(&d, "/metadata/resourceVersion").clone();

    let out = k
        .command(&["-n", "shop", "edit", "deployment", "web"])
        .env("EDITOR", "true")
        .run()?;
    ensure!(out.success(), "{out}");
    ensure!(
        format!("{}{}", out.stdout, out.stderr).contains("Edit cancelled, no changes made."),
        "edit without changes:\n{out}"
    );
    same(
        at(&get(k, "deployment web")?, "/metadata/resourceVersion"),
        &rv,
        "resourceVersion after a cancelled edit",
    )?;
    Ok(())
}

pub(crate) fn scale_and_rollout(k: &Kubectl) -> Result<()> {
    let generation = |d: &Value| at(d, "/metadata/generation").as_i64().unwrap_or(0);
    let before = get(k, "deployment web")?;

    let out = shop(k, "scale deployment web --replicas=3")?;
    same_text(&out.stdout, "deployment.apps/web scaled\n", "scale output")?;
    let d = get(k, "deployment web")?;
    same(at(&d, "/spec/replicas"), &json!(3), "replicas after scale")?;
    ensure!(
        generation(&d) == generation(&before) + 1,
        "scale bumps generation: {} -> {}",
        generation(&before),
        generation(&d)
    );
    let scale = get(k, "deployment web --subresource=scale")?;
    same(
        at(&scale, "/apiVersion"),
        &json!("autoscaling/v1"),
        "Scale apiVersion",
    )?;
    same(at(&scale, "/kind"), &json!("Scale"), "Scale kind")?;
    same(
        at(&scale, "/spec/replicas"),
        &json!(3),
        "Scale spec.replicas",
    )?;
    same(
        at(&scale, "/status/selector"),
        &json!("app=web"),
        "Scale status.selector",
    )?;

    let out = run_fails(
        k,
        &[
            "-n",
            "shop",
            "scale",
            "deployment",
            "web",
            "--current-replicas=2",
            "--replicas=5",
        ],
    )?;
    ensure!(
        out.stderr.contains("Expected replicas to be 2, was 3"),
        "{out}"
    );
    same(
        at(&get(k, "deployment web")?, "/spec/replicas"),
        &json!(3),
        "replicas after a failed precondition",
    )?;

    shop(k, "scale replicaset web-rs --replicas=2")?;
    same(
        at(&get(k, "replicaset web-rs")?, "/spec/replicas"),
        &json!(2),
        "replicaset replicas after scale",
    )?;

    let out = shop(k, "rollout pause deployment/web")?;
    same_text(&out.stdout, "deployment.apps/web paused\n", "rollout pause")?;
    same(
        at(&get(k, "deployment web")?, "/spec/paused"),
        &json!(true),
        "spec.paused",
    )?;
    let out = shop(k, "rollout resume deployment/web")?;
    same_text(
        &out.stdout,
        "deployment.apps/web resumed\n",
        "rollout resume",
    )?;
    let paused = at(&get(k, "deployment web")?, "/spec/paused").clone();
    ensure!(
        paused.is_null() || paused == json!(false),
        "spec.paused after resume: {paused}"
    );

    let out = shop(k, "rollout restart deployment/web")?;
    same_text(
        &out.stdout,
        "deployment.apps/web restarted\n",
        "rollout restart",
    )?;
    let d = get(k, "deployment web")?;
    ensure!(
        at(
            &d,
            "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"
        )
        .is_string(),
        "rollout restart sets the restartedAt template annotation: {}",
        at(&d, "/spec/template")
    );
    Ok(())
}

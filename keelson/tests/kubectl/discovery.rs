//! What kubectl reads from discovery and OpenAPI: `api-resources`, `api-versions`, short
//! names, and `explain`.

use std::collections::BTreeSet;

use anyhow::{Context as _, Result, ensure};
use keelson_e2e::Kubectl;

use crate::support::{Table, run_fails, run_ok, same_str, shop};

pub(crate) fn api_resources(k: &Kubectl) -> Result<()> {
    let out = run_ok(k, &["api-resources"])?;
    let table = Table::parse(&out.stdout)?;
    ensure!(
        table.columns == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
        "api-resources columns {:?}",
        table.columns
    );
    for (name, short, version, namespaced, kind) in [
        ("pods", "po", "v1", "true", "Pod"),
        ("services", "svc", "v1", "true", "Service"),
        ("namespaces", "ns", "v1", "false", "Namespace"),
        (
            "persistentvolumeclaims",
            "pvc",
            "v1",
            "true",
            "PersistentVolumeClaim",
        ),
        ("events", "ev", "v1", "true", "Event"),
        ("deployments", "deploy", "apps/v1", "true", "Deployment"),
        ("replicasets", "rs", "apps/v1", "true", "ReplicaSet"),
        ("leases", "", "coordination.k8s.io/v1", "true", "Lease"),
        (
            "endpointslices",
            "",
            "discovery.k8s.io/v1",
            "true",
            "EndpointSlice",
        ),
        ("events", "ev", "events.k8s.io/v1", "true", "Event"),
        (
            "priorityclasses",
            "pc",
            "scheduling.k8s.io/v1",
            "false",
            "PriorityClass",
        ),
        (
            "storageclasses",
            "sc",
            "storage.k8s.io/v1",
            "false",
            "StorageClass",
        ),
    ] {
        let row = table
            .rows
            .iter()
            .find(|r| {
                r.get("NAME").map(String::as_str) == Some(name)
                    && r.get("APIVERSION").map(String::as_str) == Some(version)
            })
            .with_context(|| format!("api-resources: no {name} in {version}:\n{}", out.stdout))?;
        for (column, value) in [
            ("SHORTNAMES", short),
            ("NAMESPACED", namespaced),
            ("KIND", kind),
        ] {
            same_str(
                row.get(column),
                value,
                &format!("api-resources {name} ({version}) {column}"),
            )?;
        }
    }

    let out = run_ok(k, &["api-resources", "-o", "wide"])?;
    let table = Table::parse(&out.stdout)?;
    let pods = table
        .row("NAME", "pods")
        .context("api-resources -o wide: no pods")?;
    same_str(
        pods.get("VERBS"),
        "create,delete,deletecollection,get,list,patch,update,watch",
        "pods VERBS",
    )?;
    same_str(pods.get("CATEGORIES"), "all", "pods CATEGORIES")?;

    let out = run_ok(k, &["api-resources", "--api-group=apps", "-o", "name"])?;
    let names: BTreeSet<&str> = out.stdout.lines().collect();
    ensure!(
        names.contains("deployments.apps")
            && names.contains("replicasets.apps")
            && names.iter().all(|n| n.ends_with(".apps")),
        "api-resources --api-group=apps:\n{}",
        out.stdout
    );
    let out = run_ok(k, &["api-resources", "--namespaced=false", "-o", "name"])?;
    let names: BTreeSet<&str> = out.stdout.lines().collect();
    for expected in [
        "namespaces",
        "persistentvolumes",
        "storageclasses.storage.k8s.io",
        "priorityclasses.scheduling.k8s.io",
    ] {
        ensure!(
            names.contains(expected),
            "--namespaced=false lacks {expected}:\n{}",
            out.stdout
        );
    }
    ensure!(!names.contains("pods"), "--namespaced=false lists pods");

    let out = run_ok(k, &["api-versions"])?;
    let versions: BTreeSet<&str> = out.stdout.lines().collect();
    for expected in [
        "v1",
        "apps/v1",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
        "events.k8s.io/v1",
        "scheduling.k8s.io/v1",
        "storage.k8s.io/v1",
    ] {
        ensure!(
            versions.contains(expected),
            "api-versions lacks {expected}:\n{}",
            out.stdout
        );
    }

    // Short names resolve through discovery.
    let out = shop(k, "get deploy,rs,po,svc,cm,sa,ep,pvc,sc,pc -o name")?;
    for expected in [
        "deployment.apps/web",
        "replicaset.apps/web-rs",
        "pod/web-0",
        "service/web",
        "configmap/web-config",
        "serviceaccount/web",
        "endpoints/web",
        "persistentvolumeclaim/data",
        "storageclass.storage.k8s.io/fast",
        "priorityclass.scheduling.k8s.io/high",
    ] {
        ensure!(
            out.stdout.lines().any(|l| l == expected),
            "short names: {expected} missing:\n{}",
            out.stdout
        );
    }
    Ok(())
}

pub(crate) fn explain(k: &Kubectl) -> Result<()> {
    let out = run_ok(k, &["explain", "pod.spec.containers"])?;
    let text = &out.stdout;
    for expected in [
        "KIND:       Pod",
        "VERSION:    v1",
        "FIELD: containers <[]Container>",
        "  name\t<string> -required-",
        "  image\t<string>",
    ] {
        ensure!(
            text.lines().any(|l| l == expected),
            "explain pod.spec.containers lacks the line {expected:?}:\n{text}"
        );
    }
    ensure!(
        text.contains("List of containers belonging to the pod."),
        "explain lacks the field's description:\n{text}"
    );

    let out = run_ok(k, &["explain", "deployment.spec.replicas"])?;
    for expected in [
        "GROUP:      apps",
        "KIND:       Deployment",
        "FIELD: replicas <integer>",
    ] {
        ensure!(
            out.stdout.lines().any(|l| l == expected),
            "explain deployment.spec.replicas lacks {expected:?}:\n{}",
            out.stdout
        );
    }
    let out = run_fails(k, &["explain", "pod.spec.nosuchfield"])?;
    ensure!(
        out.stderr.contains("nosuchfield"),
        "explain of a missing field names it:\n{out}"
    );
    Ok(())
}

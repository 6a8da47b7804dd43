//! Create, read, update, patch and delete through kube-rs, with upstream's semantics.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::TestServer;

fn cm(name: &str, data: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "demo", "tier": data}},
        "data": {"key": data},
    }))
    .unwrap()
}

#[tokio::test]
async fn system_namespaces_exist_at_start() {
    let t = TestServer::start().await;
    let namespaces: Api<Namespace> = Api::all(t.client.clone());
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        assert!(
            names.contains(&ns.to_owned()),
            "{ns} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn create_get_list_update_delete_round_trip() {
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let created = api
        .create(&PostParams::default(), &cm("one", "a"))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    let rv: i64 = meta.resource_version.as_deref().unwrap().parse().unwrap();
    assert!(rv > 0);
    assert!(meta.generation.is_none(), "configmaps have no generation");

    let got = api.get("one").await.unwrap();
    assert_eq!(got.data.as_ref().unwrap()["key"], "a");

    api.create(&PostParams::default(), &cm("two", "b"))
        .await
        .unwrap();
    let list = api
        .list(&ListParams::default().labels("tier=b"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(
        list.metadata
            .resource_version
            .is_some_and(|rv| !rv.is_empty())
    );
    let all = api
        .list(&ListParams::default().labels("app=demo,tier in (a,b)"))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
    let by_field = api
        .list(&ListParams::default().fields("metadata.name=two"))
        .await
        .unwrap();
    assert_eq!(by_field.items.len(), 1);

    // A stale resourceVersion is a conflict; the current one wins.
    let mut stale = got.clone();
    let mut fresh = api.get("one").await.unwrap();
    fresh.data = Some([("key".to_owned(), "c".to_owned())].into());
    let updated = api
        .replace("one", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_ne!(
        updated.metadata.resource_version,
        got.metadata.resource_version
    );
    stale.data = Some([("key".to_owned(), "d".to_owned())].into());
    let err = api
        .replace("one", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"),
        "{err:?}"
    );
    assert_eq!(api.get("one").await.unwrap().data.unwrap()["key"], "c");

    api.delete("one", &DeleteParams::default()).await.unwrap();
    let err = api.get("one").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404 && s.message == "configmaps \"one\" not found"),
        "{err:?}"
    );
}

#[tokio::test]
async fn generate_name_and_missing_namespace() {
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let mut obj = cm("", "a");
    obj.metadata.name = None;
    obj.metadata.generate_name = Some("gen-".into());
    let a = api.create(&PostParams::default(), &obj).await.unwrap();
    let b = api.create(&PostParams::default(), &obj).await.unwrap();
    let (a, b) = (a.metadata.name.unwrap(), b.metadata.name.unwrap());
    assert!(a.starts_with("gen-") && a.len() == 9, "{a}");
    assert_ne!(a, b);
    let missing: Api<ConfigMap> = Api::namespaced(t.client.clone(), "nowhere");
    let err = missing
        .create(&PostParams::default(), &cm("x", "a"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404 && s.message == "namespaces \"nowhere\" not found"),
        "{err:?}"
    );
}

#[tokio::test]
async fn creates_need_a_live_namespace() {
    let t = TestServer::start().await;
    let namespaces: Api<Namespace> = Api::all(t.client.clone());
    let ns: Namespace = serde_json::from_value(
        json!({"metadata": {"name": "fresh"}, "spec": {"finalizers": ["kubernetes"]}}),
    )
    .unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    // Right after its creation (the watch cache may not have it yet) it can be used.
    let fresh: Api<ConfigMap> = Api::namespaced(t.client.clone(), "fresh");
    fresh
        .create(&PostParams::default(), &cm("first", "a"))
        .await
        .unwrap();
    // A namespace being deleted (held by its `kubernetes` finalizer) takes nothing new.
    namespaces
        .delete("fresh", &DeleteParams::default())
        .await
        .unwrap();
    let err = fresh
        .create(&PostParams::default(), &cm("second", "a"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 403 && s.message.contains("being terminated")),
        "{err:?}"
    );
    let held = namespaces.get("fresh").await.unwrap();
    assert_eq!(held.status.unwrap().phase.as_deref(), Some("Terminating"));
    assert!(held.metadata.deletion_timestamp.is_some());
    let again = namespaces
        .delete("fresh", &DeleteParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(again, kube::Error::Api(ref s) if s.code == 409),
        "{again:?}"
    );
    // The namespace controller's last step: `finalize` empties spec.finalizers, and the
    // namespace is gone.
    let (code, v) = t
        .send_json(
            "PUT",
            "/api/v1/namespaces/fresh/finalize",
            "application/json",
            &json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "fresh"}, "spec": {"finalizers": []}}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    let gone = namespaces.get("fresh").await.unwrap_err();
    assert!(
        matches!(gone, kube::Error::Api(ref s) if s.code == 404),
        "{gone:?}"
    );
}

#[tokio::test]
async fn patches_of_every_type() {
    let t = TestServer::start().await;
    let api: Api<Deployment> = Api::namespaced(t.client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "app", "image": "busybox:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                    {"name": "side", "image": "busybox:1"}
                ]}
            }
        }
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &d).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let pp = PatchParams::default();

    // Strategic merge: containers merge by name, env by name, labels as a map.
    let smp = json!({
        "metadata": {"labels": {"b": null, "c": "3"}},
        "spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "busybox:2", "env": [{"name": "B", "$patch": "delete"}]}
        ]}}}
    });
    let out = api
        .patch("web", &pp, &Patch::Strategic(&smp))
        .await
        .unwrap();
    let labels = out.metadata.labels.clone().unwrap();
    assert_eq!(
        (labels.get("a"), labels.get("b"), labels.get("c")),
        (Some(&"1".to_owned()), None, Some(&"3".to_owned()))
    );
    let containers = &out
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers;
    assert_eq!(
        containers.len(),
        2,
        "strategic merge keeps the other container"
    );
    assert_eq!(containers[0].image.as_deref(), Some("busybox:2"));
    let env: Vec<_> = containers[0]
        .env
        .clone()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(env, ["A"]);
    assert_eq!(
        out.metadata.generation,
        Some(2),
        "a spec change bumps generation"
    );

    // Merge patch replaces lists wholesale.
    let mp =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}]}}}});
    let out = api.patch("web", &pp, &Patch::Merge(&mp)).await.unwrap();
    assert_eq!(out.spec.unwrap().template.spec.unwrap().containers.len(), 1);
    assert_eq!(out.metadata.generation, Some(3));

    // A metadata-only change does not bump generation.
    let out = api
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"metadata": {"annotations": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(out.metadata.generation, Some(3));

    // JSON patch with a failing test changes nothing.
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": 7},
        {"op": "replace", "path": "/spec/replicas", "value": 9}
    ]))
    .unwrap();
    let err = api
        .patch("web", &pp, &Patch::<()>::Json(jp))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 422),
        "{err:?}"
    );
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 4}
    ]))
    .unwrap();
    let out = api.patch("web", &pp, &Patch::<()>::Json(jp)).await.unwrap();
    assert_eq!(out.spec.unwrap().replicas, Some(4));
}

#[tokio::test]
async fn status_is_separate_from_the_main_resource() {
    let t = TestServer::start().await;
    let api: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Running"}
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &pod).await.unwrap();
    assert_eq!(
        created.status.unwrap().phase.as_deref(),
        Some("Pending"),
        "create resets status"
    );
    let pp = PatchParams::default();
    let out = api
        .patch_status(
            "p",
            &pp,
            &Patch::Merge(
                json!({"status": {"phase": "Running"}, "metadata": {"labels": {"x": "y"}}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        out.status.as_ref().unwrap().phase.as_deref(),
        Some("Running")
    );
    assert!(
        out.metadata.labels.is_none(),
        "/status ignores metadata changes"
    );
    let out = api
        .patch(
            "p",
            &pp,
            &Patch::Merge(
                json!({"status": {"phase": "Failed"}, "metadata": {"labels": {"x": "y"}}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        out.status.unwrap().phase.as_deref(),
        Some("Running"),
        "the main resource ignores status"
    );
    assert_eq!(out.metadata.labels.unwrap()["x"], "y");
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let mut obj = cm("held", "a");
    obj.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &obj).await.unwrap();
    let out = api.delete("held", &DeleteParams::default()).await.unwrap();
    let kept = out
        .left()
        .expect("the object stays while it has finalizers");
    assert!(kept.metadata.deletion_timestamp.is_some());
    assert!(api.get("held").await.is_ok());
    let out = api
        .delete(
            "held",
            &DeleteParams {
                propagation_policy: Some(kube::api::PropagationPolicy::Foreground),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let kept = out.left().unwrap();
    assert_eq!(
        kept.metadata.finalizers.unwrap(),
        ["example.com/hold", "foregroundDeletion"]
    );
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(matches!(api.get("held").await.unwrap_err(), kube::Error::Api(s) if s.code == 404));
}

#[tokio::test]
async fn pods_on_a_node_wait_for_their_kubelet() {
    let t = TestServer::start().await;
    let api: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "bound"},
        "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 20, "containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap();
    api.create(&PostParams::default(), &pod).await.unwrap();
    let out = api
        .delete("bound", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(out.metadata.deletion_grace_period_seconds, Some(20));
    assert!(
        api.get("bound").await.is_ok(),
        "a bound pod waits for its kubelet"
    );
    api.delete(
        "bound",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(api.get("bound").await.is_err());
    // Unbound pods go at once.
    let mut unbound = pod.clone();
    unbound.metadata.name = Some("free".into());
    unbound.spec.as_mut().unwrap().node_name = None;
    api.create(&PostParams::default(), &unbound).await.unwrap();
    api.delete("free", &DeleteParams::default()).await.unwrap();
    assert!(api.get("free").await.is_err());
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let out = api
        .create(
            &PostParams {
                dry_run: true,
                ..Default::default()
            },
            &cm("dry", "a"),
        )
        .await
        .unwrap();
    assert_eq!(out.metadata.name.as_deref(), Some("dry"));
    assert!(api.get("dry").await.is_err());
    api.create(&PostParams::default(), &cm("wet", "a"))
        .await
        .unwrap();
    api.delete(
        "wet",
        &DeleteParams {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(api.get("wet").await.is_ok());
}

#[tokio::test]
async fn pages_come_from_one_snapshot() {
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    for i in 0..7 {
        api.create(&PostParams::default(), &cm(&format!("c{i}"), "a"))
            .await
            .unwrap();
    }
    let first = api.list(&ListParams::default().limit(3)).await.unwrap();
    assert_eq!(first.items.len(), 3);
    assert_eq!(first.metadata.remaining_item_count, Some(4));
    let token = first.metadata.continue_.clone().unwrap();
    // Writes after the first page are not seen by later pages.
    api.delete("c5", &DeleteParams::default()).await.unwrap();
    api.create(&PostParams::default(), &cm("c9", "a"))
        .await
        .unwrap();
    let mut names: Vec<String> = first
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    let mut token = Some(token);
    while let Some(t2) = token {
        let page = api
            .list(&ListParams::default().limit(3).continue_token(&t2))
            .await
            .unwrap();
        assert_eq!(
            page.metadata.resource_version,
            first.metadata.resource_version
        );
        names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
        token = page.metadata.continue_.filter(|c| !c.is_empty());
    }
    assert_eq!(names, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
}

#[tokio::test]
async fn a_delete_without_preconditions_retries_past_concurrent_writes() {
    // Upstream's store re-reads and retries a delete that loses its compare-and-swap; only
    // the caller's own preconditions may make a delete fail with a Conflict.
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    for round in 0..10 {
        let name = format!("held-{round}");
        let mut held = cm(&name, "0");
        held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
        api.create(&PostParams::default(), &held).await.unwrap();
        let writer = {
            let api = api.clone();
            let name = name.clone();
            tokio::spawn(async move {
                for i in 0..40 {
                    let patch = json!({ "data": { "key": i.to_string() } });
                    api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                        .await
                        .unwrap();
                }
            })
        };
        for _ in 0..5 {
            tokio::task::yield_now().await;
            api.delete(&name, &DeleteParams::default())
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        writer.await.unwrap();
        let gone = json!({ "metadata": { "finalizers": null } });
        api.patch(&name, &PatchParams::default(), &Patch::Merge(gone))
            .await
            .unwrap();
    }
}

//! Watches from the cache: resourceVersions, bookmarks, streaming lists, 410s, and
//! kube-runtime watchers that survive compaction and restarts.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher::{self, Event};
use serde_json::json;

use crate::support::{TestServer, client_for};

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

#[tokio::test]
async fn watch_from_a_resource_version_sees_every_later_change_once() {
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let a = api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let rv = a.metadata.resource_version.clone().unwrap();
    api.create(&PostParams::default(), &cm("b")).await.unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
        {
            Some(WatchEvent::Added(o)) => seen.push(format!("ADDED {}", o.metadata.name.unwrap())),
            Some(WatchEvent::Deleted(o)) => {
                seen.push(format!("DELETED {}", o.metadata.name.unwrap()))
            }
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    assert_eq!(seen, ["ADDED b", "DELETED a"]);
}

#[tokio::test]
async fn a_too_old_resource_version_is_an_in_stream_410() {
    let t = TestServer::start_with(|mut c| {
        c.cache.history = 2;
        c
    })
    .await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    for i in 0..5 {
        api.create(&PostParams::default(), &cm(&format!("c{i}")))
            .await
            .unwrap();
    }
    let (s, _, body) = t
        .raw(
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2&timeoutSeconds=2",
            None,
            None,
            vec![],
        )
        .await;
    assert_eq!(s, 200, "never a bare HTTP 410");
    let text = body.to_string();
    assert!(
        text.contains("\"ERROR\"")
            && text.contains("410")
            && text.contains("too old resource version"),
        "{text}"
    );
}

#[tokio::test]
async fn streaming_lists_end_with_the_initial_events_bookmark() {
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    api.create(&PostParams::default(), &cm("x")).await.unwrap();
    let (s, _, body) = t
        .raw("GET", "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1", None, None, vec![])
        .await;
    assert_eq!(s, 200);
    let text = body.as_str().unwrap().to_owned();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "ADDED");
    assert_eq!(lines[1]["type"], "BOOKMARK");
    assert_eq!(
        lines[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    let (s, v) = t
        .get_json("/api/v1/configmaps?watch=1&sendInitialEvents=true")
        .await;
    assert_eq!(s, 422, "sendInitialEvents needs NotOlderThan: {v}");
}

async fn names_after(
    stream: &mut (impl futures::Stream<Item = Result<Event<ConfigMap>, watcher::Error>> + Unpin),
    state: &mut BTreeSet<String>,
    until: impl Fn(&BTreeSet<String>) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut buffer: Option<BTreeSet<String>> = None;
    while !until(state) {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("watcher stalled");
        match next {
            Some(Ok(Event::Init)) => buffer = Some(BTreeSet::new()),
            Some(Ok(Event::InitApply(o))) => {
                buffer
                    .get_or_insert_with(BTreeSet::new)
                    .insert(o.metadata.name.unwrap());
            }
            Some(Ok(Event::InitDone)) => *state = buffer.take().unwrap_or_default(),
            Some(Ok(Event::Apply(o))) => {
                state.insert(o.metadata.name.unwrap());
            }
            Some(Ok(Event::Delete(o))) => {
                state.remove(&o.metadata.name.unwrap());
            }
            Some(Err(_)) => {}
            None => panic!("watcher ended"),
        }
    }
}

async fn watcher_follows_restarts_and_compaction(streaming: bool) {
    let mut t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    api.create(&PostParams::default(), &cm("before"))
        .await
        .unwrap();
    let addr = t.server.as_ref().unwrap().addr;
    let config = if streaming {
        watcher::Config::default().streaming_lists()
    } else {
        watcher::Config::default()
    };
    let watched: Api<ConfigMap> = Api::namespaced(client_for(&t.url()), "default");
    let mut stream = watcher::watcher(watched, config).boxed();
    let mut state = BTreeSet::new();
    names_after(&mut stream, &mut state, |s| s.contains("before")).await;

    // Restart the server on the same port and data directory, changing things while it is down.
    t.server.take().unwrap().stop().await.unwrap();
    let mut cfg = crate::support::config(t.dir.path());
    cfg.listen = addr;
    let server = keelson_apiserver::server::start(cfg).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_for(&server.url()), "default");
    api.create(&PostParams::default(), &cm("after-restart"))
        .await
        .unwrap();
    api.delete("before", &DeleteParams::default())
        .await
        .unwrap();
    names_after(&mut stream, &mut state, |s| {
        s.contains("after-restart") && !s.contains("before")
    })
    .await;

    // Compact everything: the watcher's resourceVersion becomes too old and it relists.
    for i in 0..3 {
        api.create(&PostParams::default(), &cm(&format!("n{i}")))
            .await
            .unwrap();
    }
    let rev = server.storage().current_revision().await.unwrap();
    server.storage().compact(rev).await.unwrap();
    api.create(&PostParams::default(), &cm("after-compaction"))
        .await
        .unwrap();
    names_after(&mut stream, &mut state, |s| s.contains("after-compaction")).await;
    let expected: BTreeSet<String> = ["after-restart", "n0", "n1", "n2", "after-compaction"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(state, expected);
    t.server = Some(server);
}

#[tokio::test]
async fn list_then_watch_watcher_survives_restart_and_compaction() {
    watcher_follows_restarts_and_compaction(false).await;
}

#[tokio::test]
async fn streaming_list_watcher_survives_restart_and_compaction() {
    watcher_follows_restarts_and_compaction(true).await;
}

#[tokio::test]
async fn metadata_only_lists_and_watches_carry_the_whole_metadata_and_nothing_else() {
    let t = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let mut a = cm("a");
    a.metadata.labels = Some([("app".to_owned(), "web".to_owned())].into());
    a.metadata.annotations = Some([("note".to_owned(), "x".to_owned())].into());
    let a = api.create(&PostParams::default(), &a).await.unwrap();
    let rv = a.metadata.resource_version.clone().unwrap();

    let list = api
        .list_metadata(&kube::api::ListParams::default())
        .await
        .unwrap();
    let item = &list.items[0].metadata;
    assert_eq!(item.name.as_deref(), Some("a"));
    assert_eq!(item.labels, a.metadata.labels);
    assert_eq!(item.annotations, a.metadata.annotations);
    assert_eq!(item.resource_version.as_deref(), Some(rv.as_str()));
    assert_eq!(item.uid, a.metadata.uid);

    let accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    let path = "/api/v1/namespaces/default/configmaps";
    let (s, _, v) = t.raw("GET", path, None, Some(accept), vec![]).await;
    assert_eq!(s, 200);
    assert_eq!(v["kind"], "PartialObjectMetadataList");
    assert_eq!(v["items"][0]["kind"], "PartialObjectMetadata");
    assert!(v["items"][0].get("data").is_none(), "{v}");

    let mut stream = api
        .watch_metadata(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    let mut changed = cm("a");
    changed.metadata.labels = Some([("app".to_owned(), "db".to_owned())].into());
    api.replace("a", &PostParams::default(), &changed)
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap();
    let Some(WatchEvent::Modified(o)) = event else {
        panic!("expected MODIFIED, got {event:?}");
    };
    assert_eq!(o.metadata.labels, changed.metadata.labels);
    assert_ne!(o.metadata.resource_version.as_deref(), Some(rv.as_str()));
}

//! The in-process service (`RunningServer::local_service`): a kube-rs client over it is
//! served as one over the listener, without the in-flight caps that guard the listener.

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use serde_json::json;

use crate::support::TestServer;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

#[tokio::test]
async fn in_process_clients_are_served_alike_but_not_capped() {
    let t = TestServer::start_with(|mut c| {
        c.api.max_inflight_mutating = 0;
        c.api.max_inflight_readonly = 0;
        c
    })
    .await;
    let server = t.server.as_ref().unwrap();
    let client = kube::Client::new(server.local_service(), "default");
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let mut events = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();

    let created = api.create(&PostParams::default(), &cm("a")).await.unwrap();
    assert!(created.metadata.uid.is_some(), "stored and defaulted");
    let listed = api.list(&Default::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    // Validation is the listener's: a bad name is a 422 with its cause.
    let kube::Error::Api(status) = api
        .create(&PostParams::default(), &cm("Not_A_Name"))
        .await
        .unwrap_err()
    else {
        panic!("not an API error");
    };
    assert_eq!(status.code, 422, "{status:?}");
    // The watch sees the create.
    let first = events.try_next().await.unwrap().unwrap();
    let WatchEvent::Added(seen) = first else {
        panic!("{first:?}");
    };
    assert_eq!(seen.metadata.name.as_deref(), Some("a"));

    // Over the listener the same server refuses (a client without retries, to see it).
    let mut config = kube::Config::new(t.url().parse().unwrap());
    config.default_retry = false;
    let outside: Api<ConfigMap> = Api::default_namespaced(kube::Client::try_from(config).unwrap());
    for refused in [
        outside.list(&Default::default()).await.map(drop),
        outside
            .create(&PostParams::default(), &cm("b"))
            .await
            .map(drop),
    ] {
        let Err(kube::Error::Api(status)) = refused else {
            panic!("{refused:?}");
        };
        assert_eq!(status.code, 429, "{status:?}");
    }
}

//! The manager itself: leader election between two managers.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use keelson_client::leader::LeaseSettings;
use kube::Api;
use support::{Cluster, eventually};

fn lease() -> LeaseSettings {
    LeaseSettings {
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(200),
        ..LeaseSettings::named("kube-controller-manager")
    }
}

#[tokio::test]
async fn one_manager_leads_and_the_other_takes_over_when_it_stops() {
    let cluster = Cluster::start().await;
    let mut first = cluster.settings(&[]);
    first.identity = "first".to_owned();
    first.leader_election = Some(lease());
    let mut second = first.clone();
    second.identity = "second".to_owned();
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "kube-system");
    let holder = |leases: Api<Lease>| async move {
        leases
            .get_opt("kube-controller-manager")
            .await
            .unwrap()
            .and_then(|l| l.spec?.holder_identity)
    };

    let a = cluster.run(first);
    eventually("the first manager to lead", || {
        let leases = leases.clone();
        async move { (holder(leases).await.as_deref() == Some("first")).then_some(()) }
    })
    .await;
    let b = cluster.run(second);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(holder(leases.clone()).await.as_deref(), Some("first"));

    a.stop().await;
    eventually("the second manager to take over", || {
        let leases = leases.clone();
        async move { (holder(leases).await.as_deref() == Some("second")).then_some(()) }
    })
    .await;
    b.stop().await;
}

//! Two instances of the server on one PostgreSQL database: intake split across them links across
//! them, claims from both never collide, a watcher on one hears what the other commits, one
//! killed with SIGKILL leaves the other serving, and afterwards the clusters equal a full
//! recluster with every acknowledged report there once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use scamtrail_e2e::{Backend, TestServer, clusters_of, id, request};
use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};

const NETWORKS: usize = 20;
const REPORTS: usize = 200;

/// A report of `network`: its victims were all called from the network's number.
fn report_of(network: usize) -> pb::Report {
    pb::Report {
        category: pb::ScamCategory::TechSupport as i32,
        narrative: format!("A 'technician' of network {network} called about my computer."),
        identifiers: vec![id(&format!("+44 20 7946 {:04}", 1000 + network), R::CallerNumber, K::Phone)],
        victim: Some(pb::Victim { country: "GB".into(), ..Default::default() }),
        ..Default::default()
    }
}

/// Each acknowledged report's cluster now, read through `server`.
async fn partition(server: &TestServer, reports: &[(i64, String, usize)]) -> BTreeSet<BTreeSet<i64>> {
    let reports: Vec<(i64, String)> = reports.iter().map(|(id, reference, _)| (*id, reference.clone())).collect();
    clusters_of(server, &reports).await
}

fn claim() -> pb::ClaimNextRequest {
    pb::ClaimNextRequest { queue: pb::Queue::New as i32, filter: None, lease_seconds: 600 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_intake_claims_and_events() {
    let mut a = TestServer::start(Backend::Postgres).await.unwrap();
    // Credentials made through the first instance hold on every instance.
    a.intake().await;
    a.triage().await;
    for who in 0..8 {
        a.triage_as(&format!("investigator-{who}")).await;
    }
    let mut b = a.another_instance().await.unwrap();

    // A watcher on B hears of a report A stores by notification, before any resync of the outbox.
    let mut watch = b
        .triage()
        .await
        .watch_queue(pb::WatchQueueRequest { queue: pb::Queue::Unspecified as i32 })
        .await
        .unwrap()
        .into_inner();
    let first = a.intake().await.submit_report(request(report_of(NETWORKS), "")).await.unwrap().into_inner();
    let heard = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let event = watch.message().await.unwrap().expect("the stream stays open");
            if event.cluster.as_ref().is_some_and(|c| c.cluster_id == first.cluster_id) {
                return event;
            }
        }
    })
    .await
    .expect("B's watcher hears of A's commit by notification (resync runs every 5 s)");
    assert_eq!(heard.event.unwrap().kind(), pb::ClusterEventKind::Created);

    // Intake split across both instances, each network's reports arriving through both.
    let mut calls = vec![];
    for i in 0..REPORTS {
        let server = if i % 2 == 0 { &a } else { &b };
        let mut intake = server.intake().await;
        let network = i % NETWORKS;
        calls.push(tokio::spawn(async move {
            let answer = intake.submit_report(request(report_of(network), &format!("r-{i}"))).await.unwrap();
            let answer = answer.into_inner();
            (answer.report_id, answer.reference, network)
        }));
    }
    let mut acked = vec![(first.report_id, first.reference.clone(), NETWORKS)];
    for call in calls {
        acked.push(call.await.unwrap());
    }
    let references: BTreeSet<&String> = acked.iter().map(|(_, r, _)| r).collect();
    assert_eq!(references.len(), acked.len(), "one reference per report");
    let clusters = partition(&b, &acked).await;
    let mut expected: BTreeMap<usize, BTreeSet<i64>> = BTreeMap::new();
    for (report_id, _, network) in &acked {
        expected.entry(*network).or_default().insert(*report_id);
    }
    let expected: BTreeSet<BTreeSet<i64>> = expected.into_values().collect();
    assert_eq!(clusters, expected, "each network is one cluster, whichever instance took its reports");

    // Claims from both instances at once never hand a cluster out twice.
    let mut claims = vec![];
    for who in 0..8 {
        let server = if who % 2 == 0 { &a } else { &b };
        let mut client = server.triage_as(&format!("investigator-{who}")).await;
        claims.push(tokio::spawn(async move {
            let mut got = vec![];
            for _ in 0..4 {
                if let Some(c) = client.claim_next(claim()).await.unwrap().into_inner().cluster {
                    got.push(c.cluster_id);
                }
            }
            got
        }));
    }
    let mut claimed = vec![];
    for c in claims {
        claimed.extend(c.await.unwrap());
    }
    let distinct: BTreeSet<i64> = claimed.iter().copied().collect();
    assert_eq!(distinct.len(), claimed.len(), "a cluster was claimed twice: {claimed:?}");
    assert_eq!(distinct.len(), NETWORKS + 1, "every cluster claimed once");

    // A dies under load; B goes on serving every call.
    let mut load = vec![];
    for i in 0..40 {
        let mut intake = b.intake().await;
        load.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10 * i)).await;
            let answer = intake.submit_report(request(report_of(i as usize % NETWORKS), &format!("late-{i}"))).await;
            let answer = answer.expect("B serves while A is killed").into_inner();
            (answer.report_id, answer.reference, i as usize % NETWORKS)
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    a.kill9().unwrap();
    for call in load {
        acked.push(call.await.unwrap());
    }

    // Every acknowledged report is there once, and the clusters equal a full recluster's.
    let incremental = partition(&b, &acked).await;
    assert_eq!(incremental.len(), NETWORKS + 1);
    assert!(b.terminate().unwrap());
    let rebuilt = a.command().args(["recluster", "--database-url", &a.database_url]).output().unwrap();
    assert!(rebuilt.status.success(), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    b.restart().await.unwrap();
    assert_eq!(partition(&b, &acked).await, incremental, "a full recluster finds the same clusters");
}

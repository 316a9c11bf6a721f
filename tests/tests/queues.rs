//! Triage queues through real gRPC on SQLite and PostgreSQL: concurrent claims, leases that
//! lapse, the workflow and its version check, priority that falls as a recall window closes,
//! keyset pages, and WatchQueue.

use std::collections::BTreeSet;
use std::time::Duration;

use scamtrail_e2e::{BACKENDS, Backend, TestServer, id, request, ts};
use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};
use tokio_stream::StreamExt;
use tonic::Code;

/// An unlinked report (its own cluster) paid `paid_ago` seconds ago by `method`.
fn lone_report(n: usize, paid_ago: i64, method: pb::PaymentMethod) -> pb::Report {
    pb::Report {
        category: pb::ScamCategory::Romance as i32,
        narrative: format!("Report {n}."),
        payments: vec![pb::Payment {
            amount_minor: 50_000 + n as i64,
            currency: "GBP".into(),
            method: method as i32,
            paid_at: ts(paid_ago),
            ..Default::default()
        }],
        identifiers: vec![id(&format!("+44 20 7946 1{n:03}"), R::CallerNumber, K::Phone)],
        victim: Some(pb::Victim { country: "GB".into(), ..Default::default() }),
        ..Default::default()
    }
}

async fn submit(server: &TestServer, report: pb::Report) -> pb::SubmitReportResponse {
    server.intake().await.submit_report(request(report, "")).await.unwrap().into_inner()
}

fn claim_request(lease_seconds: i32) -> pb::ClaimNextRequest {
    pb::ClaimNextRequest { queue: pb::Queue::New as i32, filter: None, lease_seconds }
}

#[tokio::test]
async fn concurrent_claimers_never_get_the_same_cluster() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        const CLUSTERS: usize = 12;
        for n in 0..CLUSTERS {
            submit(&server, lone_report(n, 30 * 86_400, pb::PaymentMethod::Cash)).await;
        }
        // 20 investigators claim at once, twice each: 40 claims for 12 clusters.
        let mut calls = Vec::new();
        for who in 0..20 {
            let mut client = server.triage_as(&format!("investigator-{who}")).await;
            calls.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..2 {
                    let answer = client.claim_next(claim_request(600)).await.unwrap().into_inner();
                    if let Some(c) = answer.cluster {
                        assert_eq!(c.claim.as_ref().unwrap().holder, format!("investigator-{who}"));
                        got.push(c.cluster_id);
                    }
                }
                got
            }));
        }
        let mut claimed = Vec::new();
        for call in calls {
            claimed.extend(call.await.unwrap());
        }
        let distinct: BTreeSet<i64> = claimed.iter().copied().collect();
        assert_eq!(distinct.len(), claimed.len(), "{backend:?}: a cluster was handed out twice: {claimed:?}");
        assert_eq!(claimed.len(), CLUSTERS, "{backend:?}: every cluster claimed exactly once");
        let counts = server.triage().await.list_queues(pb::ListQueuesRequest::default()).await.unwrap().into_inner();
        assert!(counts.queues.iter().all(|q| q.clusters == 0), "{backend:?}: {counts:?}");
    }
}

#[tokio::test]
async fn a_lapsed_lease_returns_the_cluster_and_only_the_holder_may_renew() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let report = submit(&server, lone_report(1, 86_400 * 30, pb::PaymentMethod::Cash)).await;
        let mut alice = server.triage_as("alice").await;
        let mut bob = server.triage_as("bob").await;
        let claimed = alice.claim_next(claim_request(1)).await.unwrap().into_inner().cluster.unwrap();
        assert_eq!(claimed.cluster_id, report.cluster_id);
        assert_eq!(claimed.status(), pb::ClusterStatus::Triaging);
        assert!(bob.claim_next(claim_request(60)).await.unwrap().into_inner().cluster.is_none(), "held by alice");
        let err = bob
            .renew_claim(pb::RenewClaimRequest { cluster_id: claimed.cluster_id, lease_seconds: 60 })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{backend:?}");

        tokio::time::sleep(Duration::from_millis(1_300)).await;
        // The lease lapsed: the cluster is back in the queue, and alice's claim is gone.
        let err = alice.renew_claim(pb::RenewClaimRequest { cluster_id: claimed.cluster_id, lease_seconds: 60 }).await;
        assert_eq!(err.unwrap_err().code(), Code::FailedPrecondition);
        let retaken = bob.claim_next(claim_request(60)).await.unwrap().into_inner().cluster.unwrap();
        assert_eq!(retaken.cluster_id, claimed.cluster_id, "{backend:?}");
        assert_eq!(retaken.claim.as_ref().unwrap().holder, "bob");
        let renewed = bob
            .renew_claim(pb::RenewClaimRequest { cluster_id: retaken.cluster_id, lease_seconds: 3_600 })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        assert!(
            renewed.claim.unwrap().expires_at.unwrap().seconds > retaken.claim.unwrap().expires_at.unwrap().seconds
        );
        let released = bob
            .release_claim(pb::ReleaseClaimRequest { cluster_id: retaken.cluster_id })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        assert!(released.claim.is_none());
        assert_eq!(
            alice.claim_next(claim_request(60)).await.unwrap().into_inner().cluster.unwrap().cluster_id,
            report.cluster_id
        );
    }
}

#[tokio::test]
async fn the_workflow_checks_versions_and_transitions() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let report = submit(&server, lone_report(2, 3_600, pb::PaymentMethod::BankTransfer)).await;
        let mut alice = server.triage_as("alice").await;
        let c = alice.claim_next(claim_request(600)).await.unwrap().into_inner().cluster.unwrap();
        let update = |version: i64, status: pb::ClusterStatus| pb::UpdateClusterRequest {
            cluster_id: report.cluster_id,
            version,
            status: status as i32,
            ..Default::default()
        };
        // Assigning needs an assignee; closing needs a disposition; both named at once.
        let err = alice.update_cluster(update(c.version, pb::ClusterStatus::Assigned)).await.unwrap_err();
        assert_eq!(scamtrail_e2e::violations(&err), [("assignee".to_owned(), "REQUIRED".to_owned())]);
        let assigned = alice
            .update_cluster(pb::UpdateClusterRequest {
                assignee: "alice".into(),
                note: "Three victims, one mule account at the same bank.".into(),
                ..update(c.version, pb::ClusterStatus::Assigned)
            })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        assert_eq!((assigned.status(), assigned.assignee.as_str()), (pb::ClusterStatus::Assigned, "alice"));
        assert_eq!(assigned.version, c.version + 1);
        // A second investigator working from the old version is refused.
        let stale = server
            .triage_as("bob")
            .await
            .update_cluster(pb::UpdateClusterRequest {
                note: "late".into(),
                ..update(c.version, pb::ClusterStatus::Unspecified)
            })
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::FailedPrecondition, "{backend:?}: {stale:?}");
        assert!(stale.message().contains("version"), "{}", stale.message());
        // assigned -> new is not a move of the workflow.
        let err = alice.update_cluster(update(assigned.version, pb::ClusterStatus::New)).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        let referred = alice
            .update_cluster(pb::UpdateClusterRequest {
                referred_to: "Metropolitan Police Fraud Unit".into(),
                ..update(assigned.version, pb::ClusterStatus::Referred)
            })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        let closed = alice
            .update_cluster(pb::UpdateClusterRequest {
                disposition: pb::Disposition::Actioned as i32,
                ..update(referred.version, pb::ClusterStatus::Closed)
            })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        assert_eq!((closed.status(), closed.disposition()), (pb::ClusterStatus::Closed, pb::Disposition::Actioned));
        assert_eq!(closed.referred_to, "Metropolitan Police Fraud Unit");
        let history = server
            .triage()
            .await
            .get_cluster(pb::GetClusterRequest { cluster_id: report.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner()
            .events;
        let kinds: Vec<pb::ClusterEventKind> = history.iter().map(|e| e.kind()).collect();
        use pb::ClusterEventKind as E;
        assert_eq!(kinds, [E::Created, E::Claimed, E::StatusChanged, E::Note, E::StatusChanged, E::StatusChanged]);
        assert!(history[3].detail.contains("one mule account") && history[3].actor == "alice");
        let err = alice
            .update_cluster(pb::UpdateClusterRequest {
                cluster_id: 999_999,
                version: 1,
                note: "x".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
}

#[tokio::test]
async fn queues_page_by_priority_and_a_closing_recall_window_lowers_priority() {
    let server =
        TestServer::start_with(Backend::Sqlite, &["--recall-window-hours", "1", "--rescore-interval-seconds", "1"])
            .await
            .unwrap();
    // Paid 3,595 s ago: inside the one-hour recall window for five more seconds.
    let closing = submit(&server, lone_report(1, 3_595, pb::PaymentMethod::BankTransfer)).await;
    for n in 2..9 {
        submit(&server, lone_report(n, 30 * 86_400, pb::PaymentMethod::BankTransfer)).await;
    }
    let mut triage = server.triage().await;
    let page = |token: &str| pb::ListQueueRequest {
        queue: pb::Queue::New as i32,
        page_size: 3,
        page_token: token.into(),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let answer = triage.list_queue(page(&token)).await.unwrap().into_inner();
        seen.extend(answer.clusters.iter().map(|c| (c.priority.as_ref().unwrap().total, c.cluster_id)));
        if answer.next_page_token.is_empty() {
            break;
        }
        token = answer.next_page_token;
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)), "{seen:?}");
    assert_eq!(seen[0].1, closing.cluster_id, "recoverable money first");
    let golden = triage
        .list_queue(pb::ListQueueRequest { queue: pb::Queue::GoldenHour as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(golden.clusters.len(), 1);
    let before = golden.clusters[0].priority.clone().unwrap();

    tokio::time::sleep(Duration::from_secs(8)).await;
    let golden = triage
        .list_queue(pb::ListQueueRequest { queue: pb::Queue::GoldenHour as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(golden.clusters.is_empty(), "the recall window closed");
    let after = triage
        .get_cluster(pb::GetClusterRequest { cluster_id: closing.cluster_id, max_reports: 0 })
        .await
        .unwrap()
        .into_inner()
        .cluster
        .unwrap()
        .priority
        .unwrap();
    let part = |p: &pb::Priority| p.components.iter().find(|c| c.name == "recoverable_money").unwrap().value;
    assert!(part(&before) > 0.0 && part(&after) == 0.0, "{before:?} -> {after:?}");
    assert!(after.total < before.total);

    let err = triage.list_queue(page("not-a-token")).await.unwrap_err();
    assert_eq!(scamtrail_e2e::violations(&err), [("page_token".to_owned(), "INVALID_PAGE_TOKEN".to_owned())]);
}

#[tokio::test]
async fn watch_queue_streams_the_events_of_a_scripted_scenario() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut watch = server
            .triage()
            .await
            .watch_queue(pb::WatchQueueRequest { queue: pb::Queue::Unspecified as i32 })
            .await
            .unwrap()
            .into_inner();
        let a = submit(&server, lone_report(1, 600, pb::PaymentMethod::BankTransfer)).await;
        let b = submit(&server, lone_report(2, 600, pb::PaymentMethod::BankTransfer)).await;
        // A third report carrying both numbers merges the two clusters.
        let mut both = lone_report(3, 600, pb::PaymentMethod::Card);
        both.identifiers.push(id("+44 20 7946 1002", R::CallerNumber, K::Phone));
        both.identifiers[0] = id("+44 20 7946 1001", R::CallerNumber, K::Phone);
        let c = submit(&server, both).await;
        let mut analyst = server.triage_as("analyst").await;
        let claimed = analyst.claim_next(claim_request(60)).await.unwrap().into_inner().cluster.unwrap();
        analyst
            .set_identifier_state(pb::SetIdentifierStateRequest {
                key: "tel:+442079461002".into(),
                state: pb::IdentifierState::Excluded as i32,
                reason: "shared by mistake".into(),
                ..Default::default()
            })
            .await
            .unwrap();

        use pb::ClusterEventKind as E;
        let survivor = c.cluster_id;
        let loser = if survivor == a.cluster_id { b.cluster_id } else { a.cluster_id };
        let expected = [
            (E::Created, a.cluster_id),
            (E::Created, b.cluster_id),
            (E::Absorbed, survivor),
            (E::MergedInto, loser),
            (E::ReportsAdded, survivor),
            (E::Claimed, claimed.cluster_id),
            (E::SplitFrom, 0),
            (E::SplitOff, survivor),
        ];
        let mut got = Vec::new();
        while got.len() < expected.len() {
            let next = tokio::time::timeout(Duration::from_secs(10), watch.next()).await;
            let Ok(Some(item)) = next else { panic!("{backend:?}: stream ended or stalled after {got:?}") };
            let item = item.unwrap();
            let event = item.event.unwrap();
            assert_eq!(item.cluster.as_ref().unwrap().cluster_id, event.cluster_id);
            got.push((event.kind(), event.cluster_id));
        }
        // The split's new cluster id is not known in advance: compare it loosely.
        let (split_kind, _) = got[6];
        got[6] = (split_kind, 0);
        assert_eq!(got, expected, "{backend:?}");
    }
}

#[tokio::test]
async fn new_reports_reopen_a_closed_cluster_and_a_merge_makes_old_versions_stale() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let first = submit(&server, lone_report(7, 30 * 86_400, pb::PaymentMethod::Cash)).await;
        let mut alice = server.triage_as("alice").await;
        let claimed = alice.claim_next(claim_request(600)).await.unwrap().into_inner().cluster.unwrap();
        let closed = alice
            .update_cluster(pb::UpdateClusterRequest {
                cluster_id: claimed.cluster_id,
                version: claimed.version,
                status: pb::ClusterStatus::Closed as i32,
                disposition: pb::Disposition::InsufficientInformation as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        // Another victim of the same number: the case is no longer resting.
        let again = submit(&server, lone_report(7, 3_600, pb::PaymentMethod::Cash)).await;
        assert_eq!(again.cluster_id, first.cluster_id);
        let detail = server
            .triage()
            .await
            .get_cluster(pb::GetClusterRequest { cluster_id: first.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner();
        let reopened = detail.cluster.unwrap();
        assert_eq!(reopened.status(), pb::ClusterStatus::Triaging, "{backend:?}");
        assert_eq!(reopened.disposition(), pb::Disposition::Unspecified);
        assert!(reopened.version > closed.version);
        let last = detail.events.last().unwrap();
        assert_eq!((last.kind(), last.actor.as_str()), (pb::ClusterEventKind::StatusChanged, "system"));
        assert!(last.detail.starts_with("reopened"), "{}", last.detail);

        // A merge changes what a decision was made on: the survivor's old version is stale.
        let other = submit(&server, lone_report(8, 30 * 86_400, pb::PaymentMethod::Cash)).await;
        let before = reopened.version;
        let mut bridge = lone_report(7, 60, pb::PaymentMethod::Cash);
        bridge.identifiers.push(id("+44 20 7946 1008", R::CallerNumber, K::Phone));
        let merged = submit(&server, bridge).await;
        assert_eq!(merged.cluster_id, first.cluster_id, "the larger cluster survives");
        let err = alice
            .update_cluster(pb::UpdateClusterRequest {
                cluster_id: first.cluster_id,
                version: before,
                note: "decided before the merge".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{backend:?}");
        let gone = alice
            .update_cluster(pb::UpdateClusterRequest {
                cluster_id: other.cluster_id,
                version: 1,
                note: "x".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(gone.code(), Code::FailedPrecondition);
        assert!(gone.message().contains(&format!("merged into cluster {}", first.cluster_id)), "{}", gone.message());
    }
}

#[tokio::test]
async fn a_queue_watcher_hears_when_a_cluster_leaves_its_queue() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut watch = server
        .triage()
        .await
        .watch_queue(pb::WatchQueueRequest { queue: pb::Queue::GoldenHour as i32 })
        .await
        .unwrap()
        .into_inner();
    let golden = submit(&server, lone_report(1, 600, pb::PaymentMethod::BankTransfer)).await;
    submit(&server, lone_report(2, 30 * 86_400, pb::PaymentMethod::Cash)).await; // not golden: not sent
    server
        .triage_as("bob")
        .await
        .claim_next(pb::ClaimNextRequest { queue: pb::Queue::GoldenHour as i32, ..claim_request(60) })
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        let item = tokio::time::timeout(Duration::from_secs(10), watch.next()).await.unwrap().unwrap().unwrap();
        let event = item.event.unwrap();
        got.push((event.kind(), event.cluster_id, item.in_queue));
    }
    use pb::ClusterEventKind as E;
    assert_eq!(got, [(E::Created, golden.cluster_id, true), (E::Claimed, golden.cluster_id, false)]);
}

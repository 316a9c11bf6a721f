//! Manual links, on SQLite and PostgreSQL: an investigator links two clusters on outside
//! evidence (they merge; the link is in the history of both, in ExplainLink and in the audit
//! trail), the link survives `recluster`, and UnlinkClusters undoes it with the split machinery
//! (or leaves the cluster whole when other evidence links it).

use std::collections::BTreeSet;

use scamtrail_e2e::{BACKENDS, Backend, TestServer, audit_events_of, clusters_of, id, request, ts, violations};
use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};
use tonic::Code;

const TULIP: &str = "DE89 3704 0044 0532 0130 00";
const ROSE: &str = "GB82 WEST 1234 5698 7654 32";

/// A report paying each of `ibans`.
fn report(ibans: &[&str]) -> pb::Report {
    pb::Report {
        category: pb::ScamCategory::Investment as i32,
        narrative: "A broker told me to pay a release fee.".into(),
        payments: ibans
            .iter()
            .map(|iban| pb::Payment {
                amount: "250".into(),
                currency: "EUR".into(),
                method: pb::PaymentMethod::BankTransfer as i32,
                paid_at: ts(86_400),
                beneficiaries: vec![id(iban, R::BeneficiaryAccount, K::Unspecified)],
                ..Default::default()
            })
            .collect(),
        victim: Some(pb::Victim { country: "GB".into(), ..Default::default() }),
        ..Default::default()
    }
}

async fn submit(server: &TestServer, ibans: &[&str]) -> (i64, String, i64) {
    let r = server.intake().await.submit_report(request(report(ibans), "")).await.unwrap().into_inner();
    (r.report_id, r.reference, r.cluster_id)
}

async fn explain(server: &TestServer, a: i64, b: i64) -> pb::ExplainLinkResponse {
    let req = pb::ExplainLinkRequest { report_a: a, report_b: b };
    server.triage().await.explain_link(req).await.unwrap().into_inner()
}

async fn history(server: &TestServer, cluster: i64) -> Vec<pb::ClusterEvent> {
    let req = pb::GetClusterRequest { cluster_id: cluster, max_reports: 0 };
    server.triage().await.get_cluster(req).await.unwrap().into_inner().events
}

fn link(a: i64, b: i64, reason: &str) -> pb::LinkClustersRequest {
    pb::LinkClustersRequest { cluster_a: a, cluster_b: b, reason: reason.into() }
}

#[tokio::test]
async fn a_manual_link_merges_survives_recluster_and_is_undone() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        let (r1, ref1, c1) = submit(&server, &[TULIP]).await;
        let (r2, ref2, c2) = submit(&server, &[ROSE]).await;
        assert_ne!(c1, c2, "{backend:?}");
        let reports = [(r1, ref1), (r2, ref2)];

        let reason = "the bank's reply: both accounts are held by one mule";
        let linked = server.triage().await.link_clusters(link(c1, c2, reason)).await.unwrap().into_inner();
        let merged = linked.cluster.unwrap();
        assert!(linked.link_id > 0, "{backend:?}");
        assert_eq!(merged.report_count, 2, "{backend:?}");
        assert!([c1, c2].contains(&merged.cluster_id), "{backend:?}");
        let loser = if merged.cluster_id == c1 { c2 } else { c1 };
        let both: BTreeSet<BTreeSet<i64>> = [[r1, r2].into()].into();
        assert_eq!(clusters_of(&server, &reports).await, both, "{backend:?}");

        // In the history of both clusters, with the investigator and the evidence.
        let why = format!("manual link {}: {reason}", linked.link_id);
        let absorbed = history(&server, merged.cluster_id).await;
        assert!(
            absorbed.iter().any(|e| e.kind() == pb::ClusterEventKind::Absorbed
                && e.actor == "supervisor"
                && e.other_cluster_id == loser
                && e.detail.ends_with(&why)),
            "{backend:?}: {absorbed:?}"
        );
        let folded = history(&server, loser).await;
        assert!(
            folded.iter().any(|e| e.kind() == pb::ClusterEventKind::MergedInto && e.detail == why),
            "{backend:?}: {folded:?}"
        );
        // ExplainLink names the manual link as the step between the reports.
        let explained = explain(&server, r1, r2).await;
        assert!(explained.linked, "{backend:?}");
        let via: Vec<&str> = explained.path.iter().map(|s| s.via_key.as_str()).collect();
        assert_eq!(via, [format!("link:{}", linked.link_id).as_str(), ""], "{backend:?}");

        // A split keeps it too: excluding the only identifier of one report leaves it linked.
        let exclude = pb::SetIdentifierStateRequest {
            key: "iban:DE89370400440532013000".into(),
            state: pb::IdentifierState::Excluded as i32,
            reason: "a shared account".into(),
            ..Default::default()
        };
        let excluded = server.triage().await.set_identifier_state(exclude).await.unwrap().into_inner();
        assert!(excluded.changed_cluster_ids.is_empty(), "{backend:?}: {excluded:?}");
        assert_eq!(clusters_of(&server, &reports).await, both, "{backend:?}: after a split");

        // The link is an edge of the graph: a full rebuild keeps the reports together.
        server.terminate().unwrap();
        server.run_command(&["recluster"]).unwrap();
        server.restart().await.unwrap();
        assert_eq!(clusters_of(&server, &reports).await, both, "{backend:?}: after recluster");

        let unlink = pb::UnlinkClustersRequest { link_id: linked.link_id, reason: "the bank corrected itself".into() };
        let undone = server.triage().await.unlink_clusters(unlink.clone()).await.unwrap().into_inner();
        assert_eq!(undone.split_cluster_ids.len(), 1, "{backend:?}");
        let apart: BTreeSet<BTreeSet<i64>> = [[r1].into(), [r2].into()].into();
        assert_eq!(clusters_of(&server, &reports).await, apart, "{backend:?}: undone");
        assert!(!explain(&server, r1, r2).await.linked, "{backend:?}");
        let split = history(&server, undone.cluster.unwrap().cluster_id).await;
        assert!(
            split.iter().any(|e| e.kind() == pb::ClusterEventKind::SplitOff
                && e.detail == format!("manual link {} removed: the bank corrected itself", linked.link_id)),
            "{backend:?}: {split:?}"
        );
        // Undone once; a removed link stays removed, also through a rebuild.
        let again = server.triage().await.unlink_clusters(unlink).await.unwrap_err();
        assert_eq!(again.code(), Code::FailedPrecondition, "{backend:?}");
        server.terminate().unwrap();
        server.run_command(&["recluster"]).unwrap();
        server.restart().await.unwrap();
        assert_eq!(clusters_of(&server, &reports).await, apart, "{backend:?}: recluster after unlink");

        // Both calls are in the audit trail, naming the clusters and the link.
        let events = audit_events_of(&server, "supervisor").await;
        let outcomes = |rpc: &str| -> Vec<&pb::AuditEvent> {
            events.iter().filter(|e| e.action.ends_with(rpc) && e.outcome != "STARTED").collect()
        };
        let link_event = outcomes("/LinkClusters")[0];
        for target in [format!("cluster:{c1}"), format!("cluster:{c2}"), format!("link:{}", linked.link_id)] {
            assert!(link_event.targets.contains(&target), "{backend:?}: {:?}", link_event.targets);
        }
        let unlinked: Vec<&str> = outcomes("/UnlinkClusters").iter().map(|e| e.outcome.as_str()).collect();
        assert_eq!(unlinked, ["OK", "FAILED_PRECONDITION"], "{backend:?}: the refused one too");
    }
}

#[tokio::test]
async fn unlinking_leaves_a_cluster_whole_that_other_evidence_links() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let (r1, ref1, c1) = submit(&server, &[TULIP]).await;
        let (r2, ref2, c2) = submit(&server, &[ROSE]).await;
        let mut triage = server.triage().await;
        let linked = triage.link_clusters(link(c1, c2, "a confession")).await.unwrap().into_inner();
        // A later victim paid both accounts: the identifiers now link what the investigator did.
        let (r3, ref3, c3) = submit(&server, &[TULIP, ROSE]).await;
        assert_eq!(c3, linked.cluster.unwrap().cluster_id, "{backend:?}");
        let unlink = pb::UnlinkClustersRequest { link_id: linked.link_id, reason: "retracted".into() };
        let undone = triage.unlink_clusters(unlink).await.unwrap().into_inner();
        assert!(undone.split_cluster_ids.is_empty(), "{backend:?}");
        let one: BTreeSet<BTreeSet<i64>> = [[r1, r2, r3].into()].into();
        assert_eq!(clusters_of(&server, &[(r1, ref1), (r2, ref2), (r3, ref3)]).await, one, "{backend:?}");
        let events = history(&server, c3).await;
        assert!(
            events.iter().any(|e| e.detail.contains("removed: retracted") && e.actor == "supervisor"),
            "{backend:?}: {events:?}"
        );
    }
}

#[tokio::test]
async fn bad_links_are_refused_naming_the_field() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let (_, _, c1) = submit(&server, &[TULIP]).await;
    let mut triage = server.triage().await;
    let err = triage.link_clusters(link(c1, c1, "")).await.unwrap_err();
    assert_eq!(
        violations(&err),
        [("cluster_b".to_owned(), "SAME_CLUSTER".to_owned()), ("reason".to_owned(), "REQUIRED".to_owned())]
    );
    let err = triage.link_clusters(link(c1, 999_999, "evidence")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let err = triage.unlink_clusters(pb::UnlinkClustersRequest { link_id: 0, reason: "x".into() }).await.unwrap_err();
    assert_eq!(violations(&err), [("link_id".to_owned(), "REQUIRED".to_owned())]);
    let err = triage.unlink_clusters(pb::UnlinkClustersRequest { link_id: 77, reason: "x".into() }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}

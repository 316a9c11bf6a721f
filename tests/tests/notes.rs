//! Investigators' notes on a cluster, on SQLite and PostgreSQL: a thread of dated, authored
//! entries in the cluster's history (append-only: a correction is a new entry), which
//! investigators and supervisors read and a liaison reading the cluster referred to it does not.

use scamtrail_e2e::{BACKENDS, TEST_AGENCY, TestServer, request, sample_report};
use scamtrail_proto::v1 as pb;

/// (actor, detail) of a cluster's notes, oldest first.
fn notes(got: &pb::GetClusterResponse) -> Vec<(String, String)> {
    got.events
        .iter()
        .filter(|e| e.kind() == pb::ClusterEventKind::Note)
        .map(|e| {
            assert!(e.at.is_some(), "every note is dated: {e:?}");
            (e.actor.clone(), e.detail.clone())
        })
        .collect()
}

#[tokio::test]
async fn notes_form_a_thread_that_only_investigators_and_supervisors_read() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let submitted = server.intake().await.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let read = || pb::GetClusterRequest { cluster_id: submitted.cluster_id, max_reports: 0 };
        let mut olga = server.triage_as("olga").await;
        let c = olga.get_cluster(read()).await.unwrap().into_inner().cluster.unwrap();
        let note = |version: i64, text: &str| pb::UpdateClusterRequest {
            cluster_id: c.cluster_id,
            version,
            note: text.into(),
            ..Default::default()
        };
        let c = olga.update_cluster(note(c.version, "The bank replied: the account is a mule.")).await.unwrap();
        let c = c.into_inner().cluster.unwrap();
        let mut ivan = server.triage_as("ivan").await;
        let c = ivan.update_cluster(note(c.version, "Correction: two accounts, not one.")).await.unwrap();
        let c = c.into_inner().cluster.unwrap();
        let thread = vec![
            ("olga".to_owned(), "The bank replied: the account is a mule.".to_owned()),
            ("ivan".to_owned(), "Correction: two accounts, not one.".to_owned()),
        ];
        assert_eq!(notes(&olga.get_cluster(read()).await.unwrap().into_inner()), thread, "{backend:?}");

        // Referred to the liaison's agency, the cluster is the liaison's to read, without the notes.
        let refer = pb::UpdateClusterRequest {
            cluster_id: c.cluster_id,
            version: c.version,
            status: pb::ClusterStatus::Referred as i32,
            referred_to: TEST_AGENCY.into(),
            ..Default::default()
        };
        let assign = pb::UpdateClusterRequest {
            status: pb::ClusterStatus::Assigned as i32,
            assignee: "olga".into(),
            referred_to: String::new(),
            ..refer.clone()
        };
        let c = olga.update_cluster(assign).await.unwrap().into_inner().cluster.unwrap();
        olga.update_cluster(pb::UpdateClusterRequest { version: c.version, ..refer }).await.unwrap();
        let token = server.token("police-system", "liaison").await;
        let mut police = pb::triage_service_client::TriageServiceClient::new(server.authed(&token).await);
        let seen = police.get_cluster(read()).await.unwrap().into_inner();
        assert_eq!(seen.cluster.as_ref().unwrap().referred_to, TEST_AGENCY, "{backend:?}");
        assert!(!seen.events.is_empty(), "{backend:?}: the liaison reads the rest of the history");
        assert!(notes(&seen).is_empty(), "{backend:?}: {:?}", seen.events);
        // The thread is still whole for those who write it.
        assert_eq!(notes(&ivan.get_cluster(read()).await.unwrap().into_inner()), thread, "{backend:?}");
    }
}

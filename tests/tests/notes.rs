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

/// ListClusterNotes reads a thread a page at a time, oldest first, and after a merge the
/// survivor's thread holds the notes written on the cluster merged into it.
#[tokio::test]
async fn the_thread_is_read_in_pages_and_follows_merges() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let first = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let mut other = sample_report();
        other.payments[0].beneficiaries[0].value = "DE89 3704 0044 0532 0130 00".into();
        other.identifiers.clear();
        let second = intake.submit_report(request(other, "")).await.unwrap().into_inner();
        assert_ne!(first.cluster_id, second.cluster_id, "{backend:?}");
        let mut olga = server.triage_as("olga").await;
        let mut ivan = server.triage_as("ivan").await;
        let write = async |client: &mut scamtrail_e2e::ActorClient, cluster: i64, text: &str| {
            let read = pb::GetClusterRequest { cluster_id: cluster, max_reports: 0 };
            let c = client.get_cluster(read).await.unwrap().into_inner().cluster.unwrap();
            let note = pb::UpdateClusterRequest {
                cluster_id: cluster,
                version: c.version,
                note: text.into(),
                ..Default::default()
            };
            client.update_cluster(note).await.unwrap();
        };
        write(&mut olga, first.cluster_id, "one").await;
        write(&mut ivan, second.cluster_id, "two").await;
        write(&mut olga, first.cluster_id, "three").await;
        let linked = olga
            .link_clusters(pb::LinkClustersRequest {
                cluster_a: first.cluster_id,
                cluster_b: second.cluster_id,
                reason: "one operation".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let survivor = linked.cluster.unwrap().cluster_id;
        let mut thread = Vec::new();
        let mut token = String::new();
        loop {
            let req = pb::ListClusterNotesRequest { cluster_id: survivor, page_size: 1, page_token: token.clone() };
            let page = ivan.list_cluster_notes(req).await.unwrap().into_inner();
            assert!(page.notes.len() <= 1, "{backend:?}");
            for n in &page.notes {
                assert!(n.at.is_some(), "{backend:?}");
                thread.push((n.author.clone(), n.text.clone(), n.cluster_id));
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let expected = vec![
            ("olga".to_owned(), "one".to_owned(), first.cluster_id),
            ("ivan".to_owned(), "two".to_owned(), second.cluster_id),
            ("olga".to_owned(), "three".to_owned(), first.cluster_id),
        ];
        assert_eq!(thread, expected, "{backend:?}");
        let unknown = pb::ListClusterNotesRequest { cluster_id: 999_999, ..Default::default() };
        assert_eq!(ivan.list_cluster_notes(unknown).await.unwrap_err().code(), tonic::Code::NotFound);
    }
}

//! Investigators' tags on clusters, on SQLite and PostgreSQL: set and cleared through
//! UpdateCluster with the cluster's version check, read back in one form, recorded in the
//! cluster's history, refused naming the field when malformed, and filterable in queues.

use scamtrail_e2e::{BACKENDS, Backend, TestServer, id, request, ts, violations};
use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};
use tonic::Code;
use tonic_types::StatusExt;

/// A report paying `iban`, in its own cluster unless another report pays the same account.
fn report(iban: &str) -> pb::Report {
    pb::Report {
        category: pb::ScamCategory::Investment as i32,
        narrative: "A broker told me to pay a release fee.".into(),
        payments: vec![pb::Payment {
            amount: "250".into(),
            currency: "EUR".into(),
            method: pb::PaymentMethod::BankTransfer as i32,
            paid_at: ts(86_400),
            beneficiaries: vec![id(iban, R::BeneficiaryAccount, K::Unspecified)],
            ..Default::default()
        }],
        victim: Some(pb::Victim { country: "GB".into(), ..Default::default() }),
        ..Default::default()
    }
}

fn tagging(c: &pb::ClusterSummary, add: &[&str], remove: &[&str]) -> pb::UpdateClusterRequest {
    pb::UpdateClusterRequest {
        cluster_id: c.cluster_id,
        version: c.version,
        add_tags: add.iter().map(|t| t.to_string()).collect(),
        remove_tags: remove.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

/// The ids of the clusters in the New queue carrying one of `tags`.
async fn tagged(triage: &mut scamtrail_e2e::ActorClient, tags: &[&str]) -> Vec<i64> {
    let filter = pb::QueueFilter { tags: tags.iter().map(|t| t.to_string()).collect(), ..Default::default() };
    let req = pb::ListQueueRequest { queue: pb::Queue::New as i32, filter: Some(filter), ..Default::default() };
    let mut ids: Vec<i64> =
        triage.list_queue(req).await.unwrap().into_inner().clusters.iter().map(|c| c.cluster_id).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn tags_are_set_with_the_version_check_and_filter_queues() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let tulip =
            intake.submit_report(request(report("DE89 3704 0044 0532 0130 00"), "")).await.unwrap().into_inner();
        let other =
            intake.submit_report(request(report("GB82 WEST 1234 5698 7654 32"), "")).await.unwrap().into_inner();
        assert_ne!(tulip.cluster_id, other.cluster_id, "{backend:?}");
        let mut triage = server.triage().await;
        let read = |id: i64| pb::GetClusterRequest { cluster_id: id, max_reports: 0 };
        let before = triage.get_cluster(read(tulip.cluster_id)).await.unwrap().into_inner().cluster.unwrap();
        assert!(before.tags.is_empty(), "{backend:?}");

        let after = triage
            .update_cluster(tagging(&before, &["Campaign:Operation-Tulip", "bank:reply-awaited"], &[]))
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        assert_eq!(after.tags, ["bank:reply-awaited", "campaign:operation-tulip"], "{backend:?}: one form, sorted");
        assert_eq!(after.version, before.version + 1, "{backend:?}");

        // The version check: a tag change quoting the old version is refused and changes nothing.
        let err = triage.update_cluster(tagging(&before, &["campaign:other"], &[])).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{backend:?}");

        assert_eq!(tagged(&mut triage, &["campaign:operation-tulip"]).await, [tulip.cluster_id], "{backend:?}");
        assert_eq!(tagged(&mut triage, &["campaign:other", "bank:reply-awaited"]).await, [tulip.cluster_id]);
        assert!(tagged(&mut triage, &["campaign:other"]).await.is_empty(), "{backend:?}");
        // A prefix of a tag is not the tag.
        assert!(tagged(&mut triage, &["campaign:operation"]).await.is_empty(), "{backend:?}");
        let mut both = vec![tulip.cluster_id, other.cluster_id];
        both.sort();
        assert_eq!(tagged(&mut triage, &[]).await, both, "{backend:?}: no tag filter, every cluster");

        let cleared = triage
            .update_cluster(tagging(&after, &[], &["campaign:operation-tulip"]))
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        assert_eq!(cleared.tags, ["bank:reply-awaited"], "{backend:?}");
        assert!(tagged(&mut triage, &["campaign:operation-tulip"]).await.is_empty(), "{backend:?}");

        let history = triage.get_cluster(read(tulip.cluster_id)).await.unwrap().into_inner().events;
        let details: Vec<&str> = history.iter().map(|e| e.detail.as_str()).collect();
        assert!(
            details.contains(&"tag +campaign:operation-tulip; tag +bank:reply-awaited"),
            "{backend:?}: {details:?}"
        );
        assert!(details.contains(&"tag -campaign:operation-tulip"), "{backend:?}: {details:?}");
    }
}

#[tokio::test]
async fn malformed_tags_and_too_many_are_refused() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let submitted = server
        .intake()
        .await
        .submit_report(request(report("DE89 3704 0044 0532 0130 00"), ""))
        .await
        .unwrap()
        .into_inner();
    let mut triage = server.triage().await;
    let c = triage
        .get_cluster(pb::GetClusterRequest { cluster_id: submitted.cluster_id, max_reports: 0 })
        .await
        .unwrap()
        .into_inner()
        .cluster
        .unwrap();
    let err = triage.update_cluster(tagging(&c, &["ok", "two words"], &["50%"])).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&err),
        [
            ("add_tags[1]".to_owned(), "INVALID_CHARACTERS".to_owned()),
            ("remove_tags[0]".to_owned(), "INVALID_CHARACTERS".to_owned())
        ]
    );
    let filter = pb::QueueFilter { tags: vec![String::new()], ..Default::default() };
    let err = triage
        .list_queue(pb::ListQueueRequest { queue: pb::Queue::New as i32, filter: Some(filter), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), [("filter.tags[0]".to_owned(), "REQUIRED".to_owned())]);

    // 32 tags fit; one more over two calls is refused by the cluster's current state.
    let many: Vec<String> = (0..32).map(|i| format!("t{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let c = triage.update_cluster(tagging(&c, &many, &[])).await.unwrap().into_inner().cluster.unwrap();
    assert_eq!(c.tags.len(), 32);
    let err = triage.update_cluster(tagging(&c, &["t32"], &[])).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("at most 32"), "{}", err.message());
}

/// With a vocabulary configured, only its tags and families are put on clusters; a tag outside
/// it is refused naming the field, and taking a tag off is always allowed.
#[tokio::test]
async fn a_deployment_vocabulary_limits_the_tags_put_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tags.txt");
    std::fs::write(&file, "# this deployment's tags\ncampaign:*\nbank:reply-awaited\n").unwrap();
    let server =
        TestServer::start_with(Backend::Sqlite, &["--tag-vocabulary-file", file.to_str().unwrap()]).await.unwrap();
    let submitted = server
        .intake()
        .await
        .submit_report(request(report("DE89 3704 0044 0532 0130 00"), ""))
        .await
        .unwrap()
        .into_inner();
    let mut triage = server.triage().await;
    let read = pb::GetClusterRequest { cluster_id: submitted.cluster_id, max_reports: 0 };
    let c = triage.get_cluster(read).await.unwrap().into_inner().cluster.unwrap();
    let err = triage.update_cluster(tagging(&c, &["campaign:operation-tulip", "urgent"], &[])).await.unwrap_err();
    assert_eq!(violations(&err), [("add_tags[1]".to_owned(), "NOT_IN_VOCABULARY".to_owned())]);
    let described = &err.get_details_bad_request().unwrap().field_violations[0].description;
    assert!(described.contains("campaign:*, bank:reply-awaited"), "{described}");
    let c = triage
        .update_cluster(tagging(&c, &["campaign:operation-tulip", "bank:reply-awaited"], &[]))
        .await
        .unwrap()
        .into_inner()
        .cluster
        .unwrap();
    assert_eq!(c.tags, ["bank:reply-awaited", "campaign:operation-tulip"]);
    // Off is always allowed, in or out of the vocabulary.
    let c = triage.update_cluster(tagging(&c, &[], &["bank:reply-awaited", "urgent"])).await.unwrap();
    assert_eq!(c.into_inner().cluster.unwrap().tags, ["campaign:operation-tulip"]);
}

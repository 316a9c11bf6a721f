//! The victim's follow-up, end to end on both databases: the secret returned once at submission
//! opens the report's status and lets details be added (linking like a new report's), a wrong
//! secret and an unknown reference look the same, and guessing is throttled per reference.

use scamtrail_e2e::{BACKENDS, TestServer, bank_transfer, id, request, sample_report};
use scamtrail_proto::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt;

fn status_request(reference: &str, secret: &str) -> pb::GetReportStatusRequest {
    pb::GetReportStatusRequest { reference: reference.into(), secret: secret.into() }
}

#[tokio::test]
async fn the_secret_opens_the_status_and_nothing_else_does() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        // A retry sends the same bytes: the report is built once (its dates are relative to now).
        let report = sample_report();
        let first = intake.submit_report(request(report.clone(), "victim-1")).await.unwrap().into_inner();
        assert_eq!(first.follow_up_secret.len(), 39, "{}", first.follow_up_secret);
        let status = intake
            .get_report_status(status_request(&first.reference, &first.follow_up_secret))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(status.reference, first.reference);
        assert_eq!(status.progress, pb::ReportProgress::Received as i32);
        assert_eq!(status.details_added, 0);
        // A victim may type the reference in lower case and the secret without care for case.
        let sloppy = first.follow_up_secret.to_lowercase().replace('-', " ");
        let typed = intake.get_report_status(status_request(&first.reference.to_lowercase(), &sloppy)).await;
        assert!(typed.is_ok(), "{typed:?}");

        let wrong = intake.get_report_status(status_request(&first.reference, "0000-0000")).await.unwrap_err();
        let unknown =
            intake.get_report_status(status_request("ST-AAAA-AAAA", &first.follow_up_secret)).await.unwrap_err();
        assert_eq!((wrong.code(), wrong.message()), (unknown.code(), unknown.message()));
        assert_eq!(wrong.code(), Code::NotFound);
        let bad = intake.get_report_status(status_request("not a reference", "")).await.unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);

        // A retry of the submission answers with the first report and no secret; the victim's
        // secret keeps working. Before, a replay handed out a new secret and the victim's stopped
        // working: anyone with the intake key and a known client request id took over the
        // follow-up. The same id with another body is refused and tells nothing of the first.
        let retry = intake.submit_report(request(report.clone(), "victim-1")).await.unwrap().into_inner();
        assert!(retry.replayed);
        assert_eq!((retry.report_id, &retry.reference), (first.report_id, &first.reference));
        assert_eq!(retry.follow_up_secret, "", "{backend:?}: a replay must not issue a secret");
        let mut hostile = sample_report();
        hostile.narrative = "Not the victim.".into();
        let refused = intake.submit_report(request(hostile, "victim-1")).await.unwrap_err();
        assert_eq!(refused.code(), Code::AlreadyExists, "{refused:?}");
        assert!(!refused.message().contains(&first.reference), "{refused:?}");
        intake.get_report_status(status_request(&first.reference, &first.follow_up_secret)).await.unwrap();
        let retry = first.clone();
        // Every issue of a secret is in the audit trail, and so is every replay that got none.
        let events = scamtrail_e2e::audit_events_of(&server, "key:tests-intake").await;
        let submits: Vec<_> = events.iter().filter(|e| e.action.ends_with("/SubmitReport")).collect();
        assert_eq!(submits.len(), 3, "{submits:?}");
        let report = format!("report:{}", first.report_id);
        assert!(submits[0].targets == [report.clone(), "follow-up-secret:issued".to_owned()], "{:?}", submits[0]);
        assert!(submits[1].targets == [report.clone(), "follow-up-secret:not-reissued".to_owned()], "{:?}", submits[1]);
        assert_eq!((submits[2].outcome.as_str(), &submits[2].targets), ("ALREADY_EXISTS", &vec![report.clone()]));

        // Another frontend choosing the same client request id has a report of its own.
        let other_key = server.create_key("frontend-two", "intake", None).unwrap();
        let mut other = pb::intake_service_client::IntakeServiceClient::new(server.authed(&other_key).await);
        let theirs = other.submit_report(request(sample_report(), "victim-1")).await.unwrap().into_inner();
        assert!(!theirs.replayed);
        assert_ne!(theirs.report_id, first.report_id);
        intake.get_report_status(status_request(&first.reference, &retry.follow_up_secret)).await.unwrap();

        // The status follows the cluster's work.
        let mut triage = server.triage().await;
        let cluster = triage
            .get_cluster(pb::GetClusterRequest { cluster_id: retry.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        let refer = pb::UpdateClusterRequest {
            cluster_id: cluster.cluster_id,
            version: cluster.version,
            status: pb::ClusterStatus::Triaging as i32,
            ..Default::default()
        };
        triage.update_cluster(refer).await.unwrap();
        let status = intake.get_report_status(status_request(&first.reference, &retry.follow_up_secret)).await;
        assert_eq!(status.unwrap().into_inner().progress, pb::ReportProgress::UnderReview as i32);
    }
}

#[tokio::test]
async fn guessing_secrets_is_throttled_and_yields_nothing() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let submitted = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let mut answers = vec![];
        for guess in 0..8 {
            let secret = format!("{guess:04X}-0000-0000-0000-0000-0000-0000-0000");
            let e = intake.get_report_status(status_request(&submitted.reference, &secret)).await.unwrap_err();
            answers.push(e.code());
        }
        assert_eq!(&answers[..5], &[Code::NotFound; 5], "{answers:?}");
        assert!(answers[5..].iter().all(|&c| c == Code::ResourceExhausted), "{answers:?}");
        // While throttled, even the right secret waits: guessing cannot be confirmed.
        let e = intake
            .get_report_status(status_request(&submitted.reference, &submitted.follow_up_secret))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted);
        assert!(e.get_details_retry_info().is_some_and(|r| r.retry_delay.is_some()));
        // Adding details is guarded the same way.
        let add = pb::AddReportDetailsRequest {
            reference: submitted.reference.clone(),
            secret: submitted.follow_up_secret.clone(),
            narrative: "more".into(),
            ..Default::default()
        };
        assert_eq!(intake.add_report_details(add).await.unwrap_err().code(), Code::ResourceExhausted);
        // Other references are not affected.
        let other = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        intake.get_report_status(status_request(&other.reference, &other.follow_up_secret)).await.unwrap();
        // Nor is the victim at another address: whoever learns a reference cannot lock its
        // victim out by guessing (before, the wait held every address).
        let key = server.token("tests-intake", "intake").await;
        let elsewhere = server.authed_from("127.0.0.3".parse().unwrap(), &key).await;
        let mut victim = pb::intake_service_client::IntakeServiceClient::new(elsewhere);
        let status = victim.get_report_status(status_request(&submitted.reference, &submitted.follow_up_secret)).await;
        assert!(status.is_ok(), "{backend:?}: {status:?}");
        let e = intake.get_report_status(status_request(&submitted.reference, "0000-0000")).await.unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "the guesser's address still waits");
    }
}

#[tokio::test]
async fn added_details_link_the_report_and_a_retry_adds_nothing() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let mut a = sample_report();
        a.identifiers.clear();
        let a = intake.submit_report(request(a, "")).await.unwrap().into_inner();
        let mut b = sample_report();
        b.payments[0].beneficiaries[0].value = "NL91ABNA0417164300".into();
        b.identifiers = vec![id("+44 20 7946 0958", pb::IdentifierRole::CallerNumber, pb::IdentifierKind::Phone)];
        let b = intake.submit_report(request(b, "")).await.unwrap().into_inner();
        assert_ne!(a.cluster_id, b.cluster_id);

        // The victim of A remembers the caller's number, in the national form, and a second payment.
        let add = pb::AddReportDetailsRequest {
            reference: a.reference.clone(),
            secret: a.follow_up_secret.clone(),
            client_request_id: "add-1".into(),
            payments: vec![bank_transfer("GB33BUKB20201555555555", 50_000, 3_600)],
            identifiers: vec![id("020 7946 0958", pb::IdentifierRole::CallerNumber, pb::IdentifierKind::Phone)],
            narrative: "He called again from 020 7946 0958.".into(),
        };
        let added = intake.add_report_details(add.clone()).await.unwrap().into_inner();
        assert!(!added.replayed);
        assert_eq!(added.identifiers.len(), 2);
        assert_eq!(added.status.as_ref().unwrap().details_added, 1);
        let again = intake.add_report_details(add).await.unwrap().into_inner();
        assert!(again.replayed);
        assert_eq!(again.status.unwrap().details_added, 1, "a retry adds nothing");

        let mut triage = server.triage().await;
        let by_id = |id| pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(id)) };
        let stored = triage.get_report(by_id(a.report_id)).await.unwrap().into_inner().report.unwrap();
        let report = stored.report.unwrap();
        assert_eq!(report.payments.len(), 2, "the added payment is stored once");
        assert_eq!(report.payments[1].amount_minor, 50_000);
        assert!(report.narrative.contains("He called again from 020 7946 0958."), "{}", report.narrative);
        assert!(report.narrative.contains("[added 20"), "dated: {}", report.narrative);
        // The shared number joined the two reports' clusters; the payment counts in its loss.
        let linked = triage.get_report(by_id(b.report_id)).await.unwrap().into_inner().report.unwrap();
        assert_eq!(stored.cluster_id, linked.cluster_id, "linked by the added number");
        let cluster = triage
            .get_cluster(pb::GetClusterRequest { cluster_id: stored.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        assert_eq!(cluster.report_count, 2);
        let gbp: i64 = cluster.loss_by_currency.iter().filter(|m| m.currency == "GBP").map(|m| m.amount_minor).sum();
        assert_eq!(gbp, 250_000 * 2 + 50_000, "{:?}", cluster.loss_by_currency);

        // Nothing to add is refused, naming the field.
        let empty = pb::AddReportDetailsRequest {
            reference: a.reference.clone(),
            secret: a.follow_up_secret.clone(),
            ..Default::default()
        };
        let e = intake.add_report_details(empty).await.unwrap_err();
        assert_eq!(scamtrail_e2e::violations(&e), vec![("narrative".to_owned(), "NOTHING_TO_ADD".to_owned())]);

        // A report takes a bounded number of additions.
        for i in 1..scamtrail_core::limits::ADDITIONS_MAX {
            let more = pb::AddReportDetailsRequest {
                reference: a.reference.clone(),
                secret: a.follow_up_secret.clone(),
                narrative: format!("Another thing I remembered ({i})."),
                ..Default::default()
            };
            intake.add_report_details(more).await.unwrap();
        }
        let one_more = pb::AddReportDetailsRequest {
            reference: a.reference.clone(),
            secret: a.follow_up_secret.clone(),
            narrative: "And one more.".into(),
            ..Default::default()
        };
        assert_eq!(intake.add_report_details(one_more).await.unwrap_err().code(), Code::FailedPrecondition);
    }
}

//! A victim's rights over their data, end to end on both databases: consent to share with the
//! police decides what liaisons see (clusters, `ExplainLink`, exports and the referral package)
//! and is given or withdrawn through the follow-up; the victim reads everything held about them
//! and nothing of others (`GetMyData`); the victim erases their data (`EraseMyData`) at once, or,
//! under the legal hold of an open cluster, once it is closed, by the server's background pass;
//! the retention policy (`scamtrail retention run`) erases exactly the reports of clusters closed
//! longer ago than the policy, none under a hold, and linking and totals stay. Every change is
//! audited and the trail verifies afterwards.

use std::time::Duration;

use prost::Message;
use scamtrail_e2e::{
    ActorClient, BACKENDS, TEST_AGENCY, TestServer, audit_events_of, bank_transfer, id, request, sample_report,
};
use scamtrail_proto::v1 as pb;
use scamtrail_proto::v1::IdentifierKind as K;
use scamtrail_proto::v1::IdentifierRole as R;
use scamtrail_proto::v1::export_service_client::ExportServiceClient;
use scamtrail_proto::v1::intake_service_client::IntakeServiceClient;
use scamtrail_proto::v1::triage_service_client::TriageServiceClient;
use tonic::Code;

type Intake = IntakeServiceClient<scamtrail_e2e::Authed>;

/// A report of `name` in group `group`: the reports of one group share the scammer's number (one
/// cluster), and each paid 100.00 GBP to nobody named.
fn victim_report(group: u32, name: &str, consent: bool) -> pb::Report {
    let mut report = sample_report();
    report.narrative = format!("{name} was told the fund was safe and paid.");
    let mut paid = bank_transfer("GB82 WEST 1234 5698 7654 32", 10_000, 3_600);
    paid.beneficiaries.clear();
    report.payments = vec![paid];
    report.identifiers = vec![id(&format!("+44 20 7946 0{:03}", 500 + group), R::CallerNumber, K::Phone)];
    let victim = report.victim.as_mut().unwrap();
    victim.name = name.into();
    victim.email = format!("{}@victims.example", name.to_lowercase().replace(' ', "."));
    victim.consent_to_share_with_police = consent;
    report
}

async fn submit(intake: &mut Intake, report: pb::Report) -> pb::SubmitReportResponse {
    intake.submit_report(request(report, "")).await.unwrap().into_inner()
}

fn my_data(of: &pb::SubmitReportResponse) -> pb::GetMyDataRequest {
    pb::GetMyDataRequest { reference: of.reference.clone(), secret: of.follow_up_secret.clone() }
}

fn erase(of: &pb::SubmitReportResponse) -> pb::EraseMyDataRequest {
    pb::EraseMyDataRequest { reference: of.reference.clone(), secret: of.follow_up_secret.clone() }
}

fn consent(of: &pb::SubmitReportResponse, given: bool) -> pb::SetMyConsentRequest {
    pb::SetMyConsentRequest {
        reference: of.reference.clone(),
        secret: of.follow_up_secret.clone(),
        consent_to_share_with_police: given,
    }
}

async fn cluster(triage: &mut ActorClient, cluster_id: i64) -> pb::GetClusterResponse {
    triage.get_cluster(pb::GetClusterRequest { cluster_id, max_reports: 100 }).await.unwrap().into_inner()
}

/// Moves a cluster through `statuses` (referring it to the harness's agency, closing it as not fraud).
async fn move_cluster(triage: &mut ActorClient, cluster_id: i64, statuses: &[pb::ClusterStatus]) {
    for &status in statuses {
        let version = cluster(triage, cluster_id).await.cluster.unwrap().version;
        let mut update = pb::UpdateClusterRequest { cluster_id, version, status: status as i32, ..Default::default() };
        match status {
            pb::ClusterStatus::Referred => update.referred_to = TEST_AGENCY.into(),
            pb::ClusterStatus::Closed => update.disposition = pb::Disposition::NotFraud as i32,
            _ => {}
        }
        triage.update_cluster(update).await.unwrap();
    }
}

const REFER: &[pb::ClusterStatus] = &[pb::ClusterStatus::Triaging, pb::ClusterStatus::Referred];
const CLOSE: &[pb::ClusterStatus] = &[pb::ClusterStatus::Closed];

async fn read(triage: &mut ActorClient, report_id: i64) -> pb::Report {
    let selector = Some(pb::get_report_request::Selector::ReportId(report_id));
    triage.get_report(pb::GetReportRequest { selector }).await.unwrap().into_inner().report.unwrap().report.unwrap()
}

fn victim_name(report: &pb::Report) -> String {
    report.victim.as_ref().map(|v| v.name.clone()).unwrap_or_default()
}

/// The referral package of `cluster_id` as `client` exports it: its `case.html` and `reports.csv`.
async fn package(server: &TestServer, token: &str, cluster_id: i64) -> (String, String) {
    let mut client = ExportServiceClient::new(server.authed(token).await);
    let req = pb::ExportClusterRequest { cluster_id, format: pb::ExportFormat::Package as i32, options: None };
    let mut stream = client.export_cluster(req).await.unwrap().into_inner();
    let mut zip = vec![];
    while let Some(chunk) = stream.message().await.unwrap() {
        zip.extend(chunk.data);
    }
    let path = server.file(&format!("package-{cluster_id}-{}.zip", zip.len()));
    std::fs::write(&path, zip).unwrap();
    let read = |name: &str| {
        let script = "import zipfile,sys; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())";
        let out = std::process::Command::new("python3").args(["-c", script, path.to_str().unwrap(), name]).output();
        let out = out.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    (read("data/case.html"), read("data/reports.csv"))
}

/// The actions and targets of the audit events of `actor` whose action ends with `action`.
async fn audited(server: &TestServer, actor: &str, action: &str) -> Vec<Vec<String>> {
    audit_events_of(server, actor)
        .await
        .into_iter()
        .filter(|e| e.action.ends_with(action) && e.outcome == "OK")
        .map(|e| e.targets)
        .collect()
}

#[tokio::test]
async fn a_victim_who_did_not_consent_is_invisible_to_liaisons_until_they_consent() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let a = submit(&mut intake, victim_report(1, "Consenting Albatross", true)).await;
        let b = submit(&mut intake, victim_report(1, "Private Bandicoot", false)).await;
        assert_eq!(a.cluster_id, b.cluster_id, "{backend:?}");
        let cluster_id = a.cluster_id;
        let mut sup = server.triage().await;
        // Triage sees every report, and whether its victim consented.
        let seen: Vec<(i64, bool)> = cluster(&mut sup, cluster_id)
            .await
            .reports
            .iter()
            .map(|r| (r.report_id, r.consent_to_share_with_police))
            .collect();
        assert_eq!(seen, vec![(b.report_id, false), (a.report_id, true)], "{backend:?}");
        move_cluster(&mut sup, cluster_id, REFER).await;

        let liaison_token = server.token("tests-liaison", "liaison").await;
        let mut liaison = TriageServiceClient::new(server.authed(&liaison_token).await);
        let shown = cluster(&mut liaison, cluster_id).await;
        let ids: Vec<i64> = shown.reports.iter().map(|r| r.report_id).collect();
        assert_eq!(ids, vec![a.report_id], "{backend:?}: only the consenting victim's report");
        let totals = shown.cluster.unwrap();
        assert_eq!((totals.report_count, totals.victim_count), (2, 2), "{backend:?}: totals count both");
        let explain = pb::ExplainLinkRequest { report_a: a.report_id, report_b: b.report_id };
        let refused = liaison.explain_link(explain).await.unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{backend:?}: {refused:?}");
        assert!(sup.explain_link(explain).await.unwrap().into_inner().linked, "{backend:?}");
        let (case, reports) = package(&server, &liaison_token, cluster_id).await;
        assert!(case.contains("Consenting Albatross") && case.contains(&a.reference), "{backend:?}: {case}");
        assert!(case.contains("Consenting Albatross was told the fund was safe"), "{backend:?}: the account");
        assert!(!case.contains("Bandicoot") && !case.contains(&b.reference), "{backend:?}: {case}");
        assert!(reports.contains(&a.reference) && !reports.contains(&b.reference), "{backend:?}: {reports}");
        // A referral package is made for the police whoever makes it: an investigator's leaves the
        // other report out too, and says that the totals count it.
        let (case, _) = package(&server, &server.token("supervisor", "supervisor").await, cluster_id).await;
        assert!(!case.contains(&b.reference) && !case.contains("Bandicoot"), "{backend:?}: {case}");
        assert!(case.contains("1 of 2 reports are listed"), "{backend:?}: {case}");

        // The second victim consents through the follow-up, the first withdraws.
        let given = intake.set_my_consent(consent(&b, true)).await.unwrap().into_inner();
        assert!(given.consent_to_share_with_police);
        let ids: Vec<i64> = cluster(&mut liaison, cluster_id).await.reports.iter().map(|r| r.report_id).collect();
        assert_eq!(ids, vec![b.report_id, a.report_id], "{backend:?}");
        let (case, _) = package(&server, &liaison_token, cluster_id).await;
        assert!(case.contains("Private Bandicoot"), "{backend:?}");
        intake.set_my_consent(consent(&a, false)).await.unwrap();
        let ids: Vec<i64> = cluster(&mut liaison, cluster_id).await.reports.iter().map(|r| r.report_id).collect();
        assert_eq!(ids, vec![b.report_id], "{backend:?}");
        let wrong = pb::SetMyConsentRequest { secret: b.follow_up_secret.clone(), ..consent(&a, true) };
        assert_eq!(intake.set_my_consent(wrong).await.unwrap_err().code(), Code::NotFound);

        let events = audited(&server, "key:tests-intake", "/SetMyConsent").await;
        assert_eq!(
            events,
            vec![
                vec![format!("report:{}", b.report_id), "consent:given".to_owned()],
                vec![format!("report:{}", a.report_id), "consent:withdrawn".to_owned()],
            ],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn a_victim_reads_everything_held_about_them_and_nothing_of_another() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let a = submit(&mut intake, victim_report(2, "Reader Capybara", true)).await;
        let b = submit(&mut intake, victim_report(2, "Other Dormouse", true)).await;
        intake
            .add_report_details(pb::AddReportDetailsRequest {
                reference: a.reference.clone(),
                secret: a.follow_up_secret.clone(),
                client_request_id: "more-1".into(),
                narrative: "They phoned again about walrusfig.".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let mine = intake.get_my_data(my_data(&a)).await.unwrap().into_inner();
        let stored = mine.report.clone().unwrap();
        assert_eq!(stored.reference, a.reference, "{backend:?}");
        let report = stored.report.unwrap();
        let victim = report.victim.clone().unwrap();
        assert_eq!(
            (victim.name.as_str(), victim.email.as_str()),
            ("Reader Capybara", "reader.capybara@victims.example")
        );
        assert!(report.narrative.contains("Reader Capybara was told") && report.narrative.contains("walrusfig"));
        assert_eq!(report.payments.len(), 1, "{backend:?}");
        assert_eq!(stored.identifiers.len(), 1, "{backend:?}");
        assert_eq!(mine.details_added_at.len(), 1, "{backend:?}");
        assert_eq!(mine.status.as_ref().unwrap().progress, pb::ReportProgress::Received as i32);
        assert!(mine.shared_with.is_empty() && mine.erased_at.is_none() && mine.erasure_requested_at.is_none());
        let bytes = mine.encode_to_vec();
        let other = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!other("Dormouse") && !other(&b.reference), "{backend:?}: another victim's data");
        // Another victim's secret opens nothing of this report.
        let wrong = pb::GetMyDataRequest { secret: b.follow_up_secret.clone(), ..my_data(&a) };
        assert_eq!(intake.get_my_data(wrong).await.unwrap_err().code(), Code::NotFound);

        // Referred with consent: the victim is told who it was shared with; without, nobody.
        let mut sup = server.triage().await;
        move_cluster(&mut sup, a.cluster_id, REFER).await;
        let mine = intake.get_my_data(my_data(&a)).await.unwrap().into_inner();
        assert_eq!(mine.shared_with, vec![TEST_AGENCY.to_owned()], "{backend:?}");
        assert_eq!(mine.status.unwrap().progress, pb::ReportProgress::ReferredToPolice as i32);
        intake.set_my_consent(consent(&a, false)).await.unwrap();
        let mine = intake.get_my_data(my_data(&a)).await.unwrap().into_inner();
        assert!(mine.shared_with.is_empty(), "{backend:?}: {:?}", mine.shared_with);
        assert!(!mine.report.unwrap().report.unwrap().victim.unwrap().consent_to_share_with_police);

        let events = audited(&server, "key:tests-intake", "/GetMyData").await;
        assert_eq!(events, vec![vec![format!("report:{}", a.report_id)]; 3], "{backend:?}");
    }
}

#[tokio::test]
async fn a_victim_erases_their_data_at_once_or_when_the_legal_hold_ends() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let a = submit(&mut intake, victim_report(3, "Held Echidna", true)).await;
        let b = submit(&mut intake, victim_report(3, "Kept Flamingo", true)).await;
        let c = submit(&mut intake, victim_report(4, "Gone Gecko", true)).await;
        let mut sup = server.triage().await;

        // A closed cluster holds nothing: erased at once.
        move_cluster(&mut sup, c.cluster_id, CLOSE).await;
        let answer = intake.erase_my_data(erase(&c)).await.unwrap().into_inner();
        assert_eq!(answer.outcome, pb::ErasureOutcome::Erased as i32, "{backend:?}");
        assert!(answer.message.contains("erased"), "{}", answer.message);
        let mine = intake.get_my_data(my_data(&c)).await.unwrap().into_inner();
        assert!(mine.erased_at.is_some(), "{backend:?}");
        let report = mine.report.unwrap().report.unwrap();
        let victim = report.victim.unwrap();
        assert_eq!((victim.name.as_str(), victim.email.as_str(), report.narrative.as_str()), ("", "", ""));
        assert_eq!((victim.country.as_str(), report.payments.len()), ("GB", 1), "{backend:?}: the rest stays");
        // Words the victim adds afterwards are held again, and no longer shown as erased.
        let more = pb::AddReportDetailsRequest {
            reference: c.reference.clone(),
            secret: c.follow_up_secret.clone(),
            client_request_id: "after-erasure".into(),
            narrative: "One more thing: the caller was called Nigel.".into(),
            ..Default::default()
        };
        intake.add_report_details(more).await.unwrap();
        let mine = intake.get_my_data(my_data(&c)).await.unwrap().into_inner();
        assert!(mine.erased_at.is_none(), "{backend:?}");
        assert!(mine.report.unwrap().report.unwrap().narrative.contains("Nigel"), "{backend:?}");

        // An open cluster is a legal hold: the request is recorded and the victim told so.
        let answer = intake.erase_my_data(erase(&a)).await.unwrap().into_inner();
        assert_eq!(answer.outcome, pb::ErasureOutcome::PendingLegalHold as i32, "{backend:?}");
        assert!(answer.message.contains("investigation"), "{}", answer.message);
        let mine = intake.get_my_data(my_data(&a)).await.unwrap().into_inner();
        assert!(mine.erasure_requested_at.is_some() && mine.erased_at.is_none(), "{backend:?}");
        assert_eq!(victim_name(&read(&mut sup, a.report_id).await), "Held Echidna");
        let before = cluster(&mut sup, a.cluster_id).await.cluster.unwrap();

        // Closed, and the server's background pass (at its start, then every ten minutes)
        // applies the request; the neighbour without a request keeps its data.
        move_cluster(&mut sup, a.cluster_id, CLOSE).await;
        server.restart().await.unwrap();
        let mut intake = server.intake().await;
        let mut sup = server.triage().await;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mine = loop {
            let mine = intake.get_my_data(my_data(&a)).await.unwrap().into_inner();
            if mine.erased_at.is_some() || std::time::Instant::now() > deadline {
                break mine;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(mine.erased_at.is_some(), "{backend:?}: the request waited for the hold and was applied");
        assert_eq!(victim_name(&read(&mut sup, a.report_id).await), "", "{backend:?}");
        assert_eq!(read(&mut sup, a.report_id).await.narrative, "", "{backend:?}");
        assert_eq!(victim_name(&read(&mut sup, b.report_id).await), "Kept Flamingo", "{backend:?}");
        let after = cluster(&mut sup, a.cluster_id).await.cluster.unwrap();
        assert_eq!(
            (after.report_count, after.victim_count, format!("{:?}", after.loss_by_currency)),
            (before.report_count, before.victim_count, format!("{:?}", before.loss_by_currency)),
            "{backend:?}"
        );

        let events = audited(&server, "key:tests-intake", "/EraseMyData").await;
        assert_eq!(
            events,
            vec![
                vec![format!("report:{}", c.report_id), "erasure:erased".to_owned()],
                vec![format!("report:{}", a.report_id), "erasure:pending-legal-hold".to_owned()],
            ],
            "{backend:?}"
        );
        let applied = audited(&server, "system", "retention").await;
        assert_eq!(applied, vec![vec![format!("report:{}", a.report_id)]], "{backend:?}");
        server.run_command(&["audit", "verify"]).unwrap();
    }
}

#[tokio::test]
async fn retention_erases_exactly_the_reports_past_the_policy_and_none_under_a_hold() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let mut sup = server.triage().await;
        let old_closed = [
            submit(&mut intake, victim_report(5, "Old Heron", true)).await,
            submit(&mut intake, victim_report(5, "Old Ibis", false)).await,
        ];
        let recent_closed = submit(&mut intake, victim_report(6, "Recent Jackal", true)).await;
        let old_referred = submit(&mut intake, victim_report(7, "Referred Kiwi", true)).await;
        let open = submit(&mut intake, victim_report(8, "Open Lemur", true)).await;
        let x = old_closed[0].cluster_id;
        move_cluster(&mut sup, x, CLOSE).await;
        move_cluster(&mut sup, recent_closed.cluster_id, CLOSE).await;
        move_cluster(&mut sup, old_referred.cluster_id, REFER).await;
        // Thirty months ago, for the closed cluster and the referred one alike.
        let long_ago = (scamtrail_e2e::now_seconds() - 30 * 2_629_746) * 1_000_000;
        server
            .sql(&format!(
                "UPDATE cluster_events SET at = {long_ago} WHERE cluster_id IN ({x}, {}, {}) AND kind = 'status_changed'",
                old_referred.cluster_id, open.cluster_id
            ))
            .unwrap();
        let before = cluster(&mut sup, x).await.cluster.unwrap();
        let expected: Vec<String> = old_closed.iter().map(|r| format!("report {}", r.report_id)).collect();

        let (ok, out) = server.command_output(&["retention", "run", "--dry-run"]).unwrap();
        assert!(ok, "{backend:?}: {out}");
        let listed: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("would erase ")).collect();
        assert_eq!(listed, expected, "{backend:?}: {out}");
        assert_eq!(
            victim_name(&read(&mut sup, old_closed[0].report_id).await),
            "Old Heron",
            "a dry run erases nothing"
        );

        // Thirty-six months keeps everything; twenty-four (the default) erases the old cluster's.
        let (ok, out) = server.command_output(&["retention", "run", "--retention-months", "36"]).unwrap();
        assert!(ok && out.contains("0 report(s) erased"), "{backend:?}: {out}");
        let (ok, out) = server.command_output(&["retention", "run"]).unwrap();
        assert!(ok, "{backend:?}: {out}");
        let erased: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("erased ")).collect();
        assert_eq!(erased, expected, "{backend:?}: {out}");
        for r in &old_closed {
            let report = read(&mut sup, r.report_id).await;
            assert_eq!((victim_name(&report), report.narrative.as_str()), (String::new(), ""), "{backend:?}");
            assert_eq!(report.identifiers.len(), 1, "{backend:?}: identifiers stay");
        }
        for (r, name) in [(&recent_closed, "Recent Jackal"), (&old_referred, "Referred Kiwi"), (&open, "Open Lemur")] {
            assert_eq!(victim_name(&read(&mut sup, r.report_id).await), name, "{backend:?}");
        }
        let after = cluster(&mut sup, x).await.cluster.unwrap();
        assert_eq!(
            (after.report_count, after.victim_count, format!("{:?}", after.loss_by_currency)),
            (before.report_count, before.victim_count, format!("{:?}", before.loss_by_currency)),
            "{backend:?}"
        );
        // Linking stays: a new report naming the same number joins the same cluster.
        let later = submit(&mut intake, victim_report(5, "Later Macaw", true)).await;
        assert_eq!(later.cluster_id, x, "{backend:?}");
        let (ok, out) = server.command_output(&["retention", "run"]).unwrap();
        assert!(ok && out.contains("0 report(s) erased"), "{backend:?}: nothing twice: {out}");

        let events = audited(&server, "cli", "scamtrail retention run").await;
        let targets: Vec<String> = old_closed.iter().map(|r| format!("report:{}", r.report_id)).collect();
        assert_eq!(events, vec![targets], "{backend:?}");
        server.run_command(&["audit", "verify"]).unwrap();
        // A retention setting out of range is refused, naming it.
        let (ok, _) = server.command_output(&["retention", "run", "--retention-months", "0"]).unwrap();
        assert!(!ok, "{backend:?}");
    }
}

//! A full card number is never stored or logged: wherever a victim or an investigator types one
//! (an identifier of any kind, the narrative, added details, the vulnerability note, a note, a
//! reason), every table of the database, every answer and the server's log hold it masked.
//! On SQLite and PostgreSQL.

use std::process::Command;

use scamtrail_e2e::{BACKENDS, TestServer, id, request, sample_report};
use scamtrail_proto::v1 as pb;
use scamtrail_proto::v1::IdentifierKind as K;
use scamtrail_proto::v1::IdentifierRole as R;

/// The test card numbers typed below, as digits.
const CARDS: [&str; 9] = [
    "5500000000000004", // an identifier with its expiry date: unrecognised
    "4111111111111111", // an identifier sent as a phone number
    "4012888888881881", // an identifier sent as a card: recognised
    "4000056655665556", // in the narrative
    "4242424242424242", // in the narrative, in full-width digits
    "5105105105105100", // in the vulnerability note
    "378282246310005",  // in added details
    "3530111333300000", // in a cluster note
    "4222222222222",    // in an identifier decision's reason
];

/// `text` with look-alike digits folded and every space, dash and zero-width character removed,
/// so that a card number shows as its digits however it was written.
fn digits_only(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFEE0),
            '-' | '\u{200B}' => None,
            c if c.is_whitespace() => None,
            c => Some(c),
        })
        .collect()
}

/// Which of [`CARDS`] appear in `text`.
fn cards_in(text: &str) -> Vec<&'static str> {
    let digits = digits_only(text);
    CARDS.into_iter().filter(|c| digits.contains(c)).collect()
}

/// Every row of every table of the server's database, as text.
fn dump(server: &TestServer) -> String {
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("dump");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    match server.database_url.strip_prefix("sqlite://") {
        Some(path) => {
            let script = "import sqlite3,sys; print('\\n'.join(sqlite3.connect(sys.argv[1]).iterdump()))";
            run(Command::new("python3").args(["-c", script, path]))
        }
        None => {
            let psql = |sql: &str| run(Command::new("psql").args([&server.database_url, "-At", "-c", sql]));
            let tables = psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
            tables.lines().map(|t| psql(&format!("SELECT t::text FROM \"{t}\" t"))).collect::<Vec<_>>().join("\n")
        }
    }
}

#[tokio::test]
async fn no_full_card_number_is_stored_answered_or_logged() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let mut report = sample_report();
        report.narrative = "He had me read my card 4000-0566-5566-5556 and the one I sent him as a \
                            photo, ４２４２ ４２４２ ４２４２ ４２４２."
            .into();
        report.identifiers.extend([
            id("5500 0000 0000 0004 exp 01/30", R::Other, K::Unspecified),
            id("4111111111111111", R::CallerNumber, K::Phone),
            id("4012 8888 8888 1881", R::Other, K::Card),
        ]);
        report.victim.as_mut().unwrap().vulnerability_note = "lost savings paid with card 5105 1051 0510 5100".into();
        let submitted = intake.submit_report(request(report, "cards-1")).await.unwrap().into_inner();
        assert!(cards_in(&format!("{submitted:?}")).is_empty(), "{backend:?}: {submitted:?}");
        let raws: Vec<&str> = submitted.identifiers.iter().map(|o| o.raw.as_str()).collect();
        assert!(raws.contains(&"5500 00** **** 0004 exp 01/30"), "{raws:?}");
        assert!(raws.contains(&"411111******1111"), "{raws:?}");
        assert!(raws.contains(&"4012 88** **** 1881"), "{raws:?}");

        intake
            .add_report_details(pb::AddReportDetailsRequest {
                reference: submitted.reference.clone(),
                secret: submitted.follow_up_secret.clone(),
                client_request_id: "cards-2".into(),
                narrative: "Then they charged my other card, 3782-822463-10005.".into(),
                ..Default::default()
            })
            .await
            .unwrap();

        let mut triage = server.triage().await;
        let cluster = triage
            .get_cluster(pb::GetClusterRequest { cluster_id: submitted.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        triage
            .update_cluster(pb::UpdateClusterRequest {
                cluster_id: cluster.cluster_id,
                version: cluster.version,
                note: "The victim read card 3530 1113 3330 0000 out on the phone.".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        triage
            .set_identifier_state(pb::SetIdentifierStateRequest {
                key: "tel:+442079460958".into(),
                state: pb::IdentifierState::Excluded as i32,
                reason: "spoofed; the caller also gave card 4222222222222".into(),
                ..Default::default()
            })
            .await
            .unwrap();

        // The investigator's view: masked everywhere, and a card keeps its MAC'd key, both the
        // one sent as a card and the one found in the narrative.
        let stored = triage
            .get_report(pb::GetReportRequest {
                selector: Some(pb::get_report_request::Selector::ReportId(submitted.report_id)),
            })
            .await
            .unwrap()
            .into_inner()
            .report
            .unwrap();
        assert!(cards_in(&format!("{stored:?}")).is_empty(), "{backend:?}: {stored:?}");
        let keys: Vec<&str> = stored
            .identifiers
            .iter()
            .filter_map(|i| match i.outcome.as_ref()?.result.as_ref()? {
                pb::identifier_outcome::Result::Normalized(n) => Some(n.key.as_str()),
                pb::identifier_outcome::Result::Unverified(_) => None,
            })
            .collect();
        assert!(keys.iter().any(|k| k.starts_with("card:401288:1881:")), "{backend:?}: {keys:?}");
        assert!(keys.iter().any(|k| k.starts_with("card:400005:5556:")), "{backend:?}: {keys:?}");
        let narrative = &stored.report.as_ref().unwrap().narrative;
        assert!(narrative.contains("4000-05**-****-5556"), "{narrative}");
        assert!(narrative.contains("3782-82****-*0005"), "{narrative}");
        let history = triage
            .get_cluster(pb::GetClusterRequest { cluster_id: submitted.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner();
        assert!(cards_in(&format!("{history:?}")).is_empty(), "{backend:?}: {history:?}");
        assert!(format!("{history:?}").contains("3530 11** **** 0000"), "{backend:?}: the note is kept, masked");

        let dump = dump(&server);
        // The dump reads the clusters' history, where the masked text is (the victims' table and
        // investigators' notes are sealed; a reason is not).
        assert!(dump.contains("422222***2222"), "{backend:?}: the masked reason not in the dump");
        assert_eq!(cards_in(&dump), Vec::<&str>::new(), "{backend:?}: card numbers in the database");
        assert_eq!(cards_in(&server.log()), Vec::<&str>::new(), "{backend:?}: card numbers in the log");
    }
}

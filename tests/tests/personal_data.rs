//! Victims' personal data at rest: after a load of reports and added details, no victim's name,
//! e-mail, phone, vulnerability note or narrative word is in any table of the database (nor, on
//! SQLite, anywhere in its files), nor any word of investigators' notes, while `GetReport` and
//! `GetCluster` read them all back. Rows written in clear
//! before sealing are sealed at the next start, with the distinct-victim key made a keyed MAC.
//! A data key rotation stopped half-way leaves every report readable, and resumed seals
//! everything under the new key. An administrator erases a report's personal data once its
//! cluster is closed, never under the hold of an open one. On SQLite and PostgreSQL.

use std::process::Command;

use scamtrail_e2e::{ActorClient, BACKENDS, Backend, TestServer, audit_events_of, id, request, sample_report};
use scamtrail_proto::v1 as pb;
use scamtrail_proto::v1::IdentifierKind as K;
use scamtrail_proto::v1::IdentifierRole as R;

/// Reports in the load.
const REPORTS: usize = 12;

/// What victim `i` tells: each string must stay out of the database.
fn secrets(i: usize) -> Vec<String> {
    vec![
        format!("Philippa Quenneville{i}"),
        format!("philippa.q{i}@victims.example"),
        format!("7700900{i:03}"),
        format!("bereavedmarmoset{i}"),
        format!("zanzibarquokka{i}"),
        format!("laterpelican{i}"),
        format!("quietwombat{i}"),
    ]
}

/// The note an investigator writes on the cluster of report `i` (for even `i`), quoting the victim.
fn note_text(i: usize) -> String {
    format!("Spoke to the victim: she said quietwombat{i} twice.")
}

fn report(i: usize) -> pb::Report {
    let mut report = sample_report();
    report.narrative = format!("The broker said zanzibarquokka{i} was a safe fund and I paid.");
    // Reports two by two share the scammer's number: clusters of two.
    report.payments.clear();
    report.identifiers = vec![id(&format!("+44 20 7946 0{:03}", 100 + i / 2), R::CallerNumber, K::Phone)];
    let victim = report.victim.as_mut().unwrap();
    victim.name = format!("Philippa Quenneville{i}");
    victim.email = format!("philippa.q{i}@victims.example");
    victim.phone = format!("+44 7700 900{i:03}");
    victim.vulnerability_note = format!("bereavedmarmoset{i}, lives alone");
    report
}

/// Every row of every table of the server's database, as text; on SQLite, with the bytes of its
/// files (the database, its log) read as text too.
fn dump(server: &TestServer) -> String {
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("dump");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    match server.database_url.strip_prefix("sqlite://") {
        Some(path) => {
            let script = "import sqlite3,sys; print('\\n'.join(sqlite3.connect(sys.argv[1]).iterdump()))";
            let mut text = run(Command::new("python3").args(["-c", script, path]));
            for file in [path.to_owned(), format!("{path}-wal")] {
                if let Ok(bytes) = std::fs::read(&file) {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            text
        }
        None => {
            let psql = |sql: &str| run(Command::new("psql").args([&server.database_url, "-At", "-c", sql]));
            let tables = psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
            tables.lines().map(|t| psql(&format!("SELECT t::text FROM \"{t}\" t"))).collect::<Vec<_>>().join("\n")
        }
    }
}

/// One column of a query's rows (sqlite3 through Python, or psql).
fn column(server: &TestServer, sql: &str) -> Vec<String> {
    let out = match server.database_url.strip_prefix("sqlite://") {
        Some(path) => {
            let script = "import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(r[0])";
            Command::new("python3").args(["-c", script, path, sql]).output().unwrap()
        }
        None => Command::new("psql").args([&server.database_url, "-At", "-c", sql]).output().unwrap(),
    };
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

/// The secrets of `dump`'s text, in any case.
fn found(dump: &str, secrets: &[String]) -> Vec<String> {
    let lower = dump.to_lowercase();
    secrets.iter().filter(|s| lower.contains(&s.to_lowercase())).cloned().collect()
}

async fn read(triage: &mut ActorClient, report_id: i64) -> pb::StoredReport {
    let selector = Some(pb::get_report_request::Selector::ReportId(report_id));
    triage.get_report(pb::GetReportRequest { selector }).await.unwrap().into_inner().report.unwrap()
}

/// Submits the load; returns the reports' ids, and adds details to every one.
async fn load(server: &TestServer) -> Vec<i64> {
    let mut intake = server.intake().await;
    let mut ids = Vec::new();
    for i in 0..REPORTS {
        let submitted = intake.submit_report(request(report(i), &format!("pd-{i}"))).await.unwrap().into_inner();
        intake
            .add_report_details(pb::AddReportDetailsRequest {
                reference: submitted.reference.clone(),
                secret: submitted.follow_up_secret.clone(),
                client_request_id: format!("pd-more-{i}"),
                narrative: format!("They called again about laterpelican{i}."),
                ..Default::default()
            })
            .await
            .unwrap();
        ids.push(submitted.report_id);
        if i % 2 == 0 {
            let mut triage = server.triage().await;
            let get = pb::GetClusterRequest { cluster_id: submitted.cluster_id, max_reports: 1 };
            let version = triage.get_cluster(get).await.unwrap().into_inner().cluster.unwrap().version;
            let noted = pb::UpdateClusterRequest {
                cluster_id: submitted.cluster_id,
                version,
                note: note_text(i),
                ..Default::default()
            };
            triage.update_cluster(noted).await.unwrap();
        }
    }
    ids
}

/// The notes on the clusters of the load's reports, as a supervisor reads them.
async fn notes_read(triage: &mut ActorClient, ids: &[i64]) -> Vec<String> {
    let mut notes = vec![];
    for id in ids.iter().step_by(2) {
        let cluster_id = read(triage, *id).await.cluster_id;
        let got = triage.get_cluster(pb::GetClusterRequest { cluster_id, max_reports: 1 }).await.unwrap();
        let events = got.into_inner().events;
        notes.extend(events.into_iter().filter(|e| e.kind == pb::ClusterEventKind::Note as i32).map(|e| e.detail));
    }
    notes
}

/// Every report reads back whole: the victim's data and the narrative with its addition.
async fn assert_readable(backend: Backend, triage: &mut ActorClient, ids: &[i64]) {
    for (i, id) in ids.iter().enumerate() {
        let stored = read(triage, *id).await;
        let report = stored.report.unwrap();
        let victim = report.victim.unwrap();
        assert_eq!(victim.name, format!("Philippa Quenneville{i}"), "{backend:?}");
        assert_eq!(victim.email, format!("philippa.q{i}@victims.example"), "{backend:?}");
        assert_eq!(victim.phone, format!("+44 7700 900{i:03}"), "{backend:?}");
        assert_eq!(victim.vulnerability_note, format!("bereavedmarmoset{i}, lives alone"), "{backend:?}");
        assert!(report.narrative.contains(&format!("zanzibarquokka{i}")), "{backend:?}: {}", report.narrative);
        assert!(report.narrative.contains(&format!("laterpelican{i}")), "{backend:?}: {}", report.narrative);
    }
}

#[tokio::test]
async fn no_victim_data_is_stored_in_clear_and_every_report_reads_back() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let ids = load(&server).await;
        let mut triage = server.triage().await;
        assert_readable(backend, &mut triage, &ids).await;
        let all: Vec<String> = (0..REPORTS).flat_map(secrets).collect();
        let dump = dump(&server);
        assert_eq!(found(&dump, &all), Vec::<String>::new(), "{backend:?}: victims' data in clear");
        assert!(dump.contains("st1:1:"), "{backend:?}: sealed values are in the dump");
        // Investigators' notes, sealed too, read back whole.
        let expected: Vec<String> = (0..REPORTS).step_by(2).map(note_text).collect();
        assert_eq!(notes_read(&mut triage, &ids).await, expected, "{backend:?}");
        // Distinct victims are still counted: twelve victims over six clusters of two.
        let counts =
            column(&server, "SELECT victim_count FROM clusters WHERE merged_into IS NULL AND report_count > 0");
        assert_eq!(counts, vec!["2"; REPORTS / 2], "{backend:?}");
    }
}

#[tokio::test]
async fn rows_written_in_clear_before_sealing_are_sealed_at_start() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        let ids = load(&server).await;
        let (legacy, other) = (ids[0], ids[1]);
        server.kill9().unwrap();
        // As a database from before sealing holds them: clear text and a plain hash.
        server
            .sql(&format!(
                "UPDATE report_victims SET name = 'Legacy Ottoline', email = 'legacy.ottoline@victims.example', \
                 phone = '+44 7700 900999', vulnerability_note = 'legacywalrus', victim_key = 'plain-hash' \
                 WHERE report_id = {legacy}"
            ))
            .unwrap();
        server.sql(&format!("UPDATE reports SET narrative = 'legacyharbour story' WHERE id = {legacy}")).unwrap();
        let before = dump(&server);
        assert_eq!(found(&before, &["legacyharbour".into()]).len(), 1, "{backend:?}: the test wrote clear text");
        server.restart().await.unwrap();

        let secrets: Vec<String> = ["Legacy Ottoline", "legacy.ottoline@victims.example", "7700900999", "legacywalrus"]
            .into_iter()
            .chain(["legacyharbour"])
            .map(str::to_owned)
            .collect();
        assert_eq!(found(&dump(&server), &secrets), Vec::<String>::new(), "{backend:?}: sealed at start");
        let mut triage = server.triage().await;
        let report = read(&mut triage, legacy).await.report.unwrap();
        assert_eq!(report.narrative, "legacyharbour story", "{backend:?}");
        let victim = report.victim.unwrap();
        assert_eq!((victim.name.as_str(), victim.vulnerability_note.as_str()), ("Legacy Ottoline", "legacywalrus"));
        // The victim's key is now the keyed MAC a new report of the same victim gets.
        let mut intake = server.intake().await;
        let fresh = intake.submit_report(request(legacy_victim_report(), "pd-legacy-again")).await.unwrap();
        let keys = column(
            &server,
            &format!(
                "SELECT victim_key FROM report_victims WHERE report_id IN ({legacy}, {}) ORDER BY report_id",
                fresh.into_inner().report_id
            ),
        );
        assert_eq!(keys.len(), 2, "{backend:?}");
        assert_ne!(keys[0], "plain-hash", "{backend:?}");
        assert_eq!(keys[0], keys[1], "{backend:?}: one victim, one key");
        // Another report is untouched.
        assert_eq!(read(&mut triage, other).await.report.unwrap().victim.unwrap().name, "Philippa Quenneville1");
    }
}

fn legacy_victim_report() -> pb::Report {
    let mut report = report(99);
    let victim = report.victim.as_mut().unwrap();
    victim.email = "Legacy.Ottoline@victims.example".into();
    report
}

#[tokio::test]
async fn a_rotation_stopped_half_way_leaves_every_report_readable_and_resumes() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let ids = load(&server).await;
        let under = |version: u32| {
            let sql = format!(
                "SELECT COUNT(*) FROM report_victims WHERE name LIKE 'st1:{version}:%' OR email LIKE 'st1:{version}:%' \
                 OR phone LIKE 'st1:{version}:%' OR vulnerability_note LIKE 'st1:{version}:%'"
            );
            column(&server, &sql)[0].parse::<usize>().unwrap()
                + column(&server, &format!("SELECT COUNT(*) FROM reports WHERE narrative LIKE 'st1:{version}:%'"))[0]
                    .parse::<usize>()
                    .unwrap()
        };
        assert_eq!(under(1), 2 * REPORTS, "{backend:?}");

        // Stopped after 5 rows: some values under each key, the server reading them all.
        let (ok, out) = server.command_output(&["data-key", "rotate", "--limit", "5"]).unwrap();
        assert!(ok && out.contains("rows left"), "{backend:?}: {out}");
        assert_eq!((under(1), under(2)), (2 * REPORTS - 5, 5), "{backend:?}");
        let mut triage = server.triage().await;
        assert_readable(backend, &mut triage, &ids).await;

        let (ok, out) = server.command_output(&["data-key", "rotate", "--resume"]).unwrap();
        assert!(ok && out.contains("every value is sealed under data key version 2"), "{backend:?}: {out}");
        assert_eq!((under(1), under(2)), (0, 2 * REPORTS), "{backend:?}");
        assert_readable(backend, &mut triage, &ids).await;
        let notes =
            column(&server, "SELECT COUNT(*) FROM cluster_events WHERE kind = 'note' AND detail LIKE 'st1:2:%'");
        assert_eq!(notes, vec![(REPORTS / 2).to_string()], "{backend:?}: the notes moved to the new key too");
        let expected: Vec<String> = (0..REPORTS).step_by(2).map(note_text).collect();
        assert_eq!(notes_read(&mut triage, &ids).await, expected, "{backend:?}");
        let key_file = std::fs::read_to_string(server.data_key_file()).unwrap();
        assert!(key_file.lines().any(|l| l.starts_with("2 ")), "{backend:?}: the file holds version 2");

        // Both sittings are in the audit trail, and it still verifies.
        let rotations: Vec<Vec<String>> = audit_events_of(&server, "cli")
            .await
            .into_iter()
            .filter(|e| e.action == "scamtrail data-key rotate")
            .map(|e| e.targets)
            .collect();
        assert_eq!(rotations, vec![vec!["data-key:2".to_owned()]; 2], "{backend:?}");
        server.run_command(&["audit", "verify"]).unwrap();

        // The running server took the new key: a new report is sealed under it.
        let mut intake = server.intake().await;
        let fresh = intake.submit_report(request(report(50), "pd-after")).await.unwrap().into_inner();
        let name = column(&server, &format!("SELECT name FROM report_victims WHERE report_id = {}", fresh.report_id));
        assert!(name[0].starts_with("st1:2:"), "{backend:?}: {name:?}");
        let all: Vec<String> = (0..REPORTS).flat_map(secrets).collect();
        assert_eq!(found(&dump(&server), &all), Vec::<String>::new(), "{backend:?}");
    }
}

#[tokio::test]
async fn an_administrator_erases_personal_data_once_the_cluster_is_closed_and_linking_stays() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let ids = load(&server).await;
        let (erased, neighbour) = (ids[0], ids[1]);
        let id = erased.to_string();
        let mut triage = server.triage().await;
        let cluster_id = read(&mut triage, erased).await.cluster_id;
        let get = pb::GetClusterRequest { cluster_id, max_reports: 10 };
        // An open cluster is a legal hold: nothing goes.
        let (ok, out) = server.command_output(&["report", "erase", "--id", &id]).unwrap();
        assert!(!ok, "{backend:?}: erased under a hold: {out}");
        assert_eq!(read(&mut triage, erased).await.report.unwrap().victim.unwrap().name, "Philippa Quenneville0");

        let before = triage.get_cluster(get).await.unwrap().into_inner().cluster.unwrap();
        let close = pb::UpdateClusterRequest {
            cluster_id,
            version: before.version,
            status: pb::ClusterStatus::Closed as i32,
            disposition: pb::Disposition::NotFraud as i32,
            ..Default::default()
        };
        triage.update_cluster(close).await.unwrap();
        let (ok, out) = server.command_output(&["report", "erase", "--id", &id]).unwrap();
        assert!(ok && out.contains("erased"), "{backend:?}: {out}");

        let report = read(&mut triage, erased).await.report.unwrap();
        let victim = report.victim.unwrap();
        assert_eq!(
            (victim.name.as_str(), victim.email.as_str(), victim.phone.as_str(), victim.vulnerability_note.as_str()),
            ("", "", "", ""),
            "{backend:?}"
        );
        assert_eq!(report.narrative, "", "{backend:?}");
        assert_eq!(victim.country, "GB", "{backend:?}: the country stays");
        assert_eq!(report.identifiers.len(), 1, "{backend:?}: the identifiers stay");
        // The neighbour keeps its data; the cluster keeps its reports, victims and totals.
        assert_eq!(read(&mut triage, neighbour).await.report.unwrap().victim.unwrap().name, "Philippa Quenneville1");
        let after = triage.get_cluster(get).await.unwrap().into_inner().cluster.unwrap();
        assert_eq!(
            (after.report_count, after.victim_count, format!("{:?}", after.total_loss)),
            (before.report_count, before.victim_count, format!("{:?}", before.total_loss)),
            "{backend:?}"
        );
        let rows = column(&server, &format!("SELECT name FROM report_victims WHERE report_id = {erased}"));
        assert_eq!(rows, vec![String::new()], "{backend:?}: the sealed value is gone too");
        let audited: Vec<Vec<String>> = audit_events_of(&server, "cli")
            .await
            .into_iter()
            .filter(|e| e.action == "scamtrail report erase")
            .map(|e| e.targets)
            .collect();
        assert_eq!(audited, vec![vec![format!("report:{erased}")]; 2], "{backend:?}");
        server.run_command(&["audit", "verify"]).unwrap();
    }
}

//! `scamtrail backup` under intake load and `scamtrail restore`: every report acknowledged before
//! the backup began is in it, the restored audit trail verifies, and a recluster of the restored
//! database finds the same clusters. The data keys travel with the backup: a restored report's
//! victim reads back.

use scamtrail_e2e::{Backend, TestServer, clusters_of, id, request};
use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};

fn report_of(network: usize) -> pb::Report {
    pb::Report {
        category: pb::ScamCategory::Investment as i32,
        narrative: format!("The broker of network {network} stopped answering."),
        identifiers: vec![id(&format!("+44 20 7946 {:04}", 2000 + network), R::CallerNumber, K::Phone)],
        victim: Some(pb::Victim {
            country: "GB".into(),
            name: format!("Winifred Backhouse{network}"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_restores_every_acknowledged_report() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut acked = vec![];
    for i in 0..60 {
        let answer = server.intake().await.submit_report(request(report_of(i % 6), &format!("before-{i}"))).await;
        let answer = answer.unwrap().into_inner();
        acked.push((answer.report_id, answer.reference));
    }
    // Intake goes on while the backup runs.
    let mut load = vec![];
    for i in 0..200 {
        let mut intake = server.intake().await;
        load.push(tokio::spawn(async move {
            intake.submit_report(request(report_of(i % 6), &format!("during-{i}"))).await.unwrap();
        }));
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("scamtrail-backup.db");
    let backup = server
        .command()
        .args(["backup", "--database-url", &server.database_url, "--to"])
        .arg(&copy)
        .arg("--card-key-file")
        .arg(server.file("card.key"))
        .output()
        .unwrap();
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    for call in load {
        call.await.unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    for file in [
        "scamtrail-backup.db",
        "scamtrail-backup.db.card-key",
        "scamtrail-backup.db.audit-key",
        "scamtrail-backup.db.data-key",
    ] {
        let mode = std::fs::metadata(dir.path().join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    let again = server.command().args(["backup", "--database-url", &server.database_url, "--to"]).arg(&copy).output();
    assert!(!again.unwrap().status.success(), "a backup never overwrites a file");

    let restored_dir = tempfile::tempdir().unwrap();
    let restored_url = format!("sqlite://{}", restored_dir.path().join("scamtrail.db").display());
    let restore = server
        .command()
        .args(["restore", "--from"])
        .arg(&copy)
        .args(["--database-url", &restored_url, "--card-key-file"])
        .arg(restored_dir.path().join("card.key"))
        .arg("--audit-key-file")
        .arg(restored_dir.path().join("audit.key"))
        .arg("--data-key-file")
        .arg(restored_dir.path().join("data.key"))
        .output()
        .unwrap();
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let mut restored = TestServer::start_in(restored_dir, restored_url.clone()).await.unwrap();

    let clusters = clusters_of(&restored, &acked).await;
    assert_eq!(clusters.len(), 6, "six networks");
    // Victims' data is sealed under the data keys, which the backup carried.
    let (report_id, _) = acked[7];
    let selector = pb::get_report_request::Selector::ReportId(report_id);
    let report = restored.triage().await.get_report(pb::GetReportRequest { selector: Some(selector) }).await;
    let victim = report.unwrap().into_inner().report.unwrap().report.unwrap().victim.unwrap();
    assert_eq!(victim.name, "Winifred Backhouse1", "the restored victim opens under the restored data keys");
    let verify = restored.command().args(["audit", "verify", "--database-url", &restored_url]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    assert!(restored.terminate().unwrap());
    let rebuilt = restored.command().args(["recluster", "--database-url", &restored_url]).output().unwrap();
    assert!(rebuilt.status.success(), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    restored.restart().await.unwrap();
    assert_eq!(clusters_of(&restored, &acked).await, clusters, "a recluster finds the same clusters");
}

//! Exports end to end, on SQLite and PostgreSQL: who may export what, bad input (unknown
//! clusters, merged clusters with their survivor in the error details, unknown formats and
//! markings), the streamed chunks, no victim data, and the audit events with format and size.
//! The formats themselves are checked with parsers we did not write in `tests/python`.

use scamtrail_e2e::{
    BACKENDS, TEST_AGENCY, TestServer, audit_events_of, bank_transfer, request, sample_report, violations,
};
use scamtrail_proto::v1::{self as pb, export_service_client::ExportServiceClient};
use tonic::Code;
use tonic_types::StatusExt;

type Client = ExportServiceClient<scamtrail_e2e::Authed>;

async fn client(server: &TestServer, name: &str, role: &str) -> Client {
    let token = server.token(name, role).await;
    ExportServiceClient::new(server.authed(&token).await)
}

fn cluster_request(cluster_id: i64, format: pb::ExportFormat) -> pb::ExportClusterRequest {
    pb::ExportClusterRequest { cluster_id, format: format as i32, options: None }
}

/// The chunks of a cluster's export, or the status it was refused with.
async fn export(client: &mut Client, req: pb::ExportClusterRequest) -> Result<Vec<pb::ExportChunk>, tonic::Status> {
    let mut stream = client.export_cluster(req).await?.into_inner();
    let mut chunks = vec![];
    while let Some(chunk) = stream.message().await? {
        chunks.push(chunk);
    }
    Ok(chunks)
}

fn joined(chunks: &[pb::ExportChunk]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.data.iter().copied()).collect()
}

/// A report of its own (an IBAN nobody else reported), or one sharing `iban`.
fn report_paying(iban: &str) -> pb::Report {
    let mut report = sample_report();
    report.payments = vec![bank_transfer(iban, 10_000, 3_600)];
    report.identifiers.clear();
    report
}

#[tokio::test]
async fn who_may_export_and_bad_input() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let referred = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let other =
            intake.submit_report(request(report_paying("GB33BUKB20201555555555"), "")).await.unwrap().into_inner();
        assert_ne!(referred.cluster_id, other.cluster_id);
        use pb::ExportFormat as F;

        // Investigators and supervisors export any cluster.
        for (name, role) in [("ivan", "investigator"), ("sue", "supervisor")] {
            let mut c = client(&server, name, role).await;
            for cluster in [referred.cluster_id, other.cluster_id] {
                let chunks = export(&mut c, cluster_request(cluster, F::Csv)).await.unwrap();
                assert_eq!(chunks[0].content_type, "application/zip", "{backend:?}");
                assert_eq!(chunks[0].file_name, format!("cluster-{cluster}-csv.zip"));
            }
        }
        // A liaison only once the cluster is referred to its agency; others answer as unknown ones.
        let mut police = client(&server, "police", "liaison").await;
        let unknown = export(&mut police, cluster_request(999_999, F::Stix)).await.unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound);
        let e = export(&mut police, cluster_request(referred.cluster_id, F::Stix)).await.unwrap_err();
        assert_eq!((e.code(), e.message()), (unknown.code(), unknown.message()), "{backend:?}");
        let mut sup = server.triage().await;
        let version = sup
            .get_cluster(pb::GetClusterRequest { cluster_id: referred.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap()
            .version;
        // New → assigned → referred, as the workflow goes.
        let assign = pb::UpdateClusterRequest {
            cluster_id: referred.cluster_id,
            version,
            status: pb::ClusterStatus::Assigned as i32,
            assignee: "supervisor".into(),
            ..Default::default()
        };
        let version = sup.update_cluster(assign).await.unwrap().into_inner().cluster.unwrap().version;
        sup.update_cluster(pb::UpdateClusterRequest {
            cluster_id: referred.cluster_id,
            version,
            status: pb::ClusterStatus::Referred as i32,
            referred_to: TEST_AGENCY.into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let chunks = export(&mut police, cluster_request(referred.cluster_id, F::Stix)).await.unwrap();
        assert!(joined(&chunks).starts_with(b"{\"type\":\"bundle\""));
        let e = export(&mut police, cluster_request(other.cluster_id, F::Stix)).await.unwrap_err();
        assert_eq!((e.code(), e.message()), (unknown.code(), unknown.message()));
        let feed = pb::ExportIdentifiersRequest { format: F::Csv as i32, ..Default::default() };
        police.export_identifiers(feed.clone()).await.unwrap();
        // Intake keys and administrators export nothing.
        for (name, role) in [("frontend", "intake"), ("root", "admin")] {
            let mut c = client(&server, name, role).await;
            let e = export(&mut c, cluster_request(referred.cluster_id, F::Csv)).await.unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "{role}");
            let e = c.export_identifiers(feed.clone()).await.unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "{role}");
        }

        // Bad input names its field.
        let mut ivan = client(&server, "ivan", "investigator").await;
        let bad = pb::ExportClusterRequest { cluster_id: referred.cluster_id, format: 99, options: None };
        let e = export(&mut ivan, bad).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(violations(&e), [("format".to_owned(), "UNKNOWN_FORMAT".to_owned())]);
        let e = export(&mut ivan, cluster_request(0, F::Unspecified)).await.unwrap_err();
        let fields: Vec<String> = violations(&e).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["cluster_id", "format"]);
        let marked = pb::ExportClusterRequest {
            options: Some(pb::ExportOptions { tlp: 42 }),
            ..cluster_request(referred.cluster_id, F::Stix)
        };
        assert_eq!(violations(&export(&mut ivan, marked).await.unwrap_err())[0].0, "options.tlp");
        let graph_feed = pb::ExportIdentifiersRequest { format: F::Graphml as i32, ..Default::default() };
        let e = ivan.export_identifiers(graph_feed).await.unwrap_err();
        assert_eq!(violations(&e), [("format".to_owned(), "UNKNOWN_FORMAT".to_owned())]);
        let cards = pb::ExportIdentifiersRequest {
            since: "yesterday".into(),
            kinds: vec![pb::IdentifierKind::Card as i32],
            ..feed.clone()
        };
        let fields: Vec<String> =
            violations(&ivan.export_identifiers(cards).await.unwrap_err()).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["since", "kinds[0]"]);

        // A merged cluster answers with its survivor, so that the client can follow.
        let mut joining = report_paying("GB33BUKB20201555555555");
        joining.payments.push(bank_transfer("GB82 WEST 1234 5698 7654 32", 500, 60));
        let third = intake.submit_report(request(report_paying("GB33BUKB20201555555555"), "")).await.unwrap();
        assert_eq!(third.into_inner().cluster_id, other.cluster_id);
        let joined_report = intake.submit_report(request(joining, "")).await.unwrap().into_inner();
        assert_eq!(joined_report.cluster_id, other.cluster_id, "{backend:?}: the larger cluster survives");
        let e = export(&mut ivan, cluster_request(referred.cluster_id, F::Misp)).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
        let info = e.get_details_error_info().expect("error info");
        assert_eq!(info.metadata.get("survivor_cluster_id"), Some(&other.cluster_id.to_string()));
        let e = export(&mut police, cluster_request(referred.cluster_id, F::Misp)).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "the liaison follows its referred cluster too");
    }
}

#[tokio::test]
async fn exports_stream_in_chunks_without_victim_data_and_are_audited_with_their_size() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let mut cluster = 0;
        let mut waiting = vec![];
        for _ in 0..300 {
            let mut intake = intake.clone();
            waiting.push(tokio::spawn(async move { intake.submit_report(request(sample_report(), "")).await }));
        }
        for w in waiting {
            cluster = w.await.unwrap().unwrap().into_inner().cluster_id;
        }
        let _ = intake.submit_report(request(sample_report(), "")).await.unwrap();
        let mut ivan = client(&server, "ivan", "investigator").await;
        let victim =
            ["Ada Example", "ada@example.org", "07700 900123", "7700900123", "recently bereaved", "profits on"];
        for format in [pb::ExportFormat::Stix, pb::ExportFormat::Misp, pb::ExportFormat::Graphml] {
            let chunks = export(&mut ivan, cluster_request(cluster, format)).await.unwrap();
            assert!(chunks.len() > 1, "{backend:?} {format:?}: 301 reports stream in more than one chunk");
            assert!(!chunks[0].content_type.is_empty() && chunks[0].generated_at.is_some());
            assert!(chunks[1..].iter().all(|c| c.content_type.is_empty() && c.file_name.is_empty()));
            assert!(chunks.iter().all(|c| c.data.len() <= 1 << 20), "each chunk is at most 1 MiB");
            let text = String::from_utf8(joined(&chunks)).unwrap();
            for v in victim {
                assert!(!text.contains(v), "{format:?} carries victim data {v:?}");
            }
            if format == pb::ExportFormat::Stix {
                let bundle: serde_json::Value = serde_json::from_str(&text).unwrap();
                let objects = bundle["objects"].as_array().unwrap();
                let observed = objects.iter().filter(|o| o["type"] == "observed-data").count();
                assert_eq!(observed, 301, "{backend:?}");
            }
        }
        let chunks = export(&mut ivan, cluster_request(cluster, pb::ExportFormat::Stix)).await.unwrap();
        let size = joined(&chunks).len();
        let events = audit_events_of(&server, "ivan").await;
        let exported: Vec<&pb::AuditEvent> = events
            .iter()
            .filter(|e| {
                e.action == "/scamtrail.v1.ExportService/ExportCluster" && e.targets.contains(&format!("bytes:{size}"))
            })
            .collect();
        assert!(!exported.is_empty(), "{backend:?}: no export event with bytes:{size} in {events:?}");
        assert!(exported[0].targets.contains(&"format:stix".to_owned()));
        assert!(exported[0].targets.contains(&format!("cluster:{cluster}")));
        assert_eq!(exported[0].outcome, "OK");
        // The feed pages with its cursor and carries no victim data either.
        let feed = |since: String| pb::ExportIdentifiersRequest {
            since,
            format: pb::ExportFormat::Csv as i32,
            page_size: 2,
            ..Default::default()
        };
        let mut seen = vec![];
        let mut since = String::new();
        for _ in 0..10 {
            let mut stream = ivan.export_identifiers(feed(since.clone())).await.unwrap().into_inner();
            let mut chunks = vec![];
            while let Some(chunk) = stream.message().await.unwrap() {
                chunks.push(chunk);
            }
            let text = String::from_utf8(joined(&chunks)).unwrap();
            let rows: Vec<&str> = text.lines().skip(1).collect();
            if rows.is_empty() {
                break;
            }
            assert!(rows.len() <= 2);
            seen.extend(rows.iter().map(|r| r.split(',').next().unwrap().to_owned()));
            since = chunks.last().unwrap().next_cursor.clone();
        }
        seen.sort();
        let before = seen.len();
        seen.dedup();
        assert_eq!(before, seen.len(), "no identifier twice across pages");
        assert!(seen.contains(&"iban:GB82WEST12345698765432".to_owned()), "{seen:?}");
        assert!(seen.contains(&"tel:+442079460958".to_owned()), "{seen:?}");
    }
}

#[tokio::test]
async fn the_cli_saves_an_export_through_the_server() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let report = server.intake().await.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let token = server.token("ivan", "investigator").await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("case.stix.json");
        let url = format!("http://{}", server.addr);
        let id = report.cluster_id.to_string();
        let args = ["export", "cluster", &id, "--format", "stix", "--out", out.to_str().unwrap(), "--server", &url];
        let done = server.command().args(args).env("SCAMTRAIL_TOKEN", &token).output().unwrap();
        assert!(done.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&done.stderr));
        let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(bundle["type"], "bundle");
        // The CLI goes through the server: a liaison's key is refused a cluster not referred to it.
        let liaison = server.token("police", "liaison").await;
        let refused = server.command().args(args).env("SCAMTRAIL_TOKEN", &liaison).output().unwrap();
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("no such cluster"), "{refused:?}");
        let feed = dir.path().join("feed.csv");
        let args = ["export", "feed", "--format", "csv", "--out", feed.to_str().unwrap(), "--server", &url];
        let done = server.command().args(args).env("SCAMTRAIL_TOKEN", &liaison).output().unwrap();
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        assert!(String::from_utf8_lossy(&done.stderr).contains("next cursor: "));
        assert!(std::fs::read_to_string(&feed).unwrap().contains("iban:GB82WEST12345698765432"));
        // --kind narrows the feed to the kinds a bank blocks.
        let phones = dir.path().join("phones.csv");
        let args = ["export", "feed", "--format", "csv", "--kind", "phone", "--out", phones.to_str().unwrap()];
        let done =
            server.command().args(args).args(["--server", &url]).env("SCAMTRAIL_TOKEN", &liaison).output().unwrap();
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        let phones = std::fs::read_to_string(&phones).unwrap();
        assert!(phones.contains("tel:+442079460958") && !phones.contains("iban:"), "{backend:?}: {phones}");
        let args = ["export", "feed", "--format", "csv", "--kind", "pager", "--server", &url];
        let refused = server.command().args(args).env("SCAMTRAIL_TOKEN", &liaison).output().unwrap();
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("an identifier kind: iban"));
    }
}

/// Copies a zip (argv 1) to argv 2 with another `data/case.html`.
const FORGE: &str = "import sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile(sys.argv[2], 'w') as out:
    for name in src.namelist():
        out.writestr(name, b'<html><body>Nothing to see</body></html>' if name == 'data/case.html' else src.read(name))";
/// Prints a package's `bag-info.txt`.
const BAG_INFO: &str = "import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read('bag-info.txt').decode())";

/// Runs a Python script on files; answers what it printed.
fn python(script: &str, files: &[&std::path::Path]) -> String {
    let done = std::process::Command::new("python3").arg("-c").arg(script).args(files).output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    String::from_utf8(done.stdout).unwrap()
}

/// Whether `pdf` is a PDF with at least one page (Chromium writes its page tree uncompressed).
fn has_a_page(pdf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pdf);
    let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
    pdf.starts_with(b"%PDF-") && pages >= 1 && text.contains("/Count ")
}

#[tokio::test]
async fn the_cli_prints_the_case_to_pdf_with_headless_chromium() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let report = server.intake().await.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let token = server.token("ivan", "investigator").await;
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("case.zip");
        let url = format!("http://{}", server.addr);
        let id = report.cluster_id.to_string();
        let args = ["export", "cluster", &id, "--format", "package", "--out", package.to_str().unwrap(), "--pdf"];
        let done = server
            .command()
            .args(args)
            .args(["--server", &url, "--tlp", "red"])
            .env("SCAMTRAIL_TOKEN", &token)
            .env_remove("SCAMTRAIL_CHROMIUM")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{backend:?}: {stderr}");
        let pdf = std::fs::read(dir.path().join("case.pdf")).unwrap();
        assert!(has_a_page(&pdf), "{backend:?}: not a PDF with a page: {:?}", &pdf[..pdf.len().min(200)]);
        assert!(stderr.contains("printed "), "{stderr}");
        // --tlp reaches the server: the package is marked RED.
        assert!(python(BAG_INFO, &[&package]).contains("Scamtrail-Marking: TLP:RED"));

        // A saved package prints again on its own, with the browser named.
        let again = dir.path().join("again.pdf");
        let chromium = ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| {
                std::env::split_paths(&std::env::var_os("PATH").unwrap()).map(|d| d.join(name)).find(|p| p.is_file())
            })
            .expect("a chromium on PATH (scripts/install-test-deps installs Debian's)");
        let done = server
            .command()
            .args(["export", "pdf", package.to_str().unwrap(), "--out", again.to_str().unwrap()])
            .env("PATH", "")
            .env("SCAMTRAIL_CHROMIUM", &chromium)
            .output()
            .unwrap();
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        assert!(has_a_page(&std::fs::read(&again).unwrap()));

        // Without a browser the operator is told what is missing, before anything is exported.
        let empty = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.zip");
        let done = server
            .command()
            .args(["export", "cluster", &id, "--format", "package", "--out", missing.to_str().unwrap(), "--pdf"])
            .args(["--server", &url])
            .env("SCAMTRAIL_TOKEN", &token)
            .env("PATH", empty.path())
            .env_remove("SCAMTRAIL_CHROMIUM")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(!done.status.success());
        assert!(
            stderr.contains("no headless Chromium on PATH (looked for chromium, chromium-browser, google-chrome)")
                && stderr.contains("--chromium (SCAMTRAIL_CHROMIUM)"),
            "{stderr}"
        );
        assert!(!missing.exists(), "nothing is exported when the PDF cannot be printed");
        let done = server
            .command()
            .args(["export", "pdf", package.to_str().unwrap()])
            .env("PATH", empty.path())
            .env_remove("SCAMTRAIL_CHROMIUM")
            .output()
            .unwrap();
        assert!(!done.status.success());
        assert!(String::from_utf8_lossy(&done.stderr).contains("no headless Chromium on PATH"));
        // --pdf is for packages only.
        let done = server
            .command()
            .args(["export", "cluster", &id, "--format", "stix", "--pdf", "--server", &url])
            .env("SCAMTRAIL_TOKEN", &token)
            .output()
            .unwrap();
        assert!(!done.status.success());
        assert!(String::from_utf8_lossy(&done.stderr).contains("--pdf prints a referral package's case"));

        // A package changed after its export is refused rather than printed.
        let forged = dir.path().join("forged.zip");
        python(FORGE, &[&package, &forged]);
        let done = server
            .command()
            .args(["export", "pdf", forged.to_str().unwrap()])
            .env("SCAMTRAIL_CHROMIUM", &chromium)
            .output()
            .unwrap();
        assert!(!done.status.success());
        assert!(String::from_utf8_lossy(&done.stderr).contains("does not match the package's manifest-sha256.txt"));
    }
}

/// Refers `cluster` to the test agency, as a supervisor does (new → assigned → referred).
async fn refer(server: &TestServer, cluster: i64) {
    let mut sup = server.triage().await;
    let get = pb::GetClusterRequest { cluster_id: cluster, max_reports: 0 };
    let version = sup.get_cluster(get).await.unwrap().into_inner().cluster.unwrap().version;
    let assign = pb::UpdateClusterRequest {
        cluster_id: cluster,
        version,
        status: pb::ClusterStatus::Assigned as i32,
        assignee: "supervisor".into(),
        ..Default::default()
    };
    let version = sup.update_cluster(assign).await.unwrap().into_inner().cluster.unwrap().version;
    let referral = pb::UpdateClusterRequest {
        cluster_id: cluster,
        version,
        status: pb::ClusterStatus::Referred as i32,
        referred_to: TEST_AGENCY.into(),
        ..Default::default()
    };
    sup.update_cluster(referral).await.unwrap();
}

/// The references of a STIX bundle's `observed-data`.
fn observed_references(bundle: &[u8]) -> Vec<String> {
    let bundle: serde_json::Value = serde_json::from_slice(bundle).unwrap();
    let mut references: Vec<String> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "observed-data")
        .map(|o| o["external_references"][0]["external_id"].as_str().unwrap().to_owned())
        .collect();
    references.sort();
    references
}

/// Prints a package's `data/reports.csv` and `data/case.html`.
const PACKAGE_REPORTS: &str = "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.read('data/reports.csv').decode()); \
     print(z.read('data/case.html').decode())";

#[tokio::test]
async fn reports_of_victims_without_consent_leave_neither_to_liaisons_nor_in_a_referral() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let consenting = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let mut refusing = sample_report();
        refusing.victim.as_mut().unwrap().consent_to_share_with_police = false;
        let refusing = intake.submit_report(request(refusing, "")).await.unwrap().into_inner();
        let cluster = consenting.cluster_id;
        assert_eq!(refusing.cluster_id, cluster, "{backend:?}: both reports share the scammers' IBAN");
        refer(&server, cluster).await;
        let mut both = vec![consenting.reference.clone(), refusing.reference.clone()];
        both.sort();

        // The investigator works the case with every report; the police see the consenting one.
        let mut ivan = client(&server, "ivan", "investigator").await;
        let stix = joined(&export(&mut ivan, cluster_request(cluster, pb::ExportFormat::Stix)).await.unwrap());
        assert_eq!(observed_references(&stix), both, "{backend:?}");
        let mut police = client(&server, "police", "liaison").await;
        let stix = joined(&export(&mut police, cluster_request(cluster, pb::ExportFormat::Stix)).await.unwrap());
        assert_eq!(observed_references(&stix), std::slice::from_ref(&consenting.reference), "{backend:?}");
        for format in [pb::ExportFormat::Misp, pb::ExportFormat::Graphml, pb::ExportFormat::Csv] {
            let data = joined(&export(&mut police, cluster_request(cluster, format)).await.unwrap());
            let text = String::from_utf8_lossy(&data);
            if format != pb::ExportFormat::Csv {
                assert!(text.contains(&consenting.reference), "{backend:?} {format:?}");
            }
            assert!(!text.contains(&refusing.reference), "{backend:?} {format:?} names the refusing victim's report");
        }

        // A referral package is for the police, whoever makes it; its totals count both reports.
        let dir = tempfile::tempdir().unwrap();
        for (who, mut c) in [("investigator", ivan), ("liaison", police)] {
            let package = joined(&export(&mut c, cluster_request(cluster, pb::ExportFormat::Package)).await.unwrap());
            let path = dir.path().join(format!("{who}.zip"));
            std::fs::write(&path, package).unwrap();
            let text = python(PACKAGE_REPORTS, &[&path]);
            assert!(text.contains(&consenting.reference), "{backend:?} {who}");
            assert!(!text.contains(&refusing.reference), "{backend:?} {who}: {text}");
            assert!(text.contains("1 of 2 reports are listed"), "{backend:?} {who}");
        }
    }
}

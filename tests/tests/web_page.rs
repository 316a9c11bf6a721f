//! What the report page needs of the server: its files on the gRPC port (`serve --web-dir`),
//! answers in the caller's language (`google.rpc.LocalizedMessage`, `FieldViolation`'s
//! `localized_message`), and intake keys bound to browser origins (`key create --origin`).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use scamtrail_e2e::{Backend, TestServer, bank_transfer, request, sample_report};
use scamtrail_proto::v1 as pb;
use scamtrail_proto::v1::intake_service_client::IntakeServiceClient;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic_types::StatusExt;

const PAGE_ORIGIN: &str = "https://report.example.org";

/// A call with `accept-language` and, when given, `origin` metadata.
fn call<T>(message: T, language: &str, origin: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("accept-language", MetadataValue::try_from(language).unwrap());
    if let Some(origin) = origin {
        request.metadata_mut().insert("origin", MetadataValue::try_from(origin).unwrap());
    }
    request
}

/// The `LocalizedMessage` of a status as (locale, message).
fn localized(status: &tonic::Status) -> (String, String) {
    let m = status.get_details_localized_message().unwrap_or_else(|| panic!("no LocalizedMessage in {status:?}"));
    (m.locale, m.message)
}

async fn get(server: &TestServer, path: &str) -> (u16, String, String) {
    let (status, headers, body) = get_with_headers(server, path).await;
    let content_type = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, body)
}

async fn get_with_headers(server: &TestServer, path: &str) -> (u16, http::HeaderMap, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri = format!("http://{}{path}", server.addr);
    let response = client.request(http::Request::get(uri).body(Empty::new()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned();
    (status, headers, body)
}

#[tokio::test]
async fn the_page_is_served_on_the_grpc_port_without_listings_or_escapes() {
    let root = tempfile::tempdir().unwrap();
    let site = root.path().join("site");
    std::fs::create_dir_all(site.join("assets")).unwrap();
    std::fs::create_dir_all(site.join("empty")).unwrap();
    std::fs::write(site.join("index.html"), "<!doctype html><title>report</title>").unwrap();
    std::fs::write(site.join("app.js"), "console.log('page')").unwrap();
    std::fs::write(site.join("assets/style.css"), "body{}").unwrap();
    std::fs::write(root.path().join("secret.txt"), "outside the page").unwrap();
    let server = TestServer::start_with(Backend::Sqlite, &["--web-dir", site.to_str().unwrap()]).await.unwrap();

    let (status, content_type, body) = get(&server, "/").await;
    assert_eq!((status, content_type.as_str()), (200, "text/html"), "{body}");
    assert!(body.contains("<title>report</title>"));
    let (_, headers, _) = get_with_headers(&server, "/").await;
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'self'"));
    assert_eq!(get(&server, "/app.js").await.1, "text/javascript");
    assert_eq!(get(&server, "/assets/style.css").await.1, "text/css");
    // A directory without index.html is not listed; nothing outside the directory is reached.
    for path in ["/assets/", "/empty/", "/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/none"]
    {
        let (status, _, body) = get(&server, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("outside the page") && !body.contains("style.css"), "{path}: {body}");
    }
    // The same port still answers gRPC.
    let mut intake = server.intake().await;
    let values = vec![pb::ScammerIdentifier { value: "GB82 WEST 1234 5698 7654 32".into(), ..Default::default() }];
    let answer = intake.normalize_identifiers(pb::NormalizeIdentifiersRequest { values, country: String::new() }).await;
    assert_eq!(answer.unwrap().into_inner().outcomes.len(), 1);

    // Without --web-dir, pages are not served at all.
    let plain = TestServer::start(Backend::Sqlite).await.unwrap();
    assert_ne!(get(&plain, "/").await.0, 200);
}

#[tokio::test]
async fn field_violations_and_refusals_speak_the_callers_language() {
    let server = TestServer::start_with(Backend::Sqlite, &["--intake-rate-per-peer", "1"]).await.unwrap();
    let mut intake = server.intake().await;
    let mut report = sample_report();
    report.payments = vec![bank_transfer("GB82 WEST 1234 5698 7654 32", 0, 60)];
    report.narrative = String::new();

    let status =
        intake.submit_report(call(request(report.clone(), ""), "fr-FR,fr;q=0.9,en;q=0.5", None)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let bad = status.get_details_bad_request().unwrap();
    let amount = bad.field_violations.iter().find(|v| v.field == "report.payments[0].amount_minor").unwrap();
    assert_eq!(amount.reason, "NOT_POSITIVE");
    assert_eq!(amount.description, "the amount must be greater than zero");
    let message = amount.localized_message.clone().unwrap();
    assert_eq!((message.locale.as_str(), message.message.as_str()), ("fr", "Le montant doit être supérieur à zéro."));
    let narrative = bad.field_violations.iter().find(|v| v.field == "report.narrative").unwrap();
    assert_eq!(narrative.localized_message.clone().unwrap().message, "Ce champ est obligatoire.");
    assert_eq!(localized(&status), ("fr".into(), "2 réponses sont à corriger.".into()));
    assert!(status.message().starts_with("invalid request: "), "the English message stays: {}", status.message());

    // Another language, or none, is answered in English.
    for language in ["de-DE", "en-GB"] {
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let status = intake.submit_report(call(request(report.clone(), ""), language, None)).await.unwrap_err();
        assert_eq!(localized(&status).0, "en", "{language}");
        let bad = status.get_details_bad_request().unwrap();
        let amount = bad.field_violations.iter().find(|v| v.field == "report.payments[0].amount_minor").unwrap();
        assert_eq!(amount.localized_message.clone().unwrap().message, "The amount must be greater than zero.");
    }

    // A wrong follow-up secret.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let submitted = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
    let wrong = pb::GetReportStatusRequest { reference: submitted.reference, secret: "WRONG-SECRET-1234".into() };
    let status = intake.get_report_status(call(wrong, "fr", None)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let (locale, message) = localized(&status);
    assert_eq!(locale, "fr");
    assert!(message.starts_with("Aucun signalement ne correspond"), "{message}");

    // The rate limit (one call a second from this address, two at once).
    let mut limited = None;
    for _ in 0..5 {
        let values = vec![pb::ScammerIdentifier { value: "+33 6 12 34 56 78".into(), ..Default::default() }];
        let preview = pb::NormalizeIdentifiersRequest { values, country: "FR".into() };
        if let Err(status) = intake.normalize_identifiers(call(preview, "fr", None)).await {
            limited = Some(status);
            break;
        }
    }
    let status = limited.expect("the fifth call in a second is refused");
    assert_eq!(status.code(), Code::ResourceExhausted);
    let (locale, message) = localized(&status);
    assert_eq!(locale, "fr");
    assert!(message.starts_with("Trop de tentatives. Patientez "), "{message}");
    assert!(status.get_details_retry_info().is_some(), "RetryInfo is kept beside it");
}

async fn bound_keys_answer_only_their_origins(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let args =
        ["key", "create", "--name", "public-page", "--role", "intake", "--origin", "https://Report.Example.org/"];
    let out = server.command().args(args).args(["--database-url", &server.database_url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bound = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (ok, listing) = server.command_output(&["key", "list"]).unwrap();
    assert!(ok && listing.contains("public-page\tintake") && listing.contains(PAGE_ORIGIN), "{listing}");
    // Origins are for intake keys, and must be origins.
    let refused = server.run_command(&[
        "key",
        "create",
        "--name",
        "police",
        "--role",
        "liaison",
        "--agency",
        "x",
        "--origin",
        PAGE_ORIGIN,
    ]);
    assert!(refused.is_err());
    let refused = server.run_command(&[
        "key",
        "create",
        "--name",
        "pathy",
        "--role",
        "intake",
        "--origin",
        "https://x.example/form",
    ]);
    assert!(refused.unwrap_err().to_string().contains("--origin"));

    let preview = || pb::NormalizeIdentifiersRequest {
        values: vec![pb::ScammerIdentifier { value: "user@example.org".into(), ..Default::default() }],
        country: String::new(),
    };
    let mut with_bound = IntakeServiceClient::new(server.authed(&bound).await);
    with_bound.normalize_identifiers(call(preview(), "en", Some(PAGE_ORIGIN))).await.expect("its own origin");
    let status =
        with_bound.normalize_identifiers(call(preview(), "fr", Some("https://evil.example"))).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(status.message().contains("\"https://evil.example\""), "{}", status.message());
    assert_eq!(localized(&status).0, "fr");
    let status = with_bound.normalize_identifiers(call(preview(), "en", None)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "a bound key is for browsers only");
    let status = with_bound.submit_report(call(request(sample_report(), ""), "en", Some("https://evil.example"))).await;
    assert_eq!(status.unwrap_err().code(), Code::PermissionDenied);

    // An unbound key answers any origin and calls without one, as before.
    let mut unbound = server.intake().await;
    unbound.normalize_identifiers(call(preview(), "en", None)).await.expect("no origin");
    unbound.normalize_identifiers(call(preview(), "en", Some("https://evil.example"))).await.expect("any origin");
}

#[tokio::test]
async fn bound_keys_answer_only_their_origins_sqlite() {
    bound_keys_answer_only_their_origins(Backend::Sqlite).await;
}

#[tokio::test]
async fn bound_keys_answer_only_their_origins_postgres() {
    bound_keys_answer_only_their_origins(Backend::Postgres).await;
}

#[tokio::test]
async fn refusals_of_a_bound_key_from_elsewhere_are_limited_per_address() {
    let server = TestServer::start_with(Backend::Sqlite, &["--intake-rate-per-peer", "2"]).await.unwrap();
    let args = ["key", "create", "--name", "public-page", "--role", "intake", "--origin", PAGE_ORIGIN];
    let out = server.command().args(args).args(["--database-url", &server.database_url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bound = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut client = IntakeServiceClient::new(server.authed(&bound).await);
    let mut codes = Vec::new();
    for _ in 0..12 {
        let preview = pb::NormalizeIdentifiersRequest {
            values: vec![pb::ScammerIdentifier { value: "user@example.org".into(), ..Default::default() }],
            country: String::new(),
        };
        codes.push(
            client.normalize_identifiers(call(preview, "en", Some("https://evil.example"))).await.unwrap_err().code(),
        );
    }
    assert_eq!(codes[0], Code::PermissionDenied);
    assert!(codes.contains(&Code::ResourceExhausted), "{codes:?}");
}

//! Every validation rule of SubmitReport: the violation names the field and a stable reason, and
//! one request with many faults gets every one of them back at once.

use scamtrail_e2e::{BACKENDS, Backend, TestServer, id, request, sample_report, ts, violations};
use scamtrail_proto::v1 as pb;
use tonic::Code;

fn pair(field: &str, reason: &str) -> (String, String) {
    (field.to_owned(), reason.to_owned())
}

type Case = (&'static str, fn(&mut pb::SubmitReportRequest), Vec<(String, String)>);

fn report(r: &mut pb::SubmitReportRequest) -> &mut pb::Report {
    r.report.as_mut().unwrap()
}

fn cases() -> Vec<Case> {
    vec![
        ("report missing", |r| r.report = None, vec![pair("report", "REQUIRED")]),
        ("category missing", |r| report(r).category = 0, vec![pair("report.category", "REQUIRED")]),
        ("category unknown", |r| report(r).category = 99, vec![pair("report.category", "UNKNOWN_VALUE")]),
        ("narrative blank", |r| report(r).narrative = " \n ".into(), vec![pair("report.narrative", "REQUIRED")]),
        (
            "narrative too long",
            |r| report(r).narrative = "é".repeat(20_001),
            vec![pair("report.narrative", "TOO_LONG")],
        ),
        (
            "first contact in future",
            |r| report(r).first_contact_at = ts(-86_400),
            vec![pair("report.first_contact_at", "IN_FUTURE")],
        ),
        (
            "first contact in year -283229",
            |r| report(r).first_contact_at = Some(prost_types::Timestamp { seconds: -8_999_999_999_999, nanos: 0 }),
            vec![pair("report.first_contact_at", "TOO_EARLY")],
        ),
        (
            "paid before 1970",
            |r| report(r).payments[0].paid_at = Some(prost_types::Timestamp { seconds: -1, nanos: 0 }),
            vec![pair("report.payments[0].paid_at", "TOO_EARLY")],
        ),
        (
            "last contact in future",
            |r| report(r).last_contact_at = ts(-86_400),
            vec![pair("report.last_contact_at", "IN_FUTURE")],
        ),
        (
            "last before first",
            |r| {
                report(r).first_contact_at = ts(100);
                report(r).last_contact_at = ts(200);
            },
            vec![pair("report.last_contact_at", "BEFORE_FIRST_CONTACT")],
        ),
        (
            "timestamp nanos out of range",
            |r| report(r).first_contact_at = Some(prost_types::Timestamp { seconds: 0, nanos: -5 }),
            vec![pair("report.first_contact_at", "INVALID_TIMESTAMP")],
        ),
        (
            "contact channel unspecified",
            |r| report(r).contact_channels = vec![1, 0],
            vec![pair("report.contact_channels[1]", "UNKNOWN_VALUE")],
        ),
        (
            "too many contact channels",
            |r| report(r).contact_channels = vec![1; 17],
            vec![pair("report.contact_channels", "TOO_MANY")],
        ),
        (
            "too many payments",
            |r| {
                let p = report(r).payments[0].clone();
                report(r).payments = vec![p; 51];
            },
            vec![pair("report.payments", "TOO_MANY")],
        ),
        (
            "amount zero",
            |r| report(r).payments[0].amount_minor = 0,
            vec![pair("report.payments[0].amount_minor", "NOT_POSITIVE")],
        ),
        (
            "amount negative",
            |r| report(r).payments[0].amount_minor = -5,
            vec![pair("report.payments[0].amount_minor", "NOT_POSITIVE")],
        ),
        (
            "currency missing",
            |r| report(r).payments[0].currency = String::new(),
            vec![pair("report.payments[0].currency", "REQUIRED")],
        ),
        (
            "currency unknown",
            |r| report(r).payments[0].currency = "XXXX".into(),
            vec![pair("report.payments[0].currency", "CURRENCY_UNKNOWN")],
        ),
        (
            "payment in future",
            |r| report(r).payments[0].paid_at = ts(-3_600),
            vec![pair("report.payments[0].paid_at", "IN_FUTURE")],
        ),
        (
            "payment method unknown",
            |r| report(r).payments[0].method = 77,
            vec![pair("report.payments[0].method", "UNKNOWN_VALUE")],
        ),
        (
            "transaction hash too long",
            |r| report(r).payments[0].transaction_hash = "a".repeat(257),
            vec![pair("report.payments[0].transaction_hash", "TOO_LONG")],
        ),
        (
            "too many beneficiaries",
            |r| {
                let b = report(r).payments[0].beneficiaries[0].clone();
                report(r).payments[0].beneficiaries = vec![b; 11];
            },
            vec![pair("report.payments[0].beneficiaries", "TOO_MANY")],
        ),
        (
            "too many identifiers",
            |r| report(r).identifiers = vec![id("x", pb::IdentifierRole::Other, pb::IdentifierKind::Unspecified); 101],
            vec![pair("report.identifiers", "TOO_MANY")],
        ),
        (
            "identifier empty",
            |r| report(r).identifiers[0].value = " ".into(),
            vec![pair("report.identifiers[0].value", "REQUIRED")],
        ),
        (
            "identifier too long",
            |r| report(r).identifiers[1].value = "a".repeat(513),
            vec![pair("report.identifiers[1].value", "TOO_LONG")],
        ),
        (
            "identifier role unknown",
            |r| report(r).identifiers[0].role = 50,
            vec![pair("report.identifiers[0].role", "UNKNOWN_VALUE")],
        ),
        (
            "identifier kind unknown",
            |r| report(r).identifiers[0].kind_hint = 50,
            vec![pair("report.identifiers[0].kind_hint", "UNKNOWN_VALUE")],
        ),
        (
            "beneficiary empty",
            |r| report(r).payments[0].beneficiaries[0].value = String::new(),
            vec![pair("report.payments[0].beneficiaries[0].value", "REQUIRED")],
        ),
        (
            "victim country unknown",
            |r| report(r).victim.as_mut().unwrap().country = "XQ".into(),
            vec![pair("report.victim.country", "COUNTRY_UNKNOWN")],
        ),
        (
            "victim name too long",
            |r| report(r).victim.as_mut().unwrap().name = "n".repeat(201),
            vec![pair("report.victim.name", "TOO_LONG")],
        ),
        (
            "victim email too long",
            |r| report(r).victim.as_mut().unwrap().email = "e".repeat(255),
            vec![pair("report.victim.email", "TOO_LONG")],
        ),
        (
            "victim phone too long",
            |r| report(r).victim.as_mut().unwrap().phone = "1".repeat(65),
            vec![pair("report.victim.phone", "TOO_LONG")],
        ),
        (
            "vulnerability note too long",
            |r| report(r).victim.as_mut().unwrap().vulnerability_note = "v".repeat(2_001),
            vec![pair("report.victim.vulnerability_note", "TOO_LONG")],
        ),
        (
            "victim age band unknown",
            |r| report(r).victim.as_mut().unwrap().age_band = 9,
            vec![pair("report.victim.age_band", "UNKNOWN_VALUE")],
        ),
        (
            "client request id too long",
            |r| r.client_request_id = "k".repeat(129),
            vec![pair("client_request_id", "TOO_LONG")],
        ),
        (
            "client request id with spaces",
            |r| r.client_request_id = "a b".into(),
            vec![pair("client_request_id", "INVALID_CHARACTERS")],
        ),
    ]
}

#[tokio::test]
async fn each_rule_names_its_field_and_reason() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut client = server.intake().await;
    let mut failures = Vec::new();
    for (name, mutate, expected) in cases() {
        let mut req = request(sample_report(), "");
        mutate(&mut req);
        match client.submit_report(req).await {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(status) if status.code() != Code::InvalidArgument => failures.push(format!("{name}: {status:?}")),
            Err(status) => {
                let got = violations(&status);
                if got != expected {
                    failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
                }
                if !status.message().contains(&expected[0].0) {
                    failures.push(format!("{name}: message {:?} does not name the field", status.message()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing was stored by any rejected request.
    let err = server
        .triage()
        .await
        .get_report(pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(1)) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn a_flood_of_bad_values_gets_a_small_answer() {
    // Half a million undefined contact channels in one 1 MiB request: before, each became a
    // violation copied into the answer (a 64 MB status); now the count alone is refused.
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut req = request(sample_report(), "");
    report(&mut req).contact_channels = vec![999; 500_000];
    let status = server.intake().await.submit_report(req).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violations(&status), vec![pair("report.contact_channels", "TOO_MANY")]);
    assert!(status.message().len() + status.details().len() < 1_024, "{} bytes", status.message().len());

    // Under every count limit, every entry bad: a hundred are listed and the rest counted.
    let mut req = request(sample_report(), "");
    let r = report(&mut req);
    r.payments = vec![r.payments[0].clone(); 50];
    for p in &mut r.payments {
        p.currency = "??".into();
        p.method = 99;
        p.beneficiaries = vec![pb::ScammerIdentifier { value: String::new(), role: 99, kind_hint: 99 }; 10];
    }
    let status = server.intake().await.submit_report(req).await.unwrap_err();
    // Before, the answer's trailers outgrew what HTTP/2 clients accept and the client saw a
    // protocol error; now as many as fit are listed.
    let listed = violations(&status).len();
    assert!(listed > 20 && listed <= 100, "{status:?}");
    let more = format!("(and {} more bad fields not listed)", 50 * 32 - listed);
    assert!(status.message().ends_with(&more), "{}", status.message());
    assert!(status.message().len() < 4_096, "{} bytes", status.message().len());
}

#[tokio::test]
async fn every_bad_field_is_named_at_once() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut req = request(sample_report(), "");
    let r = report(&mut req);
    r.category = 0;
    r.payments[0].currency = "XXXX".into();
    r.payments[0].paid_at = ts(-86_400);
    r.identifiers[2].value = String::new();
    r.victim.as_mut().unwrap().country = "ZZ".into();
    let status = server.intake().await.submit_report(req).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let mut got = violations(&status);
    got.sort();
    let mut expected = vec![
        pair("report.category", "REQUIRED"),
        pair("report.payments[0].currency", "CURRENCY_UNKNOWN"),
        pair("report.payments[0].paid_at", "IN_FUTURE"),
        pair("report.identifiers[2].value", "REQUIRED"),
        pair("report.victim.country", "COUNTRY_UNKNOWN"),
    ];
    expected.sort();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_value_that_does_not_parse_is_kept_unverified_not_rejected() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut req = request(sample_report(), "");
        report(&mut req).identifiers =
            vec![id("call me maybe", pb::IdentifierRole::CallerNumber, pb::IdentifierKind::Phone)];
        let answer = server.intake().await.submit_report(req).await.unwrap().into_inner();
        let unverified = |outcome: Option<&pb::IdentifierOutcome>| match outcome {
            Some(pb::IdentifierOutcome {
                raw, result: Some(pb::identifier_outcome::Result::Unverified(u)), ..
            }) => (raw.clone(), u.reason.clone()),
            other => panic!("{backend:?}: expected unverified, got {other:?}"),
        };
        let expected = ("call me maybe".to_owned(), "PHONE_LETTERS".to_owned());
        assert_eq!(unverified(answer.identifiers.get(1)), expected, "{backend:?}: the answer");

        // The stored row: the value as typed, its role and hint, and the reason it has no key.
        let by_id =
            pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(answer.report_id)) };
        let stored = server.triage().await.get_report(by_id).await.unwrap().into_inner().report.unwrap();
        let typed: Vec<_> = stored.identifiers.iter().filter(|i| !i.suggested && i.payment_index.is_none()).collect();
        assert_eq!(typed.len(), 1, "{backend:?}: {typed:?}");
        assert_eq!(unverified(typed[0].outcome.as_ref()), expected, "{backend:?}: the stored row");
        assert_eq!(
            (typed[0].role(), typed[0].kind_hint()),
            (pb::IdentifierRole::CallerNumber, pb::IdentifierKind::Phone),
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn an_oversized_message_is_refused_and_the_server_keeps_serving() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut client = server.intake().await;
    let mut req = request(sample_report(), "");
    report(&mut req).identifiers =
        (0..100).map(|_| id(&"9".repeat(11_000), pb::IdentifierRole::Other, pb::IdentifierKind::Unspecified)).collect();
    let status = client.submit_report(req).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");
    client.submit_report(request(sample_report(), "")).await.unwrap();
}

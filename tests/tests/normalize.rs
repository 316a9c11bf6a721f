//! Identifier normalisation where users meet it: `NormalizeIdentifiers` over gRPC and the
//! `scamtrail normalize` command.

use std::io::Write;
use std::process::{Command, Stdio};

use scamtrail_e2e::{Backend, TestServer, binary, violations};
use scamtrail_proto::v1::{self as pb, identifier_outcome::Result as Outcome};
use tonic::Code;

fn value(v: &str, kind: pb::IdentifierKind) -> pb::ScammerIdentifier {
    pb::ScammerIdentifier { value: v.into(), role: 0, kind_hint: kind as i32 }
}

#[tokio::test]
async fn a_batch_gets_one_outcome_per_value_in_order_and_stores_nothing() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut client = server.intake().await;
    let values = vec![
        value("020 7946 0958", pb::IdentifierKind::Phone),
        value("DE89 3704 0044 0532 0130 01", pb::IdentifierKind::Unspecified),
        value("0x52908400098527886e0F7030069857D4E4169EE7", pb::IdentifierKind::CryptoWallet),
        value("@cryptoqueen", pb::IdentifierKind::Unspecified),
        value("hxxps://www.trade-fx[.]co.uk/x", pb::IdentifierKind::Unspecified),
    ];
    let answer = client
        .normalize_identifiers(pb::NormalizeIdentifiersRequest { values, country: "GB".into() })
        .await
        .unwrap()
        .into_inner();
    let summary: Vec<String> = answer
        .outcomes
        .iter()
        .map(|o| match &o.result {
            Some(Outcome::Normalized(n)) => format!("{} {}", n.key, n.phone_type),
            Some(Outcome::Unverified(u)) => format!("{} {}", u.reason, u.candidates.join(",")),
            None => "none".into(),
        })
        .collect();
    assert_eq!(summary[0], "tel:+442079460958 FIXED_LINE");
    assert_eq!(summary[1], "IBAN_CHECKSUM ");
    assert_eq!(summary[2], "EVM_CHECKSUM ");
    assert!(summary[3].starts_with("AMBIGUOUS ") && summary[3].contains("telegram"), "{}", summary[3]);
    assert_eq!(summary[4], "domain:trade-fx.co.uk ");
    let err = server
        .triage()
        .await
        .get_report(pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(1)) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "previews must store nothing");
}

#[tokio::test]
async fn batches_are_bounded_and_bad_hints_named() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut client = server.intake().await;
    let too_many = vec![value("x", pb::IdentifierKind::Unspecified); 1_001];
    let err = client
        .normalize_identifiers(pb::NormalizeIdentifiersRequest { values: too_many, country: String::new() })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), [("values".to_owned(), "TOO_MANY".to_owned())]);
    let bad = vec![pb::ScammerIdentifier { value: "x".into(), role: 0, kind_hint: 99 }];
    let err = client
        .normalize_identifiers(pb::NormalizeIdentifiersRequest { values: bad, country: "XQ".into() })
        .await
        .unwrap_err();
    let mut got = violations(&err);
    got.sort();
    assert_eq!(
        got,
        [
            ("country".to_owned(), "COUNTRY_UNKNOWN".to_owned()),
            ("values[0].kind_hint".to_owned(), "UNKNOWN_VALUE".to_owned())
        ]
    );
    let full = vec![value("+44 20 7946 0958", pb::IdentifierKind::Unspecified); 1_000];
    let answer = client
        .normalize_identifiers(pb::NormalizeIdentifiersRequest { values: full, country: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.outcomes.len(), 1_000);
}

#[test]
fn the_cli_prints_one_json_object_per_input_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary())
        .args(["normalize", "--country", "GB", "--card-key-file"])
        .arg(dir.path().join("card.key"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"07400 123456\nGB82 WEST 1234 5698 7654 33\n\nbc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["input"], "07400 123456");
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[0]["key"], "tel:+447400123456");
    assert_eq!(lines[0]["kind"], "tel");
    assert_eq!(lines[0]["facts"]["phone_type"], "MOBILE");
    assert_eq!(lines[1]["ok"], false);
    assert_eq!(lines[1]["reason"], "IBAN_CHECKSUM");
    assert_eq!(lines[2]["reason"], "EMPTY");
    assert_eq!(lines[3]["key"], "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
}

#[test]
fn the_cli_refuses_an_unknown_kind_or_country() {
    for args in [["normalize", "--kind", "iban2"], ["normalize", "--country", "XQ"]] {
        let out = Command::new(binary()).args(args).stdin(Stdio::null()).output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(args[1]), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

//! Fields as victims type them, through every door on SQLite and PostgreSQL: labels and notes
//! around a value, an extension, a bracketed country code, two values in one field, a defanged
//! e-mail, a profile link with an `@`, and links on shared hosts. Each example gives the same
//! keys through `scamtrail normalize`, `NormalizeIdentifiers` and `SubmitReport` (and the stored
//! report); the same short link written differently links two reports, and two short links on
//! one shortener do not.

use std::io::Write;
use std::process::{Command, Stdio};

use scamtrail_e2e::{BACKENDS, TestServer, binary, id, request};
use scamtrail_proto::v1::{
    self as pb, IdentifierKind as K, IdentifierRole as R, identifier_outcome::Result as Outcome,
};

/// A value as typed, the kind the form states, the victim's country and the keys it must give
/// (the field's own first).
struct Example {
    raw: &'static str,
    kind: K,
    country: &'static str,
    keys: &'static [&'static str],
}

const EXAMPLES: &[Example] = &[
    Example { raw: "WhatsApp +33 6 12 34 56 78", kind: K::Whatsapp, country: "", keys: &["tel:+33612345678"] },
    Example { raw: "WhatsApp +33 6 12 34 56 78", kind: K::Unspecified, country: "", keys: &["tel:+33612345678"] },
    Example { raw: "+33 6 12 34 56 78 (WhatsApp)", kind: K::Unspecified, country: "", keys: &["tel:+33612345678"] },
    Example { raw: "Tél : 06 12 34 56 78", kind: K::Phone, country: "FR", keys: &["tel:+33612345678"] },
    Example {
        raw: "Telegram: @crypto_gains_vip",
        kind: K::Unspecified,
        country: "",
        keys: &["telegram:crypto_gains_vip"],
    },
    Example {
        raw: "IBAN: GB29 NWBK 6016 1331 9268 19 (NatWest)",
        kind: K::Unspecified,
        country: "",
        keys: &["iban:GB29NWBK60161331926819"],
    },
    Example {
        raw: "USDT (TRC20): TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        kind: K::CryptoWallet,
        country: "",
        keys: &["trx:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"],
    },
    Example {
        raw: "ETH address 0x52908400098527886E0F7030069857D2E4169EE7",
        kind: K::Unspecified,
        country: "",
        keys: &["evm:0x52908400098527886e0f7030069857d2e4169ee7"],
    },
    Example { raw: "E-mail : john.doe@gmail.com", kind: K::Email, country: "", keys: &["email:john.doe@gmail.com"] },
    Example { raw: "(+33) 6 12 34 56 78", kind: K::Unspecified, country: "", keys: &["tel:+33612345678"] },
    Example { raw: "+44 20 7946 0958 ext. 12", kind: K::Phone, country: "", keys: &["tel:+442079460958"] },
    Example {
        raw: "020 7946 0958 / 07911 123456",
        kind: K::Phone,
        country: "GB",
        keys: &["tel:+442079460958", "tel:+447911123456"],
    },
    Example {
        raw: "IBAN FR76 3000 6000 0112 3456 7890 189 BIC AGRIFRPP",
        kind: K::BankAccount,
        country: "",
        keys: &["iban:FR7630006000011234567890189", "bic:AGRIFRPP"],
    },
    Example {
        raw: "john.doe [at] gmail [dot] com",
        kind: K::Unspecified,
        country: "",
        keys: &["email:john.doe@gmail.com"],
    },
    Example { raw: "https://www.tiktok.com/@fxguru", kind: K::Unspecified, country: "", keys: &["tiktok:fxguru"] },
    Example {
        raw: "https://sites.google.com/view/cryptogains-pro",
        kind: K::Website,
        country: "",
        keys: &["url:sites.google.com/view/cryptogains-pro"],
    },
    Example {
        raw: "https://docs.google.com/forms/d/e/1FAIpQLSfD3mo_Form/viewform",
        kind: K::Unspecified,
        country: "",
        keys: &["url:docs.google.com/forms/d/e/1FAIpQLSfD3mo_Form"],
    },
    Example { raw: "https://bit.ly/3xyzAbc", kind: K::Unspecified, country: "", keys: &["url:bit.ly/3xyzAbc"] },
];

/// The keys of an outcome and of the other values of its field, or the reasons they did not read.
fn keys_of(outcome: &pb::IdentifierOutcome) -> Vec<String> {
    std::iter::once(outcome)
        .chain(&outcome.others)
        .map(|o| match &o.result {
            Some(Outcome::Normalized(n)) => n.key.clone(),
            Some(Outcome::Unverified(u)) => u.reason.clone(),
            None => "none".into(),
        })
        .collect()
}

fn normalized(outcome: &pb::IdentifierOutcome) -> &pb::NormalizedIdentifier {
    match &outcome.result {
        Some(Outcome::Normalized(n)) => n,
        other => panic!("{}: not normalised: {other:?}", outcome.raw),
    }
}

/// What `scamtrail normalize` prints for one example: the line's key, then its others' keys.
fn cli_keys(example: &Example) -> (Vec<String>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["normalize".to_owned()];
    if example.kind != K::Unspecified {
        args.extend(["--kind".to_owned(), example.kind.as_str_name().trim_start_matches("IDENTIFIER_KIND_").into()]);
    }
    if !example.country.is_empty() {
        args.extend(["--country".to_owned(), example.country.to_owned()]);
    }
    let mut child = Command::new(binary())
        .args(&args)
        .arg("--card-key-file")
        .arg(dir.path().join("card.key"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{}\n", example.raw).as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = |v: &serde_json::Value| v["key"].as_str().or(v["reason"].as_str()).unwrap_or_default().to_owned();
    let mut keys = vec![key(&line)];
    keys.extend(line["others"].as_array().unwrap().iter().map(key));
    (keys, line)
}

#[test]
fn every_example_reads_through_the_cli() {
    for example in EXAMPLES {
        let (keys, _) = cli_keys(example);
        assert_eq!(keys, example.keys, "{}", example.raw);
    }
    // The CLI tells what it ignored, and the facts it kept.
    let (_, line) = cli_keys(&EXAMPLES[10]);
    assert_eq!(line["ignored"], serde_json::json!([{ "part": "EXTENSION", "text": "ext. 12" }]));
    assert_eq!(line["facts"]["extension"], "12");
    let (_, line) = cli_keys(&EXAMPLES[1]);
    assert_eq!(line["ignored"], serde_json::json!([{ "part": "LABEL", "text": "WhatsApp" }]));
    assert_eq!(line["facts"]["messaging_app"], "whatsapp");
    let (_, line) = cli_keys(&EXAMPLES[12]);
    assert_eq!(line["others"][0]["input"], "BIC AGRIFRPP");
    assert_eq!(line["others"][0]["ignored"][0]["text"], "BIC");
}

#[tokio::test]
async fn every_example_reads_through_normalize_identifiers_and_submit_report() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        for example in EXAMPLES {
            let values =
                vec![pb::ScammerIdentifier { value: example.raw.into(), role: 0, kind_hint: example.kind as i32 }];
            let req = pb::NormalizeIdentifiersRequest { values, country: example.country.into() };
            let preview = intake.normalize_identifiers(req).await.unwrap().into_inner().outcomes.remove(0);
            assert_eq!(keys_of(&preview), example.keys, "{backend:?} NormalizeIdentifiers {}", example.raw);

            let report = pb::Report {
                category: pb::ScamCategory::Investment as i32,
                narrative: "They contacted me and I paid.".into(),
                identifiers: vec![id(example.raw, R::MessagingHandle, example.kind)],
                victim: Some(pb::Victim { country: example.country.into(), ..Default::default() }),
                ..Default::default()
            };
            let answer = intake.submit_report(request(report, "")).await.unwrap().into_inner();
            assert_eq!(answer.identifiers.len(), 1, "{backend:?}: one outcome per field");
            assert_eq!(keys_of(&answer.identifiers[0]), example.keys, "{backend:?} SubmitReport {}", example.raw);

            // Stored: the field's identifier and its others, with the field's role, none a suggestion.
            let stored = server
                .triage()
                .await
                .get_report(pb::GetReportRequest {
                    selector: Some(pb::get_report_request::Selector::ReportId(answer.report_id)),
                })
                .await
                .unwrap()
                .into_inner()
                .report
                .unwrap();
            let typed: Vec<&pb::StoredIdentifier> = stored.identifiers.iter().filter(|i| !i.suggested).collect();
            let stored_keys: Vec<String> =
                typed.iter().map(|i| normalized(i.outcome.as_ref().unwrap()).key.clone()).collect();
            assert_eq!(stored_keys, example.keys, "{backend:?} stored {}", example.raw);
            assert!(typed.iter().all(|i| i.role() == R::MessagingHandle), "{backend:?}: the field's role");
            assert_eq!(typed[0].outcome.as_ref().unwrap().raw, example.raw, "{backend:?}: the field as typed");
        }

        // What was ignored and the facts kept, for a frontend to show.
        let values =
            ["WhatsApp +33 6 12 34 56 78", "+44 20 7946 0958 ext. 12", "IBAN: GB29 NWBK 6016 1331 9268 19 (NatWest)"]
                .iter()
                .map(|v| pb::ScammerIdentifier { value: (*v).into(), role: 0, kind_hint: 0 })
                .collect();
        let outcomes = intake
            .normalize_identifiers(pb::NormalizeIdentifiersRequest { values, country: String::new() })
            .await
            .unwrap()
            .into_inner()
            .outcomes;
        let ignored = |o: &pb::IdentifierOutcome| -> Vec<(pb::IgnoredPartKind, String)> {
            o.ignored.iter().map(|i| (i.kind(), i.text.clone())).collect()
        };
        assert_eq!(ignored(&outcomes[0]), [(pb::IgnoredPartKind::Label, "WhatsApp".to_owned())]);
        assert_eq!(normalized(&outcomes[0]).messaging_app, "whatsapp");
        assert_eq!(ignored(&outcomes[1]), [(pb::IgnoredPartKind::Extension, "ext. 12".to_owned())]);
        assert_eq!(normalized(&outcomes[1]).extension, "12");
        assert_eq!(
            ignored(&outcomes[2]),
            [(pb::IgnoredPartKind::Label, "IBAN:".to_owned()), (pb::IgnoredPartKind::Note, "(NatWest)".to_owned())]
        );
    }
}

/// A report whose only identifier is `value`, typed as a website.
async fn submit_link(server: &TestServer, value: &str) -> pb::SubmitReportResponse {
    let report = pb::Report {
        category: pb::ScamCategory::CryptoInvestment as i32,
        narrative: "The link was sent to me in a chat.".into(),
        identifiers: vec![id(value, R::Website, K::Unspecified)],
        ..Default::default()
    };
    server.intake().await.submit_report(request(report, "")).await.unwrap().into_inner()
}

#[tokio::test]
async fn the_same_short_link_links_and_another_on_the_same_shortener_does_not() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let first = submit_link(&server, "https://bit.ly/3xyzAbc").await;
        for written in ["http://www.BIT.LY/3xyzAbc/", "bit.ly/3xyzAbc?utm_source=telegram", "hxxps://bit[.]ly/3xyzAbc"]
        {
            let again = submit_link(&server, written).await;
            assert_eq!(again.cluster_id, first.cluster_id, "{backend:?}: {written} is the same link");
        }
        for other in
            ["https://bit.ly/3xyzabc", "https://bit.ly/9QrStUv", "https://tinyurl.com/3xyzAbc", "https://bit.ly"]
        {
            let apart = submit_link(&server, other).await;
            assert_ne!(apart.cluster_id, first.cluster_id, "{backend:?}: {other} is another link");
        }
        // Link pages ignore case; a site on Google Sites is no longer google.com (safelisted).
        let page = submit_link(&server, "https://linktr.ee/CryptoGains").await;
        assert_eq!(submit_link(&server, "linktr.ee/cryptogains/").await.cluster_id, page.cluster_id, "{backend:?}");
        let site = submit_link(&server, "https://sites.google.com/view/cryptogains-pro").await;
        let same_site = submit_link(&server, "https://sites.google.com/view/CryptoGains-Pro/contact").await;
        assert_eq!(same_site.cluster_id, site.cluster_id, "{backend:?}");
        let other_site = submit_link(&server, "https://sites.google.com/view/forex-club-vip").await;
        assert_ne!(other_site.cluster_id, site.cluster_id, "{backend:?}");

        // The second value of a field links like any typed identifier.
        let two = pb::Report {
            category: pb::ScamCategory::Investment as i32,
            narrative: "Two numbers called me.".into(),
            identifiers: vec![id("020 7946 0958 / 07911 123456", R::CallerNumber, K::Phone)],
            victim: Some(pb::Victim { country: "GB".into(), ..Default::default() }),
            ..Default::default()
        };
        let two = server.intake().await.submit_report(request(two, "")).await.unwrap().into_inner();
        let one = pb::Report {
            category: pb::ScamCategory::Investment as i32,
            narrative: "A mobile called me.".into(),
            identifiers: vec![id("+44 7911 123456", R::CallerNumber, K::Phone)],
            ..Default::default()
        };
        let one = server.intake().await.submit_report(request(one, "")).await.unwrap().into_inner();
        assert_eq!(one.cluster_id, two.cluster_id, "{backend:?}: the field's second number links");
    }
}

//! IBANs outside the SWIFT registry, through gRPC on SQLite and PostgreSQL: the layouts banks of
//! the WAEMU, CEMAC and Maghreb countries issue and the territories' own codes are accepted,
//! marked with `iban_registry`, and link like any other IBAN.

use scamtrail_e2e::{BACKENDS, TestServer, id, request, ts};
use scamtrail_proto::v1::{
    self as pb, IdentifierKind as K, IdentifierRole as R, identifier_outcome::Result as Outcome,
};

/// A report whose payment went to `account`.
fn paid_to(account: &str) -> pb::Report {
    pb::Report {
        category: pb::ScamCategory::Romance as i32,
        narrative: "He asked me to send money for his flight home.".into(),
        payments: vec![pb::Payment {
            amount_minor: 150_000,
            currency: "EUR".into(),
            method: pb::PaymentMethod::BankTransfer as i32,
            paid_at: ts(5 * 86_400),
            beneficiaries: vec![id(account, R::BeneficiaryAccount, K::Unspecified)],
            ..Default::default()
        }],
        victim: Some(pb::Victim { country: "FR".into(), ..Default::default() }),
        ..Default::default()
    }
}

fn normalized(outcome: Option<&pb::IdentifierOutcome>) -> pb::NormalizedIdentifier {
    match outcome.and_then(|o| o.result.as_ref()) {
        Some(Outcome::Normalized(n)) => n.clone(),
        other => panic!("not normalised: {other:?}"),
    }
}

#[tokio::test]
async fn ibans_outside_the_registry_are_accepted_marked_and_link() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;

        let values =
            ["CI93 CI00 8011 1301 1342 9120 0589", "cm21 1000 3001 0005 0000 0605 306", "GB29NWBK60161331926819"]
                .map(|v| id(v, R::BeneficiaryAccount, K::Iban))
                .to_vec();
        let preview = intake
            .normalize_identifiers(pb::NormalizeIdentifiersRequest { values, country: String::new() })
            .await
            .unwrap()
            .into_inner();
        let seen: Vec<(String, String, String)> = preview
            .outcomes
            .iter()
            .map(|o| {
                let n = normalized(Some(o));
                (n.key, n.country, n.iban_registry)
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("iban:CI93CI0080111301134291200589".into(), "CI".into(), "experimental".into()),
                ("iban:CM2110003001000500000605306".into(), "CM".into(), "experimental".into()),
                ("iban:GB29NWBK60161331926819".into(), "GB".into(), String::new()),
            ],
            "{backend:?}"
        );

        // Two victims write a Guadeloupe IBAN two ways: one cluster, and the stored identifier
        // keeps its fact.
        let first = intake.submit_report(request(paid_to("IBAN : GP11 2004 1010 0505 0001 3M02 606"), "")).await;
        let second = intake.submit_report(request(paid_to("gp1120041010050500013m02606"), "")).await;
        let (first, second) = (first.unwrap().into_inner(), second.unwrap().into_inner());
        assert_eq!(first.cluster_id, second.cluster_id, "{backend:?}");
        let lookup = pb::LookupIdentifiersRequest {
            values: vec![id("GP11 2004 1010 0505 0001 3M02 606", R::Unspecified, K::Iban)],
            country: String::new(),
        };
        let found = server.lookup().await.lookup_identifiers(lookup).await.unwrap().into_inner().results.remove(0);
        assert_eq!((found.report_count, found.cluster_id), (2, first.cluster_id), "{backend:?}");
        let n = normalized(found.outcome.as_ref());
        assert_eq!((n.key.as_str(), n.iban_registry.as_str()), ("iban:GP1120041010050500013M02606", "territory:FR"));
    }
}

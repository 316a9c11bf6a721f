//! One account in several shapes, through gRPC on SQLite and PostgreSQL: a GB IBAN and its sort
//! code and account number, a French RIB, a German bank code and account number, a Spanish CCC and
//! an Italian BBAN and their IBANs link, labelled national forms are accepted, a lookup finds
//! the account by any of its shapes, and excluding it in one shape excludes it in all.

use scamtrail_e2e::{BACKENDS, TestServer, id, request, ts};
use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};

/// A report whose payment went to `account`, the kind left to detection, the victim in `country`.
fn paid_to(account: &str, country: &str) -> pb::Report {
    pb::Report {
        category: pb::ScamCategory::Investment as i32,
        narrative: "They told me to move my savings to a safe account.".into(),
        payments: vec![pb::Payment {
            amount_minor: 250_000,
            currency: "EUR".into(),
            method: pb::PaymentMethod::BankTransfer as i32,
            paid_at: ts(3 * 86_400),
            beneficiaries: vec![id(account, R::BeneficiaryAccount, K::Unspecified)],
            ..Default::default()
        }],
        victim: Some(pb::Victim { country: country.into(), ..Default::default() }),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_account_links_and_is_found_by_any_of_its_shapes() {
    // Each account: the shapes victims write it in (every one must link the others).
    let accounts: [&[&str]; 5] = [
        &[
            "GB29 NWBK 6016 1331 9268 19",
            "sort code 60-16-13 account 31926819",
            "S/C 601613 A/C 31926819",
            "60-16-13 31926819",
        ],
        &["FR76 3000 6000 0112 3456 7890 189", "RIB 30006 00001 12345678901 89"],
        &["DE89 3704 0044 0532 0130 00", "BLZ 37040044 Kto 532013000"],
        &["ES91 2100 0418 4502 0005 1332", "CCC 2100 0418 45 0200051332"],
        &["IT60 X054 2811 1010 0000 0123 456", "CIN X ABI 05428 CAB 11101 conto 000000123456"],
    ];
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let mut clusters = Vec::new();
        for shapes in accounts {
            let mut cluster = None;
            for shape in shapes {
                let answer = intake.submit_report(request(paid_to(shape, ""), "")).await;
                let answer = answer.unwrap_or_else(|e| panic!("{backend:?} {shape}: {e}")).into_inner();
                let outcome = &answer.identifiers[0];
                assert!(
                    matches!(outcome.result, Some(pb::identifier_outcome::Result::Normalized(_))),
                    "{backend:?} {shape}: {outcome:?}"
                );
                assert_eq!(*cluster.get_or_insert(answer.cluster_id), answer.cluster_id, "{backend:?} {shape}");
            }
            clusters.push(cluster.unwrap());
            // Every shape finds the account's reports.
            let values = shapes.iter().map(|s| id(s, R::Unspecified, K::Unspecified)).collect();
            let lookup = pb::LookupIdentifiersRequest { values, country: String::new() };
            let found = server.lookup().await.lookup_identifiers(lookup).await.unwrap().into_inner();
            for (shape, result) in shapes.iter().zip(&found.results) {
                assert_eq!(
                    (result.report_count, result.cluster_id),
                    (shapes.len() as i64, clusters[clusters.len() - 1]),
                    "{backend:?} lookup {shape}"
                );
            }
        }
        // Excluding the account in one shape excludes it in every shape: nothing links by it.
        let excluded = server
            .triage()
            .await
            .set_identifier_state(pb::SetIdentifierStateRequest {
                key: "GB29 NWBK 6016 1331 9268 19".into(),
                state: pb::IdentifierState::Excluded as i32,
                reason: "the victims' own bank's collection account".into(),
                country: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(excluded.changed_cluster_ids.len(), 3, "{backend:?}: four reports, four clusters");
        let lookup = pb::LookupIdentifiersRequest {
            values: vec![id("S/C 601613 A/C 31926819", R::Unspecified, K::Unspecified)],
            country: String::new(),
        };
        let found = server.lookup().await.lookup_identifiers(lookup).await.unwrap().into_inner().results.remove(0);
        assert_eq!((found.state(), found.cluster_id), (pb::IdentifierState::Excluded, 0), "{backend:?}");

        // Different accounts stay apart.
        let mut distinct = clusters.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), accounts.len(), "{backend:?} {clusters:?}");
    }
}

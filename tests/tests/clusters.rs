//! Linking through real gRPC on SQLite and PostgreSQL: merges by size, lineage, splits on
//! exclusion and relinking, the safelist, hot identifiers, ExplainLink and LookupIdentifiers.

use scamtrail_e2e::{BACKENDS, Backend, TestServer, id, request, ts};
use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};
use tonic::Code;

/// A small report carrying the given identifiers (the first is the payment's beneficiary).
fn report_with(values: &[&str]) -> pb::Report {
    pb::Report {
        category: pb::ScamCategory::Investment as i32,
        narrative: "They called, I paid.".into(),
        payments: vec![pb::Payment {
            amount_minor: 100_000,
            currency: "EUR".into(),
            method: pb::PaymentMethod::BankTransfer as i32,
            paid_at: ts(10 * 86_400),
            beneficiaries: vec![id(values[0], R::BeneficiaryAccount, K::Unspecified)],
            ..Default::default()
        }],
        identifiers: values[1..].iter().map(|v| id(v, R::Other, K::Unspecified)).collect(),
        victim: Some(pb::Victim { country: "GB".into(), ..Default::default() }),
        ..Default::default()
    }
}

async fn submit(server: &TestServer, values: &[&str]) -> pb::SubmitReportResponse {
    server.intake().await.submit_report(request(report_with(values), "")).await.unwrap().into_inner()
}

async fn cluster(server: &TestServer, id: i64) -> pb::GetClusterResponse {
    server
        .triage()
        .await
        .get_cluster(pb::GetClusterRequest { cluster_id: id, max_reports: 0 })
        .await
        .unwrap()
        .into_inner()
}

/// What a lookup answers for `value`.
async fn look_up(server: &TestServer, value: &str) -> pb::IdentifierLookup {
    let req =
        pb::LookupIdentifiersRequest { values: vec![id(value, R::Unspecified, K::Phone)], country: String::new() };
    server.lookup().await.lookup_identifiers(req).await.unwrap().into_inner().results.remove(0)
}

async fn cluster_of(server: &TestServer, report: i64) -> i64 {
    use pb::get_report_request::Selector;
    let r = server.triage().await.get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(report)) }).await;
    r.unwrap().into_inner().report.unwrap().cluster_id
}

fn kinds(events: &[pb::ClusterEvent]) -> Vec<(pb::ClusterEventKind, i64)> {
    events.iter().map(|e| (e.kind(), e.other_cluster_id)).collect()
}

const IBAN: &str = "DE89 3704 0044 0532 0130 00";
const PHONE: &str = "+44 20 7946 0958";
const WALLET: &str = "0x52908400098527886E0F7030069857D2E4169EE7";

#[tokio::test]
async fn reports_sharing_an_identifier_in_any_format_merge_and_the_larger_cluster_survives() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let r1 = submit(&server, &[IBAN, PHONE]).await;
        let r2 = submit(&server, &["GB82 WEST 1234 5698 7654 32", "020 7946 0958"]).await; // same phone, national form
        assert_eq!(r2.cluster_id, r1.cluster_id, "{backend:?}");
        let r3 = submit(&server, &["GB33BUKB20201555555555", WALLET]).await;
        assert_ne!(r3.cluster_id, r1.cluster_id);
        // The IBAN lower-case without spaces and the wallet: joins the two clusters.
        let r4 = submit(&server, &["de89370400440532013000", &WALLET.to_lowercase()]).await;
        assert_eq!(r4.cluster_id, r1.cluster_id, "{backend:?}: the two-report cluster survives");
        for r in [&r1, &r2, &r3, &r4] {
            assert_eq!(cluster_of(&server, r.report_id).await, r1.cluster_id);
        }

        let survivor = cluster(&server, r1.cluster_id).await;
        let c = survivor.cluster.as_ref().unwrap();
        assert_eq!(c.report_count, 4);
        assert_eq!(c.status(), pb::ClusterStatus::New);
        assert_eq!(c.total_loss.as_ref().unwrap().amount_minor, 400_000);
        assert_eq!(c.identifiers_by_kind.get("iban"), Some(&3), "three distinct IBANs");
        assert_eq!(survivor.reports.len(), 4);
        assert_eq!(survivor.reports[0].report_id, r4.report_id, "newest first");
        let iban = survivor.identifiers.iter().find(|i| i.key == "iban:DE89370400440532013000").unwrap();
        assert_eq!(iban.report_count, 2);
        assert_eq!(iban.state(), pb::IdentifierState::Normal);
        assert_eq!(
            kinds(&survivor.events),
            [
                (pb::ClusterEventKind::Created, 0),
                (pb::ClusterEventKind::ReportsAdded, 0),
                (pb::ClusterEventKind::Absorbed, r3.cluster_id),
                (pb::ClusterEventKind::ReportsAdded, 0),
            ],
            "{backend:?}"
        );
        let merged = cluster(&server, r3.cluster_id).await;
        let m = merged.cluster.unwrap();
        assert_eq!((m.status(), m.merged_into_cluster_id), (pb::ClusterStatus::Merged, r1.cluster_id));
        assert!(merged.reports.is_empty());
        assert_eq!(kinds(&merged.events).last(), Some(&(pb::ClusterEventKind::MergedInto, r1.cluster_id)));

        // Why are reports 2 and 3 linked? 2 -phone- 1 -iban- 4 -wallet- 3.
        let explained = server
            .triage()
            .await
            .explain_link(pb::ExplainLinkRequest { report_a: r2.report_id, report_b: r3.report_id })
            .await
            .unwrap()
            .into_inner();
        assert!(explained.linked);
        let path: Vec<(i64, &str)> = explained.path.iter().map(|s| (s.report_id, s.via_key.as_str())).collect();
        assert_eq!(
            path,
            [
                (r2.report_id, "tel:+442079460958"),
                (r1.report_id, "iban:DE89370400440532013000"),
                (r4.report_id, "evm:0x52908400098527886e0f7030069857d2e4169ee7"),
                (r3.report_id, ""),
            ],
            "{backend:?}"
        );
        let err = server
            .triage()
            .await
            .explain_link(pb::ExplainLinkRequest { report_a: r1.report_id, report_b: 999_999 })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
}

#[tokio::test]
async fn excluding_an_identifier_splits_its_cluster_and_normal_links_again() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let a = submit(&server, &[IBAN, PHONE]).await;
        let b = submit(&server, &[IBAN]).await;
        let c = submit(&server, &["GB82 WEST 1234 5698 7654 32", PHONE]).await;
        assert!(a.cluster_id == b.cluster_id && b.cluster_id == c.cluster_id);
        let original = a.cluster_id;

        let mut analyst = server.triage_as("analyst").await;
        let err = analyst
            .set_identifier_state(pb::SetIdentifierStateRequest {
                key: "tel:+442079460958".into(),
                state: pb::IdentifierState::Excluded as i32,
                reason: String::new(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(scamtrail_e2e::violations(&err), [("reason".to_owned(), "REQUIRED".to_owned())]);

        // The victim's typed phone was a mistake: exclude it (pasting the value as typed works).
        let excluded = analyst
            .set_identifier_state(pb::SetIdentifierStateRequest {
                key: "020 7946 0958".into(),
                state: pb::IdentifierState::Excluded as i32,
                reason: "the bank's real number, typed by mistake".into(),
                country: "GB".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let ident = excluded.identifier.unwrap();
        assert_eq!((ident.key.as_str(), ident.state()), ("tel:+442079460958", pb::IdentifierState::Excluded));
        assert_eq!(ident.cluster_id, 0);
        assert_eq!(excluded.changed_cluster_ids.len(), 1, "{backend:?}");
        let split = excluded.changed_cluster_ids[0];
        // a and b (sharing the IBAN) keep the id; c goes to the new cluster.
        assert_eq!(cluster_of(&server, a.report_id).await, original);
        assert_eq!(cluster_of(&server, b.report_id).await, original);
        assert_eq!(cluster_of(&server, c.report_id).await, split);
        let new = cluster(&server, split).await;
        assert_eq!(new.cluster.as_ref().unwrap().status(), pb::ClusterStatus::New);
        assert_eq!(new.cluster.as_ref().unwrap().report_count, 1);
        let event = &new.events[0];
        assert_eq!(
            (event.kind(), event.other_cluster_id, event.actor.as_str()),
            (pb::ClusterEventKind::SplitFrom, original, "analyst")
        );
        assert!(event.detail.contains("typed by mistake"), "{}", event.detail);
        assert!(kinds(&cluster(&server, original).await.events).contains(&(pb::ClusterEventKind::SplitOff, split)));

        // A new report with the excluded phone does not link to anything.
        let d = submit(&server, &["GB33BUKB20201555555555", PHONE]).await;
        assert!(d.cluster_id != original && d.cluster_id != split);

        // Back to normal: everything carrying the phone is one cluster again; the largest survives.
        let back = analyst
            .set_identifier_state(pb::SetIdentifierStateRequest {
                key: "tel:+442079460958".into(),
                state: pb::IdentifierState::Normal as i32,
                reason: String::new(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(back.changed_cluster_ids, [original], "{backend:?}");
        for r in [&a, &b, &c, &d] {
            assert_eq!(cluster_of(&server, r.report_id).await, original);
        }
        assert_eq!(cluster(&server, original).await.cluster.unwrap().report_count, 4);
    }
}

#[tokio::test]
async fn safelisted_identifiers_are_stored_but_never_link() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        // Shipped safelist: an exchange's domain, in two reports that share nothing else.
        let a = submit(&server, &[IBAN, "https://www.binance.com/en/trade"]).await;
        let b = submit(&server, &["GB82 WEST 1234 5698 7654 32", "binance.com"]).await;
        assert_ne!(a.cluster_id, b.cluster_id, "{backend:?}");
        let mut lookup = server.lookup().await;
        let request = pb::LookupIdentifiersRequest {
            values: vec![id("binance.com", R::Website, K::Website)],
            country: String::new(),
        };
        let found = lookup.lookup_identifiers(request).await.unwrap().into_inner().results.remove(0);
        assert!(found.known);
        assert_eq!((found.state(), found.report_count, found.cluster_id), (pb::IdentifierState::Safelisted, 2, 0));

        // Safelisting over the API splits what it held together.
        let c = submit(&server, &["GB33BUKB20201555555555", PHONE]).await;
        let d = submit(&server, &["GB94BARC10201530093459", PHONE]).await;
        assert_eq!(c.cluster_id, d.cluster_id);
        let answer = server
            .triage_as("supervisor")
            .await
            .set_identifier_state(pb::SetIdentifierStateRequest {
                key: "tel:+442079460958".into(),
                state: pb::IdentifierState::Safelisted as i32,
                reason: "a bank's published fraud line".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.identifier.unwrap().state(), pb::IdentifierState::Safelisted);
        assert_ne!(cluster_of(&server, c.report_id).await, cluster_of(&server, d.report_id).await, "{backend:?}");
    }
}

#[tokio::test]
async fn a_hot_identifier_keeps_linking_and_waits_in_the_hot_queue() {
    for backend in BACKENDS {
        let server = TestServer::start_with(backend, &["--hot-threshold", "3"]).await.unwrap();
        let ibans = ["GB82 WEST 1234 5698 7654 32", "GB33BUKB20201555555555", "GB94BARC10201530093459"];
        let mut answers = Vec::new();
        for iban in ibans {
            answers.push(submit(&server, &[iban, WALLET]).await);
        }
        let cluster_id = answers[0].cluster_id;
        assert!(answers.iter().all(|a| a.cluster_id == cluster_id), "{backend:?}: hot identifiers still link");
        let hot_key = "evm:0x52908400098527886e0f7030069857d2e4169ee7";
        let c = cluster(&server, cluster_id).await;
        assert_eq!(c.cluster.as_ref().unwrap().hot_identifier_keys, [hot_key]);
        assert!(c.identifiers.iter().any(|i| i.key == hot_key && i.hot && i.report_count == 3));
        let lone = submit(&server, &[IBAN]).await;

        let mut triage = server.triage().await;
        let hot = triage
            .list_queue(pb::ListQueueRequest { queue: pb::Queue::HotIdentifiers as i32, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        let listed: Vec<i64> = hot.clusters.iter().map(|c| c.cluster_id).collect();
        assert_eq!(listed, [cluster_id], "{backend:?}: only the cluster holding the hot wallet");
        let counts = triage.list_queues(pb::ListQueuesRequest::default()).await.unwrap().into_inner();
        let count = |q: pb::Queue| counts.queues.iter().find(|c| c.queue() == q).unwrap().clusters;
        assert_eq!((count(pb::Queue::HotIdentifiers), count(pb::Queue::New)), (1, 2));
        assert_ne!(lone.cluster_id, cluster_id);

        let looked = server
            .lookup()
            .await
            .lookup_identifiers(pb::LookupIdentifiersRequest {
                values: vec![id(WALLET, R::Wallet, K::CryptoWallet)],
                country: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(looked.results[0].hot);
    }
}

/// The categories a lookup of IBAN and PHONE answers, per value.
async fn looked_up_categories(server: &TestServer) -> Vec<Vec<i32>> {
    let values = vec![id(IBAN, R::Unspecified, K::Unspecified), id(PHONE, R::Unspecified, K::Phone)];
    let request = pb::LookupIdentifiersRequest { values, country: "GB".into() };
    let answer = server.lookup().await.lookup_identifiers(request).await.unwrap().into_inner();
    answer.results.iter().map(|r| r.categories.clone()).collect()
}

/// A lookup's categories are kept on the identifier: by intake, rebuilt by `recluster`, and
/// filled in by the migration that introduced them for identifiers stored before it.
#[tokio::test]
async fn lookup_categories_are_kept_by_intake_recluster_and_migration() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        submit(&server, &[IBAN]).await;
        let romance = pb::Report { category: pb::ScamCategory::Romance as i32, ..report_with(&[IBAN, PHONE]) };
        server.intake().await.submit_report(request(romance, "")).await.unwrap();
        let both = vec![pb::ScamCategory::Investment as i32, pb::ScamCategory::Romance as i32];
        let expected = vec![both.clone(), vec![pb::ScamCategory::Romance as i32]];
        assert_eq!(looked_up_categories(&server).await, expected, "{backend:?}: by intake");

        server.terminate().unwrap();
        server.sql("UPDATE identifiers SET category_mask = 0").unwrap();
        server.run_command(&["recluster"]).unwrap();
        server.restart().await.unwrap();
        assert_eq!(looked_up_categories(&server).await, expected, "{backend:?}: by recluster");

        server.terminate().unwrap();
        server.sql("ALTER TABLE identifiers DROP COLUMN category_mask").unwrap();
        server.sql("DELETE FROM seaql_migrations WHERE version = 'm0004_identifier_categories'").unwrap();
        server.restart().await.unwrap();
        assert_eq!(looked_up_categories(&server).await, expected, "{backend:?}: by the migration");
    }
}

#[tokio::test]
async fn lookup_answers_every_value_without_victim_data() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let a = submit(&server, &[IBAN, PHONE]).await;
        submit(&server, &["DE89370400440532013000"]).await;
        let answer = server
            .lookup()
            .await
            .lookup_identifiers(pb::LookupIdentifiersRequest {
                values: vec![
                    id("de89 3704 0044 0532 0130 00", R::Unspecified, K::Unspecified),
                    id("020 7946 0958", R::Unspecified, K::Phone),
                    id("GB33BUKB20201555555555", R::Unspecified, K::Unspecified),
                    id("DE89 3704 0044 0532 0130 01", R::Unspecified, K::Iban),
                ],
                country: "GB".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .results;
        assert_eq!(answer.len(), 4);
        let iban = &answer[0];
        assert!(iban.known);
        assert_eq!((iban.report_count, iban.cluster_id), (2, a.cluster_id), "{backend:?}");
        assert_eq!(iban.total_loss.as_ref().unwrap().amount_minor, 200_000);
        assert_eq!(iban.categories, [pb::ScamCategory::Investment as i32]);
        let (first, last) = (iban.first_seen.unwrap(), iban.last_seen.unwrap());
        assert!(last.seconds >= first.seconds);
        assert!(answer[1].known && answer[1].report_count == 1);
        assert!(!answer[2].known, "never reported");
        assert_eq!(answer[2].report_count, 0);
        let bad = answer[3].outcome.as_ref().unwrap();
        assert!(
            matches!(&bad.result, Some(pb::identifier_outcome::Result::Unverified(u)) if u.reason == "IBAN_CHECKSUM")
        );

        let too_many = (0..1_001).map(|_| id(IBAN, R::Unspecified, K::Unspecified)).collect();
        let err = server
            .lookup()
            .await
            .lookup_identifiers(pb::LookupIdentifiersRequest { values: too_many, country: "XX".into() })
            .await
            .unwrap_err();
        assert_eq!(
            scamtrail_e2e::violations(&err),
            [("country".to_owned(), "COUNTRY_UNKNOWN".to_owned()), ("values".to_owned(), "TOO_MANY".to_owned())]
        );
    }
}

#[tokio::test]
async fn a_bic_or_a_narrative_mention_never_links() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut first = report_with(&[IBAN, "DEUTDEFF"]);
    first.narrative = format!("They told me to call {PHONE}.");
    let a = server.intake().await.submit_report(request(first, "")).await.unwrap().into_inner();
    let mut second = report_with(&["GB82 WEST 1234 5698 7654 32", "DEUTDEFF"]);
    second.narrative = format!("The number was {PHONE} again.");
    let b = server.intake().await.submit_report(request(second, "")).await.unwrap().into_inner();
    assert_ne!(a.cluster_id, b.cluster_id, "a bank's BIC and narrative suggestions do not link");
}

#[tokio::test]
async fn a_safelist_file_entry_never_links_and_dropping_it_links_again() {
    let mut server = TestServer::start(Backend::Sqlite).await.unwrap();
    let list = server.file("safelist.tsv");
    std::fs::write(&list, "# our bank's fraud line\nphone\t+44 20 7946 0958\tthe bank's own fraud line\n").unwrap();
    let list_arg = list.to_str().unwrap().to_owned();
    server.set_extra_args(&["--safelist-file", &list_arg]);
    server.restart().await.unwrap();
    let a = submit(&server, &[IBAN, PHONE]).await;
    let b = submit(&server, &["GB82 WEST 1234 5698 7654 32", PHONE]).await;
    assert_ne!(a.cluster_id, b.cluster_id, "a safelisted number links nothing");

    // An operator's own API decision wins over the file, so only file entries are withdrawn.
    server.set_extra_args(&[]);
    server.restart().await.unwrap();
    let (ca, cb) = (cluster_of(&server, a.report_id).await, cluster_of(&server, b.report_id).await);
    assert_eq!(ca, cb, "dropped from the file: the number links again");
    let found = look_up(&server, PHONE).await;
    assert_eq!((found.state(), found.cluster_id), (pb::IdentifierState::Normal, ca));
}

#[tokio::test]
async fn an_api_decision_wins_over_the_safelist_file_across_restarts() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        let list = server.file("safelist.tsv");
        std::fs::write(&list, "phone\t+44 20 7946 0958\tthe bank's own fraud line\n").unwrap();
        let list_arg = list.to_str().unwrap().to_owned();
        server.set_extra_args(&["--safelist-file", &list_arg]);
        server.restart().await.unwrap();
        let a = submit(&server, &[IBAN, PHONE]).await;
        let b = submit(&server, &["GB82 WEST 1234 5698 7654 32", PHONE]).await;
        assert_ne!(a.cluster_id, b.cluster_id, "{backend:?}: the file's number links nothing");

        // A supervisor decides the number is the scammers' after all: it links.
        let answer = server
            .triage_as("supervisor")
            .await
            .set_identifier_state(pb::SetIdentifierStateRequest {
                key: "tel:+442079460958".into(),
                state: pb::IdentifierState::Normal as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.identifier.unwrap().state(), pb::IdentifierState::Normal, "{backend:?}");
        let linked = cluster_of(&server, a.report_id).await;
        assert_eq!(cluster_of(&server, b.report_id).await, linked, "{backend:?}: the number links");

        // A restart with the same file leaves the decision as it is.
        server.restart().await.unwrap();
        let found = look_up(&server, PHONE).await;
        assert_eq!(found.state(), pb::IdentifierState::Normal, "{backend:?}: the file overrode a supervisor");
        let (ca, cb) = (cluster_of(&server, a.report_id).await, cluster_of(&server, b.report_id).await);
        assert_eq!((ca, cb), (found.cluster_id, found.cluster_id), "{backend:?}: the number still links");
        // And a new report with it joins them.
        let c = submit(&server, &["GB33BUKB20201555555555", PHONE]).await;
        assert_eq!(cluster_of(&server, c.report_id).await, found.cluster_id, "{backend:?}");
    }
}

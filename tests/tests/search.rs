//! Investigators' searches, on SQLite and PostgreSQL: SearchReports and SearchClusters, each
//! filter alone and combined, exact amounts beyond 64 bits (10 ETH and 9.5 ETH in wei), the
//! largest-amount order, keyset paging without gaps or repeats while reports keep coming in,
//! refusals naming the field, and the filters (not the results) in the audit trail.

use std::collections::{BTreeMap, BTreeSet};

use scamtrail_e2e::{BACKENDS, Backend, TestServer, audit_events_of, id, request, ts, violations};
use scamtrail_proto::v1::{self as pb, ContactChannel as Ch, IdentifierKind as K, IdentifierRole as R};

/// A German IBAN with valid check digits for account `n`, so that each report pays its own account.
fn iban(n: u64) -> String {
    let bban = format!("37040044{n:010}");
    // Check digits: the BBAN then "DE00" as digits (D = 13, E = 14), mod 97.
    let digits = format!("{bban}131400");
    let rest = digits.bytes().fold(0u64, |r, b| (r * 10 + u64::from(b - b'0')) % 97);
    format!("DE{:02}{bban}", 98 - rest)
}

/// One report of the fixture: its letter, category, country, payment, channel, ongoing contact.
struct Case {
    name: &'static str,
    category: pb::ScamCategory,
    country: &'static str,
    amount: &'static str,
    currency: &'static str,
    method: pb::PaymentMethod,
    paid_days_ago: i64,
    channel: Ch,
    ongoing: bool,
}

const CASES: [Case; 5] = [
    Case {
        name: "A",
        category: pb::ScamCategory::Investment,
        country: "GB",
        amount: "12345.67",
        currency: "EUR",
        method: pb::PaymentMethod::BankTransfer,
        paid_days_ago: 2,
        channel: Ch::PhoneCall,
        ongoing: true,
    },
    Case {
        name: "B",
        category: pb::ScamCategory::CryptoInvestment,
        country: "FR",
        amount: "10",
        currency: "ETH",
        method: pb::PaymentMethod::Crypto,
        paid_days_ago: 1,
        channel: Ch::Telegram,
        ongoing: false,
    },
    Case {
        name: "C",
        category: pb::ScamCategory::Romance,
        country: "FR",
        amount: "1000000",
        currency: "USDT",
        method: pb::PaymentMethod::Crypto,
        paid_days_ago: 3,
        channel: Ch::Whatsapp,
        ongoing: false,
    },
    Case {
        name: "D",
        category: pb::ScamCategory::Investment,
        country: "DE",
        amount: "0.00000001",
        currency: "BTC",
        method: pb::PaymentMethod::Crypto,
        paid_days_ago: 4,
        channel: Ch::Email,
        ongoing: true,
    },
    Case {
        name: "E",
        category: pb::ScamCategory::Investment,
        country: "GB",
        amount: "9.5",
        currency: "ETH",
        method: pb::PaymentMethod::Crypto,
        paid_days_ago: 5,
        channel: Ch::Telegram,
        ongoing: false,
    },
];

fn report(case: &Case, n: u64) -> pb::Report {
    pb::Report {
        category: case.category as i32,
        narrative: "They promised returns.".into(),
        contact_channels: vec![case.channel as i32],
        contact_ongoing: case.ongoing,
        payments: vec![pb::Payment {
            amount: case.amount.into(),
            currency: case.currency.into(),
            method: case.method as i32,
            paid_at: ts(case.paid_days_ago * 86_400),
            beneficiaries: vec![id(&iban(n), R::BeneficiaryAccount, K::Iban)],
            ..Default::default()
        }],
        victim: Some(pb::Victim { country: case.country.into(), ..Default::default() }),
        ..Default::default()
    }
}

/// The fixture: each case submitted in order; report id by name, and the names by report id.
struct Fixture {
    ids: BTreeMap<&'static str, i64>,
    names: BTreeMap<i64, &'static str>,
    clusters: BTreeMap<&'static str, i64>,
}

async fn fixture(server: &TestServer) -> Fixture {
    let mut intake = server.intake().await;
    let mut f = Fixture { ids: BTreeMap::new(), names: BTreeMap::new(), clusters: BTreeMap::new() };
    for (n, case) in CASES.iter().enumerate() {
        let r = intake.submit_report(request(report(case, n as u64 + 1), "")).await.unwrap().into_inner();
        f.ids.insert(case.name, r.report_id);
        f.names.insert(r.report_id, case.name);
        f.clusters.insert(case.name, r.cluster_id);
    }
    f
}

/// The names of the reports one search finds (one page of up to 500), in the order listed.
async fn found(server: &TestServer, f: &Fixture, req: pb::SearchReportsRequest) -> Vec<&'static str> {
    let req = pb::SearchReportsRequest { page_size: 500, ..req };
    let page = server.triage().await.search_reports(req).await.unwrap().into_inner();
    page.reports.iter().map(|h| f.names.get(&h.report.as_ref().unwrap().report_id).copied().unwrap_or("?")).collect()
}

/// As `found`, sorted: for filters whose order is not the point.
async fn found_set(server: &TestServer, f: &Fixture, req: pb::SearchReportsRequest) -> Vec<&'static str> {
    let mut names = found(server, f, req).await;
    names.sort_unstable();
    names
}

#[tokio::test]
async fn every_report_filter_alone_and_combined() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let f = fixture(&server).await;
        let all = || pb::SearchReportsRequest::default();
        let cats = |c: &[pb::ScamCategory]| c.iter().map(|&c| c as i32).collect::<Vec<_>>();

        // No filter: every report, newest first; oldest first reverses it.
        assert_eq!(found(&server, &f, all()).await, ["E", "D", "C", "B", "A"], "{backend:?}");
        let oldest = pb::SearchReportsRequest { order: pb::SearchOrder::OldestFirst as i32, ..all() };
        assert_eq!(found(&server, &f, oldest).await, ["A", "B", "C", "D", "E"], "{backend:?}");

        let by_category = pb::SearchReportsRequest { categories: cats(&[pb::ScamCategory::Investment]), ..all() };
        assert_eq!(found_set(&server, &f, by_category).await, ["A", "D", "E"], "{backend:?}");
        let by_country = pb::SearchReportsRequest { victim_countries: vec!["fr".into()], ..all() };
        assert_eq!(found_set(&server, &f, by_country).await, ["B", "C"], "{backend:?}");
        let by_method =
            pb::SearchReportsRequest { payment_methods: vec![pb::PaymentMethod::BankTransfer as i32], ..all() };
        assert_eq!(found_set(&server, &f, by_method).await, ["A"], "{backend:?}");
        let by_channel = pb::SearchReportsRequest { contact_channels: vec![Ch::Telegram as i32], ..all() };
        assert_eq!(found_set(&server, &f, by_channel).await, ["B", "E"], "{backend:?}");
        let ongoing = pb::SearchReportsRequest { contact_ongoing: Some(true), ..all() };
        assert_eq!(found_set(&server, &f, ongoing).await, ["A", "D"], "{backend:?}");
        let not_ongoing = pb::SearchReportsRequest { contact_ongoing: Some(false), ..all() };
        assert_eq!(found_set(&server, &f, not_ongoing).await, ["B", "C", "E"], "{backend:?}");

        // Times: paid in the last 36 hours, or before; received in a window that holds them all.
        let paid_recently = pb::SearchReportsRequest { paid_from: ts(36 * 3_600), ..all() };
        assert_eq!(found_set(&server, &f, paid_recently).await, ["B"], "{backend:?}");
        let paid_before = pb::SearchReportsRequest { paid_until: ts(36 * 3_600), ..all() };
        assert_eq!(found_set(&server, &f, paid_before).await, ["A", "C", "D", "E"], "{backend:?}");
        let received = pb::SearchReportsRequest { received_from: ts(600), received_until: ts(-600), ..all() };
        assert_eq!(found(&server, &f, received).await.len(), 5, "{backend:?}");
        let not_yet = pb::SearchReportsRequest { received_from: ts(-600), ..all() };
        assert!(found(&server, &f, not_yet).await.is_empty(), "{backend:?}");

        // Exact amounts: 9.5 and 10 ETH are both beyond 64 bits of wei, and still told apart.
        let eth = |min: &str, max: &str| pb::SearchReportsRequest {
            currency: "eth".into(),
            min_amount: min.into(),
            max_amount: max.into(),
            ..all()
        };
        assert_eq!(found_set(&server, &f, eth("", "")).await, ["B", "E"], "{backend:?}");
        assert_eq!(found_set(&server, &f, eth("9.6", "")).await, ["B"], "{backend:?}");
        assert_eq!(found_set(&server, &f, eth("", "9.999999999999999999")).await, ["E"], "{backend:?}");
        assert_eq!(found_set(&server, &f, eth("10", "10")).await, ["B"], "{backend:?}");
        let btc = pb::SearchReportsRequest { currency: "BTC".into(), max_amount: "0.00000001".into(), ..all() };
        assert_eq!(found_set(&server, &f, btc).await, ["D"], "{backend:?}");
        let largest = pb::SearchReportsRequest { order: pb::SearchOrder::LargestAmountFirst as i32, ..eth("", "") };
        assert_eq!(found(&server, &f, largest).await, ["B", "E"], "{backend:?}");

        // Identifier keys: the full key of one report's account, a prefix of all of them.
        let a = pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(f.ids["A"])) };
        let stored = server.triage().await.get_report(a).await.unwrap().into_inner().report.unwrap();
        let key = stored
            .identifiers
            .iter()
            .find_map(|i| match &i.outcome.as_ref()?.result {
                Some(pb::identifier_outcome::Result::Normalized(n)) => Some(n.key.clone()),
                _ => None,
            })
            .unwrap();
        let by_key = pb::SearchReportsRequest { identifier_key_prefix: key.clone(), ..all() };
        assert_eq!(found_set(&server, &f, by_key).await, ["A"], "{backend:?}: {key}");
        let by_prefix = pb::SearchReportsRequest { identifier_key_prefix: "iban:DE".into(), ..all() };
        assert_eq!(found(&server, &f, by_prefix).await.len(), 5, "{backend:?}");
        let other_kind = pb::SearchReportsRequest { identifier_key_prefix: "evm:".into(), ..all() };
        assert!(found(&server, &f, other_kind).await.is_empty(), "{backend:?}");

        // The cluster's status: A's cluster taken into triage.
        let mut triage = server.triage().await;
        let read = pb::GetClusterRequest { cluster_id: f.clusters["A"], max_reports: 0 };
        let c = triage.get_cluster(read).await.unwrap().into_inner().cluster.unwrap();
        let update = pb::UpdateClusterRequest {
            cluster_id: c.cluster_id,
            version: c.version,
            status: pb::ClusterStatus::Triaging as i32,
            ..Default::default()
        };
        triage.update_cluster(update).await.unwrap();
        let triaging = pb::SearchReportsRequest { cluster_statuses: vec![pb::ClusterStatus::Triaging as i32], ..all() };
        assert_eq!(found_set(&server, &f, triaging).await, ["A"], "{backend:?}");

        // Combined: every filter must hold.
        let combined = pb::SearchReportsRequest {
            categories: cats(&[pb::ScamCategory::Investment, pb::ScamCategory::Romance]),
            victim_countries: vec!["GB".into(), "FR".into()],
            payment_methods: vec![pb::PaymentMethod::Crypto as i32],
            ..all()
        };
        assert_eq!(found_set(&server, &f, combined.clone()).await, ["C", "E"], "{backend:?}");
        let narrower = pb::SearchReportsRequest { currency: "ETH".into(), contact_ongoing: Some(false), ..combined };
        assert_eq!(found_set(&server, &f, narrower).await, ["E"], "{backend:?}");

        // Summaries carry the exact loss and the cluster, never the victim's contacts.
        let one = pb::SearchReportsRequest { currency: "ETH".into(), min_amount: "10".into(), ..all() };
        let page = triage.search_reports(one).await.unwrap().into_inner();
        let hit = &page.reports[0];
        let loss = &hit.report.as_ref().unwrap().loss[0];
        assert_eq!((loss.currency.as_str(), loss.amount.as_str()), ("ETH", "10"), "{backend:?}");
        assert_eq!(hit.cluster_id, f.clusters["B"], "{backend:?}");
        assert_eq!(hit.victim_country, "FR", "{backend:?}");

        // The trail keeps the filters of the search.
        let events = audit_events_of(&server, "supervisor").await;
        assert!(
            events.iter().any(|e| e.action.ends_with("/SearchReports")
                && e.targets
                    .iter()
                    .any(|t| t.contains("currency=ETH") && t.contains("min_minor=10000000000000000000"))),
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn pages_have_no_gaps_or_repeats_while_reports_come_in() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let f = fixture(&server).await;
        let mut intake = server.intake().await;
        for order in [pb::SearchOrder::NewestFirst, pb::SearchOrder::OldestFirst] {
            let mut triage = server.triage().await;
            let mut seen: Vec<i64> = Vec::new();
            let mut token = String::new();
            let mut n = 100 + order as u64 * 10;
            loop {
                let req = pb::SearchReportsRequest {
                    page_size: 2,
                    page_token: token.clone(),
                    order: order as i32,
                    ..Default::default()
                };
                let page = triage.search_reports(req).await.unwrap().into_inner();
                seen.extend(page.reports.iter().map(|h| h.report.as_ref().unwrap().report_id));
                // Intake goes on between pages.
                intake.submit_report(request(report(&CASES[0], n), "")).await.unwrap();
                n += 1;
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            let unique: BTreeSet<i64> = seen.iter().copied().collect();
            assert_eq!(unique.len(), seen.len(), "{backend:?} {order:?}: a report listed twice: {seen:?}");
            for id in f.ids.values() {
                assert!(unique.contains(id), "{backend:?} {order:?}: report {id} missed: {seen:?}");
            }
            if order == pb::SearchOrder::NewestFirst {
                // Newer reports come before the first page's position, never inside later pages.
                assert_eq!(seen.len(), 5, "{backend:?}");
            }
        }
    }
}

#[tokio::test]
async fn clusters_are_searched_by_state_tag_key_size_and_loss() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let f = fixture(&server).await;
        let mut triage = server.triage().await;
        let names: BTreeMap<i64, &str> = f.clusters.iter().map(|(n, c)| (*c, *n)).collect();
        let search = async |req: pb::SearchClustersRequest| -> Vec<&str> {
            let page = server.triage().await.search_clusters(req).await.unwrap().into_inner();
            let mut found: Vec<&str> = page.clusters.iter().map(|c| names[&c.cluster_id]).collect();
            found.sort_unstable();
            found
        };
        let all = pb::SearchClustersRequest::default;
        assert_eq!(search(all()).await, ["A", "B", "C", "D", "E"], "{backend:?}");

        // A tagged, assigned and referred; B's key found.
        let read = pb::GetClusterRequest { cluster_id: f.clusters["A"], max_reports: 0 };
        let c = triage.get_cluster(read).await.unwrap().into_inner().cluster.unwrap();
        let tag = pb::UpdateClusterRequest {
            cluster_id: c.cluster_id,
            version: c.version,
            status: pb::ClusterStatus::Assigned as i32,
            assignee: "ines".into(),
            add_tags: vec!["campaign:operation-tulip".into()],
            ..Default::default()
        };
        triage.update_cluster(tag).await.unwrap();
        let filter = pb::QueueFilter { tags: vec!["campaign:operation-tulip".into()], ..Default::default() };
        assert_eq!(search(pb::SearchClustersRequest { filter: Some(filter), ..all() }).await, ["A"], "{backend:?}");
        assert_eq!(search(pb::SearchClustersRequest { assignee: "ines".into(), ..all() }).await, ["A"]);
        let assigned = pb::SearchClustersRequest { statuses: vec![pb::ClusterStatus::Assigned as i32], ..all() };
        assert_eq!(search(assigned).await, ["A"], "{backend:?}");
        let new = pb::SearchClustersRequest { statuses: vec![pb::ClusterStatus::New as i32], ..all() };
        assert_eq!(search(new).await, ["B", "C", "D", "E"], "{backend:?}");
        // A queue: assigned clusters wait in none.
        let queued = pb::SearchClustersRequest { queue: pb::Queue::New as i32, ..all() };
        assert_eq!(search(queued).await, ["B", "C", "D", "E"], "{backend:?}");
        let countries = pb::QueueFilter { victim_countries: vec!["FR".into()], ..Default::default() };
        assert_eq!(search(pb::SearchClustersRequest { filter: Some(countries), ..all() }).await, ["B", "C"]);

        let key = format!("iban:{}", iban(2));
        assert_eq!(search(pb::SearchClustersRequest { identifier_key: key, ..all() }).await, ["B"], "{backend:?}");
        // One satoshi is worth less than a cent: the only cluster under one unit of loss.
        let small = pb::SearchClustersRequest { max_total_loss: "1".into(), ..all() };
        assert_eq!(search(small).await, ["D"], "{backend:?}");
        let big = pb::SearchClustersRequest { min_total_loss: "1".into(), ..all() };
        assert_eq!(search(big).await, ["A", "B", "C", "E"], "{backend:?}");
        assert!(search(pb::SearchClustersRequest { min_reports: 2, ..all() }).await.is_empty(), "{backend:?}");

        // Pages of two: every cluster once.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let req = pb::SearchClustersRequest { page_size: 2, page_token: token.clone(), ..all() };
            let page = triage.search_clusters(req).await.unwrap().into_inner();
            assert!(page.clusters.len() <= 2);
            seen.extend(page.clusters.iter().map(|c| c.cluster_id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        seen.sort_unstable();
        let mut expected: Vec<i64> = f.clusters.values().copied().collect();
        expected.sort_unstable();
        assert_eq!(seen, expected, "{backend:?}");
    }
}

#[tokio::test]
async fn bad_searches_are_refused_naming_the_field() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut triage = server.triage().await;
    let req = pb::SearchReportsRequest {
        received_from: ts(60),
        received_until: ts(3_600),
        categories: vec![0],
        victim_countries: vec!["Narnia".into()],
        min_amount: "1".into(),
        order: 99,
        page_token: "nonsense".into(),
        ..Default::default()
    };
    let err = triage.search_reports(req).await.unwrap_err();
    assert_eq!(
        violations(&err),
        [
            ("received_until", "BEFORE_START"),
            ("order", "UNKNOWN_VALUE"),
            ("currency", "REQUIRED"),
            ("categories[0]", "UNKNOWN_VALUE"),
            ("victim_countries[0]", "COUNTRY_UNKNOWN"),
            ("page_token", "INVALID_PAGE_TOKEN"),
        ]
        .map(|(f, r)| (f.to_owned(), r.to_owned()))
    );
    let req = pb::SearchReportsRequest {
        currency: "ETH".into(),
        min_amount: "2".into(),
        max_amount: "1.0000000000000000001".into(),
        ..Default::default()
    };
    let err = triage.search_reports(req).await.unwrap_err();
    assert_eq!(violations(&err), [("max_amount".to_owned(), "TOO_PRECISE".to_owned())]);
    let req = pb::SearchClustersRequest { min_reports: -1, page_size: 501, ..Default::default() };
    let err = triage.search_clusters(req).await.unwrap_err();
    assert_eq!(
        violations(&err),
        [("min_reports".to_owned(), "OUT_OF_RANGE".to_owned()), ("page_size".to_owned(), "OUT_OF_RANGE".to_owned())]
    );
}

/// Payments stored before the search migration get their amount keys from it: amounts beyond 64
/// bits are found and ordered exactly afterwards.
#[tokio::test]
async fn the_migration_gives_stored_payments_their_amount_keys() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        let f = fixture(&server).await;
        server.terminate().unwrap();
        // Back to the schema before m0017.
        for index in [
            "reports_received",
            "reports_category_received",
            "report_victims_country",
            "payments_paid",
            "payments_currency_amount",
            "clusters_status_priority",
            "clusters_assignee",
            "clusters_referred_to",
        ] {
            server.sql(&format!("DROP INDEX {index}")).unwrap();
        }
        server.sql("ALTER TABLE payments DROP COLUMN amount_key").unwrap();
        server.sql("DELETE FROM seaql_migrations WHERE version = 'm0017_search_indexes'").unwrap();
        server.restart().await.unwrap();
        let largest = pb::SearchReportsRequest {
            currency: "ETH".into(),
            min_amount: "9.5".into(),
            order: pb::SearchOrder::LargestAmountFirst as i32,
            ..Default::default()
        };
        assert_eq!(found(&server, &f, largest).await, ["B", "E"], "{backend:?}");
    }
}

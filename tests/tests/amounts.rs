//! Amounts never break a read: one payment is capped at validation, naming its field, and sums
//! saturate rather than overflow, even over amounts stored before the cap. On SQLite and
//! PostgreSQL.

use scamtrail_e2e::{BACKENDS, Backend, TestServer, bank_transfer, id, request, sample_report, ts, violations};
use scamtrail_proto::v1 as pb;
use scamtrail_proto::v1::IdentifierKind as K;
use scamtrail_proto::v1::IdentifierRole as R;
use tonic::Code;

/// The largest amount of one GBP payment: ten trillion pounds in pence.
const GBP_MAX: i64 = 1_000_000_000_000_000;
const IBAN: &str = "GB82 WEST 1234 5698 7654 32";
/// A domain on the shipped safelist: it never links, so a lookup sums its reports' payments.
const SAFELISTED: &str = "binance.com";

fn payment(amount_minor: i64, currency: &str, to: &str) -> pb::Payment {
    pb::Payment {
        amount_minor,
        currency: currency.into(),
        method: pb::PaymentMethod::Crypto as i32,
        paid_at: ts(3_600),
        beneficiaries: vec![id(to, R::Website, K::Website)],
        ..Default::default()
    }
}

#[tokio::test]
async fn one_payment_above_the_cap_is_refused_naming_its_field() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut intake = server.intake().await;
    let mut report = sample_report();
    report.payments = vec![bank_transfer(IBAN, GBP_MAX, 3_600), bank_transfer(IBAN, GBP_MAX + 1, 3_600)];
    let err = intake.submit_report(request(report.clone(), "")).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), [("report.payments[1].amount_minor".to_owned(), "TOO_LARGE".to_owned())]);

    report.payments[1].amount_minor = i64::MAX;
    let err = intake.submit_report(request(report.clone(), "")).await.unwrap_err();
    assert_eq!(violations(&err), [("report.payments[1].amount_minor".to_owned(), "TOO_LARGE".to_owned())]);

    // At the cap is fine; so is the largest 64-bit amount of a coin with 18 decimals (9.22 ETH).
    report.payments[1] = payment(i64::MAX, "ETH", SAFELISTED);
    let submitted = intake.submit_report(request(report, "")).await.unwrap().into_inner();

    // Added details are checked the same way.
    let err = intake
        .add_report_details(pb::AddReportDetailsRequest {
            reference: submitted.reference,
            secret: submitted.follow_up_secret,
            payments: vec![bank_transfer(IBAN, GBP_MAX + 1, 60)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), [("payments[0].amount_minor".to_owned(), "TOO_LARGE".to_owned())]);
}

#[tokio::test]
async fn huge_stored_amounts_never_break_lookups_clusters_queues_or_reports() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        // Two payments to a safelisted domain and a linking IBAN, made huge in the database as
        // rows stored before the cap would be.
        let mut first = sample_report();
        first.payments = vec![bank_transfer(IBAN, 100, 7_200), payment(100, "GBP", SAFELISTED)];
        let first = intake.submit_report(request(first, "huge-1")).await.unwrap().into_inner();
        server.sql(&format!("UPDATE payments SET amount_minor = {0}, amount_exact = '{0}'", i64::MAX)).unwrap();
        // A second report on the same IBAN recomputes the cluster over the huge rows; a third
        // sends two of the largest ETH amounts the cap lets through to the safelisted domain.
        let mut second = sample_report();
        second.payments = vec![bank_transfer(IBAN, GBP_MAX, 3_600)];
        let second = intake.submit_report(request(second, "huge-2")).await.unwrap().into_inner();
        assert_eq!(second.cluster_id, first.cluster_id, "{backend:?}");
        let mut third = sample_report();
        third.payments = vec![payment(i64::MAX, "ETH", SAFELISTED), payment(i64::MAX, "ETH", SAFELISTED)];
        intake.submit_report(request(third, "huge-3")).await.unwrap();

        let found = server
            .lookup()
            .await
            .lookup_identifiers(pb::LookupIdentifiersRequest {
                values: vec![id(SAFELISTED, R::Website, K::Website), id(IBAN, R::BeneficiaryAccount, K::Iban)],
                country: String::new(),
            })
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: lookup failed: {e:?}"))
            .into_inner()
            .results;
        for result in &found {
            assert!(result.known, "{backend:?}: {result:?}");
            let loss = result.total_loss.as_ref().unwrap().amount_minor;
            assert!(loss > GBP_MAX, "{backend:?}: the loss saturates high, not wraps: {loss}");
        }
        assert_eq!(found[0].state(), pb::IdentifierState::Safelisted, "{backend:?}");

        let mut triage = server.triage().await;
        let cluster = triage
            .get_cluster(pb::GetClusterRequest { cluster_id: first.cluster_id, max_reports: 0 })
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: GetCluster failed: {e:?}"))
            .into_inner();
        let summary = cluster.cluster.unwrap();
        assert_eq!(summary.total_loss.unwrap().amount_minor, i64::MAX, "{backend:?}: saturated");
        // A report's loss is summed exactly: two of the largest 64-bit amounts of pence.
        let exact = "184467440737095516.14";
        assert!(
            cluster.reports.iter().any(|r| r.loss.iter().any(|a| a.currency == "GBP" && a.amount == exact)),
            "{backend:?}: {:?}",
            cluster.reports
        );
        let queue = triage
            .list_queue(pb::ListQueueRequest { queue: pb::Queue::New as i32, ..Default::default() })
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: ListQueue failed: {e:?}"))
            .into_inner();
        assert!(queue.clusters.iter().any(|c| c.cluster_id == first.cluster_id), "{backend:?}");
        let report = triage
            .get_report(pb::GetReportRequest {
                selector: Some(pb::get_report_request::Selector::ReportId(first.report_id)),
            })
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: GetReport failed: {e:?}"))
            .into_inner()
            .report
            .unwrap();
        assert!(report.report.unwrap().payments.iter().all(|p| p.amount_minor == i64::MAX), "{backend:?}");
    }
}

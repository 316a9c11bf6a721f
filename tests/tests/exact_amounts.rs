//! Exact amounts in every currency victims pay in, on SQLite and PostgreSQL: 10 ETH, 1,000,000
//! USDT, 0.00000001 BTC and 12,345.67 EUR submitted as decimals, read back digit for digit,
//! summed exactly per currency, converted through the rate table (and the amounts it has no rate
//! for named beside each total); a client that still sends `amount_minor` works as before; the
//! migration to exact amounts keeps every stored amount.

use scamtrail_e2e::{BACKENDS, Backend, TestServer, bank_transfer, id, request, sample_report, ts, violations};
use scamtrail_proto::v1 as pb;
use scamtrail_proto::v1::IdentifierKind as K;
use scamtrail_proto::v1::IdentifierRole as R;
use tonic::Code;

const IBAN: &str = "DE89 3704 0044 0532 0130 00";
/// Round rates, so that the expected totals are plain arithmetic: euros per unit.
const RATES: &str = r#"{"reference": "EUR", "rates": {"ETH": 2000, "USDT": 0.9, "BTC": 100000}}"#;

/// A bank transfer to `IBAN` written as a decimal `amount` of `currency`.
fn decimal(amount: &str, currency: &str) -> pb::Payment {
    pb::Payment {
        amount: amount.into(),
        currency: currency.into(),
        method: pb::PaymentMethod::BankTransfer as i32,
        paid_at: ts(3_600),
        beneficiaries: vec![id(IBAN, R::BeneficiaryAccount, K::Unspecified)],
        ..Default::default()
    }
}

/// A report of `payments`.
fn report(payments: Vec<pb::Payment>) -> pb::Report {
    pb::Report { payments, ..sample_report() }
}

async fn start(backend: Backend) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("rates.json");
    std::fs::write(&rates, RATES).unwrap();
    let server = TestServer::start_with(backend, &["--rates-file", rates.to_str().unwrap()]).await.unwrap();
    // The server read the file at start; the directory may go.
    drop(dir);
    server
}

/// (currency, amount, amount_minor) of amounts, sorted by currency.
fn amounts(list: &[pb::Amount]) -> Vec<(String, String, i64)> {
    let mut out: Vec<_> = list.iter().map(|a| (a.currency.clone(), a.amount.clone(), a.amount_minor)).collect();
    out.sort();
    out
}

fn owned(list: &[(&str, &str, i64)]) -> Vec<(String, String, i64)> {
    list.iter().map(|&(c, a, m)| (c.to_owned(), a.to_owned(), m)).collect()
}

#[tokio::test]
async fn decimal_amounts_read_back_sum_and_convert_exactly() {
    for backend in BACKENDS {
        let server = start(backend).await;
        let mut intake = server.intake().await;
        let first = report(vec![
            decimal("10", "ETH"),
            decimal("0.00000001", "BTC"),
            decimal("12345.67", "EUR"),
            decimal("500", "THB"),
        ]);
        let first = intake.submit_report(request(first, "exact-1")).await.unwrap().into_inner();
        // A client written before `amount`: minor units only; and a million USDT beside it.
        let mut old = bank_transfer(IBAN, 1_000, 3_600);
        old.currency = "EUR".into();
        let second = report(vec![old, decimal("1000000", "USDT"), decimal("10.000", "ETH")]);
        let second = intake.submit_report(request(second, "exact-2")).await.unwrap().into_inner();
        assert_eq!(second.cluster_id, first.cluster_id, "{backend:?}");

        let mut triage = server.triage().await;
        let read = |id: i64| pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(id)) };
        let payments = |r: pb::GetReportResponse| r.report.unwrap().report.unwrap().payments;
        let back = payments(triage.get_report(read(first.report_id)).await.unwrap().into_inner());
        let back: Vec<_> = back.iter().map(|p| (p.currency.as_str(), p.amount.as_str(), p.amount_minor)).collect();
        assert_eq!(
            back,
            [("ETH", "10", 0), ("BTC", "0.00000001", 1), ("EUR", "12345.67", 1_234_567), ("THB", "500", 50_000)],
            "{backend:?}: 10 ETH is 10^19 wei, beyond amount_minor's 64 bits"
        );
        let back = payments(triage.get_report(read(second.report_id)).await.unwrap().into_inner());
        let back: Vec<_> = back.iter().map(|p| (p.currency.as_str(), p.amount.as_str(), p.amount_minor)).collect();
        assert_eq!(
            back,
            [("EUR", "10", 1_000), ("USDT", "1000000", 1_000_000_000_000), ("ETH", "10", 0)],
            "{backend:?}"
        );

        let cluster = triage
            .get_cluster(pb::GetClusterRequest { cluster_id: first.cluster_id, max_reports: 10 })
            .await
            .unwrap()
            .into_inner();
        let summary = cluster.cluster.unwrap();
        assert_eq!(
            amounts(&summary.loss_by_currency),
            owned(&[
                ("BTC", "0.00000001", 1),
                ("ETH", "20", 0),
                ("EUR", "12355.67", 1_235_567),
                ("THB", "500", 50_000),
                ("USDT", "1000000", 1_000_000_000_000),
            ]),
            "{backend:?}: summed exactly per currency"
        );
        // 20 ETH × 2,000 + 1,000,000 USDT × 0.9 + 12,355.67 EUR + 0.00000001 BTC × 100,000 (a
        // tenth of a cent, rounded away) = 952,355.67 EUR; the baht has no rate and is named.
        let total = summary.total_loss.clone().unwrap();
        assert_eq!(
            (total.currency.as_str(), total.amount.as_str(), total.amount_minor),
            ("EUR", "952355.67", 95_235_567)
        );
        assert_eq!(amounts(&summary.unconverted_loss), owned(&[("THB", "500", 50_000)]), "{backend:?}");
        let priority = summary.priority.unwrap();
        let total_loss = priority.components.iter().find(|c| c.name == "total_loss").unwrap();
        assert_eq!(total_loss.basis, "EUR 952,355.67 lost in total", "{backend:?}");
        let report_loss = &cluster.reports.iter().find(|r| r.report_id == first.report_id).unwrap().loss;
        assert!(report_loss.iter().any(|a| a.currency == "ETH" && a.amount == "10"), "{backend:?}: {report_loss:?}");

        let found = server
            .lookup()
            .await
            .lookup_identifiers(pb::LookupIdentifiersRequest {
                values: vec![id(IBAN, R::BeneficiaryAccount, K::Iban)],
                country: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .results
            .remove(0);
        assert_eq!(found.total_loss.unwrap().amount, "952355.67", "{backend:?}");
        assert_eq!(amounts(&found.unconverted_loss), owned(&[("THB", "500", 50_000)]), "{backend:?}");
    }
}

#[tokio::test]
async fn decimal_amounts_are_refused_naming_the_field_and_reason() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut intake = server.intake().await;
    let mut mismatch = decimal("10", "EUR");
    mismatch.amount_minor = 999;
    let mut agrees = decimal("10", "EUR");
    agrees.amount_minor = 1_000;
    let cases = [
        (decimal("0.001", "EUR"), "amount", "TOO_PRECISE"),
        (decimal("1.5", "JPY"), "amount", "TOO_PRECISE"),
        (decimal("0.0000000000000000001", "ETH"), "amount", "TOO_PRECISE"),
        (decimal("1e3", "EUR"), "amount", "NOT_A_DECIMAL"),
        (decimal("-5", "EUR"), "amount", "NOT_A_DECIMAL"),
        (decimal("0.00", "EUR"), "amount", "NOT_POSITIVE"),
        (decimal("1234567890123.456789012345678901", "ETH"), "amount", "TOO_MANY_DIGITS"),
        (decimal("10000000000000.01", "EUR"), "amount", "TOO_LARGE"),
        (decimal(&"1".repeat(65), "EUR"), "amount", "TOO_LONG"),
        (mismatch, "amount_minor", "AMOUNT_MISMATCH"),
    ];
    for (payment, field, reason) in cases {
        let err = intake.submit_report(request(report(vec![payment.clone()]), "")).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{payment:?}");
        assert_eq!(violations(&err), [(format!("report.payments[0].{field}"), reason.to_owned())], "{payment:?}");
    }
    // 30 significant digits at 18 decimals, and both forms of one amount, are accepted.
    let largest = decimal("123456789012.345678901234567890", "ETH");
    let ok = intake.submit_report(request(report(vec![largest, agrees]), "")).await.unwrap().into_inner();
    let mut triage = server.triage().await;
    let read = pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(ok.report_id)) };
    let payments = triage.get_report(read).await.unwrap().into_inner().report.unwrap().report.unwrap().payments;
    assert_eq!(payments[0].amount, "123456789012.34567890123456789");
    assert_eq!(payments[1].amount, "10");
}

#[tokio::test]
async fn the_migration_to_exact_amounts_keeps_every_stored_amount() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        // As a client before exact amounts: the largest 64-bit amount of wei, and euros.
        let mut eth = bank_transfer(IBAN, i64::MAX, 3_600);
        eth.currency = "ETH".into();
        let mut eur = bank_transfer(IBAN, 1_234_567, 3_600);
        eur.currency = "EUR".into();
        let submitted = intake.submit_report(request(report(vec![eth, eur]), "before")).await.unwrap().into_inner();
        drop(intake);
        // Back to the schema before `m0012`, whose rows held only `amount_minor`.
        server.kill9().unwrap();
        server.sql("ALTER TABLE payments DROP COLUMN amount_exact").unwrap();
        server.sql("DELETE FROM seaql_migrations WHERE version = 'm0012_exact_amounts'").unwrap();
        server.restart().await.unwrap();

        let mut triage = server.triage().await;
        let read =
            pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(submitted.report_id)) };
        let payments = triage.get_report(read).await.unwrap().into_inner().report.unwrap().report.unwrap().payments;
        let back: Vec<_> = payments.iter().map(|p| (p.currency.as_str(), p.amount.as_str(), p.amount_minor)).collect();
        assert_eq!(back, [("ETH", "9.223372036854775807", i64::MAX), ("EUR", "12345.67", 1_234_567)], "{backend:?}");
    }
}

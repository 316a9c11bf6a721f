//! The server under the worst a single intake key and a liaison key can send: 64 clients sending
//! the largest requests the server takes, every one of them bad, for 30 seconds (or
//! `SCAMTRAIL_HOSTILE_LOAD_SECONDS`), with the rate limits off. Every answer must be a clean
//! `INVALID_ARGUMENT`, the server must keep serving, and its peak resident memory must stay under
//! 300 MiB. Bad requests are refused before the store, so one database is enough.

use std::time::{Duration, Instant};

use prost::Message;
use scamtrail_core::limits;
use scamtrail_e2e::{Backend, TestServer};
use scamtrail_proto::v1 as pb;
use tonic::Code;

/// Peak resident memory allowed to the server, in KiB.
const PEAK_RSS_MAX_KIB: u64 = 300 * 1024;
/// Clients sending at once.
const CLIENTS: usize = 64;

/// Bytes of one request at most: the server's message limit, less room for framing.
const REQUEST_BYTES: usize = limits::MESSAGE_MAX_BYTES - 64;

/// A `SubmitReport` of half a million undefined contact channels.
fn flood_of_channels() -> pb::SubmitReportRequest {
    let mut report = pb::Report { narrative: "x".into(), ..Default::default() };
    let per_value = 2;
    report.contact_channels = vec![999; (REQUEST_BYTES - 64) / per_value];
    while report.encoded_len() > REQUEST_BYTES {
        report.contact_channels.pop();
    }
    pb::SubmitReportRequest { report: Some(report), client_request_id: String::new() }
}

/// A `SubmitReport` whose narrative of identifiers runs far past its limit.
fn narrative_of_identifiers() -> pb::SubmitReportRequest {
    let line = "Paid DE89 3704 0044 0532 0130 00, called +44 20 7946 0958, 4111 1111 1111 1111. ";
    let narrative = line.repeat(REQUEST_BYTES / line.len() - 1);
    let report = pb::Report { category: 1, narrative, ..Default::default() };
    pb::SubmitReportRequest { report: Some(report), client_request_id: String::new() }
}

/// A thousand values (the batch's bound), each twice as long as a value may be.
fn long_values() -> Vec<pb::ScammerIdentifier> {
    let value = "DE89 3704 0044 0532 0130 00 ".repeat(limits::IDENTIFIER_VALUE_MAX_CHARS * 2 / 28);
    vec![pb::ScammerIdentifier { value, ..Default::default() }; 1_000]
}

/// The server's resident memory now and at its peak, in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_bad_requests_from_64_clients_stay_under_300_mib() {
    let seconds: u64 = std::env::var("SCAMTRAIL_HOSTILE_LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let limits_off = ["--intake-rate-per-key", "0", "--intake-rate-per-peer", "0"];
    let server = TestServer::start_with(Backend::Sqlite, &limits_off).await.unwrap();
    let pid = server.pid().unwrap();
    let intake_key = server.token("hostile-frontend", "intake").await;
    let liaison_key = server.token("hostile-police", "liaison").await;
    let (_, before) = rss_kib(pid);

    let submits = [flood_of_channels(), narrative_of_identifiers()];
    let values = long_values();
    let details = pb::AddReportDetailsRequest {
        reference: "ST-7K3M-9QXD".into(),
        secret: "0000-0000".into(),
        narrative: "x".repeat(REQUEST_BYTES - 64),
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        let (intake, lookup) = (server.authed(&intake_key).await, server.authed(&liaison_key).await);
        let mut intake = pb::intake_service_client::IntakeServiceClient::new(intake).max_encoding_message_size(2 << 20);
        let mut lookup = pb::lookup_service_client::LookupServiceClient::new(lookup).max_encoding_message_size(2 << 20);
        let (submits, values, details) = (submits.clone(), values.clone(), details.clone());
        clients.push(tokio::spawn(async move {
            let mut answered = 0u64;
            let mut i = n;
            while Instant::now() < deadline {
                let outcome = match i % 5 {
                    0 | 1 => intake.submit_report(submits[i % 2].clone()).await.map(drop),
                    2 => intake
                        .normalize_identifiers(pb::NormalizeIdentifiersRequest {
                            values: values.clone(),
                            country: String::new(),
                        })
                        .await
                        .map(drop),
                    3 => lookup
                        .lookup_identifiers(pb::LookupIdentifiersRequest {
                            values: values.clone(),
                            country: String::new(),
                        })
                        .await
                        .map(drop),
                    _ => intake.add_report_details(details.clone()).await.map(drop),
                };
                let status = outcome.expect_err("every request is bad");
                assert_eq!(status.code(), Code::InvalidArgument, "call {i}: {status:?}");
                assert!(status.message().len() < 4_096, "call {i}: a message of {} bytes", status.message().len());
                answered += 1;
                i += 1;
            }
            answered
        }));
    }
    let mut peak_sampled = 0;
    while Instant::now() < deadline {
        peak_sampled = peak_sampled.max(rss_kib(pid).0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut answered = 0;
    for client in clients {
        answered += client.await.expect("a client failed");
    }
    let (_, peak) = rss_kib(pid);
    eprintln!(
        "{answered} bad requests from {CLIENTS} clients in {seconds} s; server peak RSS {} MiB \
         (sampled {} MiB, {} MiB before the load)",
        peak / 1024,
        peak_sampled / 1024,
        before / 1024
    );
    assert!(answered >= CLIENTS as u64, "only {answered} calls were answered");
    assert!(peak > 0, "the server's memory could not be read");
    assert!(peak < PEAK_RSS_MAX_KIB, "the server peaked at {} MiB", peak / 1024);
    // Still serving: an honest report goes in.
    let mut intake = server.intake().await;
    intake.submit_report(scamtrail_e2e::request(scamtrail_e2e::sample_report(), "")).await.unwrap();
}

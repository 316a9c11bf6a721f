//! SubmitReport and GetReport through a real tonic client, on SQLite and PostgreSQL.

use scamtrail_e2e::{BACKENDS, Backend, TestServer, request, sample_report, violations};
use scamtrail_proto::v1::{self as pb, get_report_request::Selector, identifier_outcome::Result as Outcome};
use tonic::Code;

#[tokio::test]
async fn a_submitted_report_reads_back_whole_by_id_and_by_reference() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let sent = sample_report();
        let answer = server.intake().await.submit_report(request(sent.clone(), "req-1")).await.unwrap().into_inner();
        assert!(!answer.replayed);
        let reference = &answer.reference;
        assert_eq!(reference.len(), 12, "{reference}");
        assert!(reference.starts_with("ST-") && reference.as_bytes()[7] == b'-', "{reference}");

        // Outcomes: beneficiary first, then the identifiers in request order.
        let keys: Vec<String> = answer
            .identifiers
            .iter()
            .map(|o| match &o.result {
                Some(Outcome::Normalized(n)) => n.key.clone(),
                Some(Outcome::Unverified(u)) => format!("unverified:{}", u.reason),
                None => "none".into(),
            })
            .collect();
        assert_eq!(
            keys,
            ["iban:GB82WEST12345698765432", "tel:+442079460958", "domain:trade-fx.co.uk", "unverified:IBAN_CHECKSUM"],
            "{backend:?}"
        );

        let mut triage = server.triage().await;
        let by_id = triage
            .get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(answer.report_id)) })
            .await
            .unwrap()
            .into_inner()
            .report
            .unwrap();
        let typed = reference.to_lowercase().replace('-', " ");
        let by_reference = triage
            .get_report(pb::GetReportRequest { selector: Some(Selector::Reference(typed)) })
            .await
            .unwrap()
            .into_inner()
            .report
            .unwrap();
        assert_eq!(by_id, by_reference);
        assert_eq!(by_id.reference, *reference);
        assert_eq!(by_id.client_request_id, "req-1");
        let mut expected = sent.clone();
        expected.victim.as_mut().unwrap().country = "GB".into(); // stored canonical
        expected.payments[0].amount = "2500".into(); // answers carry the exact decimal beside amount_minor
        assert_eq!(by_id.report.as_ref().unwrap(), &expected, "{backend:?}: the report must read back as sent");
        // Stored identifiers: 1 beneficiary + 3 typed + suggestions found in the narrative.
        let typed_ids: Vec<_> = by_id.identifiers.iter().filter(|i| !i.suggested).collect();
        assert_eq!(typed_ids.len(), 4);
        assert_eq!(typed_ids[0].payment_index, Some(0));
        assert!(typed_ids[1..].iter().all(|i| i.payment_index.is_none()));
        let suggested: Vec<String> = by_id
            .identifiers
            .iter()
            .filter(|i| i.suggested)
            .filter_map(|i| match &i.outcome.as_ref()?.result {
                Some(Outcome::Normalized(n)) => Some(n.key.clone()),
                _ => None,
            })
            .collect();
        assert!(suggested.contains(&"tel:+442079460958".to_owned()), "{suggested:?}");
        assert!(suggested.contains(&"domain:trade-fx.co.uk".to_owned()), "{suggested:?}");
    }
}

#[tokio::test]
async fn an_unknown_report_is_not_found() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let err = server
        .triage()
        .await
        .get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(424_242)) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = server
        .triage()
        .await
        .get_report(pb::GetReportRequest { selector: Some(Selector::Reference("ST-0000".into())) })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), [("reference".to_owned(), "INVALID_REFERENCE".to_owned())]);
}

#[tokio::test]
async fn the_same_client_request_id_stores_one_report_even_when_sent_concurrently() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let client = server.intake().await;
        // A retry sends the same bytes: one report, built once (its dates are relative to now).
        let report = sample_report();
        let first = client.clone().submit_report(request(report.clone(), "retry-me")).await.unwrap().into_inner();
        let again = client.clone().submit_report(request(report.clone(), "retry-me")).await.unwrap().into_inner();
        assert!(again.replayed);
        assert_eq!(
            (again.report_id, &again.reference, again.received_at),
            (first.report_id, &first.reference, first.received_at)
        );

        // 16 concurrent calls with one new key: one report, one id for all.
        let calls = (0..16).map(|_| {
            let (mut c, report) = (client.clone(), report.clone());
            tokio::spawn(async move { c.submit_report(request(report, "burst")).await.unwrap().into_inner() })
        });
        let answers: Vec<_> = futures_join(calls).await;
        let ids: std::collections::BTreeSet<i64> = answers.iter().map(|a| a.report_id).collect();
        assert_eq!(ids.len(), 1, "{backend:?}: {ids:?}");
        assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1, "{backend:?}");

        // A different key makes a new report: exactly three reports exist (ids 1..=3 in order).
        let other = client.clone().submit_report(request(sample_report(), "another")).await.unwrap().into_inner();
        assert_ne!(other.report_id, first.report_id);
        let mut triage = server.triage().await;
        let mut found = 0;
        for id in 1..=other.report_id + 5 {
            if triage.get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(id)) }).await.is_ok() {
                found += 1;
            }
        }
        assert_eq!(found, 3, "{backend:?}");
    }
}

async fn futures_join<T: Send + 'static>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

/// SIGTERM while reports are being submitted: calls in flight are answered (later ones are refused
/// or never sent; none is cut off), the server exits cleanly, and every report it acknowledged,
/// before or during the shutdown, is there after a restart.
// Several threads: the test blocks one of them waiting for the server to exit while the
// submitting tasks go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_server_stop_cleanly_and_nothing_acknowledged_is_lost() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        let intake = server.intake().await;
        let terminating = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let (mut intake, terminating) = (intake.clone(), terminating.clone());
                tokio::spawn(async move {
                    // (client request id, report id, reference, answered after SIGTERM was sent)
                    let mut acked = Vec::new();
                    for n in 0.. {
                        let crid = format!("sigterm-{w}-{n}");
                        match intake.submit_report(request(sample_report(), &crid)).await {
                            Ok(answer) => {
                                let answer = answer.into_inner();
                                let during = terminating.load(Ordering::SeqCst);
                                acked.push((crid, answer.report_id, answer.reference, during));
                            }
                            // Refused by a stopping server, or never sent: a drained stop.
                            Err(status)
                                if matches!(status.code(), Code::Unavailable | Code::Cancelled)
                                    && scamtrail_e2e::connection_lost(&status) =>
                            {
                                break;
                            }
                            // Sent, and the connection broke before the answer: a call cut off.
                            Err(status) if scamtrail_e2e::connection_lost(&status) => {
                                panic!("{crid}: cut off in flight: {status:?}")
                            }
                            Err(status) => panic!("{crid}: answered with an error: {status:?}"),
                        }
                    }
                    acked
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        server.sigterm().unwrap();
        terminating.store(true, Ordering::SeqCst);
        let sent_at = Instant::now();
        assert!(server.wait_exit().unwrap(), "{backend:?}: exit status after SIGTERM; log:\n{}", server.log());
        assert!(server.log().contains("shutting down"));
        assert!(sent_at.elapsed() < Duration::from_secs(10), "{backend:?}: stopping took {:?}", sent_at.elapsed());
        let acked: Vec<_> = futures_join(writers.into_iter()).await.into_iter().flatten().collect();
        let during = acked.iter().filter(|a| a.3).count();
        assert!(acked.len() > during, "{backend:?}: nothing was acknowledged before SIGTERM");
        assert!(during > 0, "{backend:?}: no call in flight at SIGTERM was answered ({} acknowledged)", acked.len());

        server.restart().await.unwrap();
        let mut triage = server.triage().await;
        for (crid, id, reference, _) in &acked {
            let read = triage.get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(*id)) }).await;
            let read = read.unwrap_or_else(|e| panic!("{backend:?}: acknowledged report {id} is lost: {e}"));
            let stored = read.into_inner().report.unwrap();
            assert_eq!((&stored.reference, &stored.client_request_id), (reference, crid), "{backend:?}");
        }
        eprintln!("{backend:?}: {} reports acknowledged, {during} of them after SIGTERM, all stored", acked.len());
    }
}

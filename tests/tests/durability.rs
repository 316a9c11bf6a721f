//! No acknowledged report is ever lost: reports are submitted concurrently while the server is
//! killed with SIGKILL several times; after each restart, every acknowledged report must be there
//! exactly once (a retry with its client request id answers with the same report), and the
//! clusters must be those a full recluster rebuilds. On SQLite and PostgreSQL, bounded in time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scamtrail_e2e::scenario;
use scamtrail_e2e::{BACKENDS, Bearer, TestServer, request};
use scamtrail_proto::v1::{self as pb, get_report_request::Selector};
use tonic::service::interceptor::InterceptedService;

const WRITERS: usize = 16;
const KILLS: usize = 3;
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(700);

/// The reports of the run: a scenario of networks, each with its client request id.
fn workload() -> Vec<(String, pb::Report)> {
    let nets = scenario::networks(200);
    scenario::reports(&nets, 100)
        .into_iter()
        .enumerate()
        .map(|(i, (_, report))| (format!("durability-{i}"), report))
        .collect()
}

/// What the clients saw: acknowledged client request ids and their report ids.
type Acked = Arc<Mutex<BTreeMap<String, i64>>>;

/// Submits from `WRITERS` tasks, each taking the next unacknowledged report, until `until` or
/// the server goes away; a report whose call failed is sent again, with the same client request
/// id, in the next round.
async fn load(addr: String, token: String, work: Arc<Vec<(String, pb::Report)>>, acked: Acked, until: Instant) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (addr, token, work, acked, next) = (addr.clone(), token.clone(), work.clone(), acked.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await
            else {
                return;
            };
            let authed = InterceptedService::new(channel, Bearer::new(&token));
            let mut client = pb::intake_service_client::IntakeServiceClient::new(authed);
            while Instant::now() < until {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= 2 * work.len() {
                    return; // everything was offered twice
                }
                let i = i % work.len();
                let (crid, report) = &work[i];
                if acked.lock().unwrap().contains_key(crid) {
                    continue;
                }
                match client.submit_report(request(report.clone(), crid)).await {
                    Ok(answer) => {
                        let answer = answer.into_inner();
                        let previous = acked.lock().unwrap().insert(crid.clone(), answer.report_id);
                        assert!(previous.is_none_or(|p| p == answer.report_id), "{crid}: two ids");
                    }
                    Err(_) => return, // the server is gone; the next round reconnects
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn cluster_of(server: &TestServer, ids: &[i64]) -> BTreeMap<i64, i64> {
    let mut triage = server.triage().await;
    let mut out = BTreeMap::new();
    for &id in ids {
        let r = triage.get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(id)) }).await;
        let r = r.unwrap_or_else(|e| panic!("acknowledged report {id} is missing: {e}")).into_inner().report.unwrap();
        out.insert(id, r.cluster_id);
    }
    out
}

fn partition(clusters: &BTreeMap<i64, i64>) -> BTreeSet<BTreeSet<i64>> {
    let mut by: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (&report, &cluster) in clusters {
        by.entry(cluster).or_default().insert(report);
    }
    by.into_values().collect()
}

#[tokio::test]
async fn no_acknowledged_report_is_lost_across_kill_9() {
    let started = Instant::now();
    let work = Arc::new(workload());
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        let token = server.token("durability", "intake").await;
        let acked: Acked = Arc::default();
        for round in 0..KILLS {
            let until = Instant::now() + LOAD_BEFORE_KILL;
            let loader = tokio::spawn(load(
                server.addr.clone(),
                token.clone(),
                work.clone(),
                acked.clone(),
                until + Duration::from_secs(5),
            ));
            tokio::time::sleep_until(until.into()).await;
            server.kill9().unwrap(); // mid-load: calls in flight are cut off
            loader.await.unwrap();
            server.restart().await.unwrap();
            let count = acked.lock().unwrap().len();
            assert!(count > 0, "{backend:?}: round {round} acknowledged nothing; log:\n{}", server.log());
        }
        // Every acknowledged report is there, once: its retry answers with the same id.
        let acked = acked.lock().unwrap().clone();
        // (The same key: client request ids belong to the caller that sent them.)
        let mut intake = pb::intake_service_client::IntakeServiceClient::new(server.authed(&token).await);
        for (crid, id) in &acked {
            let report = work.iter().find(|(c, _)| c == crid).map(|(_, r)| r.clone()).unwrap();
            let again = intake.submit_report(request(report, crid)).await.unwrap().into_inner();
            assert!(again.replayed, "{backend:?}: {crid} was stored again");
            assert_eq!(again.report_id, *id, "{backend:?}: {crid}");
        }
        // The clusters the incremental path left, through crashes, are those a full recluster makes.
        let ids: Vec<i64> = acked.values().copied().collect();
        let incremental = cluster_of(&server, &ids).await;
        server.kill9().unwrap();
        server.run_command(&["recluster"]).unwrap();
        server.restart().await.unwrap();
        let rebuilt = cluster_of(&server, &ids).await;
        assert_eq!(partition(&rebuilt), partition(&incremental), "{backend:?}");
        assert!(acked.len() < work.len(), "{backend:?}: the kills came too late to cut off any load");
        eprintln!(
            "{backend:?}: {} of {} reports acknowledged across {KILLS} kills, all present once ({:?})",
            acked.len(),
            work.len(),
            started.elapsed()
        );
    }
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
}

//! A realistic scenario end to end: ten scam networks rotating IBANs, numbers, domains and
//! wallets, written in many formats by different victims, with benign identifiers from the
//! shipped safelist shared across networks. On SQLite and PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use scamtrail_e2e::scenario::{self, Network};
use scamtrail_e2e::{BACKENDS, Backend, TestServer, request};
use scamtrail_proto::v1::{self as pb, get_report_request::Selector};

const NETWORKS: usize = 10;
const PER_NETWORK: usize = 20;

/// Submits reports with `concurrency` calls in flight; returns (network, report id, cluster id).
async fn submit_all(
    server: &TestServer,
    reports: Vec<(usize, pb::Report)>,
    concurrency: usize,
) -> Vec<(usize, i64, i64)> {
    let client = server.intake().await;
    let mut out = Vec::with_capacity(reports.len());
    for chunk in reports.chunks(concurrency) {
        let calls: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|(network, report)| {
                let mut c = client.clone();
                tokio::spawn(async move {
                    let a = c.submit_report(request(report, "")).await.expect("submit").into_inner();
                    (network, a.report_id, a.cluster_id)
                })
            })
            .collect();
        for call in calls {
            out.push(call.await.unwrap());
        }
    }
    out
}

/// The partition as it stands now: the set of report-id sets, read through GetReport.
async fn partition(server: &TestServer, report_ids: &[i64]) -> BTreeSet<BTreeSet<i64>> {
    let mut triage = server.triage().await;
    let mut by_cluster: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for &id in report_ids {
        let r = triage
            .get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(id)) })
            .await
            .unwrap()
            .into_inner()
            .report
            .unwrap();
        assert!(r.cluster_id > 0, "report {id} has no cluster");
        by_cluster.entry(r.cluster_id).or_default().insert(id);
    }
    by_cluster.into_values().collect()
}

fn networks_of(submitted: &[(usize, i64, i64)]) -> BTreeSet<BTreeSet<i64>> {
    let mut by_network: BTreeMap<usize, BTreeSet<i64>> = BTreeMap::new();
    for &(n, report, _) in submitted {
        by_network.entry(n).or_default().insert(report);
    }
    by_network.into_values().collect()
}

#[tokio::test]
async fn ten_networks_give_exactly_ten_clusters_and_recall_comes_first() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let nets = scenario::networks(NETWORKS);
        let submitted = submit_all(&server, scenario::reports(&nets, PER_NETWORK), 16).await;
        let ids: Vec<i64> = submitted.iter().map(|s| s.1).collect();
        let found = partition(&server, &ids).await;
        assert_eq!(found.len(), NETWORKS, "{backend:?}: clusters {found:?}");
        assert_eq!(found, networks_of(&submitted), "{backend:?}: each cluster must be exactly one network");

        // Which network each cluster is.
        let network_of_cluster: BTreeMap<i64, usize> = {
            let mut triage = server.triage().await;
            let mut m = BTreeMap::new();
            for &(n, report, _) in submitted.iter().filter(|s| s.1 % 7 == 0 || s.1 <= 10) {
                let r = triage
                    .get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(report)) })
                    .await
                    .unwrap()
                    .into_inner()
                    .report
                    .unwrap();
                m.insert(r.cluster_id, n);
            }
            m
        };
        assert_eq!(network_of_cluster.len(), NETWORKS, "{backend:?}");
        let recent: BTreeSet<usize> =
            nets.iter().filter(|n| n.recent_bank_transfers).map(|n: &Network| n.index).collect();

        let mut triage = server.triage().await;
        let golden = triage
            .list_queue(pb::ListQueueRequest { queue: pb::Queue::GoldenHour as i32, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        let golden_networks: BTreeSet<usize> =
            golden.clusters.iter().map(|c| network_of_cluster[&c.cluster_id]).collect();
        assert_eq!(
            golden_networks, recent,
            "{backend:?}: the golden-hour queue holds the networks with recent transfers"
        );

        // In the queue of every unclaimed cluster, recoverable money outranks larger old losses.
        let all = triage
            .list_queue(pb::ListQueueRequest { queue: pb::Queue::New as i32, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(all.clusters.len(), NETWORKS);
        let first_half: BTreeSet<usize> =
            all.clusters[..recent.len()].iter().map(|c| network_of_cluster[&c.cluster_id]).collect();
        assert_eq!(first_half, recent, "{backend:?}: networks with recent bank transfers come first");
        let top = &all.clusters[0];
        let parts: BTreeMap<&str, f64> =
            top.priority.as_ref().unwrap().components.iter().map(|c| (c.name.as_str(), c.value)).collect();
        assert!(parts["recoverable_money"] > 0.0, "{parts:?}");
        assert_eq!(top.report_count, PER_NETWORK as i64);
        assert_eq!(top.victim_count, PER_NETWORK as i64);
        let last = all.clusters.last().unwrap();
        assert!(
            last.total_loss.as_ref().unwrap().amount_minor > top.total_loss.as_ref().unwrap().amount_minor,
            "the old networks lost more, and still rank lower"
        );
        // Benign identifiers are stored but link nothing: no cluster lists them.
        let detail = triage
            .get_cluster(pb::GetClusterRequest { cluster_id: top.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner();
        assert!(detail.identifiers.iter().all(|i| !i.key.contains("binance") && !i.key.contains("28c6c062")));
        assert_eq!(detail.reports.len(), PER_NETWORK);
    }
}

#[tokio::test]
async fn the_same_reports_in_any_order_give_the_same_partition() {
    let nets = scenario::networks(4);
    let reports = scenario::reports(&nets, 12);
    let mut partitions = Vec::new();
    // Forward one at a time, backward, and interleaved with many in flight (so batches differ).
    let mut backward = reports.clone();
    backward.reverse();
    let mut interleaved = reports.clone();
    interleaved.sort_by_key(|(n, r)| (r.narrative.len() * 7 + n * 13) % 11);
    for (order, concurrency) in [(reports.clone(), 1), (backward, 1), (interleaved, 24)] {
        let server = TestServer::start(Backend::Sqlite).await.unwrap();
        let narratives: Vec<String> = order.iter().map(|(_, r)| r.narrative.clone()).collect();
        let submitted = submit_all(&server, order, concurrency).await;
        let ids: Vec<i64> = submitted.iter().map(|s| s.1).collect();
        // Report ids differ between orders: name each report by its (unique) narrative instead.
        let name_of: BTreeMap<i64, String> = ids.iter().copied().zip(narratives).collect();
        let found = partition(&server, &ids).await;
        assert_eq!(found.len(), 4);
        let named: BTreeSet<BTreeSet<String>> =
            found.iter().map(|set| set.iter().map(|id| name_of[id].clone()).collect()).collect();
        partitions.push(named);
    }
    assert!(partitions.windows(2).all(|w| w[0] == w[1]), "{partitions:?}");
}

#[tokio::test]
async fn recluster_rebuilds_the_partition_the_incremental_path_made() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        let nets = scenario::networks(6);
        let submitted = submit_all(&server, scenario::reports(&nets, 10), 8).await;
        let ids: Vec<i64> = submitted.iter().map(|s| s.1).collect();
        // Exclude every IBAN of network 0 (its reports then hang together only by phones and
        // wallets, which splits it) and safelist a phone of network 1 (still held by its IBANs).
        let mut triage = server.triage_as("analyst").await;
        let mut decisions: Vec<(String, pb::IdentifierState)> =
            nets[0].ibans.iter().map(|i| (format!("iban:{i}"), pb::IdentifierState::Excluded)).collect();
        decisions.push((format!("tel:+44{}", nets[1].phones[0]), pb::IdentifierState::Safelisted));
        for (key, state) in decisions {
            triage
                .set_identifier_state(pb::SetIdentifierStateRequest {
                    key,
                    state: state as i32,
                    reason: "test".into(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let incremental = partition(&server, &ids).await;
        let clusters_before: BTreeMap<i64, i64> = {
            let mut t = server.triage().await;
            let mut m = BTreeMap::new();
            for &id in &ids {
                let r = t.get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(id)) }).await.unwrap();
                m.insert(id, r.into_inner().report.unwrap().cluster_id);
            }
            m
        };
        assert!(incremental.len() > 6, "{backend:?}: the decisions split some networks: {incremental:?}");
        assert!(server.terminate().unwrap());
        let log = server.run_command(&["recluster"]).unwrap();
        assert!(log.contains("recluster done"), "{log}");
        server.restart().await.unwrap();
        let rebuilt = partition(&server, &ids).await;
        assert_eq!(rebuilt, incremental, "{backend:?}");
        // Cluster ids are kept: every report is in the cluster it was in.
        let mut t = server.triage().await;
        for &id in &ids {
            let r = t.get_report(pb::GetReportRequest { selector: Some(Selector::ReportId(id)) }).await.unwrap();
            assert_eq!(r.into_inner().report.unwrap().cluster_id, clusters_before[&id], "{backend:?}: report {id}");
        }
    }
}

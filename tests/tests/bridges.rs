//! The bridge rule in the store, through gRPC on SQLite and PostgreSQL: a bank's hotline named by
//! the victims of several networks is held at intake and does not fuse them (shown on their
//! clusters, in `ListBridges` and by `ExplainLink`), a mule account of one network with many
//! victims keeps linking, a mule shared by two networks links them and is marked, `recluster`
//! gives the partition intake gave, only a supervisor overrules a held identifier and the
//! overrule sticks; and on generated worlds whose benign identifiers nobody safelisted, the
//! partition through the store scores a B-cubed F1 of at least 0.95.

use std::collections::{BTreeMap, BTreeSet};

use scamtrail_e2e::{BACKENDS, TestServer, clusters_of, id, request, ts};
use scamtrail_load::scenario::german_iban;
use scamtrail_load::worlds::{self, World, b_cubed};
use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};

/// The bank's real customer service (UK freephone), which victims mention in passing.
const HOTLINE: &str = "0800 028 0000";
const HOTLINE_KEY: &str = "tel:+448000280000";

/// A victim's report: paid `account`, called by `phone`, and naming `others` (role, value).
fn report(account: &str, phone: &str, others: &[(R, &str)]) -> pb::Report {
    let mut identifiers = vec![id(phone, R::CallerNumber, K::Phone)];
    identifiers.extend(others.iter().map(|&(role, value)| id(value, role, K::Unspecified)));
    pb::Report {
        category: pb::ScamCategory::Investment as i32,
        narrative: "I called my bank, then paid where the broker said.".into(),
        payments: vec![pb::Payment {
            amount_minor: 150_000,
            currency: "EUR".into(),
            method: pb::PaymentMethod::BankTransfer as i32,
            paid_at: ts(86_400),
            beneficiaries: vec![id(account, R::BeneficiaryAccount, K::Iban)],
            ..Default::default()
        }],
        identifiers,
        victim: Some(pb::Victim { country: "GB".into(), ..Default::default() }),
        ..Default::default()
    }
}

/// Network `n`'s account and phone (a London number).
fn network(n: u64) -> (String, String) {
    (german_iban(37_040_044, 700_000_000 + n), format!("+44 20 7{:03} {:04}", 500 + n, 1_000 + n))
}

/// The mule account of the big network, and the one networks A and B share.
fn mule() -> String {
    german_iban(50_010_517, 5_401_000_101)
}
fn shared_mule() -> String {
    german_iban(50_010_517, 5_401_000_102)
}

/// Submits `reports` one by one, returning each one's (id, reference).
async fn submit(server: &TestServer, reports: Vec<pb::Report>) -> Vec<(i64, String)> {
    let mut intake = server.intake().await;
    let mut out = Vec::new();
    for r in reports {
        let answer = intake.submit_report(request(r, "")).await.unwrap().into_inner();
        out.push((answer.report_id, answer.reference));
    }
    out
}

/// The identifier with this key (or value) as a lookup sees it.
async fn identifier(server: &TestServer, key: &str) -> pb::IdentifierLookup {
    let lookup =
        pb::LookupIdentifiersRequest { values: vec![id(key, R::Unspecified, K::Unspecified)], country: "GB".into() };
    let mut found = server.lookup().await.lookup_identifiers(lookup).await.unwrap().into_inner();
    let found = found.results.remove(0);
    assert!(found.known, "{key} is known");
    found
}

/// The cluster of one report.
async fn cluster_of(server: &TestServer, report: i64) -> i64 {
    let selector = Some(pb::get_report_request::Selector::ReportId(report));
    let got = server.triage().await.get_report(pb::GetReportRequest { selector }).await.unwrap().into_inner();
    got.report.unwrap().cluster_id
}

/// Runs `scamtrail recluster` on the stopped server's database and starts it again.
async fn recluster(server: &mut TestServer) {
    server.terminate().unwrap();
    server.run_command(&["recluster"]).unwrap();
    server.restart().await.unwrap();
}

#[tokio::test]
async fn a_hotline_across_networks_is_held_mules_link_and_a_supervisor_overrules_for_good() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        // Five networks of four victims; two of each mention the hotline ("I called my bank at…").
        let mut small: Vec<Vec<(i64, String)>> = Vec::new();
        for n in 0..5 {
            let (account, phone) = network(n);
            let reports = (0..4)
                .map(|i| {
                    let others: &[(R, &str)] = if i % 2 == 0 { &[(R::Other, HOTLINE)] } else { &[] };
                    report(&account, &phone, others)
                })
                .collect();
            small.push(submit(&server, reports).await);
        }
        // One network's 40 victims pay one mule account, called from two phones (some from both).
        let phones = ["+44 20 7946 0100", "+44 20 7946 0101"];
        let big: Vec<pb::Report> = (0..40usize)
            .map(|i| {
                let others: &[(R, &str)] = if i % 4 == 0 { &[(R::CallerNumber, phones[(i / 2 + 1) % 2])] } else { &[] };
                report(&mule(), phones[(i / 2) % 2], others)
            })
            .collect();
        let big = submit(&server, big).await;
        // Networks A and B (six victims each): half of each also pay a shared mule service.
        let mut pair = Vec::new();
        for n in [10, 11] {
            let (account, phone) = network(n);
            let reports = (0..6)
                .map(|i| {
                    let mut r = report(&account, &phone, &[]);
                    if i % 2 == 0 {
                        r.payments[0].beneficiaries.push(id(&shared_mule(), R::BeneficiaryAccount, K::Iban));
                    }
                    r
                })
                .collect();
            pair.push(submit(&server, reports).await);
        }

        // The hotline is held: the five networks stay apart, each whole.
        let hotline = identifier(&server, HOTLINE_KEY).await;
        assert_eq!(hotline.state(), pb::IdentifierState::Held, "{backend:?}: {hotline:?}");
        assert_eq!(hotline.bridge(), pb::BridgeStanding::Held, "{backend:?}");
        assert!(hotline.bridge_groups >= 2, "{backend:?}: {hotline:?}");
        assert!(hotline.bridge_detail.starts_with("possible bridge to clusters"), "{backend:?}: {hotline:?}");
        assert_eq!(hotline.cluster_id, 0, "{backend:?}: a held identifier links no cluster");
        let mut small_clusters = BTreeSet::new();
        for net in &small {
            let clusters: BTreeSet<i64> = futures_clusters(&server, &net.iter().map(|r| r.0).collect::<Vec<_>>()).await;
            assert_eq!(clusters.len(), 1, "{backend:?}: a network stays whole");
            small_clusters.extend(clusters);
        }
        assert_eq!(small_clusters.len(), 5, "{backend:?}: the hotline does not fuse the networks");
        // The mule of one network keeps linking its 40 victims.
        let mule_id = identifier(&server, &format!("iban:{}", mule())).await;
        assert_eq!(
            (mule_id.state(), mule_id.bridge(), mule_id.report_count),
            (pb::IdentifierState::Normal, pb::BridgeStanding::Unspecified, 40),
            "{backend:?}"
        );
        let big_clusters = futures_clusters(&server, &big.iter().map(|r| r.0).collect::<Vec<_>>()).await;
        assert_eq!(big_clusters.len(), 1, "{backend:?}");
        // The shared mule links A and B and is marked.
        let shared = identifier(&server, &format!("iban:{}", shared_mule())).await;
        assert_eq!((shared.state(), shared.bridge()), (pb::IdentifierState::Normal, pb::BridgeStanding::Marked));
        assert_eq!(shared.bridge_groups, 2, "{backend:?}: {shared:?}");
        let (a, b) = (pair[0][0].0, pair[1][0].0);
        let ab = cluster_of(&server, a).await;
        assert_eq!(cluster_of(&server, b).await, ab, "{backend:?}: the shared mule links A and B");

        // Shown where identifier states are shown: the cluster, ExplainLink, the bridges list.
        let mut triage = server.triage().await;
        let detail = triage
            .get_cluster(pb::GetClusterRequest { cluster_id: cluster_of(&server, small[0][0].0).await, max_reports: 0 })
            .await
            .unwrap()
            .into_inner();
        let shown: Vec<(&str, pb::BridgeStanding)> =
            detail.bridges.iter().map(|i| (i.key.as_str(), i.bridge())).collect();
        assert_eq!(shown, [(HOTLINE_KEY, pb::BridgeStanding::Held)], "{backend:?}");
        let detail =
            triage.get_cluster(pb::GetClusterRequest { cluster_id: ab, max_reports: 0 }).await.unwrap().into_inner();
        assert_eq!(detail.bridges.len(), 1, "{backend:?}");
        assert_eq!(detail.bridges[0].bridge(), pb::BridgeStanding::Marked, "{backend:?}");
        // The cluster's GraphML marks the shared mule as the bridge it is, and nothing else.
        let token = server.token("export-investigator", "investigator").await;
        let mut exports =
            scamtrail_proto::v1::export_service_client::ExportServiceClient::new(server.authed(&token).await);
        let request =
            pb::ExportClusterRequest { cluster_id: ab, format: pb::ExportFormat::Graphml as i32, options: None };
        let mut stream = exports.export_cluster(request).await.unwrap().into_inner();
        let mut graphml = vec![];
        while let Some(chunk) = stream.message().await.unwrap() {
            graphml.extend(chunk.data);
        }
        let graphml = String::from_utf8(graphml).unwrap();
        let bridges: Vec<&str> = graphml
            .split("<node id=\"")
            .skip(1)
            .filter(|node| node.contains("<data key=\"bridge\">true</data>"))
            .map(|node| node.split('"').next().unwrap_or_default())
            .collect();
        assert_eq!(bridges, [format!("iban:{}", shared_mule())], "{backend:?}");
        assert!(graphml.contains("<data key=\"standing\">marked</data>"), "{backend:?}");
        let apart = triage
            .explain_link(pb::ExplainLinkRequest { report_a: small[0][0].0, report_b: small[1][0].0 })
            .await
            .unwrap()
            .into_inner();
        assert!(!apart.linked, "{backend:?}");
        let held: Vec<(&str, i64)> = apart.bridges.iter().map(|i| (i.key.as_str(), i.bridge_groups)).collect();
        assert_eq!(
            held,
            [(HOTLINE_KEY, hotline.bridge_groups)],
            "{backend:?}: the held identifier that would link them"
        );
        let joined =
            triage.explain_link(pb::ExplainLinkRequest { report_a: a, report_b: b }).await.unwrap().into_inner();
        assert!(joined.linked, "{backend:?}");
        assert_eq!(joined.bridges.len(), 1, "{backend:?}: the path goes through the marked mule");
        assert_eq!(joined.bridges[0].key, format!("iban:{}", shared_mule()));
        let listed = triage.list_bridges(pb::ListBridgesRequest::default()).await.unwrap().into_inner();
        let listed: BTreeMap<String, pb::BridgeStanding> =
            listed.identifiers.iter().map(|i| (i.key.clone(), i.bridge())).collect();
        assert_eq!(listed.get(HOTLINE_KEY), Some(&pb::BridgeStanding::Held), "{backend:?}");
        assert_eq!(listed.get(&format!("iban:{}", shared_mule())), Some(&pb::BridgeStanding::Marked));
        assert!(!listed.contains_key(&format!("iban:{}", mule())), "{backend:?}");
        let page = triage
            .list_bridges(pb::ListBridgesRequest { page_size: 1, page_token: String::new() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.identifiers.len(), 1);
        let next = triage
            .list_bridges(pb::ListBridgesRequest { page_size: 1, page_token: page.next_page_token.clone() })
            .await
            .unwrap()
            .into_inner();
        assert_ne!(next.identifiers[0].key, page.identifiers[0].key, "{backend:?}: pages go on");
        let bad = triage.list_bridges(pb::ListBridgesRequest { page_size: 501, page_token: "x".into() }).await;
        let fields: Vec<String> = scamtrail_e2e::violations(&bad.unwrap_err()).into_iter().map(|v| v.0).collect();
        assert_eq!(fields, ["page_size", "page_token"], "{backend:?}");

        // Recluster gives the partition intake gave, and holds the hotline again.
        let everything: Vec<(i64, String)> =
            small.iter().flatten().chain(&big).chain(pair.iter().flatten()).cloned().collect();
        let at_intake = clusters_of(&server, &everything).await;
        recluster(&mut server).await;
        assert_eq!(clusters_of(&server, &everything).await, at_intake, "{backend:?}: recluster equals intake");
        let hotline = identifier(&server, HOTLINE_KEY).await;
        assert_eq!((hotline.state(), hotline.bridge_groups), (pb::IdentifierState::Held, 5), "{backend:?}");

        // Only the rule holds, and only a supervisor overrules.
        let mut triage = server.triage().await;
        let hold = pb::SetIdentifierStateRequest {
            key: HOTLINE_KEY.into(),
            state: pb::IdentifierState::Held as i32,
            reason: "by hand".into(),
            country: String::new(),
        };
        let refused = triage.set_identifier_state(hold).await.unwrap_err();
        assert_eq!(scamtrail_e2e::violations(&refused)[0].0, "state", "{backend:?}");
        let link = pb::SetIdentifierStateRequest {
            key: HOTLINE_KEY.into(),
            state: pb::IdentifierState::Normal as i32,
            reason: "the banks' shared fraud line, run by the scammers".into(),
            country: String::new(),
        };
        let token = server.token("an-investigator", "investigator").await;
        let mut investigator = pb::triage_service_client::TriageServiceClient::new(server.authed(&token).await);
        let denied = investigator.set_identifier_state(link.clone()).await.unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{backend:?}");
        let link_marked = pb::SetIdentifierStateRequest { key: format!("iban:{}", shared_mule()), ..link.clone() };
        let denied = investigator.set_identifier_state(link_marked).await.unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{backend:?}: linking a marked bridge for good");
        let linked = triage.set_identifier_state(link).await.unwrap().into_inner();
        let now = linked.identifier.unwrap();
        assert_eq!((now.state(), now.bridge()), (pb::IdentifierState::Normal, pb::BridgeStanding::Linked));
        assert_eq!(linked.changed_cluster_ids.len(), 1, "{backend:?}: the networks merge");
        // It sticks: more reports naming it (enough to judge it again), and a recluster.
        let (account, phone) = network(20);
        let more: Vec<pb::Report> = (0..8).map(|_| report(&account, &phone, &[(R::Other, HOTLINE)])).collect();
        let more = submit(&server, more).await;
        let merged = cluster_of(&server, small[0][0].0).await;
        assert_eq!(cluster_of(&server, more[0].0).await, merged, "{backend:?}: it links the new network too");
        recluster(&mut server).await;
        let hotline = identifier(&server, HOTLINE_KEY).await;
        assert_eq!((hotline.state(), hotline.bridge()), (pb::IdentifierState::Normal, pb::BridgeStanding::Linked));
        let merged = cluster_of(&server, small[0][0].0).await;
        for net in &small {
            assert_eq!(cluster_of(&server, net[0].0).await, merged, "{backend:?}: still linked after recluster");
        }
    }
}

/// The clusters of `reports`.
async fn futures_clusters(server: &TestServer, reports: &[i64]) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for &r in reports {
        out.insert(cluster_of(server, r).await);
    }
    out
}

/// Each report's cluster as a label `0..`, in submission order.
async fn labels(server: &TestServer, reports: &[(i64, String)]) -> Vec<usize> {
    let mut ids: BTreeMap<i64, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(reports.len());
    for (report, _) in reports {
        let c = cluster_of(server, *report).await;
        let next = ids.len();
        out.push(*ids.entry(c).or_insert(next));
    }
    out
}

/// A world's value's state and bridge standing, as a lookup finds it.
async fn state_of(server: &TestServer, value: &str) -> (pb::IdentifierState, pb::BridgeStanding) {
    let found = identifier(server, value).await;
    (found.state(), found.bridge())
}

#[tokio::test]
async fn a_generated_world_partitions_through_the_store_with_and_without_a_safelist() {
    let world = World { networks: 12, per_network: 12 };
    let ideal: Vec<usize> = world.reports().iter().map(|(group, _)| *group).collect();
    for backend in BACKENDS {
        for safelisted in [false, true] {
            let mut server = TestServer::start(backend).await.unwrap();
            if safelisted {
                let mut triage = server.triage().await;
                for value in worlds::benign_values() {
                    let decision = pb::SetIdentifierStateRequest {
                        key: value.clone(),
                        state: pb::IdentifierState::Safelisted as i32,
                        reason: "known benign".into(),
                        country: "GB".into(),
                    };
                    triage.set_identifier_state(decision).await.unwrap_or_else(|e| panic!("{value}: {e}"));
                }
            }
            let reports = submit(&server, world.reports().into_iter().map(|(_, r)| r).collect()).await;
            let at_intake = b_cubed(&labels(&server, &reports).await, &ideal).2;
            let partition = clusters_of(&server, &reports).await;
            recluster(&mut server).await;
            let rebuilt = b_cubed(&labels(&server, &reports).await, &ideal).2;
            eprintln!(
                "{backend:?}, {} reports, safelist {safelisted}: B-cubed F1 at intake {at_intake:.3}, after recluster {rebuilt:.3}",
                reports.len()
            );
            assert!(at_intake >= 0.95, "{backend:?} safelist {safelisted}: F1 at intake {at_intake}");
            assert!(rebuilt >= 0.95, "{backend:?} safelist {safelisted}: F1 after recluster {rebuilt}");
            assert_eq!(clusters_of(&server, &reports).await, partition, "{backend:?}: recluster equals intake");
            let expected = if safelisted { pb::IdentifierState::Safelisted } else { pb::IdentifierState::Held };
            for value in worlds::benign_values() {
                assert_eq!(state_of(&server, &value).await.0, expected, "{backend:?} {value}");
            }
            // The big network's own structure may leave its mule a marked bridge among a few of
            // its groups: it links either way.
            let (state, standing) = state_of(&server, &worlds::mule_account()).await;
            assert_eq!(state, pb::IdentifierState::Normal, "{backend:?}: the mule of one network keeps linking");
            assert_ne!(standing, pb::BridgeStanding::Held, "{backend:?}");
            assert_eq!(
                state_of(&server, &worlds::shared_mule_account()).await,
                (pb::IdentifierState::Normal, pb::BridgeStanding::Marked),
                "{backend:?}: the mule shared by two networks links them and is marked"
            );
        }
    }
}

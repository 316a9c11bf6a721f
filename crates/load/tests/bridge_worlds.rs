//! The bridge rule on generated worlds: every report mapped and normalised as `SubmitReport` does
//! (`scamtrail_server::wire::Intake`), linked on every key it implies, and the rule of
//! `scamtrail_core::settle` applied to the graph. Benign identifiers of each kind are shared across
//! many networks and not safelisted: the partition must still match the ideal one (B-cubed F1 ≥
//! 0.95), each benign identifier held, the mule of one network linking, the mule shared by two
//! networks linking and marked; and without the rule the same worlds collapse.

use std::collections::{BTreeMap, BTreeSet};

use scamtrail_core::{
    BridgeConfig, BridgeVerdict, Edge, LinkableIdentifier, UnixMicros, institutional_phone_type, settle,
};
use scamtrail_load::worlds::{self, World, b_cubed};
use scamtrail_normalize::{Country, Hint, Normalizer, NormalizerConfig};
use scamtrail_proto::v1 as pb;

/// A world as a graph: edges, identifier ids by key, institutional identifiers, each report's
/// ideal group.
struct Graph {
    edges: Vec<Edge>,
    keys: BTreeMap<String, i64>,
    institutional: BTreeSet<i64>,
    ideal: Vec<usize>,
}

fn normalizer() -> Normalizer {
    Normalizer::new(NormalizerConfig { card_mac_key: vec![7; 32] })
}

fn graph(world: World) -> Graph {
    let normalizer = normalizer();
    let intake = scamtrail_server::wire::Intake { normalizer: &normalizer, now: UnixMicros::now() };
    let mut g = Graph { edges: Vec::new(), keys: BTreeMap::new(), institutional: BTreeSet::new(), ideal: Vec::new() };
    for (report, (group, r)) in world.reports().into_iter().enumerate() {
        let request = pb::SubmitReportRequest { report: Some(r), ..Default::default() };
        let new = intake.report(&request).unwrap_or_else(|v| panic!("report {report}: {v:?}"));
        g.ideal.push(group);
        // Each typed identifier with its role's strength: a payment's beneficiary is strong.
        let typed = new
            .payments
            .iter()
            .flat_map(|p| p.beneficiaries.iter().map(|i| (i, true)))
            .chain(new.identifiers.iter().map(|i| (i, i.role.is_some_and(|r| r.is_strong()))));
        for (identifier, strong) in typed {
            let Ok(n) = &identifier.outcome else { panic!("report {report}: {:?} unverified", identifier.raw) };
            let institutional = n.phone_type.as_deref().is_some_and(institutional_phone_type);
            let Some(linkable) = LinkableIdentifier::new(n.key.clone(), n.kind.clone(), n.display.clone()) else {
                continue;
            };
            for key in linkable.with_implied() {
                let next = g.keys.len() as i64;
                let id = *g.keys.entry(key.key().to_owned()).or_insert(next);
                if institutional {
                    g.institutional.insert(id);
                }
                g.edges.push(Edge { report: report as i64, identifier: id, strong });
            }
        }
    }
    g
}

/// Each report's group in a partition of reports `0..n`.
fn labels(partition: &[Vec<i64>], n: usize) -> Vec<usize> {
    let mut out = vec![usize::MAX; n];
    for (g, part) in partition.iter().enumerate() {
        for &r in part {
            out[r as usize] = g;
        }
    }
    out
}

/// The key a value typed in a world normalises to.
fn key_of(value: &str) -> String {
    normalizer()
        .normalize(value, &Hint { kind: None, country: Country::parse("GB") })
        .unwrap_or_else(|e| panic!("{value}: {e}"))
        .key
}

#[test]
fn benign_identifiers_shared_across_networks_are_held_and_the_partition_holds() {
    let config = BridgeConfig::default();
    for networks in [12, 100, 300] {
        let g = graph(World { networks, per_network: 12 });
        let n = g.ideal.len();
        let reports: Vec<i64> = (0..n as i64).collect();
        let benign: BTreeSet<i64> = worlds::benign_values().iter().map(|v| g.keys[&key_of(v)]).collect();
        assert!(g.institutional.contains(&g.keys[&key_of(worlds::BENIGN_HOTLINE)]), "the hotline is toll-free");

        // Without the rule (every identifier links), without and with a complete safelist.
        let links: Vec<(i64, i64)> = g.edges.iter().map(|e| (e.report, e.identifier)).collect();
        let plain = b_cubed(&labels(&scamtrail_core::components(&reports, &links), n), &g.ideal).2;
        let listed: Vec<Edge> = g.edges.iter().copied().filter(|e| !benign.contains(&e.identifier)).collect();
        let listed_links: Vec<(i64, i64)> = listed.iter().map(|e| (e.report, e.identifier)).collect();
        let safelisted = b_cubed(&labels(&scamtrail_core::components(&reports, &listed_links), n), &g.ideal).2;

        // With the rule, without and with the safelist.
        let settled = settle(&config, &g.edges, &g.institutional);
        let ruled = b_cubed(&labels(&settled.partition(&reports, &g.edges), n), &g.ideal).2;
        let both = settle(&config, &listed, &g.institutional);
        let ruled_listed = b_cubed(&labels(&both.partition(&reports, &listed), n), &g.ideal).2;
        eprintln!(
            "{networks} networks, {n} reports: B-cubed F1 without safelist {plain:.3} (rule: {ruled:.3}), \
             with safelist {safelisted:.3} (rule: {ruled_listed:.3}); held {}",
            settled.held().len()
        );
        if std::env::var("SHOW_HELD").is_ok() {
            let names: BTreeMap<i64, &String> = g.keys.iter().map(|(k, &i)| (i, k)).collect();
            for (i, b) in &settled.bridges {
                eprintln!(
                    "{} {:?} groups {} reports {} strong {}",
                    names[i],
                    b.verdict,
                    b.groups.len(),
                    b.reports,
                    b.strong_reports
                );
            }
        }
        assert!(plain < 0.8, "{networks}: without the rule the benign identifiers fuse the networks ({plain})");
        assert!(ruled >= 0.95, "{networks}: F1 {ruled}");
        assert!(ruled_listed >= 0.95, "{networks}: F1 with safelist {ruled_listed}");
        assert_eq!(settled.held().intersection(&benign).count(), benign.len(), "{networks}: every benign one held");

        let mule = g.keys[&format!("iban:{}", worlds::mule_account())];
        assert!(!settled.held().contains(&mule), "{networks}: the mule of one network keeps linking");
        let shared = g.keys[&format!("iban:{}", worlds::shared_mule_account())];
        assert_eq!(settled.bridges.get(&shared).map(|b| b.verdict), Some(BridgeVerdict::Marked), "{networks}");
    }
}

#[test]
fn a_world_settles_the_same_in_any_order() {
    let g = graph(World { networks: 20, per_network: 10 });
    let config = BridgeConfig::default();
    let reports: Vec<i64> = (0..g.ideal.len() as i64).collect();
    let first = settle(&config, &g.edges, &g.institutional);
    assert!(!first.held().is_empty());
    let mut reversed = g.edges.clone();
    reversed.reverse();
    let mut by_identifier = g.edges.clone();
    by_identifier.sort_by_key(|e| (e.identifier, std::cmp::Reverse(e.report)));
    for other in [reversed, by_identifier] {
        let again = settle(&config, &other, &g.institutional);
        assert_eq!(again.held(), first.held());
        assert_eq!(again.partition(&reports, &other), first.partition(&reports, &g.edges));
    }
}

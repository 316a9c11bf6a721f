//! Bridges: identifiers whose reports, without them, fall into groups that each stand on their own.
//!
//! A bank's real hotline named by victims of ninety networks ("I called my bank at…") would fuse
//! them into one cluster; a mule account paid by 500 victims of one network is the best lead there
//! is. Both are shared by many reports; what tells them apart is what the graph says around them.
//! Take an identifier away and group its reports by what else links them (their other linking
//! identifiers, one hop out, so that judging one identifier reads its own reports' links and never
//! a whole cluster). Groups of at least [`BridgeConfig::min_group_reports`] reports stand on their
//! own evidence; if there are two or more, the identifier is a bridge between them, and:
//!
//! - it is **held** (stops linking, waits for a supervisor) when it joins more than
//!   [`BridgeConfig::max_marked_groups`] groups whatever its role (an exchange's pooled collection
//!   account is the beneficiary of real payments and still benign), when it is the kind of number
//!   institutions use (toll-free, shared-cost, UAN, premium rate), or when its roles are weak (less
//!   than [`BridgeConfig::strong_share_percent`] of its reports name it as the beneficiary of a
//!   payment or the number the scammer called from);
//! - otherwise it keeps linking and is **marked**: a money-mule service shared by two or three
//!   networks, which an investigator must see as several networks joined by one account.
//!
//! [`settle`] applies the rule to a whole graph and returns the same held identifiers (and so the
//! same partition) whatever order the links come in: every identifier is judged against the same
//! set of held ones, round after round, until no more are held.

use std::collections::{BTreeMap, BTreeSet};

use crate::kinds::vocabulary;
use crate::{IdentifierRole, IdentifierState, LinkableIdentifier, NewPayment, ReportedIdentifier, components};

/// The thresholds of the bridge rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeConfig {
    /// Reports a group needs to stand on its own evidence (linked to each other by other identifiers).
    pub min_group_reports: usize,
    /// The most groups a strong bridge may join and keep linking (marked); more are held.
    pub max_marked_groups: usize,
    /// The share of an identifier's reports that must give it a strong role for it to keep linking.
    pub strong_share_percent: usize,
    /// Evidence identifiers with at most this many reports are followed one step further (their
    /// other reports and what those name), so that a network's reports that share nothing
    /// directly still form one group; busier ones count only where reports share them directly.
    pub expand_max_reports: usize,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        Self { min_group_reports: 2, max_marked_groups: 3, strong_share_percent: 50, expand_max_reports: 100 }
    }
}

impl BridgeConfig {
    /// Reports an identifier needs before it can be a bridge (two groups of the minimum size):
    /// identifiers with fewer are never judged, which keeps the rule off most of the graph.
    pub fn min_reports(&self) -> usize {
        2 * self.min_group_reports.max(1)
    }

    /// Whether an identifier with `reports` reports, last judged when it had `judged_at`, is due
    /// to be judged again as a batch adds reports to it: at [`Self::min_reports`], then each time
    /// its count has grown by a quarter. The steps are geometric, so the reads an identifier
    /// costs over its life stay within five times one judgement at its final size, and most
    /// batches judge nothing.
    pub fn due(&self, reports: i64, judged_at: i64) -> bool {
        reports >= self.min_reports() as i64 && reports.saturating_mul(4) >= judged_at.saturating_mul(5)
    }

    /// Whether an identifier is due when a batch's reports join, through it, clusters that were
    /// apart: the moment a bridge fuses networks, so it is judged sooner, once its count has
    /// grown by an eighth since it was last judged (within nine judgements at its final size).
    /// Without this a hotline named a hundred times by one network would join the next networks
    /// for as long as its count takes to grow by a quarter.
    pub fn due_on_merge(&self, reports: i64, judged_at: i64) -> bool {
        reports >= self.min_reports() as i64
            && reports > judged_at
            && reports.saturating_mul(8) >= judged_at.saturating_mul(9)
    }
}

vocabulary!(
    /// Where an identifier stands with the bridge rule, as stored and shown.
    BridgeStanding, "bridge standing" {
        /// Held: does not link until a supervisor decides.
        Held = "held",
        /// Marked: links, and the cluster it joins is several groups joined by it.
        Marked = "marked",
        /// A supervisor decided it links (a real shared account): the rule never holds it again.
        Linked = "linked",
    }
);

impl BridgeStanding {
    /// Whether the rule may still judge an identifier standing so (not once a supervisor linked it).
    pub fn judged_by_rule(self) -> bool {
        self != BridgeStanding::Linked
    }

    /// Whether setting a bridge of this standing to `to` is a supervisor's decision: linking a
    /// held or marked bridge says for good that it is a real shared account. (Any change to a
    /// held identifier is a supervisor's: `IdentifierState::supervisor_decides`.)
    pub fn supervisor_decides(self, to: IdentifierState) -> bool {
        self != BridgeStanding::Linked && to == IdentifierState::Normal
    }
}

impl From<BridgeVerdict> for BridgeStanding {
    fn from(verdict: BridgeVerdict) -> Self {
        match verdict {
            BridgeVerdict::Held => BridgeStanding::Held,
            BridgeVerdict::Marked => BridgeStanding::Marked,
        }
    }
}

/// How a report names one of its linking identifiers: whether in a strong role, and whether the
/// identifier is an institution's kind of number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    /// The identifier (and so each key it implies: they are named as it is).
    pub identifier: LinkableIdentifier,
    /// A payment's beneficiary, or named as the beneficiary account or the caller's number.
    pub strong: bool,
    /// A toll-free, shared-cost, UAN or premium-rate number ([`institutional_phone_type`]).
    pub institutional: bool,
}

/// The linking identifiers of a report (or added details), by key, each once, with how the
/// report names them ([`Naming`]): the keys of [`LinkableIdentifier::of_report`]. A key named
/// both strongly and weakly is named strongly.
pub fn namings_of_report(payments: &[NewPayment], identifiers: &[ReportedIdentifier]) -> Vec<Naming> {
    let typed = payments
        .iter()
        .flat_map(|p| p.beneficiaries.iter().map(|i| (i, true)))
        .chain(identifiers.iter().map(|i| (i, i.role.is_some_and(IdentifierRole::is_strong))));
    let mut by_key: BTreeMap<String, Naming> = BTreeMap::new();
    for (reported, strong) in typed {
        let Ok(n) = &reported.outcome else { continue };
        let institutional = n.phone_type.as_deref().is_some_and(institutional_phone_type);
        let Some(linkable) = LinkableIdentifier::new(n.key.clone(), n.kind.clone(), n.display.clone()) else {
            continue;
        };
        for identifier in linkable.with_implied() {
            let naming = by_key.entry(identifier.key().to_owned()).or_insert(Naming {
                identifier,
                strong: false,
                institutional: false,
            });
            naming.strong |= strong;
            naming.institutional |= institutional;
        }
    }
    by_key.into_values().collect()
}

impl IdentifierRole {
    /// Whether naming an identifier in this role is strong evidence that it is the scammers': the
    /// account that received the money, the number that called. Any other mention is weak.
    pub fn is_strong(self) -> bool {
        matches!(self, IdentifierRole::BeneficiaryAccount | IdentifierRole::CallerNumber)
    }
}

/// Whether a phone number of this libphonenumber type (`TOLL_FREE`, ...) is the kind
/// institutions publish (hotlines, customer services) rather than one a scammer calls from.
pub fn institutional_phone_type(phone_type: &str) -> bool {
    matches!(phone_type, "TOLL_FREE" | "SHARED_COST" | "UAN" | "PREMIUM_RATE")
}

/// What the rule decided about a bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BridgeVerdict {
    /// Keeps linking; the merged cluster is marked as several groups joined by it.
    Marked,
    /// Does not link until a supervisor decides.
    Held,
}

/// Why an identifier is a bridge: the groups its reports fall into without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    /// Held or marked.
    pub verdict: BridgeVerdict,
    /// The groups that stand on their own (report ids ascending, groups by smallest report).
    pub groups: Vec<Vec<i64>>,
    /// The identifier's reports.
    pub reports: usize,
    /// Of those, the ones that name it in a strong role.
    pub strong_reports: usize,
    /// Whether it is an institution's kind of number.
    pub institutional: bool,
}

impl Bridge {
    /// Whether most of its reports name it in a weak role (per the configured share).
    pub fn weak_roles(&self, config: &BridgeConfig) -> bool {
        self.strong_reports * 100 < self.reports * config.strong_share_percent
    }

    /// The explanation shown on each cluster it touches and in the bridges queue, e.g. "possible
    /// bridge to clusters 12, 40, 97: 381 reports, weak roles".
    pub fn explain(&self, config: &BridgeConfig, clusters: &[i64]) -> String {
        let what = match self.verdict {
            BridgeVerdict::Held => "possible bridge",
            BridgeVerdict::Marked => "bridge (still linking)",
        };
        let to = clusters.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let mut why = vec![format!("{} reports", self.reports), format!("{} groups", self.groups.len())];
        why.push(if self.weak_roles(config) { "weak roles" } else { "strong roles" }.to_owned());
        if self.institutional {
            why.push("an institution's kind of number".to_owned());
        }
        format!("{what} to clusters {to}: {}", why.join(", "))
    }
}

/// One of an identifier's reports: the report and whether it names the identifier in a strong role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mention {
    /// The report.
    pub report: i64,
    /// Whether the report names it as a payment's beneficiary or the caller's number.
    pub strong: bool,
}

/// One link of an identifier's report to another identifier that counts as evidence (linking,
/// not held, not itself named mostly in weak roles), with that identifier's report count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// One of the judged identifier's reports.
    pub report: i64,
    /// Another identifier it names.
    pub identifier: i64,
    /// How many reports name that identifier in all.
    pub identifier_reports: usize,
}

/// Judges one identifier from its neighbourhood: its mentions, the evidence around them (the
/// other identifiers its reports name; see [`Evidence`]) and, one step further, `beyond`: the
/// links `(report, identifier)` of the other reports of those evidence identifiers. Its reports are
/// grouped by the components of that neighbourhood (two of its reports are in one group when they
/// name the same evidence, or when reports that name their evidence share an identifier); a group stands on its own when its component
/// has [`BridgeConfig::min_group_reports`] reports or names an identifier that reports outside it
/// name too. `None` when it is not a bridge.
pub fn judge(
    config: &BridgeConfig,
    institutional: bool,
    mentions: &[Mention],
    evidence: &[Evidence],
    beyond: &[(i64, i64)],
) -> Option<Bridge> {
    let mut reports: Vec<i64> = mentions.iter().map(|m| m.report).collect();
    reports.sort_unstable();
    reports.dedup();
    if reports.len() < config.min_reports() {
        return None;
    }
    let own: Vec<&Evidence> = evidence.iter().filter(|e| reports.binary_search(&e.report).is_ok()).collect();
    let links: Vec<(i64, i64)> = own.iter().map(|e| (e.report, e.identifier)).chain(beyond.iter().copied()).collect();
    let groups: Vec<Vec<i64>> = components(&reports, &links)
        .into_iter()
        .filter_map(|component| {
            let named: Vec<&&Evidence> = own.iter().filter(|e| component.binary_search(&e.report).is_ok()).collect();
            let stands = component.len() >= config.min_group_reports.max(1)
                || named.iter().any(|e| {
                    let inside = links
                        .iter()
                        .filter(|&&(r, i)| i == e.identifier && component.binary_search(&r).is_ok())
                        .count();
                    e.identifier_reports > inside
                });
            let mine: Vec<i64> = component.into_iter().filter(|r| reports.binary_search(r).is_ok()).collect();
            (stands && !mine.is_empty()).then_some(mine)
        })
        .collect();
    if groups.len() < 2 {
        return None;
    }
    let strong: BTreeSet<i64> = mentions.iter().filter(|m| m.strong).map(|m| m.report).collect();
    let mut bridge = Bridge {
        verdict: BridgeVerdict::Held,
        groups,
        reports: reports.len(),
        strong_reports: strong.len(),
        institutional,
    };
    let many = bridge.groups.len() > config.max_marked_groups;
    if !many && !institutional && !bridge.weak_roles(config) {
        bridge.verdict = BridgeVerdict::Marked;
    }
    Some(bridge)
}

/// One edge of the report–identifier graph, with the role the report gives the identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// The report.
    pub report: i64,
    /// The identifier (linking: normal state, a linking kind).
    pub identifier: i64,
    /// Whether the report names it in a strong role.
    pub strong: bool,
}

/// The bridges of a whole graph, held and marked, by identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Every bridge, held or marked.
    pub bridges: BTreeMap<i64, Bridge>,
}

impl Settled {
    /// The held identifiers.
    pub fn held(&self) -> BTreeSet<i64> {
        self.bridges.iter().filter(|(_, b)| b.verdict == BridgeVerdict::Held).map(|(&i, _)| i).collect()
    }

    /// The partition of `reports` over the edges of identifiers that still link.
    pub fn partition(&self, reports: &[i64], edges: &[Edge]) -> Vec<Vec<i64>> {
        let held = self.held();
        let links: Vec<(i64, i64)> =
            edges.iter().filter(|e| !held.contains(&e.identifier)).map(|e| (e.report, e.identifier)).collect();
        components(reports, &links)
    }
}

/// Applies the rule to a whole graph: every identifier with enough reports is judged against the
/// identifiers held so far, and the newly held are added, until a round holds none. Each round
/// judges every candidate against the same held set, so the result depends on the graph alone,
/// not on the order of `edges`; it is what `recluster` rebuilds. `institutional` lists the
/// identifiers of an institution's kind.
pub fn settle(config: &BridgeConfig, edges: &[Edge], institutional: &BTreeSet<i64>) -> Settled {
    settle_except(config, edges, institutional, &BTreeSet::new())
}

/// [`settle`], never judging the identifiers of `linked` (a supervisor decided they link: real
/// shared accounts, [`BridgeStanding::Linked`]); they still count as evidence for the others.
pub fn settle_except(
    config: &BridgeConfig,
    edges: &[Edge],
    institutional: &BTreeSet<i64>,
    linked: &BTreeSet<i64>,
) -> Settled {
    let mut sorted = edges.to_vec();
    sorted.sort_unstable();
    // A report naming an identifier twice names it strongly if either time is strong (sorted,
    // the strong edge comes last).
    sorted.dedup_by(|later, kept| {
        let same = later.report == kept.report && later.identifier == kept.identifier;
        if same {
            kept.strong |= later.strong;
        }
        same
    });
    let mut by_identifier: BTreeMap<i64, Vec<Mention>> = BTreeMap::new();
    let mut by_report: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for e in &sorted {
        by_identifier.entry(e.identifier).or_default().push(Mention { report: e.report, strong: e.strong });
        by_report.entry(e.report).or_default().push(e.identifier);
    }
    // Identifiers named mostly in weak roles are no evidence for others: two benign identifiers
    // mentioned together would otherwise vouch for each other and neither would ever be held.
    let weak: BTreeSet<i64> = by_identifier
        .iter()
        .filter(|(_, m)| m.iter().filter(|m| m.strong).count() * 100 < m.len() * config.strong_share_percent)
        .map(|(&i, _)| i)
        .collect();
    let candidates: Vec<i64> = by_identifier
        .iter()
        .filter(|(i, m)| m.len() >= config.min_reports() && !linked.contains(i))
        .map(|(&i, _)| i)
        .collect();
    // One identifier judged against the identifiers held so far.
    let judge_one = |identifier: i64, held: &BTreeMap<i64, Bridge>| -> Option<Bridge> {
        let mentions = &by_identifier[&identifier];
        let mine: BTreeSet<i64> = mentions.iter().map(|m| m.report).collect();
        let counts = |j: &i64| *j != identifier && !held.contains_key(j) && !weak.contains(j);
        let evidence: Vec<Evidence> = mentions
            .iter()
            .flat_map(|m| by_report[&m.report].iter().map(move |&j| (m.report, j)))
            .filter(|(_, j)| counts(j))
            .map(|(report, j)| Evidence { report, identifier: j, identifier_reports: by_identifier[&j].len() })
            .collect();
        let named: BTreeSet<i64> = evidence.iter().map(|e| e.identifier).collect();
        let mut beyond: Vec<(i64, i64)> = Vec::new();
        for j in &named {
            let others = &by_identifier[j];
            if others.len() > config.expand_max_reports {
                continue;
            }
            for m in others.iter().filter(|m| !mine.contains(&m.report)) {
                beyond.extend(by_report[&m.report].iter().filter(|k| counts(k)).map(|&k| (m.report, k)));
            }
        }
        judge(config, institutional.contains(&identifier), mentions, &evidence, &beyond)
    };
    let mut held: BTreeMap<i64, Bridge> = BTreeMap::new();
    loop {
        let round: BTreeMap<i64, Bridge> = candidates
            .iter()
            .filter(|i| !held.contains_key(i))
            .filter_map(|&i| judge_one(i, &held).map(|b| (i, b)))
            .collect();
        let (newly, marked): (BTreeMap<i64, Bridge>, BTreeMap<i64, Bridge>) =
            round.into_iter().partition(|(_, b)| b.verdict == BridgeVerdict::Held);
        if newly.is_empty() {
            // Each held identifier's groups as they stand once every other is held (an earlier
            // round may have seen them joined by another benign identifier held since).
            let mut settled = held.clone();
            for (&identifier, bridge) in &mut settled {
                if let Some(now) = judge_one(identifier, &held) {
                    *bridge = Bridge { verdict: BridgeVerdict::Held, ..now };
                }
            }
            settled.extend(marked);
            return Settled { bridges: settled };
        }
        held.extend(newly);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn edge(report: i64, identifier: i64, strong: bool) -> Edge {
        Edge { report, identifier, strong }
    }

    /// `networks` networks of `size` reports each, every report naming its network's phone
    /// (identifier 1000 + network) as the caller, plus `shared` named by `per_network` reports of each.
    fn world(networks: i64, size: i64, shared: i64, per_network: i64, strong: bool) -> Vec<Edge> {
        let mut edges = Vec::new();
        for n in 0..networks {
            for i in 0..size {
                let report = n * 1000 + i;
                edges.push(edge(report, 1000 + n, true));
                if i < per_network {
                    edges.push(edge(report, shared, strong));
                }
            }
        }
        edges
    }

    #[test]
    fn a_hotline_named_across_networks_is_held() {
        let edges = world(10, 5, 1, 2, false);
        let settled = settle(&BridgeConfig::default(), &edges, &BTreeSet::new());
        assert_eq!(settled.held(), BTreeSet::from([1]));
        let bridge = &settled.bridges[&1];
        assert_eq!((bridge.groups.len(), bridge.reports, bridge.strong_reports), (10, 20, 0));
        let reports: Vec<i64> = edges.iter().map(|e| e.report).collect();
        assert_eq!(settled.partition(&reports, &edges).len(), 10);
        assert_eq!(
            bridge.explain(&BridgeConfig::default(), &[12, 40, 97]),
            "possible bridge to clusters 12, 40, 97: 20 reports, 10 groups, weak roles"
        );
    }

    #[test]
    fn a_mule_account_of_one_network_is_no_bridge() {
        // 500 victims of one network pay one account; they also share the network's phone.
        let edges = world(1, 500, 1, 500, true);
        assert_eq!(settle(&BridgeConfig::default(), &edges, &BTreeSet::new()).bridges, BTreeMap::new());
    }

    #[test]
    fn a_mule_shared_by_two_networks_links_and_is_marked() {
        let edges = world(2, 6, 1, 3, true);
        let settled = settle(&BridgeConfig::default(), &edges, &BTreeSet::new());
        assert_eq!(settled.held(), BTreeSet::new());
        assert_eq!(settled.bridges[&1].verdict, BridgeVerdict::Marked);
        let reports: Vec<i64> = edges.iter().map(|e| e.report).collect();
        assert_eq!(settled.partition(&reports, &edges).len(), 1);
    }

    #[test]
    fn a_collection_account_paid_across_many_networks_is_held_whatever_its_role() {
        let settled = settle(&BridgeConfig::default(), &world(8, 4, 1, 2, true), &BTreeSet::new());
        assert_eq!(settled.bridges[&1].verdict, BridgeVerdict::Held);
    }

    #[test]
    fn an_institutional_number_joining_two_networks_is_held() {
        let edges = world(2, 6, 1, 3, true);
        assert_eq!(settle(&BridgeConfig::default(), &edges, &BTreeSet::from([1])).held(), BTreeSet::from([1]));
        assert!(institutional_phone_type("TOLL_FREE") && !institutional_phone_type("MOBILE"));
    }

    #[test]
    fn singletons_do_not_stand_on_their_own() {
        // Ten lone reports naming one number: nothing else links them, so there are no groups.
        let edges: Vec<Edge> = (0..10).map(|r| edge(r, 1, false)).collect();
        assert!(settle(&BridgeConfig::default(), &edges, &BTreeSet::new()).bridges.is_empty());
        assert!(IdentifierRole::CallerNumber.is_strong() && !IdentifierRole::Other.is_strong());
    }

    #[test]
    fn judging_is_due_at_the_minimum_then_at_each_quarter_sooner_on_a_merge() {
        let config = BridgeConfig::default();
        assert!(!config.due(3, 0) && config.due(4, 0));
        assert!(!config.due(4, 4) && config.due(5, 4));
        assert!(!config.due(124, 100) && config.due(125, 100));
        assert!(!config.due_on_merge(3, 0) && config.due_on_merge(4, 0) && !config.due_on_merge(4, 4));
        assert!(!config.due_on_merge(112, 100) && config.due_on_merge(113, 100));
    }

    #[test]
    fn a_linked_identifier_is_never_held() {
        let edges = world(10, 5, 1, 2, false);
        let settled = settle_except(&BridgeConfig::default(), &edges, &BTreeSet::new(), &BTreeSet::from([1]));
        assert!(settled.bridges.is_empty());
        for s in BridgeStanding::ALL {
            assert_eq!(s.as_str().parse::<BridgeStanding>(), Ok(*s));
        }
        assert!(!BridgeStanding::Linked.judged_by_rule() && BridgeStanding::Held.judged_by_rule());
        assert!(BridgeStanding::Marked.supervisor_decides(IdentifierState::Normal));
        assert!(!BridgeStanding::Marked.supervisor_decides(IdentifierState::Excluded));
        assert!(!BridgeStanding::Linked.supervisor_decides(IdentifierState::Normal));
    }

    #[test]
    fn a_report_naming_an_identifier_strongly_once_names_it_strongly() {
        // Two networks each pay the shared account strongly, and also mention it weakly.
        let mut edges = world(2, 6, 1, 3, true);
        edges.extend(world(2, 6, 1, 3, false));
        let settled = settle(&BridgeConfig::default(), &edges, &BTreeSet::new());
        assert_eq!(settled.bridges[&1].verdict, BridgeVerdict::Marked);
    }

    #[test]
    fn namings_carry_the_strongest_role_and_the_kind_of_number_to_every_implied_key() {
        use crate::{NormalizedIdentifier, ReportedIdentifier};
        let named =
            |key: &str, kind: &str, role: Option<IdentifierRole>, phone_type: Option<&str>| ReportedIdentifier {
                raw: key.to_owned(),
                role,
                kind_hint: None,
                outcome: Ok(NormalizedIdentifier {
                    kind: kind.to_owned(),
                    key: key.to_owned(),
                    display: key.to_owned(),
                    country: None,
                    bank_code: None,
                    phone_type: phone_type.map(str::to_owned),
                    chain: None,
                    checksum_verified: true,
                }),
            };
        let iban = "iban:GB29NWBK60161331926819";
        let payment = NewPayment {
            amount_minor: 100,
            currency: "GBP".into(),
            method: None,
            paid_at: None,
            beneficiaries: vec![named(iban, "iban", None, None)],
            transaction_hash: String::new(),
            recall_requested: false,
        };
        let identifiers = [
            named(iban, "iban", Some(IdentifierRole::Other), None),
            named("tel:+448000280000", "phone", Some(IdentifierRole::Other), Some("TOLL_FREE")),
        ];
        let namings: Vec<(String, bool, bool)> = namings_of_report(&[payment], &identifiers)
            .into_iter()
            .map(|n| (n.identifier.key().to_owned(), n.strong, n.institutional))
            .collect();
        assert_eq!(
            namings,
            [
                ("acct:gb:60161331926819".to_owned(), true, false),
                (iban.to_owned(), true, false),
                ("tel:+448000280000".to_owned(), false, true),
            ]
        );
    }

    proptest! {
        #[test]
        fn the_same_graph_in_any_order_settles_the_same(
            networks in 1i64..6,
            size in 2i64..8,
            shared in proptest::collection::vec((0i64..6, 0i64..8, 0i64..4, any::<bool>()), 0..40),
            seed in any::<u64>(),
        ) {
            let mut edges = world(networks, size, 1, 0, false);
            // Extra identifiers 1..4 named by arbitrary reports in arbitrary roles.
            edges.extend(shared.iter().map(|&(n, i, s, strong)| edge((n % networks) * 1000 + i % size, 1 + s, strong)));
            let config = BridgeConfig::default();
            let reports: Vec<i64> = edges.iter().map(|e| e.report).collect();
            let first = settle(&config, &edges, &BTreeSet::new());
            // A deterministic shuffle from the seed.
            let mut shuffled = edges.clone();
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                shuffled.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let second = settle(&config, &shuffled, &BTreeSet::new());
            prop_assert_eq!(first.held(), second.held());
            prop_assert_eq!(first.partition(&reports, &edges), second.partition(&reports, &shuffled));
        }
    }
}

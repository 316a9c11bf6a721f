//! Which identifiers link reports into clusters, and which cluster survives when they merge.
//!
//! An identifier links when it is normalised, typed by the victim (not suggested from the
//! narrative), of a linking kind (not a BIC: it names a bank, shared by its every customer), and
//! in state normal ([`IdentifierState::links`]). The store feeds these rules; they hold no I/O.

use crate::{IdentifierState, NewPayment, ReportedIdentifier};

/// Kinds that never link: a BIC names a bank, shared by its every customer, not a scammer.
const NON_LINKING_KINDS: &[&str] = &["bic"];

/// An identifier of a kind that links reports: its canonical key, kind and display form. Only
/// [`LinkableIdentifier::new`] and [`LinkableIdentifier::of_report`] make one, so holding one
/// means the kind rule was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkableIdentifier {
    key: String,
    kind: String,
    display: String,
}

impl LinkableIdentifier {
    /// The identifier with this key, kind and display form, if its kind links reports.
    pub fn new(key: String, kind: String, display: String) -> Option<Self> {
        (!NON_LINKING_KINDS.contains(&kind.as_str())).then_some(Self { key, kind, display })
    }

    /// The linking identifiers among a report's (or added details') payments' beneficiaries and
    /// typed identifiers, by key, each once: those that normalised, of a linking kind, with every
    /// key each one implies ([`Self::with_implied`]), so that one account in two shapes links.
    pub fn of_report(payments: &[NewPayment], identifiers: &[ReportedIdentifier]) -> Vec<Self> {
        let typed = payments.iter().flat_map(|p| &p.beneficiaries).chain(identifiers);
        let mut linkable: Vec<Self> = typed
            .filter_map(|i| i.outcome.as_ref().ok())
            .filter_map(|n| Self::new(n.key.clone(), n.kind.clone(), n.display.clone()))
            .flat_map(Self::with_implied)
            .collect();
        linkable.sort_by(|a, b| a.key.cmp(&b.key));
        linkable.dedup_by(|a, b| a.key == b.key);
        linkable
    }

    /// This identifier and the identifiers its key implies (a GB IBAN's sort code and account
    /// number; a national form's IBAN: `scamtrail_normalize::implied_identifiers`).
    pub fn with_implied(self) -> Vec<Self> {
        let implied = scamtrail_normalize::implied_identifiers(&self.key);
        let mut all = Vec::with_capacity(1 + implied.len());
        all.extend(implied.into_iter().filter_map(|i| Self::new(i.key, i.kind.as_str().to_owned(), i.display)));
        all.insert(0, self);
        all
    }

    /// The canonical key (`iban:DE89…`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The fine-grained kind (`iban`, `phone`, ...).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// How to show it.
    pub fn display(&self) -> &str {
        &self.display
    }
}

impl IdentifierState {
    /// Whether an identifier in this state links the reports that carry it: only in state normal
    /// (an excluded or safelisted one is kept on its reports but links nothing).
    pub fn links(self) -> bool {
        self == IdentifierState::Normal
    }
}

/// Which of merging clusters survives, given each one's id and report count: the one with the
/// most reports, ties to the oldest (the smallest id). It keeps its id, claim and status; the
/// others are marked merged into it. `None` for no clusters.
pub fn merge_survivor(clusters: &[(i64, i64)]) -> Option<i64> {
    clusters.iter().max_by_key(|&&(id, reports)| (reports, std::cmp::Reverse(id))).map(|&(id, _)| id)
}

/// Which part of a split cluster keeps its id, given the parts in order of their oldest report:
/// the largest, ties to the first. `None` for no parts.
pub fn split_keeper<T>(parts: &[Vec<T>]) -> Option<usize> {
    parts.iter().enumerate().max_by_key(|(i, p)| (p.len(), std::cmp::Reverse(*i))).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NormalizedIdentifier;

    fn typed(key: &str, kind: &str) -> ReportedIdentifier {
        ReportedIdentifier {
            raw: key.to_owned(),
            role: None,
            kind_hint: None,
            outcome: Ok(NormalizedIdentifier {
                kind: kind.to_owned(),
                key: key.to_owned(),
                display: key.to_owned(),
                country: None,
                bank_code: None,
                phone_type: None,
                chain: None,
                checksum_verified: true,
            }),
        }
    }

    #[test]
    fn banks_unverified_values_and_repeats_do_not_link() {
        let unverified = ReportedIdentifier {
            raw: "call me".into(),
            role: None,
            kind_hint: None,
            outcome: Err(crate::Unverified { reason: "unrecognised".into(), message: "not an identifier".into() }),
        };
        let payment = NewPayment {
            amount_minor: 100,
            currency: "GBP".into(),
            method: None,
            paid_at: None,
            beneficiaries: vec![typed("iban:GB1", "iban"), typed("bic:NWBKGB2L", "bic")],
            transaction_hash: String::new(),
            recall_requested: false,
        };
        let identifiers = [typed("tel:+441", "phone"), typed("iban:GB1", "iban"), unverified];
        let keys: Vec<String> =
            LinkableIdentifier::of_report(&[payment], &identifiers).iter().map(|l| l.key().to_owned()).collect();
        assert_eq!(keys, ["iban:GB1", "tel:+441"]);
        // A GB IBAN also links by its sort code and account number.
        let keys: Vec<String> = LinkableIdentifier::of_report(&[], &[typed("iban:GB29NWBK60161331926819", "iban")])
            .iter()
            .map(|l| l.key().to_owned())
            .collect();
        assert_eq!(keys, ["acct:gb:60161331926819", "iban:GB29NWBK60161331926819"]);
        assert_eq!(LinkableIdentifier::new("bic:X".into(), "bic".into(), "X".into()), None);
        assert!(IdentifierState::Normal.links());
        assert!(!IdentifierState::Excluded.links() && !IdentifierState::Safelisted.links());
        assert!(!IdentifierState::Held.links());
    }

    #[test]
    fn the_largest_cluster_survives_and_ties_go_to_the_oldest() {
        assert_eq!(merge_survivor(&[(7, 2), (3, 5), (9, 5)]), Some(3));
        assert_eq!(merge_survivor(&[(4, 1), (2, 1)]), Some(2));
        assert_eq!(merge_survivor(&[]), None);
        assert_eq!(split_keeper(&[vec![1], vec![2, 3], vec![4, 5]]), Some(1));
        assert_eq!(split_keeper::<i64>(&[]), None);
    }
}

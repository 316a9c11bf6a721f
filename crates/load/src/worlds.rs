//! Generated worlds for the bridge rule: scam networks (as in [`crate::scenario`]) whose victims
//! also name benign identifiers that nobody safelisted, each kind shared across many networks: a
//! bank's toll-free customer service ("I called my bank at…"), an ordinary mobile number, a payment
//! processor's pooled collection account that victims really paid, a news site and an exchange's
//! deposit wallet. Network 0 pays one mule account 500 times; networks 1 and 2 share a mule account
//! as the beneficiary of payments in both (a real link: the ideal partition joins them).
//!
//! Like the scenario, everything is a pure function of the world's size and the victim's number.

use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};

use crate::scenario::{self, german_iban, id, ts};

/// The bank's customer service, a UK freephone number (libphonenumber: toll-free).
pub const BENIGN_HOTLINE: &str = "0800 028 0000";
/// An ordinary mobile number many victims mention in passing.
pub const BENIGN_MOBILE: &str = "+44 7911 123456";
/// A payment processor's pooled collection account: victims pay into it before the scammers take it.
pub fn benign_collection_account() -> String {
    german_iban(10_010_010, 9_990_000_001)
}
/// A news site victims read, listed nowhere.
pub const BENIGN_SITE: &str = "https://www.cryptonews-daily.com/markets";
/// An exchange's deposit wallet.
pub const BENIGN_WALLET: &str = "0x1111222233334444555566667777888899990000";
/// The mule account network 0's 500 victims pay.
pub fn mule_account() -> String {
    german_iban(50_010_517, 5_401_000_001)
}
/// The mule account networks 1 and 2 share.
pub fn shared_mule_account() -> String {
    german_iban(50_010_517, 5_401_000_002)
}

/// The benign identifiers as typed, for checking that each ends up held.
pub fn benign_values() -> Vec<String> {
    vec![
        BENIGN_HOTLINE.into(),
        BENIGN_MOBILE.into(),
        benign_collection_account(),
        BENIGN_SITE.into(),
        BENIGN_WALLET.into(),
    ]
}

/// A world of `networks` networks (at least 3), `per_network` victims each, network 0 with 500.
#[derive(Debug, Clone, Copy)]
pub struct World {
    /// Networks.
    pub networks: usize,
    /// Victims of each network but the first.
    pub per_network: usize,
}

impl World {
    /// Victims of network `n`.
    pub fn victims(&self, n: usize) -> usize {
        if n == 0 { 500 } else { self.per_network }
    }

    /// Every report as (ideal group, report): networks 1 and 2 form one ideal group.
    pub fn reports(&self) -> Vec<(usize, pb::Report)> {
        (0..self.networks.max(3))
            .flat_map(|n| (0..self.victims(n)).map(move |i| (if n == 2 { 1 } else { n }, self.report(n, i))))
            .collect()
    }

    /// Victim `i` of network `n`.
    pub fn report(&self, n: usize, i: usize) -> pb::Report {
        let net = scenario::network(n, self.networks);
        let mut beneficiaries = vec![id(&net.ibans[i % net.ibans.len()], R::BeneficiaryAccount, K::Unspecified)];
        if n == 0 {
            beneficiaries = vec![id(&mule_account(), R::BeneficiaryAccount, K::Iban)];
        }
        if (n == 1 || n == 2) && i.is_multiple_of(2) {
            beneficiaries.push(id(&shared_mule_account(), R::BeneficiaryAccount, K::Iban));
        }
        if i % 6 == 3 {
            beneficiaries.push(id(&benign_collection_account(), R::BeneficiaryAccount, K::Iban));
        }
        let mut identifiers =
            vec![id(&format!("+44 {}", &net.phones[i % net.phones.len()]), R::CallerNumber, K::Unspecified)];
        if i.is_multiple_of(3) {
            identifiers.push(id(&net.domains[i % 2], R::Website, K::Unspecified));
        }
        if i % 4 == 1 {
            identifiers.push(id(&net.wallets[(i / 4) % 2], R::Wallet, K::CryptoWallet));
        }
        if i.is_multiple_of(4) {
            identifiers.push(id(BENIGN_HOTLINE, R::Other, K::Phone));
        }
        if i % 5 == 1 {
            identifiers.push(id(BENIGN_MOBILE, R::Other, K::Phone));
        }
        if i % 4 == 2 {
            identifiers.push(id(BENIGN_SITE, R::Website, K::Unspecified));
        }
        if i % 7 == 5 {
            identifiers.push(id(BENIGN_WALLET, R::Wallet, K::CryptoWallet));
        }
        pb::Report {
            category: pb::ScamCategory::Investment as i32,
            narrative: format!("Network {n} victim {i}: I called my bank, then paid where the broker said."),
            payments: vec![pb::Payment {
                amount_minor: 100_000 + i as i64,
                currency: "EUR".into(),
                method: pb::PaymentMethod::BankTransfer as i32,
                paid_at: ts(86_400),
                beneficiaries,
                transaction_hash: String::new(),
                recall_requested: false,
                amount: String::new(),
            }],
            identifiers,
            victim: Some(pb::Victim { country: "GB".into(), ..Default::default() }),
            ..Default::default()
        }
    }
}

/// B-cubed precision, recall and F1 of a partition against the ideal one: `found[r]` and
/// `ideal[r]` are report `r`'s group in each.
pub fn b_cubed(found: &[usize], ideal: &[usize]) -> (f64, f64, f64) {
    use std::collections::HashMap;
    let n = found.len().min(ideal.len());
    if n == 0 {
        return (1.0, 1.0, 1.0);
    }
    let mut both: HashMap<(usize, usize), usize> = HashMap::new();
    let mut of_found: HashMap<usize, usize> = HashMap::new();
    let mut of_ideal: HashMap<usize, usize> = HashMap::new();
    for r in 0..n {
        *both.entry((found[r], ideal[r])).or_default() += 1;
        *of_found.entry(found[r]).or_default() += 1;
        *of_ideal.entry(ideal[r]).or_default() += 1;
    }
    let (mut precision, mut recall) = (0.0, 0.0);
    for r in 0..n {
        let shared = both[&(found[r], ideal[r])] as f64;
        precision += shared / of_found[&found[r]] as f64;
        recall += shared / of_ideal[&ideal[r]] as f64;
    }
    let (p, r) = (precision / n as f64, recall / n as f64);
    (p, r, 2.0 * p * r / (p + r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b_cubed_of_the_ideal_is_one_and_of_one_blob_is_low() {
        let ideal = [0, 0, 1, 1, 2, 2];
        assert_eq!(b_cubed(&ideal, &ideal), (1.0, 1.0, 1.0));
        let (p, r, _) = b_cubed(&[0; 6], &ideal);
        assert!((p - 1.0 / 3.0).abs() < 1e-9 && r == 1.0);
    }

    #[test]
    fn worlds_have_their_special_networks() {
        let world = World { networks: 12, per_network: 12 };
        let reports = world.reports();
        assert_eq!(reports.len(), 500 + 11 * 12);
        assert_eq!(reports.iter().filter(|(g, _)| *g == 1).count(), 24);
    }
}

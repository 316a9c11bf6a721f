//! Synthetic scam networks, for the end-to-end tests and the load generator: each network rotates
//! IBANs, phone numbers, domains and wallets, and each victim writes them in their own way
//! (spaces, lower case, national or international phone formats, defanged URLs). Benign
//! identifiers from the shipped safelist (an exchange's domain and hot wallet) appear across
//! networks and must never join them. Everything is a pure function of the network's index and
//! the victim's number, so a load run can look up what a seed stored.

use prost_types::Timestamp;
use scamtrail_proto::v1 as pb;

/// Seconds since the epoch now.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A timestamp `seconds_ago` before now.
pub fn ts(seconds_ago: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds: now_seconds() - seconds_ago, nanos: 0 })
}

/// A scammer identifier.
pub fn id(value: &str, role: pb::IdentifierRole, kind: pb::IdentifierKind) -> pb::ScammerIdentifier {
    pb::ScammerIdentifier { value: value.into(), role: role as i32, kind_hint: kind as i32 }
}

/// One network's identifiers, in canonical form for building values.
#[derive(Debug, Clone)]
pub struct Network {
    /// Index of the network.
    pub index: usize,
    /// IBANs (canonical, no spaces).
    pub ibans: Vec<String>,
    /// London numbers as national significant numbers (e.g. `2079460157`).
    pub phones: Vec<String>,
    /// Registrable domains.
    pub domains: Vec<String>,
    /// EVM addresses, lower case with 0x.
    pub wallets: Vec<String>,
    /// Whether its victims paid by bank transfer within the last hours (recall still possible).
    pub recent_bank_transfers: bool,
}

/// A valid German IBAN for a bank code and account number, with its check digits computed.
pub fn german_iban(bank: u32, account: u64) -> String {
    let bban = format!("{bank:08}{account:010}");
    // ISO 13616: move "DE00" to the end, letters to numbers (D = 13, E = 14), mod 97.
    let numeric = format!("{bban}131400");
    let rem = numeric.bytes().fold(0u32, |acc, b| (acc * 10 + u32::from(b - b'0')) % 97);
    format!("DE{:02}{bban}", 98 - rem)
}

/// Network `k` of `count`: the first half of the networks pay by recent bank transfer.
pub fn network(k: usize, count: usize) -> Network {
    Network {
        index: k,
        ibans: (0..4).map(|j| german_iban(37_040_044, (k * 4 + j) as u64 + 532_013_000)).collect(),
        // London numbers 020 7xxx xxxx: ten million of them, three per network.
        phones: (0..3).map(|j| format!("207{:07}", k * 3 + j)).collect(),
        domains: (0..2).map(|j| format!("quantum-yield-{k}-{j}.com")).collect(),
        wallets: (0..2).map(|j| format!("0x{:040x}", 0xface_0000_u64 + (k * 16 + j) as u64)).collect(),
        recent_bank_transfers: k < count / 2,
    }
}

/// The networks of a scenario; the first half pay by recent bank transfer, the rest do not.
pub fn networks(count: usize) -> Vec<Network> {
    (0..count).map(|k| network(k, count)).collect()
}

fn spaced(iban: &str, lower: bool) -> String {
    let groups: Vec<String> = iban.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let text = groups.join(" ");
    if lower { text.to_lowercase() } else { text }
}

fn phone_as(nsn: &str, style: usize) -> String {
    let (a, b, c) = (&nsn[..2], &nsn[2..6], &nsn[6..]);
    match style % 3 {
        0 => format!("+44 {a} {b} {c}"),
        1 => format!("0{a} {b} {c}"),
        _ => format!("0044{a}{b}{c}"),
    }
}

fn url_as(domain: &str, style: usize) -> String {
    match style % 3 {
        0 => format!("https://www.{domain}/login"),
        1 => domain.to_owned(),
        _ => format!("hxxps://{}", domain.replace('.', "[.]")),
    }
}

/// The benign website every network's victims mention (shipped safelist).
pub const BENIGN_DOMAIN: &str = "https://www.binance.com/en/buy-crypto";
/// The benign exchange hot wallet some victims mention (shipped safelist).
pub const BENIGN_WALLET: &str = "0x28C6c06298d514Db089934071355E5743bf21d60";

/// Report `i` of network `n`: one IBAN and one phone chosen so that the network's reports are
/// connected, sometimes a domain and a wallet, and benign identifiers shared with other networks.
pub fn report(n: &Network, i: usize) -> pb::Report {
    use pb::{IdentifierKind as K, IdentifierRole as R};
    let iban = &n.ibans[i % n.ibans.len()];
    let phone = &n.phones[i % n.phones.len()];
    let (paid_ago, method) = if n.recent_bank_transfers {
        (3_600 + (i as i64) * 60, pb::PaymentMethod::BankTransfer)
    } else if i.is_multiple_of(2) {
        (20 * 86_400, pb::PaymentMethod::BankTransfer)
    } else {
        (2 * 3_600, pb::PaymentMethod::Crypto)
    };
    // Networks without recent transfers lose more in total: priority must still favour recall.
    let amount = if n.recent_bank_transfers { 150_000 } else { 900_000 } + (i as i64) * 1_000;
    let mut identifiers = vec![id(&phone_as(phone, i + n.index), R::CallerNumber, K::Unspecified)];
    if i.is_multiple_of(3) {
        identifiers.push(id(&url_as(&n.domains[i % 2], i), R::Website, K::Unspecified));
    }
    if i % 4 == 1 {
        let wallet = &n.wallets[(i / 4) % 2];
        let typed = if i % 8 == 1 { wallet.clone() } else { format!("0x{}", wallet[2..].to_uppercase()) };
        identifiers.push(id(&typed, R::Wallet, K::CryptoWallet));
    }
    if i.is_multiple_of(2) {
        identifiers.push(id(BENIGN_DOMAIN, R::Website, K::Unspecified));
    }
    if i % 5 == 2 {
        identifiers.push(id(BENIGN_WALLET, R::Wallet, K::CryptoWallet));
    }
    let mut payments = vec![pb::Payment {
        amount_minor: amount,
        currency: "EUR".into(),
        method: method as i32,
        paid_at: ts(paid_ago),
        beneficiaries: vec![id(&spaced(iban, i % 2 == 1), R::BeneficiaryAccount, K::Unspecified)],
        transaction_hash: String::new(),
        recall_requested: false,
        amount: String::new(),
    }];
    if i % 3 == 2 {
        // A second, smaller payment to the network's next account.
        let next = &n.ibans[(i + 1) % n.ibans.len()];
        payments.push(pb::Payment {
            amount_minor: amount / 4,
            beneficiaries: vec![id(next, R::BeneficiaryAccount, K::Iban)],
            ..payments[0].clone()
        });
    }
    pb::Report {
        category: [pb::ScamCategory::Investment, pb::ScamCategory::CryptoInvestment, pb::ScamCategory::TechSupport]
            [n.index % 3] as i32,
        first_contact_at: ts(30 * 86_400),
        last_contact_at: ts(paid_ago),
        contact_channels: vec![pb::ContactChannel::PhoneCall as i32],
        narrative: format!("Network {} victim {i}: a broker called and told me where to pay.", n.index),
        payments,
        identifiers,
        victim: Some(pb::Victim {
            name: format!("Victim {}-{i}", n.index),
            email: format!("victim-{}-{i}@example.org", n.index),
            country: "GB".into(),
            consent_to_share_with_police: true,
            ..Default::default()
        }),
        contact_ongoing: i.is_multiple_of(4),
    }
}

/// Report number `k` of a stream spread over `count` networks: victim `k / count` of network
/// `k % count`, so that every network grows as the stream goes on.
pub fn stream_report(k: usize, count: usize) -> (usize, pb::Report) {
    let n = network(k % count, count);
    (n.index, report(&n, k / count))
}

/// Every report of the scenario as (network, report), network by network.
pub fn reports(networks: &[Network], per_network: usize) -> Vec<(usize, pb::Report)> {
    networks.iter().flat_map(|n| (0..per_network).map(move |i| (n.index, report(n, i)))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ibans_carry_valid_check_digits() {
        assert_eq!(german_iban(37_040_044, 532_013_000), "DE89370400440532013000");
    }
}

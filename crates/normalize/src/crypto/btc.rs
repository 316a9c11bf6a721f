//! Bitcoin addresses: `btc:<address>`.
//!
//! Legacy base58check addresses (P2PKH version 0x00, P2SH version 0x05) are case-sensitive and
//! keyed as written. Segwit addresses (BIP-173 bech32 for version 0, BIP-350 bech32m for
//! versions 1 and up, human-readable part `bc`) are keyed in lower case; mixed case is refused
//! as the BIPs require. Test-network addresses are refused with `BTC_NETWORK`.
//!
//! A P2SH address (`3…`, version 0x05) is also a valid legacy Litecoin address; it is keyed as
//! Bitcoin, the overwhelmingly common case (Litecoin moved P2SH to `M…`, version 0x32).

use super::utxo::UtxoChain;
use crate::rejection::{Rejection, RejectionCode};
use crate::types::{Facts, Identifier, Kind};

const BITCOIN: UtxoChain = UtxoChain {
    uri_scheme: "bitcoin:",
    segwit_prefixes: &["bc1", "tb1", "bcrt1"],
    hrp: "bc",
    versions: &[0x00, 0x05],
    test_versions: &[0x6f, 0xc4],
    legacy_first: &['1', '3'],
    legacy_len: 25..=35,
    format,
    checksum,
    mixed_case,
    network,
};

/// Whether a value is shaped like a Bitcoin address.
pub(crate) fn looks_like(s: &str) -> bool {
    BITCOIN.looks_like(s)
}

/// Normalises a Bitcoin address.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let address = BITCOIN.address(s)?;
    let facts = Facts { chain: Some("bitcoin"), checksum_verified: true, ..Facts::default() };
    Ok(Identifier::new(Kind::Btc, &address, address.clone(), facts))
}

fn mixed_case() -> Rejection {
    Rejection::new(
        RejectionCode::BtcMixedCase,
        "This Bitcoin address mixes capital and small letters; copy it again exactly.",
    )
}

fn format() -> Rejection {
    Rejection::new(RejectionCode::BtcFormat, "This is not a valid Bitcoin address.")
}

fn checksum() -> Rejection {
    Rejection::new(
        RejectionCode::BtcChecksum,
        "This Bitcoin address's checksum does not match; a character was probably mistyped.",
    )
}

fn network() -> Rejection {
    Rejection::new(RejectionCode::BtcNetwork, "This is a Bitcoin test-network address, not a real-money one.")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BIP-350's valid segwit addresses (which include BIP-173's version-0 ones).
    const BIP350_VALID: [&str; 8] = [
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "BC1SW50QGDZ25J",
        "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ];

    /// BIP-173's and BIP-350's invalid addresses, with the reason we give. BIP-173's examples of
    /// bad program lengths for versions 1+ (and the empty one) were made with the bech32
    /// checksum, which BIP-350 no longer accepts for those versions: the checksum fails first.
    const INVALID: [(&str, RejectionCode); 24] = [
        // BIP-173
        ("tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", RejectionCode::BtcFormat),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", RejectionCode::BtcChecksum),
        ("BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", RejectionCode::BtcFormat),
        ("bc1rw5uspcuh", RejectionCode::BtcChecksum),
        ("bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90", RejectionCode::BtcChecksum),
        ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", RejectionCode::BtcFormat),
        ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", RejectionCode::BtcMixedCase),
        ("bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", RejectionCode::BtcChecksum),
        ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", RejectionCode::BtcFormat),
        ("bc1gmk9yu", RejectionCode::BtcChecksum),
        // BIP-173's version 1+ examples use bech32, which BIP-350 makes invalid.
        ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx", RejectionCode::BtcChecksum),
        ("BC1SW50QA3JX3S", RejectionCode::BtcChecksum),
        ("bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj", RejectionCode::BtcChecksum),
        // BIP-350
        ("tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", RejectionCode::BtcFormat),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", RejectionCode::BtcChecksum),
        ("tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", RejectionCode::BtcChecksum),
        ("BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", RejectionCode::BtcChecksum),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", RejectionCode::BtcChecksum),
        ("tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", RejectionCode::BtcChecksum),
        ("bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", RejectionCode::BtcFormat),
        ("BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", RejectionCode::BtcFormat),
        ("bc1pw5dgrnzv", RejectionCode::BtcFormat),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", RejectionCode::BtcFormat),
        ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", RejectionCode::BtcMixedCase),
    ];

    /// The rest of BIP-350's invalid list (padding errors).
    const INVALID_PADDING: [&str; 2] = [
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
        "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
    ];

    #[test]
    fn bip350_valid_vectors() {
        for address in BIP350_VALID {
            let outcome = parse(address);
            if address.to_ascii_lowercase().starts_with("bc1") {
                let id = outcome.unwrap_or_else(|e| panic!("{address}: {e}"));
                assert_eq!(id.key, format!("btc:{}", address.to_ascii_lowercase()));
                assert_eq!(id.facts.chain, Some("bitcoin"));
            } else {
                // Valid per the BIP, but on testnet.
                assert_eq!(outcome.unwrap_err().code, RejectionCode::BtcNetwork, "{address}");
            }
        }
    }

    #[test]
    fn bip173_and_bip350_invalid_vectors() {
        let mismatches: Vec<String> = INVALID
            .iter()
            .filter_map(|(address, code)| {
                let got = parse(address).map(|id| id.key);
                (got.as_ref().err().map(|e| e.code) != Some(*code)).then(|| format!("{address}: {got:?}"))
            })
            .collect();
        assert!(mismatches.is_empty(), "{mismatches:#?}");
        for address in INVALID_PADDING {
            assert!(parse(address).is_err(), "{address}");
        }
    }

    #[test]
    fn legacy_base58_addresses() {
        // The genesis coinbase address and a well-known P2SH address.
        for address in ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"] {
            assert!(looks_like(address));
            let id = parse(address).unwrap();
            assert_eq!(id.key, format!("btc:{address}"));
            assert!(id.facts.checksum_verified);
        }
        assert_eq!(
            parse("bitcoin:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa?amount=0.1").unwrap().key,
            "btc:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
        );
        assert_eq!(parse("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb").unwrap_err().code, RejectionCode::BtcChecksum);
        assert_eq!(parse("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0").unwrap_err().code, RejectionCode::BtcFormat);
        // Testnet P2PKH.
        assert_eq!(parse("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn").unwrap_err().code, RejectionCode::BtcNetwork);
    }

    #[test]
    fn segwit_upper_case_keys_in_lower_case() {
        let upper = parse("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ").unwrap();
        let lower = parse("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq").unwrap();
        assert_eq!(upper.key, lower.key);
        assert_eq!(lower.key, "btc:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq");
    }
}

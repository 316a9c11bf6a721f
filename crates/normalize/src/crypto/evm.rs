//! Ethereum-compatible (EVM) addresses: `evm:0x<40 lower-case hex>`.
//!
//! One key across all EVM chains (Ethereum, BNB Chain, Polygon, Arbitrum, …): the same address
//! is the same private key everywhere, and scammers reuse it across chains. A mixed-case address
//! carries an EIP-55 checksum, which must match; all-lower or all-upper addresses carry none.
//! The display form is the lower-case address (the checksummed form would cost a Keccak hash
//! per value; explorers accept either).

use sha3::{Digest, Keccak256};

use crate::rejection::{Rejection, RejectionCode};
use crate::text::strip_prefix_ci;
use crate::types::{Facts, Identifier, Kind};

/// Strips an EIP-681 `ethereum:` URI (`ethereum:0x…@1/transfer?…`) down to the address.
fn strip_uri(s: &str) -> &str {
    let s = strip_prefix_ci(s, "ethereum:").unwrap_or(s);
    let s = strip_prefix_ci(s, "pay-").unwrap_or(s);
    s.split(['@', '/', '?']).next().unwrap_or_default()
}

/// The 40 hex digits after `0x`, if the value has that shape.
fn hex_part(s: &str) -> Option<&str> {
    let hex = strip_prefix_ci(strip_uri(s), "0x")?;
    (hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// Whether a value is shaped like an EVM address (`0x` and hex digits).
pub(crate) fn looks_like(s: &str) -> bool {
    strip_prefix_ci(strip_uri(s), "0x")
        .is_some_and(|h| (30..=50).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The EIP-55 checksummed form of 40 lower-case hex digits (without `0x`).
fn eip55(lower: &[u8; 40]) -> [u8; 40] {
    let hash = Keccak256::digest(lower);
    let mut out = *lower;
    for (i, c) in out.iter_mut().enumerate() {
        let nibble = if i % 2 == 0 { hash[i / 2] >> 4 } else { hash[i / 2] & 0x0f };
        if c.is_ascii_alphabetic() && nibble >= 8 {
            c.make_ascii_uppercase();
        }
    }
    out
}

/// Normalises an EVM address.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let Some(hex) = hex_part(s) else {
        return Err(Rejection::new(
            RejectionCode::EvmFormat,
            "An Ethereum-style address is 0x followed by 40 characters 0-9 and a-f.",
        ));
    };
    let mut lower = [0u8; 40];
    for (slot, b) in lower.iter_mut().zip(hex.bytes()) {
        *slot = b.to_ascii_lowercase();
    }
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let mixed = has_upper && has_lower;
    // Keccak only when there is a checksum to verify: it is most of the cost.
    if mixed && hex.as_bytes() != eip55(&lower) {
        return Err(Rejection::new(
            RejectionCode::EvmChecksum,
            "This address's capital letters do not match its checksum (EIP-55); a character was probably mistyped.",
        ));
    }
    let lower = std::str::from_utf8(&lower).unwrap_or_default();
    let facts = Facts { chain: Some("evm"), checksum_verified: mixed, ..Facts::default() };
    let mut value = String::with_capacity(42);
    value.push_str("0x");
    value.push_str(lower);
    Ok(Identifier::new(Kind::Evm, &value, value.clone(), facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples in EIP-55.
    const EIP55: [&str; 8] = [
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        "0xde709f2102306220921060314715629080e2fb77",
        "0x27b1fdb04752bbc536007a920d24acb045561c26",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];

    #[test]
    fn eip55_examples_are_accepted_and_keyed_lower_case() {
        for address in EIP55 {
            let id = parse(address).unwrap_or_else(|e| panic!("{address}: {e}"));
            assert_eq!(id.key, format!("evm:{}", address.to_ascii_lowercase()));
            assert_eq!(id.facts.chain, Some("evm"));
        }
    }

    #[test]
    fn checksum_verified_only_for_mixed_case() {
        for address in &EIP55[4..] {
            let id = parse(&address.to_ascii_lowercase()).unwrap();
            assert_eq!(id.display, address.to_ascii_lowercase());
            assert!(!id.facts.checksum_verified);
            assert!(parse(address).unwrap().facts.checksum_verified);
            assert_eq!(eip55(id.value().as_bytes()[2..].try_into().unwrap()), address.as_bytes()[2..]);
        }
    }

    #[test]
    fn a_wrong_checksum_is_rejected() {
        // Flip the case of one letter of a checksummed address.
        let bad = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        assert_eq!(parse(bad).unwrap_err().code, RejectionCode::EvmChecksum);
    }

    #[test]
    fn formats() {
        assert_eq!(
            parse("ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1/transfer?value=1").unwrap().key,
            "evm:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
        );
        assert_eq!(
            parse("0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED").unwrap().key,
            "evm:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
        );
        assert_eq!(parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea").unwrap_err().code, RejectionCode::EvmFormat);
        assert_eq!(parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beagg").unwrap_err().code, RejectionCode::EvmFormat);
    }
}

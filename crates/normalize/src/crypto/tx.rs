//! Transaction hashes: `tx:<chain>:<hash>`.
//!
//! - `0x` and 64 hex digits: an EVM transaction, `tx:evm:0x<lower hex>`.
//! - 64 hex digits without `0x`: Bitcoin-style (Bitcoin, Litecoin, TRON and others all show
//!   txids this way), keyed `tx:btc:<lower hex>`. The hash alone cannot tell those chains apart,
//!   but a 256-bit hash never collides across chains, so one key still names one transaction;
//!   `facts.chain` says "btc" only as the key's family, not as a claim about the chain.
//! - base58 decoding to 64 bytes (a signature): a Solana transaction, `tx:sol:<base58>`.
//!
//! Explorer links (`…/tx/<hash>`) are unwrapped.

use super::sol::decode_exact;
use super::{is_base58, unwrap_explorer_link};
use crate::rejection::{Rejection, RejectionCode};
use crate::text::strip_prefix_ci;
use crate::types::{Facts, Identifier, Kind};

const TX_MARKERS: [&str; 3] = ["/tx/", "/transaction/", "/txs/"];

fn all_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether a value is shaped like a transaction hash.
pub(crate) fn looks_like(s: &str) -> bool {
    let s = unwrap_explorer_link(s, &TX_MARKERS);
    let hex = strip_prefix_ci(s, "0x").unwrap_or(s);
    (hex.len() == 64 && all_hex(hex)) || ((86..=88).contains(&s.len()) && s.bytes().all(is_base58))
}

/// Normalises a transaction hash.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let s = unwrap_explorer_link(s, &TX_MARKERS);
    let (chain, value) = if let Some(hex) = strip_prefix_ci(s, "0x") {
        if hex.len() != 64 || !all_hex(hex) {
            return Err(format());
        }
        ("evm", format!("evm:0x{}", hex.to_ascii_lowercase()))
    } else if s.len() == 64 && all_hex(s) {
        ("btc", format!("btc:{}", s.to_ascii_lowercase()))
    } else if s.bytes().all(is_base58) && decode_exact::<64>(s).is_some() {
        ("sol", format!("sol:{s}"))
    } else {
        return Err(format());
    };
    let facts = Facts { chain: Some(chain), ..Facts::default() };
    Ok(Identifier::new(Kind::Transaction, &value, s.to_owned(), facts))
}

fn format() -> Rejection {
    Rejection::new(
        RejectionCode::TxFormat,
        "A transaction hash is 64 characters 0-9 and a-f (with 0x on Ethereum-style chains), or a Solana signature.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

    #[test]
    fn hash_families() {
        let evm = parse(&format!("0x{}", HASH.to_ascii_uppercase())).unwrap();
        assert_eq!(evm.key, format!("tx:evm:0x{HASH}"));
        assert_eq!(evm.facts.chain, Some("evm"));
        let btc = parse(HASH).unwrap();
        assert_eq!(btc.key, format!("tx:btc:{HASH}"));
        let link = parse(&format!("https://etherscan.io/tx/0x{HASH}")).unwrap();
        assert_eq!(link.key, evm.key);
        let sig = bs58::encode([9u8; 64]).into_string();
        assert!(looks_like(&sig));
        assert_eq!(parse(&sig).unwrap().key, format!("tx:sol:{sig}"));
    }

    #[test]
    fn rejections() {
        assert_eq!(parse(&HASH[1..]).unwrap_err().code, RejectionCode::TxFormat);
        assert_eq!(parse("0x1234").unwrap_err().code, RejectionCode::TxFormat);
        assert_eq!(parse(&format!("{}g", &HASH[1..])).unwrap_err().code, RejectionCode::TxFormat);
    }
}

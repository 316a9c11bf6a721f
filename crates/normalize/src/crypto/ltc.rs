//! Litecoin addresses: `ltc:<address>`.
//!
//! Base58check with version 0x30 (`L…`, P2PKH) or 0x32 (`M…`, P2SH), and segwit with the
//! human-readable part `ltc` (keyed in lower case). Legacy `3…` P2SH addresses share Bitcoin's
//! version byte and are keyed as Bitcoin (see [`super::btc`]).

use super::utxo::UtxoChain;
use crate::rejection::{Rejection, RejectionCode};
use crate::types::{Facts, Identifier, Kind};

/// Litecoin refuses mixed case and other human-readable parts as plain format errors.
const LITECOIN: UtxoChain = UtxoChain {
    uri_scheme: "litecoin:",
    segwit_prefixes: &["ltc1"],
    hrp: "ltc",
    versions: &[0x30, 0x32],
    test_versions: &[],
    legacy_first: &['L', 'M'],
    legacy_len: 26..=35,
    format,
    checksum,
    mixed_case: format,
    network: format,
};

/// Whether a value is shaped like a Litecoin address.
pub(crate) fn looks_like(s: &str) -> bool {
    LITECOIN.looks_like(s)
}

/// Normalises a Litecoin address.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let address = LITECOIN.address(s)?;
    let facts = Facts { chain: Some("litecoin"), checksum_verified: true, ..Facts::default() };
    Ok(Identifier::new(Kind::Litecoin, &address, address.clone(), facts))
}

fn format() -> Rejection {
    Rejection::new(RejectionCode::LtcFormat, "This is not a valid Litecoin address.")
}

fn checksum() -> Rejection {
    Rejection::new(
        RejectionCode::LtcChecksum,
        "This Litecoin address's checksum does not match; a character was probably mistyped.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::encode_check;

    #[test]
    fn legacy_and_p2sh_forms() {
        for version in [0x30u8, 0x32] {
            let mut payload = [7u8; 21];
            payload[0] = version;
            let address = encode_check(&payload, bs58::Alphabet::BITCOIN);
            assert!(looks_like(&address), "{address}");
            assert_eq!(parse(&address).unwrap().key, format!("ltc:{address}"));
        }
        assert_eq!(parse("LZZZ1eP5QGefi2DMPTfTL5SLmv7DivfNa").unwrap_err().code, RejectionCode::LtcChecksum);
    }

    #[test]
    fn segwit_form() {
        let program = [0x75u8; 20];
        let address = bech32::segwit::encode_v0(bech32::Hrp::parse("ltc").unwrap(), &program).unwrap();
        assert!(address.starts_with("ltc1q"));
        assert_eq!(parse(&address).unwrap().key, format!("ltc:{address}"));
        assert_eq!(parse(&address.to_ascii_uppercase()).unwrap().key, format!("ltc:{address}"));
        let mut broken = address.clone();
        broken.pop();
        broken.push(if address.ends_with('q') { 'p' } else { 'q' });
        assert_eq!(parse(&broken).unwrap_err().code, RejectionCode::LtcChecksum);
    }
}

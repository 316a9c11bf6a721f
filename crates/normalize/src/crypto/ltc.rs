//! Litecoin addresses: `ltc:<address>`.
//!
//! Base58check with version 0x30 (`L…`, P2PKH) or 0x32 (`M…`, P2SH), and segwit with the
//! human-readable part `ltc` (keyed in lower case). Legacy `3…` P2SH addresses share Bitcoin's
//! version byte and are keyed as Bitcoin (see [`super::btc`]).

use bech32::primitives::decode::{SegwitHrpstring, SegwitHrpstringError};

use super::{Base58Error, decode_check, is_base58};
use crate::rejection::{Rejection, RejectionCode};
use crate::text::strip_prefix_ci;
use crate::types::{Facts, Identifier, Kind};

fn strip_uri(s: &str) -> &str {
    let s = strip_prefix_ci(s, "litecoin:").unwrap_or(s);
    s.split('?').next().unwrap_or_default()
}

fn is_segwit_shaped(s: &str) -> bool {
    strip_prefix_ci(s, "ltc1").is_some()
}

/// Whether a value is shaped like a Litecoin address.
pub(crate) fn looks_like(s: &str) -> bool {
    let s = strip_uri(s);
    if is_segwit_shaped(s) {
        return (14..=90).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
    }
    (26..=35).contains(&s.len()) && s.starts_with(['L', 'M']) && s.bytes().all(is_base58)
}

/// Normalises a Litecoin address.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let s = strip_uri(s);
    if is_segwit_shaped(s) {
        let mixed = s.bytes().any(|b| b.is_ascii_uppercase()) && s.bytes().any(|b| b.is_ascii_lowercase());
        if mixed {
            return Err(format());
        }
        return match SegwitHrpstring::new(s) {
            Ok(segwit) if segwit.hrp().as_str().eq_ignore_ascii_case("ltc") => Ok(identifier(&s.to_ascii_lowercase())),
            Ok(_) => Err(format()),
            Err(SegwitHrpstringError::Checksum(_)) => Err(checksum()),
            Err(_) => Err(format()),
        };
    }
    let mut buf = [0u8; 64];
    let payload = match decode_check(s, bs58::Alphabet::BITCOIN, &mut buf) {
        Ok(payload) => payload,
        Err(Base58Error::Checksum) => return Err(checksum()),
        Err(Base58Error::Format) => return Err(format()),
    };
    match (payload.len(), payload.first()) {
        (21, Some(0x30 | 0x32)) => Ok(identifier(s)),
        _ => Err(format()),
    }
}

fn identifier(address: &str) -> Identifier {
    let facts = Facts { chain: Some("litecoin"), checksum_verified: true, ..Facts::default() };
    Identifier::new(Kind::Litecoin, address, address.to_owned(), facts)
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

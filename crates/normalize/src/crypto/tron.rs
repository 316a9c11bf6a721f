//! TRON addresses: `trx:<base58 form>`.
//!
//! TRON addresses are base58check with version byte 0x41 (they start with `T`). Explorers and
//! APIs also show the hex form, `41` and 40 hex digits; it is converted to base58 so both forms
//! give one key. TRON is where most USDT scam payments go.

use super::{Base58Error, decode_check, encode_check, is_base58};
use crate::rejection::{Rejection, RejectionCode};
use crate::text::{hex_decode_into, strip_prefix_ci};
use crate::types::{Facts, Identifier, Kind};

const VERSION: u8 = 0x41;

/// The 42-hex-digit form (`41…`, optionally with `0x`), if the value has that shape.
fn hex_form(s: &str) -> Option<&str> {
    let hex = strip_prefix_ci(s, "0x").unwrap_or(s);
    (hex.len() == 42 && hex.starts_with("41") && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// Whether a value is shaped like a TRON address (base58 `T…` or hex `41…`).
pub(crate) fn looks_like(s: &str) -> bool {
    hex_form(s).is_some() || (s.len() == 34 && s.starts_with('T') && s.bytes().all(is_base58))
}

/// Normalises a TRON address in base58 or hex form.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    if let Some(hex) = hex_form(s) {
        let mut payload = [0u8; 21];
        if hex_decode_into(hex, &mut payload).is_none() {
            return Err(format());
        }
        let address = encode_check(&payload, bs58::Alphabet::BITCOIN);
        return Ok(identifier(&address, false));
    }
    let mut buf = [0u8; 64];
    let payload = match decode_check(s, bs58::Alphabet::BITCOIN, &mut buf) {
        Ok(payload) => payload,
        Err(Base58Error::Checksum) => {
            return Err(Rejection::new(
                RejectionCode::TronChecksum,
                "This TRON address's checksum does not match; a character was probably mistyped.",
            ));
        }
        Err(Base58Error::Format) => return Err(format()),
    };
    if payload.len() != 21 || payload[0] != VERSION {
        return Err(format());
    }
    Ok(identifier(s, true))
}

fn identifier(address: &str, checksum_verified: bool) -> Identifier {
    let facts = Facts { chain: Some("tron"), checksum_verified, ..Facts::default() };
    Identifier::new(Kind::Tron, address, address.to_owned(), facts)
}

fn format() -> Rejection {
    Rejection::new(RejectionCode::TronFormat, "A TRON address starts with T and has 34 letters and digits.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_and_hex_forms_give_one_key() {
        // TRON's documentation example and the USDT (TRC-20) contract.
        for (base58, hex) in [
            ("TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL", "418840E6C55B9ADA326D211D818C34A994AECED808"),
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"),
        ] {
            let a = parse(base58).unwrap_or_else(|e| panic!("{base58}: {e}"));
            let b = parse(hex).unwrap_or_else(|e| panic!("{hex}: {e}"));
            assert_eq!(a.key, format!("trx:{base58}"));
            assert_eq!(a.key, b.key);
            assert_eq!(a.facts.chain, Some("tron"));
            assert!(looks_like(base58) && looks_like(hex));
        }
    }

    #[test]
    fn rejections() {
        assert_eq!(parse("TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeM").unwrap_err().code, RejectionCode::TronChecksum);
        // A valid Bitcoin address is base58check but not version 0x41.
        assert_eq!(parse("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").unwrap_err().code, RejectionCode::TronFormat);
        assert_eq!(parse("TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqe0").unwrap_err().code, RejectionCode::TronFormat);
    }
}

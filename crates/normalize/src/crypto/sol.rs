//! Solana addresses: `sol:<base58>`.
//!
//! A Solana address is a 32-byte public key in base58 (32 to 44 characters). There is no
//! checksum, so any base58 string that decodes to exactly 32 bytes is accepted; base58 spells
//! each byte string one way only, so the address as written is the key.

use super::is_base58;
use crate::rejection::{Rejection, RejectionCode};
use crate::types::{Facts, Identifier, Kind};

/// Whether a value is shaped like a Solana address.
///
/// Besides the alphabet, the length must be able to encode 32 bytes: each leading `1` is one
/// zero byte and each other character carries log2(58) ≈ 5.858 bits. This cheaply rules out
/// the 25-byte Bitcoin, TRON and Litecoin addresses that share the alphabet.
pub(crate) fn looks_like(s: &str) -> bool {
    if !(32..=44).contains(&s.len()) || !s.bytes().all(is_base58) {
        return false;
    }
    let ones = s.bytes().take_while(|b| *b == b'1').count().min(32);
    let rest_bits_milli = (s.len() - ones) * 5858;
    rest_bits_milli + 5858 > (31 - ones.min(31)) * 8000 && rest_bits_milli <= (32 - ones) * 8000 + 5858
}

/// Decodes base58 to exactly `N` bytes.
pub(crate) fn decode_exact<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut buf = [0u8; 96];
    if s.len() > buf.len() {
        return None;
    }
    let len = bs58::decode(s).onto(&mut buf[..]).ok()?;
    buf.get(..len)?.try_into().ok()
}

/// Normalises a Solana address.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let decoded = looks_like(s).then(|| decode_exact::<32>(s)).flatten();
    let Some(key) = decoded else {
        return Err(Rejection::new(
            RejectionCode::SolFormat,
            "A Solana address has 32 to 44 letters and digits (base58) and stands for 32 bytes.",
        ));
    };
    // Base58 is a bijection for a given byte length, so the input is already canonical.
    let _ = key;
    let address = s;
    let facts = Facts { chain: Some("solana"), ..Facts::default() };
    Ok(Identifier::new(Kind::Solana, address, address.to_owned(), facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_program_and_mint_addresses() {
        for address in [
            "11111111111111111111111111111111",
            "So11111111111111111111111111111111111111112",
            "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
            "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
        ] {
            let id = parse(address).unwrap_or_else(|e| panic!("{address}: {e}"));
            assert_eq!(id.key, format!("sol:{address}"));
            assert_eq!(id.facts.chain, Some("solana"));
        }
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        // A Bitcoin address decodes to 25 bytes, not 32.
        assert_eq!(parse("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").unwrap_err().code, RejectionCode::SolFormat);
        assert_eq!(parse("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1vv").unwrap_err().code, RejectionCode::SolFormat);
        assert_eq!(parse("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt10").unwrap_err().code, RejectionCode::SolFormat);
        assert!(!looks_like("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"));
        assert!(!looks_like("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"));
    }

    #[test]
    fn the_length_filter_agrees_with_decoding() {
        // Every length from 32 to 44, with and without leading zero bytes.
        for zeros in [0usize, 1, 5, 31] {
            for fill in [1u8, 0x3a, 0xff] {
                let mut bytes = [fill; 32];
                bytes[..zeros].fill(0);
                let address = bs58::encode(bytes).into_string();
                assert!(looks_like(&address), "{address}");
                assert_eq!(parse(&address).unwrap().key, format!("sol:{address}"));
            }
        }
    }
}

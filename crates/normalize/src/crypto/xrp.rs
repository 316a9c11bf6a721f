//! XRP Ledger classic addresses: `xrp:r…`.
//!
//! Base58check in the XRP alphabet (`rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz`)
//! with version byte 0x00 and a 20-byte account id. A destination tag (`?dt=…`) is dropped: the
//! account is what links victims (exchanges use tags to tell their customers apart, and such
//! deposit addresses belong on the safelist). X-addresses are not supported.

use super::{Base58Error, decode_check};
use crate::rejection::{Rejection, RejectionCode};
use crate::types::{Facts, Identifier, Kind};

fn is_xrp_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l')
}

fn strip_tag(s: &str) -> &str {
    s.split(['?', ':']).next().unwrap_or_default()
}

/// Whether a value is shaped like an XRP classic address.
pub(crate) fn looks_like(s: &str) -> bool {
    let s = strip_tag(s);
    (25..=35).contains(&s.len()) && s.starts_with('r') && s.bytes().all(is_xrp_char)
}

/// Normalises an XRP classic address.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let s = strip_tag(s);
    let mut buf = [0u8; 64];
    let payload = match decode_check(s, bs58::Alphabet::RIPPLE, &mut buf) {
        Ok(payload) => payload,
        Err(Base58Error::Checksum) => {
            return Err(Rejection::new(
                RejectionCode::XrpChecksum,
                "This XRP address's checksum does not match; a character was probably mistyped.",
            ));
        }
        Err(Base58Error::Format) => return Err(format()),
    };
    if payload.len() != 21 || payload[0] != 0x00 {
        return Err(format());
    }
    let facts = Facts { chain: Some("xrp"), checksum_verified: true, ..Facts::default() };
    Ok(Identifier::new(Kind::Xrp, s, s.to_owned(), facts))
}

fn format() -> Rejection {
    Rejection::new(RejectionCode::XrpFormat, "An XRP address starts with r and has 25 to 35 letters and digits.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_accounts() {
        // The genesis account and the "black hole" account rrrrrrrrrrrrrrrrrrrrrhoLvTp.
        for address in ["rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "rrrrrrrrrrrrrrrrrrrrrhoLvTp"] {
            assert!(looks_like(address));
            let id = parse(address).unwrap_or_else(|e| panic!("{address}: {e}"));
            assert_eq!(id.key, format!("xrp:{address}"));
        }
        assert_eq!(
            parse("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh?dt=123").unwrap().key,
            "xrp:rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"
        );
    }

    #[test]
    fn rejections() {
        assert_eq!(parse("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTj").unwrap_err().code, RejectionCode::XrpChecksum);
        assert_eq!(parse("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyT0").unwrap_err().code, RejectionCode::XrpFormat);
    }
}

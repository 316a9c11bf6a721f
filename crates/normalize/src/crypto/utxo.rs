//! What Bitcoin and Litecoin addresses share: a BIP-21-style URI prefix, base58check legacy
//! addresses told apart by their version byte, and segwit addresses (BIP-173 bech32 for version 0,
//! BIP-350 bech32m for versions 1 and up) told apart by their human-readable part. Legacy
//! addresses are case-sensitive and keyed as written; segwit ones are keyed in lower case, and
//! mixed case is refused as the BIPs require. Each chain brings its own values and wording.

use std::ops::RangeInclusive;

use bech32::primitives::decode::{SegwitHrpstring, SegwitHrpstringError};

use super::{Base58Error, decode_check, is_base58};
use crate::rejection::Rejection;
use crate::text::strip_prefix_ci;

/// One base58check-or-segwit chain.
pub(crate) struct UtxoChain {
    /// The URI scheme wallets put before the address, e.g. `bitcoin:`.
    pub uri_scheme: &'static str,
    /// Prefixes (any case) that mark a segwit address of this chain or its test networks.
    pub segwit_prefixes: &'static [&'static str],
    /// The main network's human-readable part.
    pub hrp: &'static str,
    /// Main-network base58check version bytes.
    pub versions: &'static [u8],
    /// Test-network version bytes, refused with `network`.
    pub test_versions: &'static [u8],
    /// First characters of main-network legacy addresses.
    pub legacy_first: &'static [char],
    /// Lengths of legacy addresses.
    pub legacy_len: RangeInclusive<usize>,
    /// Not an address of this chain.
    pub format: fn() -> Rejection,
    /// The checksum does not match.
    pub checksum: fn() -> Rejection,
    /// A segwit address mixing upper and lower case.
    pub mixed_case: fn() -> Rejection,
    /// An address of another network of this chain (test networks).
    pub network: fn() -> Rejection,
}

impl UtxoChain {
    fn strip_uri<'a>(&self, s: &'a str) -> &'a str {
        let s = strip_prefix_ci(s, self.uri_scheme).unwrap_or(s);
        s.split('?').next().unwrap_or_default()
    }

    fn is_segwit_shaped(&self, s: &str) -> bool {
        self.segwit_prefixes.iter().any(|p| strip_prefix_ci(s, p).is_some())
    }

    /// Whether a value is shaped like an address of this chain (cheap; no decoding).
    pub(crate) fn looks_like(&self, s: &str) -> bool {
        let s = self.strip_uri(s);
        if self.is_segwit_shaped(s) {
            return (14..=90).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
        }
        self.legacy_len.contains(&s.len()) && s.starts_with(self.legacy_first) && s.bytes().all(is_base58)
    }

    /// Checks an address and returns it as keyed: legacy as written, segwit in lower case.
    pub(crate) fn address(&self, s: &str) -> Result<String, Rejection> {
        let s = self.strip_uri(s);
        if self.is_segwit_shaped(s) {
            if s.bytes().any(|b| b.is_ascii_uppercase()) && s.bytes().any(|b| b.is_ascii_lowercase()) {
                return Err((self.mixed_case)());
            }
            return match SegwitHrpstring::new(s) {
                Ok(segwit) if segwit.hrp().as_str().eq_ignore_ascii_case(self.hrp) => Ok(s.to_ascii_lowercase()),
                Ok(_) => Err((self.network)()),
                Err(SegwitHrpstringError::Checksum(_)) => Err((self.checksum)()),
                Err(_) => Err((self.format)()),
            };
        }
        let mut buf = [0u8; 64];
        let payload = match decode_check(s, bs58::Alphabet::BITCOIN, &mut buf) {
            Ok(payload) => payload,
            Err(Base58Error::Checksum) => return Err((self.checksum)()),
            Err(Base58Error::Format) => return Err((self.format)()),
        };
        match (payload.len(), payload.first()) {
            (21, Some(v)) if self.versions.contains(v) => Ok(s.to_owned()),
            (21, Some(v)) if self.test_versions.contains(v) => Err((self.network)()),
            _ => Err((self.format)()),
        }
    }
}

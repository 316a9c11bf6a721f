//! Payment cards: `card:<first6>:<last4>:<mac>`.
//!
//! The full card number (PAN) is never stored and never shown: the key holds the issuer prefix,
//! the last four digits and the first 16 hex digits of HMAC-SHA256 over the digits under a
//! server-held key, so two reports of the same card link while the key alone cannot be
//! brute-forced back to the number by anyone without the server's secret.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::rejection::{Rejection, RejectionCode};
use crate::text::hex_lower;
use crate::types::{Facts, Identifier, Kind};

/// The longest card number (ISO/IEC 7812).
const MAX_PAN: usize = 19;
/// The shortest card number we accept.
const MIN_PAN: usize = 12;

/// The keyed MAC that stands in for the card number; keyed once, cloned per card.
#[derive(Clone)]
pub(crate) struct CardMac {
    keyed: Hmac<Sha256>,
}

impl CardMac {
    /// Keys the MAC; HMAC accepts keys of any length.
    pub(crate) fn new(key: &[u8]) -> CardMac {
        let keyed = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
            Ok(keyed) => keyed,
            // HMAC takes keys of every length, so this arm is never taken; it keeps us free of
            // `unwrap`. `KeyInit::new` with a block-sized key is infallible.
            Err(_) => <Hmac<Sha256> as KeyInit>::new(&Default::default()),
        };
        CardMac { keyed }
    }

    /// The first 16 hex digits of HMAC-SHA256(key, digits).
    fn tag(&self, digits: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        mac.update(digits);
        let out = mac.finalize().into_bytes();
        hex_lower(&out[..8])
    }
}

impl std::fmt::Debug for CardMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardMac(<redacted>)")
    }
}

/// Digits of a card number with spaces and dashes removed.
struct Pan {
    digits: [u8; MAX_PAN],
    len: usize,
}

impl Pan {
    fn as_bytes(&self) -> &[u8] {
        &self.digits[..self.len]
    }
}

/// Why the digits could not be collected.
enum PanError {
    NotDigits,
    Length(usize),
}

fn collect(s: &str) -> Result<Pan, PanError> {
    let mut pan = Pan { digits: [0; MAX_PAN], len: 0 };
    let mut count = 0usize;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => {
                if let Some(slot) = pan.digits.get_mut(count) {
                    *slot = b;
                }
                count += 1;
            }
            b' ' | b'-' => {}
            _ => return Err(PanError::NotDigits),
        }
    }
    if !(MIN_PAN..=MAX_PAN).contains(&count) {
        return Err(PanError::Length(count));
    }
    pan.len = count;
    Ok(pan)
}

/// The Luhn (mod 10) check used by every card scheme.
pub(crate) fn luhn_ok(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// The card scheme for an issuer prefix and length, if it is one a victim is likely to have.
///
/// Only used by hint-less detection, so that any Luhn-valid digit string (one in ten) is not
/// taken for a card.
fn known_scheme(digits: &[u8]) -> Option<&'static str> {
    let prefix = |n: usize| -> u32 { digits.iter().take(n).fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')) };
    let len = digits.len();
    let scheme = match (prefix(1), prefix(2), prefix(3), prefix(4)) {
        (4, ..) if matches!(len, 13 | 16 | 19) => "visa",
        (_, 51..=55, ..) | (.., 2221..=2720) if len == 16 => "mastercard",
        (_, 34 | 37, ..) if len == 15 => "amex",
        (.., 2200..=2204) if len >= 16 => "mir",
        (_, 65, ..) | (_, _, 644..=649, _) | (.., 6011) if len >= 16 => "discover",
        (.., 3528..=3589) if len >= 16 => "jcb",
        (_, 36 | 38 | 39, ..) | (_, _, 300..=305, _) if len >= 14 => "diners",
        (_, 62, ..) if len >= 16 => "unionpay",
        (_, 50 | 56..=58, ..) | (_, 67, ..) | (_, _, 639, _) if len >= 12 => "maestro",
        _ => return None,
    };
    Some(scheme)
}

/// Whether detection without a hint should treat the value as a card.
pub(crate) fn looks_like(s: &str) -> bool {
    match collect(s) {
        Ok(pan) => luhn_ok(pan.as_bytes()) && known_scheme(pan.as_bytes()).is_some(),
        Err(_) => false,
    }
}

/// Normalises a card number given with or without spaces and dashes.
pub(crate) fn parse(s: &str, mac: &CardMac) -> Result<Identifier, Rejection> {
    let pan = match collect(s) {
        Ok(pan) => pan,
        Err(PanError::NotDigits) => {
            return Err(Rejection::new(
                RejectionCode::CardLength,
                "A card number has only digits (spaces and dashes are fine).",
            ));
        }
        Err(PanError::Length(n)) => {
            return Err(Rejection::new(
                RejectionCode::CardLength,
                format!("A card number has {MIN_PAN} to {MAX_PAN} digits; this one has {n}."),
            ));
        }
    };
    let digits = pan.as_bytes();
    if !luhn_ok(digits) {
        return Err(Rejection::new(
            RejectionCode::CardChecksum,
            "This card number's check digit does not match; a digit was probably mistyped.",
        ));
    }
    let first6 = std::str::from_utf8(&digits[..6]).unwrap_or_default();
    let last4 = std::str::from_utf8(&digits[digits.len() - 4..]).unwrap_or_default();
    let tag = mac.tag(digits);
    let value = format!("{first6}:{last4}:{tag}");
    let mut display = String::with_capacity(digits.len());
    display.push_str(first6);
    display.extend(std::iter::repeat_n('*', digits.len() - 10));
    display.push_str(last4);
    let facts = Facts { checksum_verified: true, ..Facts::default() };
    Ok(Identifier::new(Kind::Card, &value, display, facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac() -> CardMac {
        CardMac::new(b"test key")
    }

    #[test]
    fn test_card_numbers_of_each_scheme() {
        for pan in [
            "4111111111111111",
            "4012888888881881",
            "4222222222222",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
            "36227206271667",
            "6200000000000005",
            "6759649826438453",
        ] {
            assert!(looks_like(pan), "{pan}");
            let id = parse(pan, &mac()).unwrap();
            assert!(!id.key.contains(pan) && !id.display.contains(pan));
            assert_eq!(id.display.len(), pan.len());
            assert!(id.key.starts_with(&format!("card:{}:{}:", &pan[..6], &pan[pan.len() - 4..])));
        }
    }

    #[test]
    fn key_and_display_never_hold_the_number() {
        let id = parse("4111 1111 1111 1111", &mac()).unwrap();
        assert_eq!(id.display, "411111******1111");
        assert_eq!(id.kind, Kind::Card);
        let parts: Vec<&str> = id.key.split(':').collect();
        assert_eq!(parts[..3], ["card", "411111", "1111"]);
        assert_eq!(parts[3].len(), 16);
        assert!(parts[3].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn mac_is_hmac_sha256_under_the_configured_key() {
        // HMAC-SHA256("key", "4111111111111111") computed independently.
        let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(b"test key").unwrap();
        reference.update(b"4111111111111111");
        let expected = hex_lower(&reference.finalize().into_bytes()[..8]);
        let id = parse("4111-1111-1111-1111", &mac()).unwrap();
        assert!(id.key.ends_with(&expected));
        let other = parse("4111111111111111", &CardMac::new(b"other key")).unwrap();
        assert_ne!(id.key, other.key, "the key depends on the server secret");
    }

    #[test]
    fn rejections() {
        let code = |s: &str| parse(s, &mac()).unwrap_err().code;
        assert_eq!(code("4111111111111112"), RejectionCode::CardChecksum);
        assert_eq!(code("41111111111"), RejectionCode::CardLength);
        assert_eq!(code("41111111111111111111"), RejectionCode::CardLength);
        assert_eq!(code("4111x111111111111"), RejectionCode::CardLength);
    }

    #[test]
    fn luhn_valid_numbers_without_a_scheme_are_not_detected() {
        // 12-digit phone-like numbers pass Luhn one time in ten.
        assert!(luhn_ok(b"447911123456"));
        assert!(!looks_like("447911123456"));
        assert!(parse("447911123456", &mac()).is_ok(), "accepted when the victim says card");
    }
}

//! Payment cards: `card:<first6>:<last4>:<mac>`.
//!
//! The full card number (PAN) is never stored and never shown: the key holds the issuer prefix,
//! the last four digits and the first 16 hex digits of HMAC-SHA256 over the digits under a
//! server-held key, so two reports of the same card link while the key alone cannot be
//! brute-forced back to the number by anyone without the server's secret.
//!
//! [`mask_card_numbers`] keeps card numbers out of every other stored text (raw values of any
//! kind, narratives, notes), with the same mask as a card's display.

use std::borrow::Cow;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::rejection::{Rejection, RejectionCode};
use crate::text::{Fold, fold_char, hex_lower};
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

/// Digits a masked card number keeps at its start (the issuer prefix) and at its end.
const KEPT_FIRST: usize = 6;
const KEPT_LAST: usize = 4;
/// The shortest digit run masked in free text. Twelve-digit cards are rare, and twelve-digit
/// phone and account numbers common: one in ten of them would pass the Luhn check.
const MASKED_MIN: usize = 13;
/// The shortest hex string whose digit runs are left alone: an EVM address has 40 hex digits, a
/// transaction hash 64, and a card number glued to a few letters far fewer.
const HEX_STRING_MIN: usize = 32;

/// Masks every card number in free text as a card's display does: the first six and the last
/// four digits are kept, the digits between become `*`.
///
/// A card number here is a run of 13 to 19 digits passing the Luhn check, its digits separated
/// by at most one space or dash, with the look-alikes the normaliser folds (full-width digits,
/// non-breaking spaces, typographic dashes, zero-width characters) read as it reads them. The run
/// is maximal: digits joined to it by a single separator belong to it, so a card number with
/// more digits written right after it (`4111 1111 1111 1111 123`) is a 19-digit run that is
/// masked only if that run passes the check. Any other Luhn-valid 13–19 digit run (a long phone
/// or account number, one in ten of them) is masked too: for stored text, masking a number too
/// many is the safe side. One exception keeps crypto evidence intact: a run inside a hex string
/// of 32 characters or more (an address, a transaction hash) is part of that string. Everything
/// else, including IBANs (whose letters break their runs) and shorter numbers, is returned
/// unchanged and borrowed.
///
/// Hand-written rather than taken from a crate: it must read look-alike characters exactly as
/// the normaliser does, so that nothing the normaliser would take for a card escapes masking.
pub fn mask_card_numbers(text: &str) -> Cow<'_, str> {
    let mut run = DigitRun::default();
    let mut masked: Vec<usize> = Vec::new();
    for (at, c) in text.char_indices() {
        let folded = match fold_char(c) {
            Fold::Drop => continue,
            Fold::Keep => c,
            Fold::Ascii(a) => a,
        };
        match folded {
            '0'..='9' => run.digit(at, c.len_utf8(), folded as u8),
            ' ' | '-' if run.len > 0 && !run.separated => run.separated = true,
            _ => run.close(text, &mut masked),
        }
    }
    run.close(text, &mut masked);
    if masked.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut next = masked.iter().peekable();
    for (at, c) in text.char_indices() {
        if next.peek() == Some(&&at) {
            next.next();
            out.push('*');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The run of digits being read by [`mask_card_numbers`]: the first [`MAX_PAN`] digits with
/// their byte offsets, how many digits it has in all, and where it lies in the text.
#[derive(Default)]
struct DigitRun {
    digits: [u8; MAX_PAN],
    offsets: [usize; MAX_PAN],
    len: usize,
    /// A separator followed the last digit: one more ends the run.
    separated: bool,
    /// A separator stands between two of its digits.
    spaced: bool,
    /// Byte offsets of its first digit and just after its last.
    start: usize,
    end: usize,
}

impl DigitRun {
    fn digit(&mut self, at: usize, width: usize, digit: u8) {
        if let (Some(d), Some(o)) = (self.digits.get_mut(self.len), self.offsets.get_mut(self.len)) {
            *d = digit;
            *o = at;
        }
        if self.len == 0 {
            self.start = at;
        }
        self.spaced |= self.separated;
        self.end = at + width;
        self.len = self.len.saturating_add(1);
        self.separated = false;
    }

    /// Ends the run, adding the offsets of the digits to mask when it is a card number.
    fn close(&mut self, text: &str, masked: &mut Vec<usize>) {
        let len = self.len;
        if (MASKED_MIN..=MAX_PAN).contains(&len)
            && luhn_ok(&self.digits[..len])
            // a run written with separators is never part of a hex string
            && (self.spaced || !in_hex_string(text, self.start, self.end))
        {
            masked.extend_from_slice(&self.offsets[KEPT_FIRST..len - KEPT_LAST]);
        }
        *self = DigitRun::default();
    }
}

/// Whether `text[start..end]` lies inside a word of at least [`HEX_STRING_MIN`] hex digits,
/// `0x` aside.
fn in_hex_string(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let word = |b: &&u8| b.is_ascii_alphanumeric();
    let before = bytes[..start].iter().rev().take_while(word).count();
    let after = bytes[end..].iter().take_while(word).count();
    let mut token = &bytes[start - before..end + after];
    if let [b'0', b'x' | b'X', rest @ ..] = token {
        token = rest;
    }
    token.len() >= HEX_STRING_MIN && token.iter().all(u8::is_ascii_hexdigit)
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
    fn card_numbers_in_text_are_masked_like_a_card_display() {
        let cases = [
            ("4111111111111111", "411111******1111"),
            ("card 4111 1111 1111 1111, exp 01/30", "card 4111 11** **** 1111, exp 01/30"),
            ("5500 0000 0000 0004 exp 01/30", "5500 00** **** 0004 exp 01/30"),
            ("pay to 4000-0566-5566-5556.", "pay to 4000-05**-****-5556."),
            ("amex 378282246310005 and 4222222222222", "amex 378282*****0005 and 422222***2222"),
            ("19 digits 6759649826438453 is 16", "19 digits 675964******8453 is 16"),
            // Full-width digits, a non-breaking space and a zero-width space, as pasted from a chat.
            ("４１１１\u{00A0}1111 1111 11\u{200B}11", "４１１１\u{00A0}11** **** 11\u{200B}11"),
        ];
        for (text, masked) in cases {
            assert_eq!(mask_card_numbers(text), masked, "{text}");
            assert_eq!(mask_card_numbers(masked), masked, "masking is idempotent");
        }
    }

    #[test]
    fn other_numbers_pass_unchanged() {
        for text in [
            "DE89 3704 0044 0532 0130 00",
            "GB82 WEST 1234 5698 7654 32",
            "+44 20 7946 0958 on 2026-01-30 at 10:15",
            "4111 1111 1111 1112",   // fails the Luhn check
            "411111111111",          // 12 digits
            "41111111111111111111",  // 20 digits
            "4111  1111 1111 1111",  // two spaces split the run: 4 and 12 digits
            "4111 1111 1111 1111 1", // one run of 17 digits, not Luhn-valid
            // A hex address whose 17-digit run passes the check, and a transaction hash.
            "0x52908400098527886e0f7030069857d2e4169ee7",
            "send to 0x52908400098527886e0f7030069857d2e4169ee7.",
            "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
        ] {
            assert!(matches!(mask_card_numbers(text), Cow::Borrowed(t) if t == text), "{text}");
        }
    }

    #[test]
    fn a_card_number_glued_to_words_is_masked() {
        assert_eq!(mask_card_numbers("card4111111111111111exp"), "card411111******1111exp");
        assert_eq!(mask_card_numbers("0x4111111111111111"), "0x411111******1111");
        assert_eq!(mask_card_numbers("4111111111111111abcdef"), "411111******1111abcdef");
    }

    #[test]
    fn a_long_luhn_valid_number_is_masked_whatever_it_is() {
        // A 14-digit number that is not a card but passes the check: masked, on the safe side.
        assert!(luhn_ok(b"00447911123456"));
        assert_eq!(mask_card_numbers("call 0044 7911 123456"), "call 0044 79** **3456");
    }

    #[test]
    fn luhn_valid_numbers_without_a_scheme_are_not_detected() {
        // 12-digit phone-like numbers pass Luhn one time in ten.
        assert!(luhn_ok(b"447911123456"));
        assert!(!looks_like("447911123456"));
        assert!(parse("447911123456", &mac()).is_ok(), "accepted when the victim says card");
    }
}

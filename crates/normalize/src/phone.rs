//! Telephone numbers: `tel:<E.164>`.
//!
//! Validation, number types and formatting come from libphonenumber's metadata through
//! `rlibphonenumber`, a faithful Rust port that compiles each pattern once and needs no global
//! lock. We hand it only a sanitised `+digits` or `digits` string: this crate does the RFC 3966
//! and noise handling itself so odd input never reaches the library's less-travelled paths.
//!
//! Rules: `+` or a leading `00` (when no country is known) start an international number;
//! anything else is national and needs the country from the hint; letters are refused
//! (`PHONE_LETTERS`), as vanity numbers and extensions are not identifiers; a number must be
//! valid for its region, not merely possible.

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumber, PhoneNumberFormat, PhoneNumberType, Region};

use crate::rejection::{Rejection, RejectionCode};
use crate::text::strip_prefix_ci;
use crate::types::{Country, Facts, Identifier, Kind, PhoneType};

/// The most digits an international number can have (E.164) plus an international prefix.
const MAX_DIGITS: usize = 20;

/// A sanitised number: an optional `+` and digits, on the stack.
struct Digits {
    buf: [u8; MAX_DIGITS + 1],
    len: usize,
}

impl Digits {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    fn plus(&self) -> bool {
        self.buf[0] == b'+'
    }

    fn digits(&self) -> &str {
        let s = self.as_str();
        s.strip_prefix('+').unwrap_or(s)
    }
}

/// Splits an RFC 3966 `tel:` URI into its number and `phone-context`, dropping other parameters.
fn split_uri(s: &str) -> (&str, Option<&str>) {
    let Some(rest) = ["tel:", "callto:", "sms:"].iter().find_map(|scheme| strip_prefix_ci(s, scheme)) else {
        return (s, None);
    };
    let rest = rest.trim_start_matches('/');
    let mut parts = rest.split(';');
    let number = parts.next().unwrap_or_default();
    let context = parts.find_map(|p| strip_prefix_ci(p, "phone-context="));
    // An SMS URI may carry `?body=…`.
    let number = number.split('?').next().unwrap_or_default();
    (number, context)
}

/// Keeps a leading `+` and the digits; rejects letters and anything that is not formatting.
fn sanitise(number: &str, context: Option<&str>) -> Result<Digits, Rejection> {
    let mut out = Digits { buf: [0; MAX_DIGITS + 1], len: 0 };
    let push = |out: &mut Digits, b: u8| -> Result<(), Rejection> {
        let slot = out.buf.get_mut(out.len).ok_or_else(too_long)?;
        *slot = b;
        out.len += 1;
        Ok(())
    };
    let context_digits = context.filter(|c| c.starts_with('+')).filter(|_| !number.trim_start().starts_with('+'));
    if let Some(ctx) = context_digits {
        push(&mut out, b'+')?;
        for b in ctx.bytes().filter(u8::is_ascii_digit) {
            push(&mut out, b)?;
        }
    }
    let mut seen_digit = false;
    for b in number.bytes() {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                push(&mut out, b)?;
            }
            b'+' if !seen_digit && out.len == 0 => push(&mut out, b)?,
            b' ' | b'-' | b'.' | b'(' | b')' | b'/' => {}
            b if b.is_ascii_alphabetic() => {
                return Err(Rejection::new(
                    RejectionCode::PhoneLetters,
                    "A phone number has only digits; write letters on the keypad as digits and leave out extensions.",
                ));
            }
            _ => return Err(invalid()),
        }
    }
    if !seen_digit {
        return Err(invalid());
    }
    Ok(out)
}

fn too_long() -> Rejection {
    Rejection::new(RejectionCode::PhoneInvalid, "This is too long to be a phone number.")
}

fn invalid() -> Rejection {
    Rejection::new(
        RejectionCode::PhoneInvalid,
        "This is not a valid phone number; check the digits and the country code.",
    )
}

fn needs_country() -> Rejection {
    Rejection::new(
        RejectionCode::PhoneNeedsCountry,
        "Enter the number with its country code (starting with + or 00), or choose the country it belongs to.",
    )
}

/// Whether a value is shaped like an international phone number (for hint-less detection).
pub(crate) fn looks_international(s: &str) -> bool {
    let (number, _) = split_uri(s);
    let t = number.trim_start();
    let digits = t.bytes().filter(u8::is_ascii_digit).count();
    (t.starts_with('+') || t.starts_with("00") || number.len() != s.len())
        && (7..=MAX_DIGITS).contains(&digits)
        && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b' ' | b'-' | b'.' | b'(' | b')' | b'/'))
}

/// Whether a value is shaped like a national number (digits and formatting only).
pub(crate) fn looks_national(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    (6..=MAX_DIGITS).contains(&digits)
        && s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'/'))
}

fn region_of(country: Country) -> Option<Region> {
    let region = Region::from_code(country.as_str()).ok()?;
    // Only regions with metadata: parsing against an unknown region is an error anyway.
    PHONE_NUMBER_UTIL.get_country_code_for_region(region)?;
    Some(region)
}

/// Parses a `+…` number, or a national one in `region`; `None` if the library refuses it.
fn parse_with(text: &str, region: Option<Region>) -> Option<PhoneNumber> {
    PHONE_NUMBER_UTIL.parse(text, region).ok()
}

/// Normalises a phone number; `country` reads national forms.
pub(crate) fn parse(s: &str, country: Option<Country>) -> Result<Identifier, Rejection> {
    let (number, context) = split_uri(s);
    let digits = sanitise(number, context)?;
    let region = country.and_then(region_of);
    let international = if digits.plus() {
        Some(digits.as_str().to_owned())
    } else {
        digits.digits().strip_prefix("00").map(|rest| format!("+{rest}"))
    };
    let parsed = if digits.plus() {
        parse_with(digits.as_str(), None)
    } else if let Some(region) = region {
        // The region's own international prefix (e.g. 011 in the USA) is handled here too;
        // a European-style 00 that the region does not use falls back to international.
        parse_with(digits.digits(), Some(region))
            .filter(PhoneNumber::is_valid)
            .or_else(|| international.as_deref().and_then(|i| parse_with(i, None)))
    } else if let Some(international) = international.as_deref() {
        parse_with(international, None)
    } else {
        return Err(needs_country());
    };
    let Some(number) = parsed.filter(PhoneNumber::is_valid) else {
        return Err(invalid());
    };
    let e164 = number.format_as(PhoneNumberFormat::E164);
    let display = number.format_as(PhoneNumberFormat::International).into_owned();
    let facts = Facts {
        country: number.get_region_code().and_then(|r| country_of_region(r.as_region_str().as_str())),
        phone_type: Some(phone_type(number.get_type())),
        ..Facts::default()
    };
    Ok(Identifier::new(Kind::Phone, &e164, display, facts))
}

/// The ISO 3166-1 country of a libphonenumber region. Ascension (AC) and Tristan da Cunha (TA)
/// have their own numbering regions but no ISO code of their own: both belong to SH.
fn country_of_region(region: &str) -> Option<Country> {
    match region {
        "AC" | "TA" => Country::parse("SH"),
        other => Country::parse(other),
    }
}

fn phone_type(t: PhoneNumberType) -> PhoneType {
    match t {
        PhoneNumberType::FixedLine => PhoneType::FixedLine,
        PhoneNumberType::Mobile => PhoneType::Mobile,
        PhoneNumberType::FixedLineOrMobile => PhoneType::FixedLineOrMobile,
        PhoneNumberType::TollFree => PhoneType::TollFree,
        PhoneNumberType::PremiumRate => PhoneType::PremiumRate,
        PhoneNumberType::SharedCost => PhoneType::SharedCost,
        PhoneNumberType::VoIP => PhoneType::Voip,
        PhoneNumberType::PersonalNumber => PhoneType::PersonalNumber,
        PhoneNumberType::Pager => PhoneType::Pager,
        PhoneNumberType::UAN => PhoneType::Uan,
        PhoneNumberType::VoiceMail => PhoneType::Voicemail,
        _ => PhoneType::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gb() -> Option<Country> {
        Country::parse("GB")
    }

    #[test]
    fn international_and_national_forms_give_one_key() {
        for (raw, country) in [
            ("+44 20 7946 0958", None),
            ("+44 (0)20 7946 0958", None),
            ("0044 20 7946 0958", None),
            ("020 7946 0958", gb()),
            ("(020) 7946-0958", gb()),
            ("+442079460958", Country::parse("US")),
            ("tel:+44-20-7946-0958", None),
            ("TEL:+44.20.7946.0958;ext=12", None),
            ("tel:020-7946-0958;phone-context=+44", None),
            ("0044 20 7946 0958", gb()),
        ] {
            let id = parse(raw, country).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(id.key, "tel:+442079460958", "{raw}");
            assert_eq!(id.display, "+44 20 7946 0958");
            assert_eq!(id.facts.country, gb());
            assert_eq!(id.facts.phone_type, Some(PhoneType::FixedLine));
        }
    }

    #[test]
    fn us_international_prefix_and_shared_calling_code() {
        let us = Country::parse("US");
        let id = parse("011 44 20 7946 0958", us).unwrap();
        assert_eq!(id.key, "tel:+442079460958");
        // NANP exchange codes never start with 1.
        let bad = parse("+1 213 123 4567", None);
        assert_eq!(bad.unwrap_err().code, RejectionCode::PhoneInvalid);
        let ny = parse("(212) 736-5000", us).unwrap();
        assert_eq!(ny.key, "tel:+12127365000");
        assert_eq!(ny.facts.country, us);
        assert_eq!(ny.facts.phone_type, Some(PhoneType::FixedLineOrMobile));
    }

    #[test]
    fn types_matter_for_triage() {
        // UK 056 numbers are VoIP, 07 mobile; Italian numbers keep their leading 0.
        let voip = parse("+44 56 1234 5678", None).unwrap();
        assert_eq!(voip.facts.phone_type, Some(PhoneType::Voip));
        let mobile = parse("07400 123456", gb()).unwrap();
        assert_eq!(mobile.facts.phone_type, Some(PhoneType::Mobile));
        assert_eq!(mobile.key, "tel:+447400123456");
        let it = parse("+39 02 1234 5678", None).unwrap();
        assert_eq!(it.key, "tel:+390212345678");
        assert_eq!(it.facts.country.map(|c| c.as_str()), Some("IT"));
        // +39 06 698 is the Vatican's range inside Rome's.
        let va = parse("+39 06 6982 1234", None).unwrap();
        assert_eq!(va.facts.country.map(|c| c.as_str()), Some("VA"));
    }

    #[test]
    fn rejections() {
        let code = |s: &str, c: Option<Country>| parse(s, c).unwrap_err().code;
        assert_eq!(code("020 7946 0958", None), RejectionCode::PhoneNeedsCountry);
        assert_eq!(code("1-800-FLOWERS", Country::parse("US")), RejectionCode::PhoneLetters);
        assert_eq!(code("+44 20 7946 0958 ext 12", None), RejectionCode::PhoneLetters);
        assert_eq!(code("+44 1", None), RejectionCode::PhoneInvalid);
        assert_eq!(code("+999 1234 5678", None), RejectionCode::PhoneInvalid);
        assert_eq!(code("+44 20 7946 0958 0000000000000", None), RejectionCode::PhoneInvalid);
        assert_eq!(code("+44 20 7946 0958#", None), RejectionCode::PhoneInvalid);
        assert_eq!(code("++44", None), RejectionCode::PhoneInvalid);
        assert_eq!(code("tel:;phone-context=+", None), RejectionCode::PhoneInvalid);
        assert_eq!(code("+4420794609", None), RejectionCode::PhoneInvalid);
    }

    #[test]
    fn country_without_phone_metadata_is_ignored_not_fatal() {
        // Antarctica has no numbering plan; an international number still parses.
        let aq = Country::parse("AQ");
        assert_eq!(parse("+44 20 7946 0958", aq).unwrap().key, "tel:+442079460958");
        assert_eq!(parse("020 7946 0958", aq).unwrap_err().code, RejectionCode::PhoneNeedsCountry);
    }

    const ALL_TYPES: [PhoneNumberType; 11] = [
        PhoneNumberType::FixedLine,
        PhoneNumberType::Mobile,
        PhoneNumberType::FixedLineOrMobile,
        PhoneNumberType::TollFree,
        PhoneNumberType::PremiumRate,
        PhoneNumberType::SharedCost,
        PhoneNumberType::VoIP,
        PhoneNumberType::PersonalNumber,
        PhoneNumberType::Pager,
        PhoneNumberType::UAN,
        PhoneNumberType::VoiceMail,
    ];

    /// libphonenumber's own example number of every type in every region parses back to itself.
    #[test]
    fn libphonenumber_example_numbers_for_every_region_and_type() {
        let mut checked = 0;
        let mut voip = 0;
        for region in PHONE_NUMBER_UTIL.get_supported_regions() {
            let code = region.as_region_str();
            let Some(country) = Country::parse(code.as_str()) else {
                continue;
            };
            for t in ALL_TYPES {
                let Ok(example) = PHONE_NUMBER_UTIL.get_example_number_for_type_and_region(region, t) else {
                    continue;
                };
                let e164 = example.format_as(PhoneNumberFormat::E164).into_owned();
                let national = example.format_as(PhoneNumberFormat::National).into_owned();
                let id = parse(&e164, None).unwrap_or_else(|e| panic!("{code} {t:?} {e164}: {e}"));
                assert_eq!(id.key, format!("tel:{e164}"));
                if !national.chars().any(|c| c.is_ascii_alphabetic()) {
                    let again =
                        parse(&national, Some(country)).unwrap_or_else(|e| panic!("{code} {t:?} {national}: {e}"));
                    assert_eq!(again.key, id.key, "{code} {t:?} {national}");
                }
                if id.facts.phone_type == Some(PhoneType::Voip) {
                    voip += 1;
                }
                checked += 1;
            }
        }
        assert!(checked > 1000, "checked {checked}");
        assert!(voip > 50, "voip {voip}");
    }

    #[test]
    fn ascension_and_tristan_numbers_belong_to_saint_helena() {
        for raw in ["+247 62889", "+290 8999"] {
            match parse(raw, None) {
                Ok(id) => assert_eq!(id.facts.country.map(|c| c.as_str()), Some("SH"), "{raw}"),
                Err(e) => panic!("{raw}: {e}"),
            }
        }
    }
}

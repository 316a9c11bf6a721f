//! National bank accounts, for payments made without an IBAN: `acct:…`.
//!
//! - United Kingdom: sort code and account number, `acct:gb:<sort6><acct8>`. UK account numbers
//!   are 8 digits; the 6- and 7-digit numbers some banks print are left-padded with zeros, which
//!   is how UK payment schemes treat them. (Ten-digit numbers need bank-specific rules and are
//!   refused.)
//! - United States: ABA routing number (with its 3-7-1 check digit) and account number,
//!   `acct:us:<routing9>:<account>`; the account is 4 to 17 digits.
//! - Elsewhere: `acct:<cc>:<bank>:<account>`, digits only, given as a bank code and an account
//!   number separated by a space, `/` or `:` (dashes inside each part are ignored).
//!
//! The country comes from the hint; without one, only the unmistakable UK form `12-34-56 12345678`
//! is recognised.

use crate::rejection::{Rejection, RejectionCode};
use crate::types::{Country, Facts, Identifier, Kind};

/// Whether a value is written like a UK sort code and account (`12-34-56 12345678`).
pub(crate) fn looks_like_uk(s: &str) -> bool {
    let b = s.as_bytes();
    let sort_ok = b.len() >= 8
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && b[2] == b'-'
        && b[3].is_ascii_digit()
        && b[4].is_ascii_digit()
        && b[5] == b'-'
        && b[6].is_ascii_digit()
        && b[7].is_ascii_digit();
    if !sort_ok {
        return false;
    }
    let rest = s.get(8..).unwrap_or_default().trim_start_matches([' ', '-', '/']);
    (6..=8).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit())
}

/// Digit groups separated by blanks, `/`, `:` or `,`; `None` if anything else than digits and dashes.
fn groups(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for part in s.split([' ', '/', ':', ',', ';', '|']).filter(|p| !p.is_empty()) {
        if !part.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.') {
            return None;
        }
        let digits: String = part.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            out.push(digits);
        }
    }
    Some(out)
}

/// Normalises a national account number for `country`.
pub(crate) fn parse(s: &str, country: Option<Country>) -> Result<Identifier, Rejection> {
    // The value of a key (`gb:20000055779911`, `us:021000021:123456789`) names its country.
    let (s, country) = match s.split_once(':') {
        Some((cc, rest)) if cc.len() == 2 => match Country::parse(cc) {
            Some(c) => (rest, Some(c)),
            None => (s, country),
        },
        _ => (s, country),
    };
    let country = match country {
        Some(c) => c,
        None if looks_like_uk(s) => Country::parse("GB").ok_or_else(needs_country)?,
        None => return Err(needs_country()),
    };
    let Some(groups) = groups(s) else {
        return Err(Rejection::new(
            RejectionCode::AccountFormat,
            "A bank account number has only digits; give the bank code and the account number separated by a space.",
        ));
    };
    match country.as_str() {
        "GB" => uk(&groups.concat(), country),
        "US" => us(&groups, country),
        _ => generic(&groups, country),
    }
}

fn uk(digits: &str, country: Country) -> Result<Identifier, Rejection> {
    if !(12..=14).contains(&digits.len()) {
        return Err(Rejection::new(
            RejectionCode::AccountFormat,
            "A UK account is a 6-digit sort code and an 8-digit account number, like 20-00-00 55779911.",
        ));
    }
    let (sort, account) = digits.split_at(6);
    let value = format!("gb:{sort}{account:0>8}");
    let display = format!("{}-{}-{} {account:0>8}", &sort[..2], &sort[2..4], &sort[4..]);
    let facts = Facts { country: Some(country), bank_code: Some(sort.to_owned()), ..Facts::default() };
    Ok(Identifier::new(Kind::BankAccount, &value, display, facts))
}

/// The ABA routing number check: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
pub(crate) fn aba_ok(routing: &[u8]) -> bool {
    if routing.len() != 9 {
        return false;
    }
    let d = |i: usize| u32::from(routing[i] - b'0');
    let sum = 3 * (d(0) + d(3) + d(6)) + 7 * (d(1) + d(4) + d(7)) + d(2) + d(5) + d(8);
    sum % 10 == 0
}

fn us(groups: &[String], country: Country) -> Result<Identifier, Rejection> {
    let (routing, account) = match groups {
        [routing, rest @ ..] if routing.len() == 9 && !rest.is_empty() => (routing.clone(), rest.concat()),
        [joined] if joined.len() > 13 => {
            let (r, a) = joined.split_at(9);
            (r.to_owned(), a.to_owned())
        }
        _ => {
            return Err(Rejection::new(
                RejectionCode::AccountFormat,
                "A US account is a 9-digit routing number followed by the account number.",
            ));
        }
    };
    if !aba_ok(routing.as_bytes()) {
        return Err(Rejection::new(
            RejectionCode::RoutingChecksum,
            "This routing number's check digit does not match; a digit was probably mistyped.",
        ));
    }
    if !(4..=17).contains(&account.len()) {
        return Err(Rejection::new(RejectionCode::AccountFormat, "A US account number has 4 to 17 digits."));
    }
    let value = format!("us:{routing}:{account}");
    let facts =
        Facts { country: Some(country), bank_code: Some(routing.clone()), checksum_verified: true, ..Facts::default() };
    Ok(Identifier::new(Kind::BankAccount, &value, format!("{routing} {account}"), facts))
}

fn generic(groups: &[String], country: Country) -> Result<Identifier, Rejection> {
    let [bank, rest @ ..] = groups else {
        return Err(generic_format());
    };
    let account = rest.concat();
    if rest.is_empty() || bank.len() > 12 || !(4..=24).contains(&account.len()) {
        return Err(generic_format());
    }
    let cc = country.lower();
    let value = format!("{cc}:{bank}:{account}");
    let facts = Facts { country: Some(country), bank_code: Some(bank.clone()), ..Facts::default() };
    Ok(Identifier::new(Kind::BankAccount, &value, format!("{bank} {account}"), facts))
}

fn generic_format() -> Rejection {
    Rejection::new(
        RejectionCode::AccountFormat,
        "Give the bank code and the account number, separated by a space (digits only).",
    )
}

fn needs_country() -> Rejection {
    Rejection::new(
        RejectionCode::AccountNeedsCountry,
        "Choose the country of this bank account, or enter it as an IBAN.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(code: &str) -> Option<Country> {
        Country::parse(code)
    }

    #[test]
    fn uk_forms() {
        for (raw, country) in [
            ("20-00-00 55779911", None),
            ("20-00-00-55779911", None),
            ("200000 55779911", cc("GB")),
            ("20000055779911", cc("GB")),
            ("20 00 00 / 55779911", cc("GB")),
        ] {
            let id = parse(raw, country).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(id.key, "acct:gb:20000055779911", "{raw}");
            assert_eq!(id.display, "20-00-00 55779911");
            assert_eq!(id.facts.bank_code.as_deref(), Some("200000"));
        }
        assert_eq!(parse("20-00-00 5577991", None).unwrap().key, "acct:gb:20000005577991");
        assert_eq!(parse("20-00-00 557799", None).unwrap().key, "acct:gb:20000000557799");
        assert_eq!(parse("20-00-00 5577991100", cc("GB")).unwrap_err().code, RejectionCode::AccountFormat);
    }

    #[test]
    fn us_routing_checksum() {
        // 021000021 is a real routing number (JPMorgan Chase, New York).
        let id = parse("021000021 123456789", cc("US")).unwrap();
        assert_eq!(id.key, "acct:us:021000021:123456789");
        assert!(id.facts.checksum_verified);
        assert_eq!(parse("021000021123456789", cc("US")).unwrap().key, id.key);
        assert_eq!(parse("021000022 123456789", cc("US")).unwrap_err().code, RejectionCode::RoutingChecksum);
        assert_eq!(parse("021000021 12", cc("US")).unwrap_err().code, RejectionCode::AccountFormat);
    }

    #[test]
    fn other_countries() {
        let au = parse("062-000 12345678", cc("AU")).unwrap();
        assert_eq!(au.key, "acct:au:062000:12345678");
        let ca = parse("00011-004 1234567", cc("CA")).unwrap();
        assert_eq!(ca.key, "acct:ca:00011004:1234567");
        assert_eq!(parse("12345678", cc("AU")).unwrap_err().code, RejectionCode::AccountFormat);
        assert_eq!(parse("062 ABC", cc("AU")).unwrap_err().code, RejectionCode::AccountFormat);
    }

    #[test]
    fn key_values_parse_back_to_their_keys() {
        for key in ["acct:gb:20000055779911", "acct:us:021000021:123456789", "acct:au:062000:12345678"] {
            assert_eq!(parse(&key[5..], None).unwrap().key, key);
        }
    }

    #[test]
    fn country_needed_unless_uk_form() {
        assert_eq!(parse("062-000 12345678", None).unwrap_err().code, RejectionCode::AccountNeedsCountry);
        assert!(looks_like_uk("20-00-00 55779911"));
        assert!(!looks_like_uk("20-00-00"));
        assert!(!looks_like_uk("2000-00 55779911"));
    }
}

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
//! The country comes from the hint, or from the labels victims write around the numbers
//! (`sort code 60-16-13 account 31926819`, `S/C 601613 A/C 31926819`, `RIB 30004 00550
//! 00012345678 78`, `BLZ 37040044 Kto 532013000`, `CCC 2100 0418 45 0200051332`, `CIN X ABI 05428
//! CAB 11101 conto 000000123456`); without either, only the unmistakable UK form
//! `12-34-56 12345678` is recognised.
//!
//! Where a national form determines the account's IBAN (a French RIB with its key, a German bank
//! code and account number, a Spanish CCC, an Italian BBAN), [`iban_of`] gives it, after the
//! form's own check digits agree; `crate::implied` makes the IBAN's key a second key of the account.

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

/// Words victims write around a national account, and the country they give away (`None` for
/// words any country uses). Matched on the lower-case word without `.`, `-`, `:`, `#`, `°`.
const LABELS: &[(&str, Option<&str>)] = &[
    ("sort", Some("GB")),
    ("sortcode", Some("GB")),
    ("s/c", Some("GB")),
    ("sc", Some("GB")),
    ("rib", Some("FR")),
    ("cle", Some("FR")),
    ("clé", Some("FR")),
    ("banque", Some("FR")),
    ("guichet", Some("FR")),
    ("compte", Some("FR")),
    ("blz", Some("DE")),
    ("kto", Some("DE")),
    ("ktonr", Some("DE")),
    ("konto", Some("DE")),
    ("kontonummer", Some("DE")),
    ("ccc", Some("ES")),
    ("cuenta", Some("ES")),
    ("cin", Some("IT")),
    ("abi", Some("IT")),
    ("cab", Some("IT")),
    ("conto", Some("IT")),
    ("c/c", Some("IT")),
    ("account", None),
    ("acct", None),
    ("acc", None),
    ("a/c", None),
    ("ac", None),
    ("code", None),
    ("number", None),
    ("no", None),
    ("nr", None),
    ("n", None),
    ("num", None),
    ("de", None),
    ("key", None),
];

/// A national account written with labels: the country the labels name and the value without
/// them. `None` unless every word is a label or a number and the labels name exactly one
/// country (an Italian CIN letter is kept as a word of its own).
pub(crate) fn labelled(s: &str) -> Option<(Country, String)> {
    let mut country: Option<&str> = None;
    let mut value: Vec<&str> = Vec::new();
    for word in s.split([' ', ':', ',', ';', '\t']).filter(|w| !w.is_empty()) {
        if word.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'/') {
            value.push(word);
            continue;
        }
        if word.len() == 1 && word.as_bytes()[0].is_ascii_alphabetic() && !word.eq_ignore_ascii_case("n") {
            value.push(word); // an Italian CIN
            continue;
        }
        let bare: String = word
            .chars()
            .filter(|c| !matches!(c, '.' | '-' | ':' | '#' | '°' | 'º'))
            .flat_map(char::to_lowercase)
            .collect();
        let (_, named) = LABELS.iter().find(|(label, _)| *label == bare)?;
        match (country, named) {
            (_, None) => {}
            (None, Some(c)) => country = Some(c),
            (Some(a), Some(b)) if a == *b => {}
            (Some(_), Some(_)) => return None,
        }
    }
    let country = Country::parse(country?)?;
    (!value.is_empty()).then(|| (country, value.join(" ")))
}

/// Normalises a national account number for `country` (the country its labels name, if any).
pub(crate) fn parse(s: &str, country: Option<Country>) -> Result<Identifier, Rejection> {
    if let Some((named, value)) = labelled(s) {
        return parse_unlabelled(&value, Some(named));
    }
    parse_unlabelled(s, country)
}

fn parse_unlabelled(s: &str, country: Option<Country>) -> Result<Identifier, Rejection> {
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
    // An Italian BBAN starts with its CIN, a check letter over the rest.
    let (s, cin) = match s.split_once(' ') {
        Some((cin, rest)) if country.as_str() == "IT" && cin.len() == 1 && cin.as_bytes()[0].is_ascii_alphabetic() => {
            (rest, cin.bytes().next().map(|b| b.to_ascii_uppercase()))
        }
        _ => (s, None),
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
        "IT" => italy(&groups, cin, country),
        _ => generic(&split_national(groups, country), country),
    }
}

/// A national form written as one run of digits, split where its bank code ends: a French RIB
/// (23 digits: bank 5), a Spanish CCC (20: entity 4).
fn split_national(groups: Vec<String>, country: Country) -> Vec<String> {
    let bank = match (country.as_str(), groups.as_slice()) {
        ("FR", [one]) if one.len() == 23 => 5,
        ("ES", [one]) if one.len() == 20 => 4,
        _ => return groups,
    };
    let (b, rest) = groups[0].split_at(bank);
    vec![b.to_owned(), rest.to_owned()]
}

/// An Italian account: ABI (5), CAB (5) and the account (up to 12, left-padded with zeros, as in
/// the BBAN), `acct:it:<abi>:<cab><account12>`. A CIN, when given, must be the one the digits imply.
fn italy(groups: &[String], cin: Option<u8>, country: Country) -> Result<Identifier, Rejection> {
    let digits = groups.concat();
    let (abi, cab, account) = match groups {
        [abi, cab, rest @ ..] if abi.len() == 5 && cab.len() == 5 && !rest.is_empty() => {
            (abi.clone(), cab.clone(), rest.concat())
        }
        _ if digits.len() == 22 => (digits[..5].to_owned(), digits[5..10].to_owned(), digits[10..].to_owned()),
        _ => {
            return Err(Rejection::new(
                RejectionCode::AccountFormat,
                "An Italian account is the ABI (5 digits), the CAB (5 digits) and the account number, like 05428 11101 000000123456.",
            ));
        }
    };
    if account.len() > 12 {
        return Err(Rejection::new(RejectionCode::AccountFormat, "An Italian account number has at most 12 digits."));
    }
    let value = format!("it:{abi}:{cab}{account:0>12}");
    let expected = italian_cin(&format!("{abi}{cab}{account:0>12}"));
    if cin.is_some_and(|c| Some(c) != expected) {
        return Err(Rejection::new(
            RejectionCode::AccountFormat,
            "This CIN letter does not match the ABI, CAB and account number; a digit or the letter was probably mistyped.",
        ));
    }
    let facts = Facts {
        country: Some(country),
        bank_code: Some(abi.clone()),
        checksum_verified: cin.is_some(),
        ..Facts::default()
    };
    Ok(Identifier::new(Kind::BankAccount, &value, format!("{abi} {cab} {account:0>12}"), facts))
}

/// The CIN of an Italian BBAN's 22 characters after it (ABI, CAB, account): odd positions
/// through a fixed table, even ones by value, the sum modulo 26 as a letter.
fn italian_cin(rest: &str) -> Option<u8> {
    const ODD: [u32; 26] =
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
    if rest.len() != 22 {
        return None;
    }
    let mut sum = 0u32;
    for (i, b) in rest.bytes().enumerate() {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A'),
            b'a'..=b'z' => u32::from(b - b'a'),
            _ => return None,
        };
        sum += if i % 2 == 0 { ODD[v as usize] } else { v };
    }
    Some(b'A' + (sum % 26) as u8)
}

/// The country and BBAN of the IBAN that the value of an `acct:` key determines, when its own
/// check digits agree: a French RIB (bank 5, branch 5, account 11, key 2), a German bank code and
/// account number, a Spanish CCC (entity 4, office 4, control 2, account 10), an Italian ABI, CAB
/// and account (its CIN computed). `None` for every other account.
pub(crate) fn iban_of(value: &str) -> Option<(&'static str, String)> {
    let mut parts = value.split(':');
    let (cc, bank, account) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !bank.bytes().chain(account.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    match cc {
        "fr" if bank.len() == 5 && account.len() == 18 => {
            rib_key_ok(bank, &account[..5], &account[5..16], &account[16..]).then(|| ("FR", format!("{bank}{account}")))
        }
        "de" if bank.len() == 8 && (1..=10).contains(&account.len()) => Some(("DE", format!("{bank}{account:0>10}"))),
        "es" if bank.len() == 4 && account.len() == 16 => {
            ccc_ok(bank, &account[..4], &account[4..6], &account[6..]).then(|| ("ES", format!("{bank}{account}")))
        }
        "it" if bank.len() == 5 && account.len() == 17 => {
            let rest = format!("{bank}{account}");
            let cin = italian_cin(&rest)? as char;
            Some(("IT", format!("{cin}{rest}")))
        }
        _ => None,
    }
}

/// A French RIB key: 97 − ((89·bank + 15·branch + 3·account) mod 97), over digits.
fn rib_key_ok(bank: &str, branch: &str, account: &str, key: &str) -> bool {
    let (Ok(b), Ok(g), Ok(a), Ok(k)) =
        (bank.parse::<u64>(), branch.parse::<u64>(), account.parse::<u64>(), key.parse::<u64>())
    else {
        return false;
    };
    97 - ((89 * b + 15 * g + 3 * a) % 97) == k
}

/// A Spanish CCC's two control digits: one over `00` + entity + office, one over the account,
/// each with the weights 1, 2, 4, 8, 5, 10, 9, 7, 3, 6 (11 − sum mod 11; 10 → 1, 11 → 0).
fn ccc_ok(entity: &str, office: &str, control: &str, account: &str) -> bool {
    const WEIGHTS: [u32; 10] = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
    let digit = |s: &str| -> u32 {
        let sum: u32 = s.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        match 11 - sum % 11 {
            11 => 0,
            10 => 1,
            d => d,
        }
    };
    let expected = format!("{}{}", digit(&format!("00{entity}{office}")), digit(account));
    expected == control
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
    fn labelled_forms_name_their_country() {
        for (raw, key) in [
            ("sort code 60-16-13 account 31926819", "acct:gb:60161331926819"),
            ("S/C 601613 A/C 31926819", "acct:gb:60161331926819"),
            ("Sort code: 60-16-13, Account number: 31926819", "acct:gb:60161331926819"),
            ("RIB 30004 00550 00012345678 78", "acct:fr:30004:005500001234567878"),
            ("RIB 30004005500001234567878", "acct:fr:30004:005500001234567878"),
            ("BLZ 37040044 Kto 532013000", "acct:de:37040044:532013000"),
            ("BLZ: 37040044, Kto.-Nr.: 532013000", "acct:de:37040044:532013000"),
            ("CCC 2100 0418 45 0200051332", "acct:es:2100:0418450200051332"),
            ("CCC 21000418450200051332", "acct:es:2100:0418450200051332"),
            ("CIN X ABI 05428 CAB 11101 conto 123456", "acct:it:05428:11101000000123456"),
        ] {
            let id = parse(raw, None).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(id.key, key, "{raw}");
        }
        // Labels of two countries, or words that are not labels, are not a labelled account.
        assert_eq!(labelled("BLZ 37040044 sort code 601613"), None);
        assert_eq!(labelled("call 37040044"), None);
        assert_eq!(
            parse("CIN A ABI 05428 CAB 11101 conto 123456", None).unwrap_err().code,
            RejectionCode::AccountFormat
        );
    }

    #[test]
    fn national_forms_determine_their_iban() {
        // Each from a published example IBAN: FR76 3000 6000 0112 3456 7890 189,
        // DE89 3704 0044 0532 0130 00, ES91 2100 0418 4502 0005 1332, IT60 X054 2811 1010 0000 0123 456.
        assert_eq!(iban_of("fr:30006:000011234567890189"), Some(("FR", "30006000011234567890189".into())));
        assert_eq!(iban_of("de:37040044:532013000"), Some(("DE", "370400440532013000".into())));
        assert_eq!(iban_of("es:2100:0418450200051332"), Some(("ES", "21000418450200051332".into())));
        assert_eq!(iban_of("it:05428:11101000000123456"), Some(("IT", "X0542811101000000123456".into())));
        // A wrong RIB key or CCC control digit determines nothing.
        assert_eq!(iban_of("fr:30006:000011234567890188"), None);
        assert_eq!(iban_of("es:2100:0418460200051332"), None);
        assert_eq!(iban_of("gb:60161331926819"), None);
        assert_eq!(iban_of("au:062000:12345678"), None);
    }

    #[test]
    fn country_needed_unless_uk_form() {
        assert_eq!(parse("062-000 12345678", None).unwrap_err().code, RejectionCode::AccountNeedsCountry);
        assert!(looks_like_uk("20-00-00 55779911"));
        assert!(!looks_like_uk("20-00-00"));
        assert!(!looks_like_uk("2000-00 55779911"));
    }
}

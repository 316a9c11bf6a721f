//! IBANs (ISO 13616): `iban:<electronic form>`.
//!
//! The BBAN structure of each country comes from the `iban_validate` crate, which is generated
//! from the SWIFT IBAN registry. We keep a small table of lengths beside it only to tell a victim
//! "wrong length" apart from "wrong characters" (the crate reports both as one error), and to
//! cover the countries the crate's registry snapshot lacks (Pakistan; Honduras, registry release 99).
//! A test pins the table to the crate.
//!
//! Banks also issue IBANs the SWIFT registry does not list, and scam networks pay out through
//! them: the WAEMU and CEMAC countries, the Maghreb and others publish national IBAN layouts
//! ("experimental" in iban.com's list, "aspirational" in python `schwifty`'s registry), and
//! territories with their own ISO code (GP, RE, NC, JE, AX, …) prefix the IBAN with that code
//! and use their parent's layout. We accept both, with the layouts `schwifty` uses, and say so
//! with [`IbanRegistry`]. Hand-written because `iban_validate` follows the SWIFT registry only.

use std::str::FromStr;

use iban::{Iban, ParseBaseIbanError, ParseIbanError};

use crate::rejection::{Rejection, RejectionCode};
use crate::text::strip_prefix_ci;
use crate::types::{Country, Facts, Identifier, Kind};

/// The longest IBAN any country uses.
const MAX_IBAN_LEN: usize = 34;

/// IBAN length per country (SWIFT IBAN registry), sorted by country code.
const LENGTHS: [(&str, u8); 89] = [
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// What a character of a BBAN may be, in the registry's notation (`n`, `a`, `c`).
#[derive(Clone, Copy)]
enum Chars {
    /// `n`: digits.
    Digits,
    /// `a`: upper-case letters.
    Letters,
    /// `c`: upper-case letters and digits.
    Alphanumeric,
}

impl Chars {
    fn admits(self, b: u8) -> bool {
        match self {
            Chars::Digits => b.is_ascii_digit(),
            Chars::Letters => b.is_ascii_uppercase(),
            Chars::Alphanumeric => b.is_ascii_uppercase() || b.is_ascii_digit(),
        }
    }
}

/// A BBAN layout: runs of a fixed number of characters of one class (`2!c22!n`).
type Layout = &'static [(u8, Chars)];

/// Whether a BBAN follows a layout exactly.
fn follows(bban: &[u8], layout: Layout) -> bool {
    let mut rest = bban;
    for &(n, chars) in layout {
        let Some((run, tail)) = rest.split_at_checked(usize::from(n)) else { return false };
        if !run.iter().all(|&b| chars.admits(b)) {
            return false;
        }
        rest = tail;
    }
    rest.is_empty()
}

const N: Chars = Chars::Digits;
const A: Chars = Chars::Letters;
const C: Chars = Chars::Alphanumeric;

/// IBAN layouts that banks issue outside the SWIFT registry (`schwifty`'s registry, entries
/// flagged aspirational), sorted by country code: country, IBAN length, BBAN layout.
const EXPERIMENTAL: [(&str, u8, Layout); 22] = [
    ("AO", 25, &[(21, N)]),
    ("BF", 28, &[(2, C), (22, N)]),
    ("BJ", 28, &[(2, C), (22, N)]),
    ("CF", 27, &[(23, N)]),
    ("CG", 27, &[(23, N)]),
    ("CI", 28, &[(2, A), (22, N)]),
    ("CM", 27, &[(23, N)]),
    ("CV", 25, &[(21, N)]),
    ("DZ", 26, &[(22, N)]),
    ("GA", 27, &[(23, N)]),
    ("GQ", 27, &[(23, N)]),
    ("GW", 25, &[(2, C), (19, N)]),
    ("IR", 26, &[(22, N)]),
    ("KM", 27, &[(23, N)]),
    ("MA", 28, &[(24, N)]),
    ("MG", 27, &[(23, N)]),
    ("ML", 28, &[(2, C), (22, N)]),
    ("MZ", 25, &[(21, N)]),
    ("NE", 28, &[(2, A), (22, N)]),
    ("SN", 28, &[(2, A), (22, N)]),
    ("TD", 27, &[(23, N)]),
    ("TG", 28, &[(2, A), (22, N)]),
];

/// Territories whose IBANs start with their own code and follow their parent's layout, sorted.
const TERRITORIES: [(&str, &str); 16] = [
    ("AX", "FI"),
    ("BL", "FR"),
    ("GF", "FR"),
    ("GG", "GB"),
    ("GP", "FR"),
    ("IM", "GB"),
    ("JE", "GB"),
    ("MF", "FR"),
    ("MQ", "FR"),
    ("NC", "FR"),
    ("PF", "FR"),
    ("PM", "FR"),
    ("RE", "FR"),
    ("TF", "FR"),
    ("WF", "FR"),
    ("YT", "FR"),
];

/// Brazil's layout once the ISPB (positions 5-12) may hold letters (Resolução BCB 585/2026),
/// as `schwifty` already has it; the registry still says `8!n5!n10!n1!a1!c`.
const BRAZIL_ALPHANUMERIC_ISPB: Layout = &[(8, C), (5, N), (10, N), (1, C), (1, C)];

fn experimental(country: &[u8]) -> Option<(usize, Layout)> {
    EXPERIMENTAL
        .binary_search_by(|(cc, _, _)| cc.as_bytes().cmp(country))
        .ok()
        .map(|i| (usize::from(EXPERIMENTAL[i].1), EXPERIMENTAL[i].2))
}

fn parent_of(territory: &[u8]) -> Option<&'static str> {
    TERRITORIES.binary_search_by(|(cc, _)| cc.as_bytes().cmp(territory)).ok().map(|i| TERRITORIES[i].1)
}

fn registry_length(country: &[u8]) -> Option<usize> {
    LENGTHS.binary_search_by(|(cc, _)| cc.as_bytes().cmp(country)).ok().map(|i| usize::from(LENGTHS[i].1))
}

/// The IBAN length for a country code, if banks there issue IBANs (registry, experimental or
/// a territory's own code).
pub(crate) fn length_for(country: &[u8]) -> Option<usize> {
    registry_length(country)
        .or_else(|| experimental(country).map(|(len, _)| len))
        .or_else(|| parent_of(country).and_then(|parent| registry_length(parent.as_bytes())))
}

/// Where an accepted IBAN's layout comes from, when it is not the SWIFT IBAN registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IbanRegistry {
    /// A layout banks issue that the SWIFT registry does not list yet.
    Experimental,
    /// A territory's own code in front of its parent country's layout (`GP` under `FR`).
    Territory {
        /// The parent country whose registry entry gives the layout.
        parent: &'static str,
    },
}

impl std::fmt::Display for IbanRegistry {
    /// The fact as shown to callers: `experimental` or `territory:FR`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IbanRegistry::Experimental => f.write_str("experimental"),
            IbanRegistry::Territory { parent } => write!(f, "territory:{parent}"),
        }
    }
}

/// For the value of an `iban:` key accepted by [`parse`]: where its layout comes from, `None`
/// for the SWIFT registry. Derived from the key alone, so stored identifiers need no column.
pub fn registry_of(iban: &str) -> Option<IbanRegistry> {
    let b = iban.as_bytes();
    let cc = b.get(..2)?;
    if experimental(cc).is_some() {
        return Some(IbanRegistry::Experimental);
    }
    if let Some(parent) = parent_of(cc) {
        return Some(IbanRegistry::Territory { parent });
    }
    if cc == b"BR" && Iban::from_str(iban).is_err() {
        return Some(IbanRegistry::Experimental);
    }
    None
}

/// A compacted IBAN on the stack: upper-case letters and digits only.
struct Compact {
    buf: [u8; MAX_IBAN_LEN],
    len: usize,
}

impl Compact {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn as_str(&self) -> &str {
        // Only ASCII letters and digits are ever pushed.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// Why compaction stopped.
enum CompactError {
    /// A character that is neither a letter, a digit nor a separator.
    BadChar,
    /// More than 34 letters and digits; carries how many were seen.
    TooLong(usize),
}

/// Strips an `IBAN` / `IBAN:` label, separators and case.
fn compact(s: &str) -> Result<Compact, CompactError> {
    let s = match strip_prefix_ci(s, "iban") {
        Some(rest) => {
            let rest = rest.trim_start_matches([':', ' ', '#']);
            let b = rest.as_bytes();
            if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1].is_ascii_alphabetic() { rest } else { s }
        }
        None => s,
    };
    let mut out = Compact { buf: [0; MAX_IBAN_LEN], len: 0 };
    let mut seen = 0usize;
    for b in s.bytes() {
        match b {
            b' ' | b'-' | b'.' => {}
            b if b.is_ascii_alphanumeric() => {
                if let Some(slot) = out.buf.get_mut(seen) {
                    *slot = b.to_ascii_uppercase();
                    out.len = seen + 1;
                }
                seen += 1;
            }
            _ => return Err(CompactError::BadChar),
        }
    }
    if seen > MAX_IBAN_LEN {
        return Err(CompactError::TooLong(seen));
    }
    Ok(out)
}

/// Whether a value is shaped like an IBAN (two letters, two digits, 11 to 30 more characters).
pub(crate) fn looks_like(s: &str) -> bool {
    match compact(s) {
        Ok(c) => {
            let b = c.as_bytes();
            b.len() >= 15
                && b[0].is_ascii_alphabetic()
                && b[1].is_ascii_alphabetic()
                && b[2].is_ascii_digit()
                && b[3].is_ascii_digit()
        }
        Err(_) => false,
    }
}

/// ISO 7064 MOD 97-10 over the rearranged IBAN: valid when the remainder is 1.
fn mod97_is_one(iban: &[u8]) -> bool {
    let (head, tail) = iban.split_at(4.min(iban.len()));
    let mut acc: u32 = 0;
    for &b in tail.iter().chain(head) {
        acc = if b.is_ascii_digit() {
            (acc * 10 + u32::from(b - b'0')) % 97
        } else {
            (acc * 100 + u32::from(b - b'A') + 10) % 97
        };
    }
    acc == 1
}

/// The paper format: groups of four separated by spaces.
fn paper(iban: &str) -> String {
    let mut out = String::with_capacity(iban.len() + iban.len() / 4);
    for (i, c) in iban.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Normalises an IBAN; spaces, dashes, lower case and an `IBAN` label are accepted.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let iban = match compact(s) {
        Ok(iban) => iban,
        Err(CompactError::BadChar) => {
            return Err(Rejection::new(RejectionCode::IbanFormat, "An IBAN contains only letters and digits."));
        }
        Err(CompactError::TooLong(n)) => {
            return Err(Rejection::new(
                RejectionCode::IbanLength,
                format!("An IBAN has at most {MAX_IBAN_LEN} characters; this one has {n}."),
            ));
        }
    };
    let b = iban.as_bytes();
    if b.len() < 4 || !b[0].is_ascii_alphabetic() || !b[1].is_ascii_alphabetic() {
        return Err(Rejection::new(
            RejectionCode::IbanFormat,
            "An IBAN starts with two letters for the country, like DE or GB.",
        ));
    }
    let cc = &b[..2];
    let code = iban.as_str().get(..2).unwrap_or_default();
    let Some(expected) = length_for(cc) else {
        let message = if Country::from_letters(cc[0], cc[1]).is_some() {
            format!("{code} is a country that does not use IBANs; enter the account number and bank code instead.")
        } else {
            format!("An IBAN starts with a country code; {code} is not one.")
        };
        return Err(Rejection::new(RejectionCode::IbanCountry, message));
    };
    if !b[2].is_ascii_digit() || !b[3].is_ascii_digit() {
        return Err(Rejection::new(
            RejectionCode::IbanFormat,
            "The third and fourth characters of an IBAN are digits.",
        ));
    }
    if b.len() != expected {
        return Err(Rejection::new(
            RejectionCode::IbanLength,
            format!("An IBAN from {code} has {expected} characters; this one has {}.", b.len()),
        ));
    }
    if !mod97_is_one(b) || &b[2..4] == b"00" || &b[2..4] == b"01" || &b[2..4] == b"99" {
        return Err(checksum_rejection());
    }
    let electronic = iban.as_str();
    let bank_code = if let Some((_, layout)) = experimental(cc) {
        if !follows(&b[4..], layout) {
            return Err(format_rejection(code));
        }
        None
    } else if let Some(parent) = parent_of(cc) {
        // The parent's layout, checked by the crate on the same BBAN under the parent's code.
        let as_parent = with_check_digits(parent, iban.as_str().get(4..).unwrap_or_default());
        match Iban::from_str(&as_parent) {
            Ok(parsed) => parsed.bank_identifier().map(str::to_owned),
            Err(_) => return Err(format_rejection(code)),
        }
    } else if let Some(account_is_valid) = not_in_crate(cc) {
        // Both have a 4!a bank code after the check digits; the account part differs.
        let bban = &b[4..];
        if !bban[..4].iter().all(u8::is_ascii_uppercase) || !bban[4..].iter().all(|&c| account_is_valid(c)) {
            return Err(format_rejection(code));
        }
        electronic.get(4..8).map(str::to_owned)
    } else {
        match Iban::from_str(electronic) {
            Ok(parsed) => parsed.bank_identifier().map(str::to_owned),
            Err(ParseIbanError::InvalidBban(_)) if cc == b"BR" && follows(&b[4..], BRAZIL_ALPHANUMERIC_ISPB) => {
                electronic.get(4..12).map(str::to_owned)
            }
            Err(ParseIbanError::InvalidBban(_)) => return Err(format_rejection(code)),
            Err(ParseIbanError::UnknownCountry(_)) => {
                return Err(Rejection::new(
                    RejectionCode::IbanCountry,
                    format!("{code} is not a country that uses IBANs."),
                ));
            }
            Err(ParseIbanError::InvalidBaseIban { source: ParseBaseIbanError::InvalidChecksum }) => {
                return Err(checksum_rejection());
            }
            Err(ParseIbanError::InvalidBaseIban { .. }) => return Err(format_rejection(code)),
        }
    };
    let facts =
        Facts { country: Country::from_letters(cc[0], cc[1]), bank_code, checksum_verified: true, ..Facts::default() };
    Ok(Identifier::new(Kind::Iban, electronic, paper(electronic), facts))
}

/// The IBAN with a country code's check digits in front of a BBAN (ISO 7064 MOD 97-10).
pub(crate) fn with_check_digits(cc: &str, bban: &str) -> String {
    let mut acc = 0u32;
    for b in bban.bytes().chain(cc.bytes()).chain(*b"00") {
        acc = if b.is_ascii_digit() {
            (acc * 10 + u32::from(b - b'0')) % 97
        } else {
            (acc * 100 + u32::from(b.to_ascii_uppercase().wrapping_sub(b'A')) + 10) % 97
        };
    }
    format!("{cc}{:02}{bban}", 98 - acc)
}

fn checksum_rejection() -> Rejection {
    Rejection::new(
        RejectionCode::IbanChecksum,
        "This IBAN's check digits do not match; a character was probably mistyped.",
    )
}

fn format_rejection(code: &str) -> Rejection {
    Rejection::new(
        RejectionCode::IbanFormat,
        format!(
            "This IBAN does not follow the account-number layout used in {code}; a letter or digit may be in the wrong place."
        ),
    )
}

/// For countries missing from the crate's registry snapshot: which bytes their account part may hold.
/// PK: 4!a bank + 16!c account; HN: 4!a bank + 20!n account (SWIFT IBAN registry).
fn not_in_crate(cc: &[u8]) -> Option<fn(u8) -> bool> {
    match cc {
        b"PK" => Some(|c: u8| c.is_ascii_uppercase() || c.is_ascii_digit()),
        b"HN" => Some(|c: u8| c.is_ascii_digit()),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The example IBAN of every country in the SWIFT IBAN registry (plus a second Brazilian one).
    pub(crate) const REGISTRY_EXAMPLES: &[&str] = &[
        "AD1200012030200359100100",
        "AE070331234567890123456",
        "AL47212110090000000235698741",
        "AT611904300234573201",
        "AZ21NABZ00000000137010001944",
        "BA391290079401028494",
        "BE68539007547034",
        "BG80BNBG96611020345678",
        "BH67BMAG00001299123456",
        "BI4210000100010000332045181",
        "BR1800360305000010009795493C1",
        "BR9700360305000010009795493P1",
        "BY13NBRB3600900000002Z00AB00",
        "CH9300762011623852957",
        "CR05015202001026284066",
        "CY17002001280000001200527600",
        "CZ6508000000192000145399",
        "DE89370400440532013000",
        "DJ2100010000000154000100186",
        "DK5000400440116243",
        "DO28BAGR00000001212453611324",
        "EE382200221020145685",
        "EG380019000500000000263180002",
        "ES9121000418450200051332",
        "FI2112345600000785",
        "FK88SC123456789012",
        "FO6264600001631634",
        "FR1420041010050500013M02606",
        "GB29NWBK60161331926819",
        "GE29NB0000000101904917",
        "GI75NWBK000000007099453",
        "GL8964710001000206",
        "GR1601101250000000012300695",
        "GT82TRAJ01020000001210029690",
        "HN88CABF00000000000250005469",
        "HR1210010051863000160",
        "HU42117730161111101800000000",
        "IE29AIBK93115212345678",
        "IL620108000000099999999",
        "IQ98NBIQ850123456789012",
        "IS140159260076545510730339",
        "IT60X0542811101000000123456",
        "JO94CBJO0010000000000131000302",
        "KW81CBKU0000000000001234560101",
        "KZ86125KZT5004100100",
        "LB62099900000001001901229114",
        "LC55HEMM000100010012001200023015",
        "LI21088100002324013AA",
        "LT121000011101001000",
        "LU280019400644750000",
        "LV80BANK0000435195001",
        "LY83002048000020100120361",
        "MC5811222000010123456789030",
        "MD24AG000225100013104168",
        "ME25505000012345678951",
        "MK07250120000058984",
        "MN121234123456789123",
        "MR1300020001010000123456753",
        "MT84MALT011000012345MTLCAST001S",
        "MU17BOMM0101101030300200000MUR",
        "NI45BAPR00000013000003558124",
        "NL91ABNA0417164300",
        "NO9386011117947",
        "OM810180000001299123456",
        "PK36SCBL0000001123456702",
        "PL61109010140000071219812874",
        "PS92PALS000000000400123456702",
        "PT50000201231234567890154",
        "QA58DOHB00001234567890ABCDEFG",
        "RO49AAAA1B31007593840000",
        "RS35260005601001611379",
        "RU0204452560040702810412345678901",
        "SA0380000000608010167519",
        "SC18SSCB11010000000000001497USD",
        "SD2129010501234001",
        "SE4550000000058398257466",
        "SI56263300012039086",
        "SK3112000000198742637541",
        "SM86U0322509800000000270100",
        "SO211000001001000100141",
        "ST68000100010051845310112",
        "SV62CENR00000000000000700025",
        "TL380080012345678910157",
        "TN5910006035183598478831",
        "TR330006100519786457841326",
        "UA213223130000026007233566001",
        "VA59001123000012345678",
        "VG96VPVG0000012345678901",
        "XK051212012345678906",
        "YE15CBYE0001018861234567891234",
    ];

    #[test]
    fn every_registry_example_is_accepted_with_its_country() {
        let mut countries = std::collections::BTreeSet::new();
        for example in REGISTRY_EXAMPLES {
            let id = parse(example).unwrap_or_else(|e| panic!("{example}: {e}"));
            assert_eq!(id.key, format!("iban:{example}"));
            assert_eq!(id.kind, Kind::Iban);
            let country = id.facts.country.expect("country");
            assert_eq!(country.as_str(), &example[..2]);
            assert!(id.facts.checksum_verified);
            countries.insert(country.as_str());
        }
        let table: std::collections::BTreeSet<&str> = LENGTHS.iter().map(|(c, _)| *c).collect();
        assert_eq!(countries, table, "one example per country in the length table");
    }

    #[test]
    fn length_table_is_sorted_and_matches_the_crate() {
        assert!(LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
        for example in REGISTRY_EXAMPLES {
            assert_eq!(length_for(&example.as_bytes()[..2]), Some(example.len()));
            if not_in_crate(&example.as_bytes()[..2]).is_none() {
                assert!(Iban::from_str(example).is_ok(), "{example}");
                // One character more or fewer is a structure error for the crate.
                let longer = format!("{example}0");
                assert!(Iban::from_str(&longer).is_err(), "{longer}");
            }
        }
    }

    #[test]
    fn paper_form_spacing_case_dashes_and_label_are_accepted() {
        for raw in [
            "DE89 3704 0044 0532 0130 00",
            "de89370400440532013000",
            "DE89-3704-0044-0532-0130-00",
            "IBAN DE89 3704 0044 0532 0130 00",
            "IBAN: DE89370400440532013000",
            "iban de89 3704 0044 0532 0130 00",
        ] {
            assert_eq!(parse(raw).unwrap().key, "iban:DE89370400440532013000", "{raw}");
        }
    }

    #[test]
    fn facts_and_display() {
        let id = parse("GB29NWBK60161331926819").unwrap();
        assert_eq!(id.display, "GB29 NWBK 6016 1331 9268 19");
        assert_eq!(id.facts.bank_code.as_deref(), Some("NWBK"));
        let de = parse("DE89370400440532013000").unwrap();
        assert_eq!(de.facts.bank_code.as_deref(), Some("37040044"));
        assert_eq!(parse("PK36SCBL0000001123456702").unwrap().facts.bank_code.as_deref(), Some("SCBL"));
        assert_eq!(parse("HN88CABF00000000000250005469").unwrap().facts.bank_code.as_deref(), Some("CABF"));
        // Honduras accounts are digits only.
        assert_eq!(parse("HN82CABF0000000000025000546A").unwrap_err().code, RejectionCode::IbanFormat);
    }

    #[test]
    fn each_rejection_reason() {
        let code = |s: &str| parse(s).unwrap_err().code;
        assert_eq!(code("DE89370400440532013001"), RejectionCode::IbanChecksum);
        assert_eq!(code("DE8937040044053201300"), RejectionCode::IbanLength);
        assert_eq!(code("DE893704004405320130000"), RejectionCode::IbanLength);
        assert_eq!(code("US12345678901234567890"), RejectionCode::IbanCountry);
        assert_eq!(code("ZZ12345678901234567890"), RejectionCode::IbanCountry);
        assert_eq!(code("DE89_370400440532013000"), RejectionCode::IbanFormat);
        assert_eq!(code("1234567890"), RejectionCode::IbanFormat);
        assert_eq!(code("DEAB370400440532013000"), RejectionCode::IbanFormat);
        assert_eq!(code(&"DE89".repeat(10)), RejectionCode::IbanLength);
        // Right length and checksum, but a letter where Germany has digits.
        let bad_bban = with_check_digits("DE", "37040044053201300A");
        assert_eq!(code(&bad_bban), RejectionCode::IbanFormat);
    }

    /// IBANs of countries and territories outside the SWIFT registry, in the layouts their banks
    /// print (check digits recomputed), on paper and in lower case, with the fact each gets.
    #[test]
    fn ibans_outside_the_registry_are_accepted_and_marked() {
        for (cc, bban, registry) in [
            ("CI", "CI0080111301134291200589", "experimental"),
            ("SN", "SN0100152000048500003035", "experimental"),
            ("BJ", "B00610100400271101192591", "experimental"),
            ("CM", "10003001000500000605306", "experimental"),
            ("MA", "011519000001205000534921", "experimental"),
            ("DZ", "0002100001113000000570", "experimental"),
            ("MG", "00005030071289421016045", "experimental"),
            ("GP", "20041010050500013M02606", "territory:FR"),
            ("RE", "20041010050500013M02606", "territory:FR"),
            ("NC", "20041010050500013M02606", "territory:FR"),
            ("JE", "NWBK60161331926819", "territory:GB"),
            ("AX", "12345600000785", "territory:FI"),
        ] {
            let iban = with_check_digits(cc, bban);
            for raw in [paper(&iban), iban.to_lowercase()] {
                let id = parse(&raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
                assert_eq!(id.key, format!("iban:{iban}"), "{raw}");
                assert_eq!(id.facts.country.map(|c| c.as_str()), Some(cc), "{raw}");
                assert!(id.facts.checksum_verified);
                assert_eq!(registry_of(id.value()).map(|r| r.to_string()).as_deref(), Some(registry), "{raw}");
            }
            assert_eq!(length_for(cc.as_bytes()), Some(iban.len()), "{iban}");
        }
        assert_eq!(registry_of("GB29NWBK60161331926819"), None);
        let jersey = with_check_digits("JE", "NWBK60161331926819");
        assert_eq!(parse(&jersey).unwrap().facts.bank_code.as_deref(), Some("NWBK"));
    }

    #[test]
    fn layouts_outside_the_registry_are_still_checked() {
        let code = |s: &str| parse(s).unwrap_err().code;
        // Côte d'Ivoire starts with two letters; Cameroon is digits only; both have fixed lengths.
        assert_eq!(code(&with_check_digits("CI", "1200801113011342912005890")), RejectionCode::IbanLength);
        assert_eq!(code(&with_check_digits("CI", "120080111301134291200589")), RejectionCode::IbanFormat);
        assert_eq!(code(&with_check_digits("CM", "10003001000500000605A06")), RejectionCode::IbanFormat);
        // A territory follows its parent's layout: Jersey's bank code is four letters, as in GB.
        assert_eq!(code(&with_check_digits("JE", "NWB160161331926819")), RejectionCode::IbanFormat);
        let guadeloupe = with_check_digits("GP", "20041010050500013M02606");
        let digit = if guadeloupe.as_bytes()[10] == b'9' { "8" } else { "9" };
        let mistyped = format!("{}{digit}{}", &guadeloupe[..10], &guadeloupe[11..]);
        assert_eq!(code(&mistyped), RejectionCode::IbanChecksum);
        // Brazil with a letter in the ISPB (BCB 585/2026) is accepted and marked; letters elsewhere are not.
        let br = with_check_digits("BR", "0A3603050000100097954931C");
        let id = parse(&br).unwrap();
        assert_eq!(registry_of(id.value()), Some(IbanRegistry::Experimental));
        assert_eq!(registry_of("BR1800360305000010009795493C1"), None);
        assert_eq!(code(&with_check_digits("BR", "00360305000A10009795493C1")), RejectionCode::IbanFormat);
    }

    #[test]
    fn layout_tables_are_sorted_and_disjoint_from_the_registry() {
        assert!(EXPERIMENTAL.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(TERRITORIES.windows(2).all(|w| w[0].0 < w[1].0));
        for (cc, len, layout) in EXPERIMENTAL {
            assert!(registry_length(cc.as_bytes()).is_none(), "{cc}");
            assert_eq!(4 + layout.iter().map(|&(n, _)| usize::from(n)).sum::<usize>(), usize::from(len), "{cc}");
        }
        for (cc, parent) in TERRITORIES {
            assert!(registry_length(cc.as_bytes()).is_none(), "{cc}");
            assert!(registry_length(parent.as_bytes()).is_some(), "{parent}");
        }
    }

    #[test]
    fn looks_like_is_shape_only() {
        assert!(looks_like("DE89 3704 0044 0532 0130 01"));
        assert!(!looks_like("DEUTDEFF"));
        assert!(!looks_like("+44 20 7946 0958"));
    }
}

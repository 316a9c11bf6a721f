//! BICs (ISO 9362, "SWIFT codes"): `bic:<8 or 11 characters>`.
//!
//! Layout: 4 letters (institution), 2 letters (a real country), 2 letters or digits (location),
//! and optionally 3 letters or digits (branch). A branch of `XXX` means the head office, so
//! `DEUTDEFFXXX` keys as `DEUTDEFF`.

use crate::rejection::{Rejection, RejectionCode};
use crate::text::strip_prefix_ci;
use crate::types::{Country, Facts, Identifier, Kind};

/// Compacts (drops spaces, upper-cases) into a stack buffer; `None` if not 8 or 11 alphanumerics.
fn compact(s: &str) -> Option<([u8; 11], usize)> {
    let s = ["bic:", "swift:", "bic ", "swift "].iter().find_map(|p| strip_prefix_ci(s, p)).map_or(s, str::trim_start);
    let mut buf = [0u8; 11];
    let mut len = 0;
    for b in s.bytes() {
        if b == b' ' {
            continue;
        }
        if !b.is_ascii_alphanumeric() {
            return None;
        }
        *buf.get_mut(len)? = b.to_ascii_uppercase();
        len += 1;
    }
    (len == 8 || len == 11).then_some((buf, len))
}

/// Whether a value is written like a BIC by a bank: exactly 8 or 11 upper-case characters.
///
/// Hint-less detection insists on upper case so that ordinary eight-letter words are not BICs.
pub(crate) fn looks_like(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Normalises a BIC in any case, with or without spaces.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let Some((buf, len)) = compact(s) else {
        return Err(format_rejection());
    };
    let b = &buf[..len];
    if !b[..6].iter().all(u8::is_ascii_uppercase) {
        return Err(format_rejection());
    }
    let Some(country) = Country::from_letters(b[4], b[5]) else {
        return Err(Rejection::new(
            RejectionCode::BicCountry,
            format!(
                "Letters 5 and 6 of a BIC are its country; {}{} is not a country.",
                char::from(b[4]),
                char::from(b[5])
            ),
        ));
    };
    let keep = if len == 11 && &b[8..] == b"XXX" { 8 } else { len };
    let bic = std::str::from_utf8(&b[..keep]).unwrap_or_default();
    let facts = Facts {
        country: Some(country),
        bank_code: Some(bic.get(..4).unwrap_or_default().to_owned()),
        ..Facts::default()
    };
    Ok(Identifier::new(Kind::Bic, bic, bic.to_owned(), facts))
}

fn format_rejection() -> Rejection {
    Rejection::new(
        RejectionCode::BicFormat,
        "A BIC (SWIFT code) has 8 or 11 letters and digits, like DEUTDEFF or DEUTDEFF500.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_bics_in_their_written_forms() {
        let cases = [
            ("DEUTDEFF", "bic:DEUTDEFF", "DE"),
            ("deutdeff", "bic:DEUTDEFF", "DE"),
            ("DEUTDEFFXXX", "bic:DEUTDEFF", "DE"),
            ("DEUT DE FF 500", "bic:DEUTDEFF500", "DE"),
            ("NWBKGB2L", "bic:NWBKGB2L", "GB"),
            ("BNPAFRPPXXX", "bic:BNPAFRPP", "FR"),
            ("CHASUS33", "bic:CHASUS33", "US"),
            ("SWIFT: UBSWCHZH80A", "bic:UBSWCHZH80A", "CH"),
        ];
        for (raw, key, cc) in cases {
            let id = parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(id.key, key);
            assert_eq!(id.facts.country.map(|c| c.as_str()), Some(cc));
        }
        assert_eq!(parse("NWBKGB2L").unwrap().facts.bank_code.as_deref(), Some("NWBK"));
    }

    #[test]
    fn rejections() {
        assert_eq!(parse("DEUTDE").unwrap_err().code, RejectionCode::BicFormat);
        assert_eq!(parse("DEUTDEFF5").unwrap_err().code, RejectionCode::BicFormat);
        assert_eq!(parse("DEU1DEFF").unwrap_err().code, RejectionCode::BicFormat);
        assert_eq!(parse("DEUTZZFF").unwrap_err().code, RejectionCode::BicCountry);
        assert_eq!(parse("DEUTUKFF").unwrap_err().code, RejectionCode::BicCountry);
        assert_eq!(parse("DEUT-DEFF").unwrap_err().code, RejectionCode::BicFormat);
    }

    #[test]
    fn shape_needs_upper_case() {
        assert!(looks_like("DEUTDEFF"));
        assert!(looks_like("NWBKGB2L"));
        assert!(!looks_like("deutdeff"));
        assert!(!looks_like("DEUTDEF"));
    }
}

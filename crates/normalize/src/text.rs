//! Input hygiene shared by every kind: the length bound, folding of look-alike characters that
//! victims paste from chats and PDFs (full-width digits, non-breaking spaces, zero-width joiners,
//! typographic dashes), and small ASCII helpers.
//!
//! Folding is deliberately narrow: only characters that never carry meaning in an identifier.

use std::borrow::Cow;

use crate::rejection::{MAX_INPUT_BYTES, Rejection};

/// What to do with one character while folding.
pub(crate) enum Fold {
    /// Keep it as it is.
    Keep,
    /// Replace it with this ASCII character.
    Ascii(char),
    /// Drop it.
    Drop,
}

/// How one character folds; shared by [`clean`], the extraction index and card masking.
pub(crate) fn fold_char(c: char) -> Fold {
    match c {
        // Full-width forms of printable ASCII.
        '\u{FF01}'..='\u{FF5E}' => Fold::Ascii(char::from_u32(c as u32 - 0xFEE0).unwrap_or(' ')),
        // Zero-width and bidirectional-control characters, soft hyphen, BOM.
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{00AD}'
        | '\u{FEFF}' => Fold::Drop,
        // Typographic hyphens and dashes, and the minus sign.
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => Fold::Ascii('-'),
        // Ideographic full stop and other dots victims paste.
        '\u{3002}' | '\u{FF61}' => Fold::Ascii('.'),
        c if c.is_whitespace() || c.is_control() => Fold::Ascii(' '),
        _ => Fold::Keep,
    }
}

/// Checks the length bound, folds look-alike characters and trims; the cleaned value is never empty.
pub(crate) fn clean(raw: &str) -> Result<Cow<'_, str>, Rejection> {
    if raw.len() > MAX_INPUT_BYTES {
        return Err(Rejection::too_long());
    }
    let needs_fold = raw.bytes().any(|b| !b.is_ascii() || b.is_ascii_control());
    let cleaned = if needs_fold {
        let mut out = String::with_capacity(raw.len());
        for c in raw.chars() {
            match fold_char(c) {
                Fold::Keep => out.push(c),
                Fold::Ascii(a) => out.push(a),
                Fold::Drop => {}
            }
        }
        let trimmed = out.trim();
        if trimmed.len() == out.len() { Cow::Owned(out) } else { Cow::Owned(trimmed.to_owned()) }
    } else {
        Cow::Borrowed(raw.trim())
    };
    if cleaned.is_empty() {
        return Err(Rejection::empty());
    }
    Ok(cleaned)
}

/// A copy of free text with look-alikes folded, and for each byte of the copy the byte offset
/// in the original, so spans found in the copy map back exactly.
pub(crate) struct Folded {
    /// The folded text.
    pub text: String,
    /// `origin[i]` is the original offset of folded byte `i`; one extra entry for the end.
    origin: Vec<usize>,
}

impl Folded {
    /// Folds `raw`, keeping every byte's origin.
    pub(crate) fn new(raw: &str) -> Folded {
        let mut text = String::with_capacity(raw.len());
        let mut origin = Vec::with_capacity(raw.len() + 1);
        for (at, c) in raw.char_indices() {
            let before = text.len();
            match fold_char(c) {
                Fold::Keep => text.push(c),
                Fold::Ascii(a) => text.push(a),
                Fold::Drop => {}
            }
            origin.extend(std::iter::repeat_n(at, text.len() - before));
        }
        origin.push(raw.len());
        Folded { text, origin }
    }

    /// Maps a folded span back to the original text's span.
    pub(crate) fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        let start_at = self.origin.get(start).copied().unwrap_or(0);
        // The end is just after the last folded byte's original character.
        let end_at = if end == 0 {
            start_at
        } else {
            match self.origin.get(end) {
                Some(&o) => o,
                None => self.origin.last().copied().unwrap_or(0),
            }
        };
        (start_at, end_at.max(start_at))
    }
}

/// Strips `prefix` from the start of `s`, ignoring ASCII case.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.as_bytes().get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix.as_bytes()) { s.get(prefix.len()..) } else { None }
}

/// Whether `s` starts with `prefix`, ignoring ASCII case.
pub(crate) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    strip_prefix_ci(s, prefix).is_some()
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Decodes hex (either case) into `out`; `None` unless `s` is exactly `2 * out.len()` hex digits.
pub(crate) fn hex_decode_into(s: &str, out: &mut [u8]) -> Option<()> {
    let bytes = s.as_bytes();
    if bytes.len() != out.len() * 2 {
        return None;
    }
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        *slot = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::RejectionCode;

    #[test]
    fn clean_trims_and_borrows_plain_ascii() {
        let c = clean("  DE89 3704  ").unwrap();
        assert!(matches!(c, Cow::Borrowed("DE89 3704")));
    }

    #[test]
    fn clean_folds_full_width_zero_width_and_dashes() {
        assert_eq!(clean("＋４４\u{200B} 20\u{00A0}7946–0958").unwrap(), "+44 20 7946-0958");
        assert_eq!(clean("\u{FEFF}abc\u{202E}").unwrap(), "abc");
    }

    #[test]
    fn clean_rejects_blank_and_too_long() {
        assert_eq!(clean(" \t\u{200B} ").unwrap_err().code, RejectionCode::Empty);
        assert_eq!(clean("").unwrap_err().code, RejectionCode::Empty);
        let long = "1".repeat(MAX_INPUT_BYTES + 1);
        assert_eq!(clean(&long).unwrap_err().code, RejectionCode::TooLong);
        assert!(clean(&"1".repeat(MAX_INPUT_BYTES)).is_ok());
    }

    #[test]
    fn folded_maps_spans_back_to_the_original() {
        let raw = "a\u{200B}＋4b";
        let f = Folded::new(raw);
        assert_eq!(f.text, "a+4b");
        let start = f.text.find('+').unwrap();
        let (s, e) = f.original_span(start, start + 2);
        assert_eq!(&raw[s..e], "＋4");
    }

    #[test]
    fn hex_round_trips() {
        let mut out = [0u8; 2];
        assert_eq!(hex_decode_into("aB0f", &mut out), Some(()));
        assert_eq!(hex_lower(&out), "ab0f");
        assert_eq!(hex_decode_into("abc", &mut out), None);
        assert_eq!(hex_decode_into("zz00", &mut out), None);
    }
}

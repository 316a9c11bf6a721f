//! The human reference of a report, `ST-7K3M-9QXD`: short enough to read over the phone, from an
//! alphabet without look-alikes, forgiving of case and dashes when typed back.

use rand::Rng;

/// Digits and capitals without 0/O, 1/I/L and U (which reads as V): nothing to confuse aloud.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
const GROUP: usize = 4;

/// A report's human reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference(String);

/// Why typed text is not a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Wrong number of characters once dashes, spaces and the prefix are removed.
    #[error("a reference has 8 characters after ST-, like ST-7K3M-9QXD")]
    Length,
    /// A character that no reference contains.
    #[error("a reference contains only digits 2-9 and capital letters other than I, L, O and U")]
    Character,
}

impl Reference {
    /// Draws a new random reference (30^8 ≈ 6.6 × 10^11 values; the store checks uniqueness).
    pub fn generate(rng: &mut impl Rng) -> Self {
        let mut s = String::with_capacity(12);
        s.push_str("ST");
        for i in 0..2 * GROUP {
            if i % GROUP == 0 {
                s.push('-');
            }
            s.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
        }
        Self(s)
    }

    /// Reads a reference as a person types it: any case, with or without `ST`, dashes or spaces.
    pub fn parse(typed: &str) -> Result<Self, ReferenceError> {
        let mut body: Vec<u8> =
            typed.bytes().filter(|b| !matches!(b, b'-' | b' ' | b'\t')).map(|b| b.to_ascii_uppercase()).collect();
        if body.len() == 2 * GROUP + 2 && body.starts_with(b"ST") {
            body.drain(..2);
        }
        if body.len() != 2 * GROUP {
            return Err(ReferenceError::Length);
        }
        if !body.iter().all(|b| ALPHABET.contains(b)) {
            return Err(ReferenceError::Character);
        }
        let body = String::from_utf8(body).map_err(|_| ReferenceError::Character)?;
        Ok(Self(format!("ST-{}-{}", &body[..GROUP], &body[GROUP..])))
    }

    /// The canonical form, `ST-XXXX-XXXX`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_have_the_documented_shape_and_parse_back() {
        let mut rng = rand::rng();
        for _ in 0..1_000 {
            let r = Reference::generate(&mut rng);
            let s = r.as_str();
            assert_eq!(s.len(), 12);
            assert!(s.starts_with("ST-") && &s[7..8] == "-");
            assert_eq!(Reference::parse(s), Ok(r.clone()));
        }
    }

    #[test]
    fn typed_forms_are_forgiven() {
        let want = Reference::parse("ST-7K3M-9QXD").unwrap();
        for typed in ["st-7k3m-9qxd", "ST7K3M9QXD", "7k3m 9qxd", " ST 7K3M 9QXD "] {
            assert_eq!(Reference::parse(typed), Ok(want.clone()), "{typed}");
        }
    }

    #[test]
    fn look_alikes_and_wrong_lengths_are_refused() {
        assert_eq!(Reference::parse("ST-7K3M-9QX0"), Err(ReferenceError::Character));
        assert_eq!(Reference::parse("ST-7K3M-9QXI"), Err(ReferenceError::Character));
        assert_eq!(Reference::parse("ST-7K3M"), Err(ReferenceError::Length));
        assert_eq!(Reference::parse(""), Err(ReferenceError::Length));
        assert_eq!(Reference::parse("ST-7K3M-9QXDÉ"), Err(ReferenceError::Length));
    }
}

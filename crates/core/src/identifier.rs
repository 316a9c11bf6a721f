//! A scammer-side identifier as a victim reported it, with what normalisation made of it.
//!
//! A value that normalises carries its canonical key; one that does not is kept as *unverified*
//! with the reason, shown to investigators and searchable, but it never links reports.

use scamtrail_normalize::{Identifier, Kind, KindHint, Rejection, RejectionCode, mask_card_numbers};

use crate::IdentifierRole;

/// A normalised identifier in plain, storable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedIdentifier {
    /// The fine-grained kind (`iban`, `tel`, `evm`...).
    pub kind: String,
    /// The canonical key that links reports.
    pub key: String,
    /// How to show it; never a full card number.
    pub display: String,
    /// The country it belongs to, if known.
    pub country: Option<String>,
    /// The bank, sort or routing code inside an account, if known.
    pub bank_code: Option<String>,
    /// The telephone number type (`MOBILE`, `VOIP`...), for phones.
    pub phone_type: Option<String>,
    /// The chain of a crypto address or transaction.
    pub chain: Option<String>,
    /// Whether a check digit or checksum was verified.
    pub checksum_verified: bool,
}

impl From<&Identifier> for NormalizedIdentifier {
    fn from(id: &Identifier) -> Self {
        Self {
            kind: id.kind.as_str().to_owned(),
            key: id.key.clone(),
            display: id.display.clone(),
            country: id.facts.country.map(|c| c.as_str().to_owned()),
            bank_code: id.facts.bank_code.clone(),
            phone_type: id.facts.phone_type.map(|t| t.as_str().to_owned()),
            chain: id.facts.chain.map(str::to_owned),
            checksum_verified: id.facts.checksum_verified,
        }
    }
}

/// Why a value is unverified: a stable reason code and an English explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    /// Stable reason code, e.g. `IBAN_CHECKSUM`.
    pub reason: String,
    /// An English sentence a victim understands.
    pub message: String,
}

impl From<&Rejection> for Unverified {
    fn from(r: &Rejection) -> Self {
        Self { reason: r.code.as_str().to_owned(), message: r.message.clone() }
    }
}

/// What normalisation made of a value.
pub type IdentifierOutcome = Result<NormalizedIdentifier, Unverified>;

/// One scammer-side identifier as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedIdentifier {
    /// The value as typed, except that card numbers are masked (a value taken for a card wholly,
    /// and any card number inside any other value): a full card number is never stored.
    pub raw: String,
    /// The part it played, if stated.
    pub role: Option<IdentifierRole>,
    /// The kind the victim or frontend stated, if any.
    pub kind_hint: Option<KindHint>,
    /// The normalised identifier, or why there is none.
    pub outcome: IdentifierOutcome,
}

impl ReportedIdentifier {
    /// Records a normalisation result, masking the raw text wherever it may hold a card number.
    ///
    /// Normalise the unmasked value first: a card taken for a card keeps its MAC'd key.
    pub fn new(
        raw: &str,
        role: Option<IdentifierRole>,
        kind_hint: Option<KindHint>,
        result: &Result<Identifier, Rejection>,
    ) -> Self {
        let card_like = match result {
            Ok(id) => id.kind == Kind::Card,
            Err(r) => {
                matches!(r.code, RejectionCode::CardChecksum | RejectionCode::CardLength)
                    || kind_hint == Some(KindHint::Card)
            }
        };
        // A card-like value is masked whole, even when its check digit fails; any other value
        // may still hold a card number (a card sent as a phone, or with its expiry date).
        let raw = if card_like { mask_digits(raw) } else { mask_card_numbers(raw).into_owned() };
        Self {
            raw,
            role,
            kind_hint,
            outcome: result.as_ref().map(NormalizedIdentifier::from).map_err(Unverified::from),
        }
    }

    /// Whether this identifier may link reports (normalised; later also: not safelisted or excluded).
    pub fn key(&self) -> Option<&str> {
        self.outcome.as_ref().ok().map(|n| n.key.as_str())
    }
}

/// Keeps the first six and last four digits of a card-like value and masks the rest; full-width
/// digits count as digits, as the normaliser reads them.
fn mask_digits(raw: &str) -> String {
    let is_digit = |c: &char| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(c);
    let digits = raw.chars().filter(is_digit).count();
    let mut seen = 0;
    raw.chars()
        .map(|c| {
            if is_digit(&c) {
                seen += 1;
                if seen > 6 && seen + 4 <= digits { '*' } else { c }
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scamtrail_normalize::{Hint, Normalizer, NormalizerConfig};

    fn normalizer() -> Normalizer {
        Normalizer::new(NormalizerConfig { card_mac_key: b"test key".to_vec() })
    }

    #[test]
    fn a_card_number_is_never_kept_in_the_raw_text() {
        let n = normalizer();
        // a valid card and one failing the Luhn check: both are masked
        for (raw, stored) in
            [("4111 1111 1111 1111", "4111 11** **** 1111"), ("4111 1111 1111 1112", "4111 11** **** 1112")]
        {
            let result = n.normalize(raw, &Hint::kind(KindHint::Card));
            let id = ReportedIdentifier::new(raw, None, Some(KindHint::Card), &result);
            assert_eq!(id.raw, stored);
        }
    }

    #[test]
    fn a_card_number_is_masked_whatever_the_value_was_taken_for() {
        let n = normalizer();
        let cases = [
            // unrecognised: the expiry date makes it no card
            ("5500 0000 0000 0004 exp 01/30", None, "5500 00** **** 0004 exp 01/30"),
            // sent as a phone number: unverified as a phone
            ("4111111111111111", Some(KindHint::Phone), "411111******1111"),
            // sent as a bank account
            ("4111-1111-1111-1111", Some(KindHint::BankAccount), "4111-11**-****-1111"),
            // full-width digits, taken for a card
            ("４１１１１１１１１１１１１１１１", None, "４１１１１１******１１１１"),
        ];
        for (raw, kind, stored) in cases {
            let result = n.normalize(raw, &Hint { kind, country: None });
            let id = ReportedIdentifier::new(raw, None, kind, &result);
            assert_eq!(id.raw, stored, "{raw}");
        }
        // A card taken for a card keeps its key, computed from the unmasked number.
        let raw = "4111 1111 1111 1111";
        let id = ReportedIdentifier::new(raw, None, None, &n.normalize(raw, &Hint::default()));
        assert!(id.key().is_some_and(|k| k.starts_with("card:411111:1111:")), "{:?}", id.key());
    }

    #[test]
    fn an_iban_keeps_its_raw_text_and_gets_its_key() {
        let raw = "de89 3704 0044 0532 0130 00";
        let result = normalizer().normalize(raw, &Hint::default());
        let id = ReportedIdentifier::new(raw, Some(IdentifierRole::BeneficiaryAccount), None, &result);
        assert_eq!(id.raw, raw);
        assert_eq!(id.key(), Some("iban:DE89370400440532013000"));
    }

    #[test]
    fn a_bad_checksum_is_kept_unverified_with_its_reason() {
        let raw = "DE89 3704 0044 0532 0130 01";
        let result = normalizer().normalize(raw, &Hint::default());
        let id = ReportedIdentifier::new(raw, None, None, &result);
        assert_eq!(id.key(), None);
        assert_eq!(id.outcome.unwrap_err().reason, "IBAN_CHECKSUM");
    }
}

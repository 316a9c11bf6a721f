//! A report as validated for storage (`NewReport`) and as read back (`StoredReport`).

use std::fmt::Write as _;

use crate::{AgeBand, Category, ContactChannel, Country, PaymentMethod, Reference, ReportedIdentifier, UnixMicros};

/// One payment the victim made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    /// Amount in minor units of `currency`, exact (wei of ether need more than 64 bits).
    pub amount_minor: i128,
    /// ISO 4217 code or crypto-asset ticker, upper case.
    pub currency: String,
    /// How the victim paid, if stated.
    pub method: Option<PaymentMethod>,
    /// When the victim paid, if stated.
    pub paid_at: Option<UnixMicros>,
    /// The accounts, cards or wallets that received the money.
    pub beneficiaries: Vec<ReportedIdentifier>,
    /// The crypto transaction hash, if any (empty when none).
    pub transaction_hash: String,
    /// Whether the victim already asked their bank for a recall.
    pub recall_requested: bool,
}

/// The victim's personal data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Victim {
    /// Name (empty when not given).
    pub name: String,
    /// E-mail address (empty when not given).
    pub email: String,
    /// Telephone number (empty when not given).
    pub phone: String,
    /// ISO 3166-1 alpha-2 country, upper case, if given.
    pub country: Option<Country>,
    /// Age band, if given.
    pub age_band: Option<AgeBand>,
    /// Whether the victim declared themselves vulnerable.
    pub declared_vulnerable: bool,
    /// The victim's words on their vulnerability (empty when not given).
    pub vulnerability_note: String,
    /// Consent to share the report with the police.
    pub consent_to_share_with_police: bool,
}

/// Bytes as lower-case hex (digests as stored).
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

impl Victim {
    /// Who the victim is, for counting distinct victims across reports: `email:` and the trimmed,
    /// lower-cased e-mail, else `phone:` and the phone's digits (with a leading `+` kept) when
    /// there are at least six, else `None`. Stored only as a keyed MAC
    /// ([`crate::DataKeys::victim_key`]): a plain hash of a phone number is reversed by enumeration.
    pub fn identity(&self) -> Option<String> {
        let email = self.email.trim().to_lowercase();
        if !email.is_empty() {
            return Some(format!("email:{email}"));
        }
        let phone = self.phone.trim();
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if digits.len() < 6 {
            return None;
        }
        let plus = if phone.starts_with('+') { "+" } else { "" };
        Some(format!("phone:{plus}{digits}"))
    }

    /// Whether the victim is aged 70 or over or declared themselves vulnerable.
    pub fn is_vulnerable(&self) -> bool {
        self.declared_vulnerable || self.age_band == Some(AgeBand::From70)
    }
}

/// A report that passed validation and is ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    /// The kind of scam.
    pub category: Category,
    /// First contact, if stated.
    pub first_contact_at: Option<UnixMicros>,
    /// Last contact, if stated.
    pub last_contact_at: Option<UnixMicros>,
    /// How the scammers made contact.
    pub contact_channels: Vec<ContactChannel>,
    /// What happened, in the victim's words.
    pub narrative: String,
    /// Payments made.
    pub payments: Vec<NewPayment>,
    /// Identifiers not tied to a payment, typed by the victim.
    pub identifiers: Vec<ReportedIdentifier>,
    /// Identifiers found in the narrative, stored as suggestions (they never link on their own).
    pub suggested: Vec<ReportedIdentifier>,
    /// The victim, if the report carries a victim block.
    pub victim: Option<Victim>,
    /// Whether the scammers are still in contact.
    pub contact_ongoing: bool,
    /// The client's idempotency key, if sent.
    pub client_request_id: Option<String>,
    /// The argon2id hash of the victim's follow-up secret (the server makes the secret; only the
    /// hash is stored).
    pub follow_up_hash: Option<String>,
}

impl NewReport {
    /// Whether `stored`, a report as read back (perhaps with details added since), holds what this
    /// submission carries: a retry of the same submission, not another report under a reused
    /// client request id. Details added later extend the narrative, payments and identifiers, so
    /// those are compared as prefixes.
    pub fn same_submission(&self, stored: &NewReport) -> bool {
        fn starts_with<T: PartialEq>(stored: &[T], sent: &[T]) -> bool {
            stored.len() >= sent.len() && stored[..sent.len()] == *sent
        }
        self.category == stored.category
            && self.first_contact_at == stored.first_contact_at
            && self.last_contact_at == stored.last_contact_at
            && self.contact_channels == stored.contact_channels
            && stored.narrative.starts_with(&self.narrative)
            && starts_with(&stored.payments, &self.payments)
            && starts_with(&stored.identifiers, &self.identifiers)
            && starts_with(&stored.suggested, &self.suggested)
            && self.victim == stored.victim
            && self.contact_ongoing == stored.contact_ongoing
            && self.client_request_id == stored.client_request_id
    }
}

/// A report as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// The report's id.
    pub id: i64,
    /// Its human reference.
    pub reference: Reference,
    /// When it was received.
    pub received_at: UnixMicros,
    /// What was submitted.
    pub report: NewReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn victim(email: &str, phone: &str) -> Victim {
        Victim { email: email.to_owned(), phone: phone.to_owned(), ..Victim::default() }
    }

    #[test]
    fn the_identity_is_the_normalised_email_first() {
        let identity = victim("  Jane.Doe@Example.ORG ", "+44 7700 900123").identity().unwrap();
        assert_eq!(identity, "email:jane.doe@example.org");
        assert_eq!(victim("jane.doe@example.org", "").identity(), Some(identity));
    }

    #[test]
    fn without_an_email_the_phone_digits_identify_the_victim() {
        let identity = victim(" ", "+44 (7700) 900-123").identity().unwrap();
        assert_eq!(identity, "phone:+447700900123");
        assert_eq!(victim("", "+447700900123").identity(), Some(identity.clone()));
        assert_ne!(victim("", "447700900123").identity(), Some(identity));
        assert_eq!(victim("", "12345").identity(), None);
        assert_eq!(victim("", "").identity(), None);
        assert_eq!(victim("", "123456").identity().as_deref(), Some("phone:123456"));
    }

    fn report(narrative: &str) -> NewReport {
        NewReport {
            category: Category::Investment,
            first_contact_at: Some(UnixMicros(1_700_000_000_000_000)),
            last_contact_at: None,
            contact_channels: vec![],
            narrative: narrative.to_owned(),
            payments: vec![],
            identifiers: vec![],
            suggested: vec![],
            victim: Some(victim("jane@example.org", "")),
            contact_ongoing: true,
            client_request_id: Some("0123456789abcdef/form-1".to_owned()),
            follow_up_hash: Some("$argon2id$...".to_owned()),
        }
    }

    #[test]
    fn a_retry_is_the_same_submission_and_another_report_is_not() {
        let sent = report("A broker called.");
        let mut stored = sent.clone();
        stored.follow_up_hash = None;
        assert!(sent.same_submission(&stored));
        // Details added since extend what is stored.
        stored.narrative.push_str("\n\n[added 2026-11-25T12:00:00Z]\nHe called again.");
        assert!(sent.same_submission(&stored));
        let other = [
            report("Someone else's story."),
            NewReport { contact_ongoing: false, ..sent.clone() },
            NewReport { victim: Some(victim("mallory@example.org", "")), ..sent.clone() },
            NewReport { category: Category::Romance, ..sent.clone() },
        ];
        for other in other {
            assert!(!other.same_submission(&stored), "{other:?}");
        }
    }

    #[test]
    fn the_elderly_and_the_self_declared_are_vulnerable() {
        let over_70 = Victim { age_band: Some(AgeBand::From70), ..Victim::default() };
        let declared = Victim { declared_vulnerable: true, age_band: Some(AgeBand::From30To49), ..Victim::default() };
        let neither = Victim { age_band: Some(AgeBand::From50To69), ..Victim::default() };
        assert!(over_70.is_vulnerable());
        assert!(declared.is_vulnerable());
        assert!(!neither.is_vulnerable());
        assert!(!Victim::default().is_vulnerable());
    }
}

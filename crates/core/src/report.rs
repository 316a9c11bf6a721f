//! A report as validated for storage (`NewReport`) and as read back (`StoredReport`).

use crate::{AgeBand, Category, ContactChannel, Country, PaymentMethod, Reference, ReportedIdentifier, UnixMicros};

/// One payment the victim made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    /// Amount in minor units of `currency`.
    pub amount_minor: i64,
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

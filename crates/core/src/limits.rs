//! The bounds on a report. Frontends show them; validation enforces them; the proto comments
//! state them. Bounds keep one request from exhausting memory or the database, and each is wide
//! enough that no honest victim meets it.

/// Characters in a narrative.
pub const NARRATIVE_MAX_CHARS: usize = 20_000;
/// Payments in one report.
pub const PAYMENTS_MAX: usize = 50;
/// Times a victim may add details to one report.
pub const ADDITIONS_MAX: i64 = 20;
/// Beneficiary identifiers on one payment.
pub const BENEFICIARIES_MAX: usize = 10;
/// Scammer identifiers in one report, outside payments.
pub const IDENTIFIERS_MAX: usize = 100;
/// Characters in one identifier value.
pub const IDENTIFIER_VALUE_MAX_CHARS: usize = 512;
/// Contact channels in one report.
pub const CONTACT_CHANNELS_MAX: usize = 16;
/// Characters in a crypto transaction hash.
pub const TRANSACTION_HASH_MAX_CHARS: usize = 256;
/// Characters in the victim's name.
pub const VICTIM_NAME_MAX_CHARS: usize = 200;
/// Characters in the victim's e-mail address.
pub const VICTIM_EMAIL_MAX_CHARS: usize = 254;
/// Characters in the victim's telephone number.
pub const VICTIM_PHONE_MAX_CHARS: usize = 64;
/// Characters in the victim's vulnerability note.
pub const VULNERABILITY_NOTE_MAX_CHARS: usize = 2_000;
/// Characters in a client request id.
pub const CLIENT_REQUEST_ID_MAX_CHARS: usize = 128;
/// Characters in a code (a currency, a country).
pub const CODE_MAX_CHARS: usize = 16;
/// The earliest instant a request may carry (the Unix epoch): earlier dates are typing errors,
/// and some clients' JSON cannot hold years before 0001.
pub const EARLIEST_INSTANT: crate::UnixMicros = crate::UnixMicros(0);
/// Seconds a client clock may run ahead of ours before a date counts as in the future.
pub const CLOCK_SKEW_SECONDS: i64 = 300;
/// Bytes in one encoded request.
pub const MESSAGE_MAX_BYTES: usize = 1024 * 1024;

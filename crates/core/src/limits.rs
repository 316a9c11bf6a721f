//! The bounds on a report. Frontends show them; validation enforces them; the proto comments
//! state them. Bounds keep one request from exhausting memory or the database, and each is wide
//! enough that no honest victim meets it.

/// Characters in a narrative.
pub const NARRATIVE_MAX_CHARS: usize = 20_000;
/// Payments in one report.
pub const PAYMENTS_MAX: usize = 50;
/// Major units (euros, yen, bitcoins) in one payment: ten trillion, beyond any one victim's loss
/// in any currency, and far enough below the 64-bit bound that sums of many stay exact.
pub const PAYMENT_MAJOR_UNITS_MAX: i64 = 10_000_000_000_000;
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

/// The largest amount of one payment, in minor units of `currency`: [`PAYMENT_MAJOR_UNITS_MAX`]
/// major units (10^15 cents of a euro), or the largest 64-bit amount for a currency with more than
/// five decimals. An amount is an `int64` of minor units, so such a currency is bounded by the
/// type already (about 9.22 ETH in wei, 9.2 million XMR): a lower bound there would refuse real
/// losses. Sums of amounts saturate instead of overflowing, whatever was stored.
pub fn payment_amount_max_minor(currency: &str) -> i64 {
    10i64
        .checked_pow(crate::decimals(currency))
        .and_then(|scale| PAYMENT_MAJOR_UNITS_MAX.checked_mul(scale))
        .unwrap_or(i64::MAX)
}

/// The largest amount of one payment written as a decimal `amount`, in minor units of
/// `currency`: [`PAYMENT_MAJOR_UNITS_MAX`] major units whatever the decimals (10^31 wei of ether),
/// which 128 bits hold with room for sums of a million of them.
pub fn payment_amount_max(currency: &str) -> i128 {
    i128::from(PAYMENT_MAJOR_UNITS_MAX) * 10i128.pow(crate::decimals(currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decimal_amount_is_at_most_ten_trillion_major_units_in_every_currency() {
        assert_eq!(payment_amount_max("EUR"), 1_000_000_000_000_000);
        assert_eq!(payment_amount_max("ETH"), 10i128.pow(31));
        assert_eq!(payment_amount_max("BTC"), 10i128.pow(21));
    }

    #[test]
    fn one_payment_is_at_most_ten_trillion_major_units_or_what_64_bits_hold() {
        assert_eq!(payment_amount_max_minor("EUR"), 1_000_000_000_000_000);
        assert_eq!(payment_amount_max_minor("JPY"), 10_000_000_000_000);
        assert_eq!(payment_amount_max_minor("KWD"), 10_000_000_000_000_000);
        assert_eq!(payment_amount_max_minor("BTC"), i64::MAX);
        assert_eq!(payment_amount_max_minor("ETH"), i64::MAX);
    }
}

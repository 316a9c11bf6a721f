//! Amounts across currencies: how many decimals a currency's minor unit has, how to show an
//! amount to a person, and a rate table that brings amounts into one reference currency so that
//! losses in pounds, euros and bitcoin can be added up and compared when triaging.
//!
//! Converted amounts rank clusters; they are not accounting. The built-in table is indicative and
//! dated; a deployment that needs current rates loads its own with `RateTable::from_json`.

use std::collections::BTreeMap;

use crate::{CRYPTO_TICKERS, is_known_currency};

/// Decimals of each crypto asset's smallest unit (satoshi, wei, lamport...), sorted by ticker.
const CRYPTO_DECIMALS: &[(&str, u32)] = &[
    ("ADA", 6),
    ("AVAX", 18),
    ("BCH", 8),
    ("BNB", 18),
    ("BTC", 8),
    ("BUSD", 18),
    ("DAI", 18),
    ("DOGE", 8),
    ("DOT", 10),
    ("ETH", 18),
    ("LINK", 18),
    ("LTC", 8),
    ("MATIC", 18),
    ("POL", 18),
    ("SHIB", 18),
    ("SOL", 9),
    ("TON", 9),
    ("TRX", 6),
    ("USDC", 6),
    ("USDT", 6),
    ("XLM", 7),
    ("XMR", 12),
    ("XRP", 6),
];

/// Indicative rates, in euros per one major unit, rounded from market rates around 2025-06-30
/// (ECB reference rates for fiat, exchange mid prices for crypto). Good enough to rank clusters
/// by size; stale for anything else.
const BUILTIN_EUR_RATES: &[(&str, f64)] = &[
    ("GBP", 1.17),
    ("USD", 0.853),
    ("CHF", 1.07),
    ("JPY", 0.00590),
    ("CAD", 0.625),
    ("AUD", 0.559),
    ("SEK", 0.0895),
    ("NOK", 0.0843),
    ("DKK", 0.134),
    ("PLN", 0.236),
    ("CZK", 0.0404),
    ("HUF", 0.00250),
    ("RON", 0.197),
    ("INR", 0.00995),
    ("SGD", 0.669),
    ("HKD", 0.109),
    ("CNY", 0.119),
    ("NZD", 0.518),
    ("ZAR", 0.0480),
    ("BRL", 0.156),
    ("MXN", 0.0452),
    ("TRY", 0.0214),
    ("AED", 0.232),
    ("BTC", 92_000.0),
    ("ETH", 2_120.0),
    ("USDT", 0.853),
    ("USDC", 0.853),
    ("DAI", 0.853),
    ("BUSD", 0.853),
    ("LTC", 73.0),
    ("TRX", 0.235),
    ("SOL", 132.0),
    ("XRP", 1.87),
    ("TON", 2.45),
    ("BNB", 560.0),
    ("DOGE", 0.140),
    ("ADA", 0.485),
    ("BCH", 420.0),
    ("MATIC", 0.160),
    ("POL", 0.160),
    ("XMR", 275.0),
    ("XLM", 0.200),
    ("AVAX", 15.2),
    ("DOT", 2.90),
    ("LINK", 11.3),
    ("SHIB", 0.0000098),
];

/// Decimals of a currency's minor unit: the ISO 4217 exponent, a crypto asset's smallest unit,
/// or 2 for anything else.
pub fn decimals(currency: &str) -> u32 {
    if let Ok(i) = CRYPTO_DECIMALS.binary_search_by_key(&currency, |&(ticker, _)| ticker) {
        return CRYPTO_DECIMALS[i].1;
    }
    iso_currency::Currency::from_code(currency).and_then(|c| c.exponent()).map_or(2, u32::from)
}

/// Shows an amount in minor units as a person reads it: "EUR 4,800.00", "JPY 10,000",
/// "BTC 0.015" (crypto amounts are exact, without trailing zeros).
pub fn format_amount(amount_minor: impl Into<i128>, currency: &str) -> String {
    let amount_minor: i128 = amount_minor.into();
    let decimals = decimals(currency);
    let divisor = 10u128.pow(decimals);
    let magnitude = amount_minor.unsigned_abs();
    let whole = (magnitude / divisor).to_string();

    let mut out = String::with_capacity(currency.len() + whole.len() * 4 / 3 + decimals as usize + 3);
    out.push_str(currency);
    out.push(' ');
    if amount_minor < 0 {
        out.push('-');
    }
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if decimals > 0 {
        let fraction = format!("{:0width$}", magnitude % divisor, width = decimals as usize);
        let fraction = if CRYPTO_TICKERS.contains(&currency) { fraction.trim_end_matches('0') } else { &fraction };
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
    }
    out
}

/// Most significant digits an amount may be written with: an 18-decimal asset's amounts up to a
/// trillion units, and every fiat amount a person could have lost.
pub const AMOUNT_SIGNIFICANT_DIGITS_MAX: usize = 30;

/// Longest decimal text an amount is read from; leading and trailing zeros do not make it longer
/// than a person writes.
pub const AMOUNT_TEXT_MAX_CHARS: usize = 64;

/// Why a decimal amount was refused; `code` is the stable reason a rejection names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not plain decimal digits with at most one point (no sign, exponent, separators or spaces).
    #[error("write the amount as decimal digits with an optional point, such as 10 or 0.00000001")]
    NotADecimal,
    /// Zero.
    #[error("the amount must be greater than zero")]
    NotPositive,
    /// More decimals than the currency's smallest unit has.
    #[error("{currency} has at most {decimals} decimals")]
    TooPrecise {
        /// The currency.
        currency: String,
        /// Its decimals.
        decimals: u32,
    },
    /// More than `AMOUNT_SIGNIFICANT_DIGITS_MAX` significant digits, or a text over `AMOUNT_TEXT_MAX_CHARS`.
    #[error("at most 30 significant digits")]
    TooManyDigits,
    /// Above `max_minor` minor units.
    #[error("at most {0}")]
    TooLarge(String),
}

impl AmountError {
    /// The stable reason code of a rejection.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotADecimal => "NOT_A_DECIMAL",
            Self::NotPositive => "NOT_POSITIVE",
            Self::TooPrecise { .. } => "TOO_PRECISE",
            Self::TooManyDigits => "TOO_MANY_DIGITS",
            Self::TooLarge(_) => "TOO_LARGE",
        }
    }
}

/// Reads a positive decimal amount in major units ("10", "0.00000001", "12345.67") as exact minor
/// units of `currency`, refusing more decimals than the currency has, more than 30 significant
/// digits, and more than `max_minor`. Hand-written rather than through a decimal crate: the
/// grammar is digits and one point, and `i128` holds every amount that passes (30 digits at 18
/// decimals) where `rust_decimal`'s 96-bit mantissa holds 28.
pub fn parse_amount(text: &str, currency: &str, max_minor: i128) -> Result<i128, AmountError> {
    if text.chars().count() > AMOUNT_TEXT_MAX_CHARS {
        return Err(AmountError::TooManyDigits);
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(AmountError::NotADecimal);
    }
    let decimals = decimals(currency);
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > decimals as usize {
        return Err(AmountError::TooPrecise { currency: currency.to_owned(), decimals });
    }
    let whole = whole.trim_start_matches('0');
    let significant =
        if whole.is_empty() { fraction.trim_start_matches('0').len() } else { whole.len() + fraction.len() };
    if significant > AMOUNT_SIGNIFICANT_DIGITS_MAX {
        return Err(AmountError::TooManyDigits);
    }
    // At most 30 digits and 18 + 30 after scaling would not fit, so bound the whole part first:
    // `max_minor` is far below 10^38.
    let too_large = || AmountError::TooLarge(format_amount(max_minor, currency));
    let mut minor: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        minor = minor.checked_mul(10).and_then(|m| m.checked_add(i128::from(b - b'0'))).ok_or_else(too_large)?;
    }
    let scale = 10i128.checked_pow(decimals - fraction.len() as u32).ok_or_else(too_large)?;
    let minor = minor.checked_mul(scale).ok_or_else(too_large)?;
    if minor == 0 {
        return Err(AmountError::NotPositive);
    }
    if minor > max_minor {
        return Err(too_large());
    }
    Ok(minor)
}

/// Writes minor units of `currency` as a plain decimal in major units, exactly and without
/// trailing zeros or separators ("10", "0.00000001", "12345.67"): the form `parse_amount` reads.
pub fn amount_text(amount_minor: i128, currency: &str) -> String {
    let decimals = decimals(currency) as usize;
    let magnitude = amount_minor.unsigned_abs().to_string();
    let sign = if amount_minor < 0 { "-" } else { "" };
    if decimals == 0 {
        return format!("{sign}{magnitude}");
    }
    let padded = format!("{magnitude:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") }
}

/// A rate table that is not usable, naming what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateTableError {
    /// Not JSON of the form `{"reference": "EUR", "rates": {"GBP": 1.17}}`.
    #[error("the rate table is not of the form {{\"reference\": \"EUR\", \"rates\": {{\"GBP\": 1.17}}}}: {0}")]
    Format(String),
    /// A currency that `is_known_currency` does not know.
    #[error("the rate table names unknown currency {0:?}")]
    UnknownCurrency(String),
    /// A rate that is not a finite number above zero.
    #[error("the rate for {currency} must be a finite number above zero, not {rate}")]
    InvalidRate {
        /// The currency.
        currency: String,
        /// The rate given.
        rate: f64,
    },
    /// The reference currency listed with a rate other than 1.
    #[error("the reference currency {currency} has rate 1 by definition, not {rate}")]
    ReferenceRate {
        /// The reference currency.
        currency: String,
        /// The rate given.
        rate: f64,
    },
}

/// Rates into one reference currency: reference units per one major unit of each currency.
#[derive(Debug, Clone, PartialEq)]
pub struct RateTable {
    reference: String,
    rates: BTreeMap<String, f64>,
}

/// The JSON form of a rate table.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RateFile {
    reference: String,
    rates: BTreeMap<String, f64>,
}

impl RateTable {
    /// The built-in indicative table, in euros (see `BUILTIN_EUR_RATES` for its date).
    pub fn builtin() -> Self {
        let rates = BUILTIN_EUR_RATES.iter().map(|&(code, rate)| (code.to_owned(), rate)).collect();
        Self { reference: "EUR".to_owned(), rates }
    }

    /// Reads `{"reference": "EUR", "rates": {"GBP": 1.17, ...}}`; rates are reference units per
    /// major unit, and the reference's own rate of 1 is implied.
    pub fn from_json(text: &str) -> Result<Self, RateTableError> {
        let file: RateFile = serde_json::from_str(text).map_err(|e| RateTableError::Format(e.to_string()))?;
        if !is_known_currency(&file.reference) {
            return Err(RateTableError::UnknownCurrency(file.reference));
        }
        let mut rates = BTreeMap::new();
        for (currency, rate) in file.rates {
            if !is_known_currency(&currency) {
                return Err(RateTableError::UnknownCurrency(currency));
            }
            if !rate.is_finite() || rate <= 0.0 {
                return Err(RateTableError::InvalidRate { currency, rate });
            }
            if currency == file.reference {
                if rate != 1.0 {
                    return Err(RateTableError::ReferenceRate { currency, rate });
                }
                continue;
            }
            rates.insert(currency, rate);
        }
        Ok(Self { reference: file.reference, rates })
    }

    /// The reference currency.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// Reference units per one major unit of `currency` (1 for the reference), if known.
    pub fn rate(&self, currency: &str) -> Option<f64> {
        if currency == self.reference { Some(1.0) } else { self.rates.get(currency).copied() }
    }

    /// Converts an amount in minor units of `currency` to minor units of the reference, rounded
    /// to nearest and saturating at the bounds of `i64`; `None` when the table has no rate. The
    /// rate is indicative, so the product is taken in floating point; sums are not.
    pub fn to_reference_minor(&self, amount_minor: impl Into<i128>, currency: &str) -> Option<i64> {
        let amount_minor: i128 = amount_minor.into();
        if currency == self.reference {
            return Some(i64::try_from(amount_minor).unwrap_or(if amount_minor < 0 { i64::MIN } else { i64::MAX }));
        }
        let rate = *self.rates.get(currency)?;
        // Powers of ten up to 10^22 are exact in f64, so scale by multiplying or dividing by one.
        let shift = decimals(&self.reference) as i32 - decimals(currency) as i32;
        let scale = 10f64.powi(shift.abs());
        let converted =
            if shift >= 0 { amount_minor as f64 * rate * scale } else { amount_minor as f64 * rate / scale };
        // `as` saturates at i64::MIN and i64::MAX.
        Some(converted.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_come_from_iso_4217_and_the_crypto_table() {
        assert_eq!(decimals("EUR"), 2);
        assert_eq!(decimals("JPY"), 0);
        assert_eq!(decimals("KWD"), 3);
        assert_eq!(decimals("BTC"), 8);
        assert_eq!(decimals("ETH"), 18);
        assert_eq!(decimals("USDT"), 6);
        assert_eq!(decimals("XMR"), 12);
        assert_eq!(decimals("NOPE"), 2);
        assert!(CRYPTO_DECIMALS.windows(2).all(|w| w[0].0 < w[1].0), "sorted for binary search");
    }

    #[test]
    fn every_crypto_ticker_has_decimals_and_a_builtin_rate() {
        let table = RateTable::builtin();
        for &ticker in CRYPTO_TICKERS {
            assert!(CRYPTO_DECIMALS.iter().any(|&(t, _)| t == ticker), "{ticker} has no decimals");
            assert!(table.to_reference_minor(1_000_000, ticker).is_some(), "{ticker} has no rate");
        }
        assert_eq!(CRYPTO_DECIMALS.len(), CRYPTO_TICKERS.len());
    }

    #[test]
    fn every_builtin_rate_is_a_known_currency_with_a_sane_rate() {
        let table = RateTable::builtin();
        assert_eq!(table.reference(), "EUR");
        for &(code, rate) in BUILTIN_EUR_RATES {
            assert!(is_known_currency(code), "{code}");
            assert!(rate.is_finite() && rate > 0.0, "{code}");
        }
        for code in ["GBP", "USD", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON"] {
            assert!(table.rate(code).is_some(), "{code}");
        }
        for code in ["INR", "SGD", "HKD", "CNY", "NZD", "ZAR", "BRL", "MXN", "TRY", "AED"] {
            assert!(table.rate(code).is_some(), "{code}");
        }
    }

    #[test]
    fn the_reference_converts_to_itself() {
        assert_eq!(RateTable::builtin().to_reference_minor(480_000, "EUR"), Some(480_000));
        assert_eq!(RateTable::builtin().to_reference_minor(i64::MAX, "EUR"), Some(i64::MAX));
    }

    #[test]
    fn conversion_accounts_for_both_currencies_decimals() {
        let table = RateTable::builtin();
        let jpy = table.rate("JPY").unwrap();
        // 10,000 yen (no minor unit) is 10,000 × rate euros, × 100 cents.
        assert_eq!(table.to_reference_minor(10_000, "JPY"), Some((10_000.0 * jpy * 100.0).round() as i64));
        assert_eq!(table.to_reference_minor(10_000, "JPY"), Some(5_900));
        let btc = table.rate("BTC").unwrap();
        // One bitcoin in satoshi is `rate` euros, × 100 cents.
        assert_eq!(table.to_reference_minor(100_000_000, "BTC"), Some((btc * 100.0).round() as i64));
        // 250 USDT (6 decimals).
        assert_eq!(table.to_reference_minor(250_000_000, "USDT"), Some(21_325));
    }

    #[test]
    fn conversion_rounds_to_nearest_and_saturates() {
        let table = RateTable::from_json(r#"{"reference": "EUR", "rates": {"GBP": 1.5, "BTC": 1e12}}"#).unwrap();
        assert_eq!(table.to_reference_minor(1, "GBP"), Some(2)); // 1.5 cents
        assert_eq!(table.to_reference_minor(3, "GBP"), Some(5)); // 4.5 cents, half away from zero
        assert_eq!(table.to_reference_minor(i64::MAX, "BTC"), Some(i64::MAX));
        assert_eq!(table.to_reference_minor(i64::MIN, "BTC"), Some(i64::MIN));
        assert_eq!(table.to_reference_minor(100, "USD"), None);
    }

    #[test]
    fn a_table_from_json_converts_into_its_own_reference() {
        let table = RateTable::from_json(r#"{"reference": "GBP", "rates": {"EUR": 0.85, "GBP": 1}}"#).unwrap();
        assert_eq!(table.reference(), "GBP");
        assert_eq!(table.rate("GBP"), Some(1.0));
        assert_eq!(table.to_reference_minor(10_000, "EUR"), Some(8_500));
        assert_eq!(table.to_reference_minor(10_000, "GBP"), Some(10_000));
    }

    #[test]
    fn bad_tables_are_refused_naming_the_currency() {
        let err = |text: &str| RateTable::from_json(text).unwrap_err();
        assert_eq!(
            err(r#"{"reference": "EUR", "rates": {"GBP": 1.17, "EURO": 1}}"#),
            RateTableError::UnknownCurrency("EURO".to_owned())
        );
        assert_eq!(err(r#"{"reference": "XXX", "rates": {}}"#), RateTableError::UnknownCurrency("XXX".to_owned()));
        assert_eq!(
            err(r#"{"reference": "EUR", "rates": {"GBP": 0}}"#),
            RateTableError::InvalidRate { currency: "GBP".to_owned(), rate: 0.0 }
        );
        assert_eq!(
            err(r#"{"reference": "EUR", "rates": {"USD": -0.9}}"#),
            RateTableError::InvalidRate { currency: "USD".to_owned(), rate: -0.9 }
        );
        assert_eq!(
            err(r#"{"reference": "EUR", "rates": {"EUR": 2}}"#),
            RateTableError::ReferenceRate { currency: "EUR".to_owned(), rate: 2.0 }
        );
        assert!(err(r#"{"reference": "EUR", "rates": {"GBP": 1e999}}"#).to_string().contains("not of the form"));
        assert!(matches!(err(r#"{"rates": {}}"#), RateTableError::Format(_)));
        assert!(matches!(err(r#"{"reference": "EUR", "rates": {}, "date": "x"}"#), RateTableError::Format(_)));
        assert!(err(r#"{"reference": "EUR", "rates": {"GBP": 0}}"#).to_string().contains("GBP"));
    }

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(format_amount(480_000, "EUR"), "EUR 4,800.00");
        assert_eq!(format_amount(5, "EUR"), "EUR 0.05");
        assert_eq!(format_amount(-123_456_789, "GBP"), "GBP -1,234,567.89");
        assert_eq!(format_amount(10_000, "JPY"), "JPY 10,000");
        assert_eq!(format_amount(999, "JPY"), "JPY 999");
        assert_eq!(format_amount(1_234_500, "KWD"), "KWD 1,234.500");
        assert_eq!(format_amount(1_500_000, "BTC"), "BTC 0.015");
        assert_eq!(format_amount(100_000_000, "BTC"), "BTC 1");
        assert_eq!(format_amount(1, "ETH"), "ETH 0.000000000000000001");
        assert_eq!(format_amount(i64::MIN, "EUR"), "EUR -92,233,720,368,547,758.08");
        assert_eq!(format_amount(10_000_000_000_000_000_000i128, "ETH"), "ETH 10");
    }

    const MAX: i128 = 10i128.pow(31);

    #[test]
    fn decimal_amounts_read_exactly_in_minor_units() {
        assert_eq!(parse_amount("10", "ETH", MAX), Ok(10_000_000_000_000_000_000));
        assert_eq!(parse_amount("1000000", "USDT", MAX), Ok(1_000_000_000_000));
        assert_eq!(parse_amount("0.00000001", "BTC", MAX), Ok(1));
        assert_eq!(parse_amount("12345.67", "EUR", MAX), Ok(1_234_567));
        assert_eq!(parse_amount("12345.670000", "EUR", MAX), Ok(1_234_567));
        assert_eq!(parse_amount("0.000000000000000001", "ETH", MAX), Ok(1));
        assert_eq!(parse_amount(".5", "EUR", MAX), Ok(50));
        assert_eq!(parse_amount("7.", "JPY", MAX), Ok(7));
        assert_eq!(parse_amount("1.5", "TRX", MAX), Ok(1_500_000));
        assert_eq!(parse_amount("2.25", "SOL", MAX), Ok(2_250_000_000));
        assert_eq!(parse_amount("3", "XRP", MAX), Ok(3_000_000));
        assert_eq!(parse_amount("0.000000001", "TON", MAX), Ok(1));
        // 30 significant digits at 18 decimals.
        assert_eq!(
            parse_amount("123456789012.345678901234567890", "ETH", MAX),
            Ok(123_456_789_012_345_678_901_234_567_890)
        );
    }

    #[test]
    fn decimal_amounts_are_refused_with_their_reason() {
        let code = |text: &str, currency: &str| parse_amount(text, currency, MAX).unwrap_err().code();
        for bad in ["", ".", "-1", "+1", "1e3", "1,000", " 1", "1.2.3", "one", "１"] {
            assert_eq!(code(bad, "EUR"), "NOT_A_DECIMAL", "{bad:?}");
        }
        assert_eq!(code("0", "EUR"), "NOT_POSITIVE");
        assert_eq!(code("0.000", "EUR"), "NOT_POSITIVE");
        assert_eq!(code("0.001", "EUR"), "TOO_PRECISE");
        assert_eq!(code("1.5", "JPY"), "TOO_PRECISE");
        assert_eq!(code("0.000000001", "BTC"), "TOO_PRECISE");
        assert_eq!(code("0.0000000000000000001", "ETH"), "TOO_PRECISE");
        assert_eq!(code("1234567890123.456789012345678901", "ETH"), "TOO_MANY_DIGITS");
        assert_eq!(code(&"9".repeat(65), "EUR"), "TOO_MANY_DIGITS");
        let eur_max = 10i128.pow(15);
        assert_eq!(parse_amount("10000000000000", "EUR", eur_max), Ok(eur_max));
        assert_eq!(parse_amount("10000000000000.01", "EUR", eur_max).unwrap_err().code(), "TOO_LARGE");
        assert_eq!(parse_amount("10000000000000", "ETH", MAX), Ok(MAX));
        assert_eq!(code("10000000000000.1", "ETH"), "TOO_LARGE");
        let err = parse_amount("0.001", "EUR", MAX).unwrap_err().to_string();
        assert!(err.contains("EUR has at most 2 decimals"), "{err}");
    }

    #[test]
    fn amount_text_is_what_parse_amount_reads() {
        assert_eq!(amount_text(10_000_000_000_000_000_000, "ETH"), "10");
        assert_eq!(amount_text(1, "BTC"), "0.00000001");
        assert_eq!(amount_text(1_234_567, "EUR"), "12345.67");
        assert_eq!(amount_text(1_234_500, "EUR"), "12345");
        assert_eq!(amount_text(10_000, "JPY"), "10000");
        assert_eq!(amount_text(-5, "EUR"), "-0.05");
        for (minor, currency) in [(1i128, "ETH"), (123_456_789, "USDT"), (MAX, "ETH"), (99, "KWD")] {
            assert_eq!(parse_amount(&amount_text(minor, currency), currency, MAX), Ok(minor));
        }
    }

    #[test]
    fn crypto_converts_from_amounts_beyond_64_bits() {
        let table = RateTable::builtin();
        // 10 ETH at 2,120 EUR is 21,200 EUR.
        assert_eq!(table.to_reference_minor(10_000_000_000_000_000_000i128, "ETH"), Some(2_120_000));
        assert_eq!(table.to_reference_minor(i128::MAX, "EUR"), Some(i64::MAX));
    }
}

//! Which currency codes a payment may carry: ISO 4217 (from the `iso_currency` crate) or a
//! crypto-asset ticker. The ticker list is ours: no registry of crypto tickers exists, and these
//! are the assets victims report paying in; unknown tickers are rejected so that typos surface.

/// Crypto-asset tickers accepted as payment currencies, sorted.
pub const CRYPTO_TICKERS: &[&str] = &[
    "ADA", "AVAX", "BCH", "BNB", "BTC", "BUSD", "DAI", "DOGE", "DOT", "ETH", "LINK", "LTC", "MATIC", "POL", "SHIB",
    "SOL", "TON", "TRX", "USDC", "USDT", "XLM", "XMR", "XRP",
];

/// Whether `code` is an ISO 4217 currency (not a test or "no currency" code) or a known crypto ticker.
pub fn is_known_currency(code: &str) -> bool {
    if CRYPTO_TICKERS.binary_search(&code).is_ok() {
        return true;
    }
    iso_currency::Currency::from_code(code).is_some() && !matches!(code, "XXX" | "XTS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickers_are_sorted_for_binary_search() {
        assert!(CRYPTO_TICKERS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn iso_codes_and_tickers_pass_and_the_rest_do_not() {
        for ok in ["EUR", "GBP", "USD", "JPY", "CHF", "BTC", "USDT", "ETH"] {
            assert!(is_known_currency(ok), "{ok}");
        }
        for bad in ["", "eur", "EURO", "XXX", "XTS", "ABC", "XXXX"] {
            assert!(!is_known_currency(bad), "{bad}");
        }
    }
}

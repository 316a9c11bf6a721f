//! Stored amounts: `payments.amount_exact` holds a payment's minor units as decimal digits,
//! since an 18-decimal asset's amounts do not fit a 64-bit column and neither database has a
//! 128-bit integer that both can sum. Sums are taken here, in `i128`, never in SQL.

use crate::error::StoreError;

/// A stored exact amount (`payments.amount_exact`) as minor units.
pub(crate) fn exact(text: &str) -> Result<i128, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(format!("payments.amount_exact = {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_amounts_read_beyond_64_bits_and_refuse_anything_else() {
        assert_eq!(exact("10000000000000000000").unwrap(), 10_000_000_000_000_000_000);
        assert!(matches!(exact("1.5"), Err(StoreError::Corrupt(_))));
        assert!(matches!(exact(""), Err(StoreError::Corrupt(_))));
    }
}

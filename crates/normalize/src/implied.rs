//! The other keys an identifier implies: one account written in two shapes must link.
//!
//! A GB IBAN holds the sort code and account number (`iban:GB29NWBK60161331926819` also names
//! `acct:gb:60161331926819`); a national form that determines its IBAN (a French RIB with its key,
//! a German bank code and account number, a Spanish CCC, an Italian BBAN) also names the IBAN's
//! key. Derived from the key alone, so stored identifiers, recluster and lookups derive the same.

use crate::types::{Country, Identifier};
use crate::{account, iban};

/// The keys `key` implies besides itself, each as a normalised identifier (kind, key, display);
/// empty for most identifiers.
pub fn implied_identifiers(key: &str) -> Vec<Identifier> {
    let mut out = Vec::new();
    if let Some(value) = key.strip_prefix("iban:") {
        // GBkk BBBB SSSSSS AAAAAAAA: the sort code and account number follow the bank's letters.
        if let Some(sort_and_account) = value.strip_prefix("GB").and_then(|v| v.get(6..)).filter(|v| v.len() == 14)
            && let Ok(id) = account::parse(&format!("gb:{sort_and_account}"), Country::parse("GB"))
        {
            out.push(id);
        }
    } else if let Some(value) = key.strip_prefix("acct:")
        && let Some((cc, bban)) = account::iban_of(value)
        && let Ok(id) = iban::parse(&iban::with_check_digits(cc, &bban))
    {
        out.push(id);
    }
    out.retain(|id| id.key != key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(key: &str) -> Vec<String> {
        implied_identifiers(key).into_iter().map(|id| id.key).collect()
    }

    #[test]
    fn each_shape_implies_the_shared_key() {
        assert_eq!(keys("iban:GB29NWBK60161331926819"), ["acct:gb:60161331926819"]);
        assert_eq!(keys("acct:fr:30006:000011234567890189"), ["iban:FR7630006000011234567890189"]);
        assert_eq!(keys("acct:de:37040044:532013000"), ["iban:DE89370400440532013000"]);
        assert_eq!(keys("acct:es:2100:0418450200051332"), ["iban:ES9121000418450200051332"]);
        assert_eq!(keys("acct:it:05428:11101000000123456"), ["iban:IT60X0542811101000000123456"]);
    }

    #[test]
    fn most_keys_imply_nothing() {
        for key in [
            "acct:gb:60161331926819",
            "iban:DE89370400440532013000",
            "acct:fr:30006:000011234567890188",
            "tel:+442079460958",
            "iban:GB",
            "acct:",
            "",
        ] {
            assert!(keys(key).is_empty(), "{key}");
        }
    }
}

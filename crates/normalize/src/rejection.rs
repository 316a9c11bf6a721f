//! Why a value was not accepted: a stable machine code, an English sentence a victim
//! understands, and (for ambiguous input) the kinds it could have been.

use std::fmt;

use crate::types::Kind;

/// The longest raw value (in bytes) normalisation looks at; longer input is `TOO_LONG`.
pub const MAX_INPUT_BYTES: usize = 512;

macro_rules! rejection_codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// The stable reason a value was rejected; `as_str` gives its SCREAMING_SNAKE name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RejectionCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl RejectionCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [RejectionCode] = &[$(RejectionCode::$variant,)*];

            /// The stable SCREAMING_SNAKE name, e.g. `"IBAN_CHECKSUM"`.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(RejectionCode::$variant => $name,)*
                }
            }
        }
    };
}

rejection_codes! {
    /// Nothing but blanks was given.
    Empty => "EMPTY",
    /// The input is longer than [`MAX_INPUT_BYTES`].
    TooLong => "TOO_LONG",
    /// The IBAN's mod-97 check digits do not match.
    IbanChecksum => "IBAN_CHECKSUM",
    /// The IBAN has the wrong length for its country.
    IbanLength => "IBAN_LENGTH",
    /// The IBAN's first two letters are not a country that uses IBANs.
    IbanCountry => "IBAN_COUNTRY",
    /// The IBAN has characters or a structure its country does not allow.
    IbanFormat => "IBAN_FORMAT",
    /// The BIC is not 8 or 11 letters and digits in the BIC layout.
    BicFormat => "BIC_FORMAT",
    /// The BIC's country part is not a real country.
    BicCountry => "BIC_COUNTRY",
    /// The national account number is not in a form its country uses.
    AccountFormat => "ACCOUNT_FORMAT",
    /// A national account number was given without the country it belongs to.
    AccountNeedsCountry => "ACCOUNT_NEEDS_COUNTRY",
    /// The US ABA routing number fails its check digit.
    RoutingChecksum => "ROUTING_CHECKSUM",
    /// The card number fails the Luhn check.
    CardChecksum => "CARD_CHECKSUM",
    /// The card number is not 12 to 19 digits.
    CardLength => "CARD_LENGTH",
    /// The telephone number is not a valid number.
    PhoneInvalid => "PHONE_INVALID",
    /// The telephone number contains letters.
    PhoneLetters => "PHONE_LETTERS",
    /// A national telephone number was given without its country.
    PhoneNeedsCountry => "PHONE_NEEDS_COUNTRY",
    /// The e-mail address is malformed.
    EmailFormat => "EMAIL_FORMAT",
    /// The web address or domain is malformed or has no known top-level domain.
    DomainInvalid => "DOMAIN_INVALID",
    /// The host is an IP address or `localhost`, not a domain.
    NotADomain => "NOT_A_DOMAIN",
    /// The Bitcoin address is malformed.
    BtcFormat => "BTC_FORMAT",
    /// The Bitcoin address fails its checksum.
    BtcChecksum => "BTC_CHECKSUM",
    /// The bech32 Bitcoin address mixes upper and lower case.
    BtcMixedCase => "BTC_MIXED_CASE",
    /// The Bitcoin address belongs to a test network.
    BtcNetwork => "BTC_NETWORK",
    /// The EVM address is not `0x` and 40 hex digits.
    EvmFormat => "EVM_FORMAT",
    /// The mixed-case EVM address fails its EIP-55 checksum.
    EvmChecksum => "EVM_CHECKSUM",
    /// The TRON address is malformed.
    TronFormat => "TRON_FORMAT",
    /// The TRON address fails its checksum.
    TronChecksum => "TRON_CHECKSUM",
    /// The Litecoin address is malformed.
    LtcFormat => "LTC_FORMAT",
    /// The Litecoin address fails its checksum.
    LtcChecksum => "LTC_CHECKSUM",
    /// The XRP address is malformed.
    XrpFormat => "XRP_FORMAT",
    /// The XRP address fails its checksum.
    XrpChecksum => "XRP_CHECKSUM",
    /// The Solana address does not decode to 32 bytes.
    SolFormat => "SOL_FORMAT",
    /// The TON address is malformed.
    TonFormat => "TON_FORMAT",
    /// The TON address fails its CRC16 checksum.
    TonChecksum => "TON_CHECKSUM",
    /// The value is not a wallet address of any supported chain.
    WalletUnrecognised => "WALLET_UNRECOGNISED",
    /// The transaction hash is not in a supported form.
    TxFormat => "TX_FORMAT",
    /// The user name does not follow the network's rules.
    HandleFormat => "HANDLE_FORMAT",
    /// The link goes to the network but not to an account (a post, a search, …).
    LinkNotProfile => "LINK_NOT_PROFILE",
    /// The link is on a shared host (a shortener, a link page, a site host) but names no site there.
    LinkIncomplete => "LINK_INCOMPLETE",
    /// The value is recognised but not supported (e.g. a WhatsApp group invite).
    Unsupported => "UNSUPPORTED",
    /// The value is not any kind of identifier we know.
    Unrecognised => "UNRECOGNISED",
    /// The value fits more than one kind; `candidates` lists them.
    Ambiguous => "AMBIGUOUS",
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a raw value could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    /// The stable reason.
    pub code: RejectionCode,
    /// An English sentence a victim understands.
    pub message: String,
    /// The kinds an ambiguous value could be; empty unless `code` is `Ambiguous`.
    pub candidates: Vec<Kind>,
}

impl Rejection {
    /// A rejection with a message and no candidates.
    pub(crate) fn new(code: RejectionCode, message: impl Into<String>) -> Rejection {
        Rejection { code, message: message.into(), candidates: Vec::new() }
    }

    /// An `AMBIGUOUS` rejection listing the kinds the value could be.
    pub(crate) fn ambiguous(mut candidates: Vec<Kind>) -> Rejection {
        candidates.sort();
        candidates.dedup();
        let names: Vec<&str> = candidates.iter().map(Kind::as_str).collect();
        Rejection {
            code: RejectionCode::Ambiguous,
            message: format!(
                "This could be more than one kind of detail ({}); please say which it is.",
                names.join(", ")
            ),
            candidates,
        }
    }

    /// The rejection for input longer than [`MAX_INPUT_BYTES`].
    pub(crate) fn too_long() -> Rejection {
        Rejection::new(
            RejectionCode::TooLong,
            format!("This is too long to be a payment or contact detail (at most {MAX_INPUT_BYTES} characters)."),
        )
    }

    /// The rejection for blank input.
    pub(crate) fn empty() -> Rejection {
        Rejection::new(RejectionCode::Empty, "Nothing was entered.")
    }

    /// The rejection for a value no normaliser recognises.
    pub(crate) fn unrecognised() -> Rejection {
        Rejection::new(
            RejectionCode::Unrecognised,
            "This does not look like a bank account, card, phone number, e-mail address, web site, crypto address or social-media account.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_unique_screaming_snake() {
        let mut seen = std::collections::HashSet::new();
        for code in RejectionCode::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "duplicate {name}");
            assert!(name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{name}");
        }
        assert_eq!(RejectionCode::IbanChecksum.as_str(), "IBAN_CHECKSUM");
        assert_eq!(RejectionCode::NotADomain.as_str(), "NOT_A_DOMAIN");
    }

    #[test]
    fn ambiguous_lists_sorted_unique_candidates() {
        let r = Rejection::ambiguous(vec![Kind::X, Kind::Telegram, Kind::X]);
        assert_eq!(r.code, RejectionCode::Ambiguous);
        assert_eq!(r.candidates, vec![Kind::Telegram, Kind::X]);
        assert!(r.message.contains("telegram, x"));
    }
}

//! The value types every normaliser produces: countries, kinds, identifiers and their facts.
//!
//! These are plain data; the parsing lives in one module per kind.

use std::fmt;
use std::str::FromStr;

/// ISO 3166-1 alpha-2 codes (all officially assigned codes) plus `XK` (Kosovo), which the IBAN
/// registry, SWIFT and libphonenumber all use. Sorted, so lookups are a binary search.
const COUNTRY_CODES: [&str; 250] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "XK", "YE", "YT",
    "ZA", "ZM", "ZW",
];

/// An ISO 3166-1 alpha-2 country code, always upper-case and always a real country.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country(&'static str);

impl Country {
    /// Parses a two-letter code in any case (`"gb"`, `" GB "`); `None` unless it is a real country.
    pub fn parse(code: &str) -> Option<Country> {
        let code = code.trim().as_bytes();
        if code.len() != 2 {
            return None;
        }
        Self::from_letters(code[0], code[1])
    }

    /// Looks up the country from two ASCII letters in any case.
    pub(crate) fn from_letters(a: u8, b: u8) -> Option<Country> {
        if !a.is_ascii_alphabetic() || !b.is_ascii_alphabetic() {
            return None;
        }
        let wanted = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
        COUNTRY_CODES
            .binary_search_by(|probe| probe.as_bytes().cmp(&wanted[..]))
            .ok()
            .map(|index| Country(COUNTRY_CODES[index]))
    }

    /// The upper-case two-letter code, e.g. `"GB"`.
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The lower-case code used inside keys such as `acct:gb:…`.
    pub(crate) fn lower(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.0)
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The coarse kind a victim or front-end may state for a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KindHint {
    /// An International Bank Account Number.
    Iban,
    /// A BIC (SWIFT code) of a bank.
    Bic,
    /// A bank account: an IBAN or a national account number.
    BankAccount,
    /// A payment card number.
    Card,
    /// A telephone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A web site address or a bare domain.
    Website,
    /// A cryptocurrency wallet address on any supported chain.
    CryptoWallet,
    /// A cryptocurrency transaction hash.
    CryptoTransaction,
    /// A Telegram user name or link (or the phone number behind it).
    Telegram,
    /// A WhatsApp link or number.
    WhatsApp,
    /// An Instagram account.
    Instagram,
    /// A TikTok account.
    TikTok,
    /// A Facebook account or page.
    Facebook,
    /// An X (formerly Twitter) account.
    X,
}

impl KindHint {
    /// Every hint, in declaration order.
    pub const ALL: [KindHint; 15] = [
        KindHint::Iban,
        KindHint::Bic,
        KindHint::BankAccount,
        KindHint::Card,
        KindHint::Phone,
        KindHint::Email,
        KindHint::Website,
        KindHint::CryptoWallet,
        KindHint::CryptoTransaction,
        KindHint::Telegram,
        KindHint::WhatsApp,
        KindHint::Instagram,
        KindHint::TikTok,
        KindHint::Facebook,
        KindHint::X,
    ];

    /// The stable snake_case name, e.g. `"bank_account"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            KindHint::Iban => "iban",
            KindHint::Bic => "bic",
            KindHint::BankAccount => "bank_account",
            KindHint::Card => "card",
            KindHint::Phone => "phone",
            KindHint::Email => "email",
            KindHint::Website => "website",
            KindHint::CryptoWallet => "crypto_wallet",
            KindHint::CryptoTransaction => "crypto_transaction",
            KindHint::Telegram => "telegram",
            KindHint::WhatsApp => "whatsapp",
            KindHint::Instagram => "instagram",
            KindHint::TikTok => "tiktok",
            KindHint::Facebook => "facebook",
            KindHint::X => "x",
        }
    }
}

impl fmt::Display for KindHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`KindHint`] from a name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown identifier kind {0:?}")]
pub struct UnknownKindHint(pub String);

impl FromStr for KindHint {
    type Err = UnknownKindHint;

    /// Accepts snake_case, kebab-case, spaced or squashed names in any case and common aliases.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let squashed: String =
            name.trim().chars().filter(|c| !matches!(c, '_' | '-' | ' ')).flat_map(char::to_lowercase).collect();
        let hint = match squashed.as_str() {
            "iban" => KindHint::Iban,
            "bic" | "swift" | "swiftcode" | "swiftbic" => KindHint::Bic,
            "bankaccount" | "account" | "bank" => KindHint::BankAccount,
            "card" | "paymentcard" | "creditcard" | "debitcard" => KindHint::Card,
            "phone" | "tel" | "telephone" | "phonenumber" | "mobile" => KindHint::Phone,
            "email" | "mail" | "emailaddress" => KindHint::Email,
            "website" | "web" | "url" | "domain" | "site" => KindHint::Website,
            "cryptowallet" | "wallet" | "crypto" | "cryptoaddress" => KindHint::CryptoWallet,
            "cryptotransaction" | "transaction" | "tx" | "txid" | "txhash" => KindHint::CryptoTransaction,
            "telegram" => KindHint::Telegram,
            "whatsapp" => KindHint::WhatsApp,
            "instagram" => KindHint::Instagram,
            "tiktok" => KindHint::TikTok,
            "facebook" => KindHint::Facebook,
            "x" | "twitter" => KindHint::X,
            _ => return Err(UnknownKindHint(name.to_owned())),
        };
        Ok(hint)
    }
}

/// The fine-grained kind of a normalised identifier; its name is the prefix of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An IBAN: `iban:DE89370400440532013000`.
    Iban,
    /// A BIC: `bic:DEUTDEFF`.
    Bic,
    /// A national bank account: `acct:gb:20000055779911`.
    BankAccount,
    /// A payment card, never the number itself: `card:411111:1111:<mac>`.
    Card,
    /// A telephone number in E.164: `tel:+442079460958`.
    Phone,
    /// An e-mail address: `email:someone@example.com`.
    Email,
    /// A registrable domain: `domain:example.co.uk`.
    Domain,
    /// A site on a shared host, by host and the path naming it: `url:bit.ly/3xyzabc`.
    Url,
    /// A Bitcoin address: `btc:bc1q…`.
    Btc,
    /// An Ethereum-compatible (EVM) address, one key across chains: `evm:0x…`.
    Evm,
    /// A TRON address: `trx:T…`.
    Tron,
    /// A Litecoin address: `ltc:L…`.
    Litecoin,
    /// An XRP Ledger classic address: `xrp:r…`.
    Xrp,
    /// A Solana address: `sol:…`.
    Solana,
    /// A TON account: `ton:0:<64 hex>`.
    Ton,
    /// A transaction hash: `tx:evm:0x…`, `tx:btc:…`, `tx:sol:…`.
    Transaction,
    /// A Telegram user, channel or invite: `telegram:handle`.
    Telegram,
    /// An Instagram account: `instagram:handle`.
    Instagram,
    /// A TikTok account: `tiktok:handle`.
    TikTok,
    /// A Facebook profile or page: `facebook:handle`.
    Facebook,
    /// An X (Twitter) account: `x:handle`.
    X,
}

impl Kind {
    /// The key prefix (without the colon), e.g. `"acct"` or `"tel"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Iban => "iban",
            Kind::Bic => "bic",
            Kind::BankAccount => "acct",
            Kind::Card => "card",
            Kind::Phone => "tel",
            Kind::Email => "email",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Btc => "btc",
            Kind::Evm => "evm",
            Kind::Tron => "trx",
            Kind::Litecoin => "ltc",
            Kind::Xrp => "xrp",
            Kind::Solana => "sol",
            Kind::Ton => "ton",
            Kind::Transaction => "tx",
            Kind::Telegram => "telegram",
            Kind::Instagram => "instagram",
            Kind::TikTok => "tiktok",
            Kind::Facebook => "facebook",
            Kind::X => "x",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a telephone number according to libphonenumber's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneType {
    /// A mobile number.
    Mobile,
    /// A fixed-line (landline) number.
    FixedLine,
    /// A number the numbering plan does not tell apart (e.g. the USA).
    FixedLineOrMobile,
    /// A VoIP number: common for scam call centres.
    Voip,
    /// A free-phone number.
    TollFree,
    /// A premium-rate number.
    PremiumRate,
    /// A shared-cost number.
    SharedCost,
    /// A personal (follow-me) number.
    PersonalNumber,
    /// A pager number.
    Pager,
    /// A universal access number (a company's single number).
    Uan,
    /// A voicemail access number.
    Voicemail,
    /// A valid number whose type the metadata does not know.
    Unknown,
}

impl PhoneType {
    /// The libphonenumber name, e.g. `"FIXED_LINE"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PhoneType::Mobile => "MOBILE",
            PhoneType::FixedLine => "FIXED_LINE",
            PhoneType::FixedLineOrMobile => "FIXED_LINE_OR_MOBILE",
            PhoneType::Voip => "VOIP",
            PhoneType::TollFree => "TOLL_FREE",
            PhoneType::PremiumRate => "PREMIUM_RATE",
            PhoneType::SharedCost => "SHARED_COST",
            PhoneType::PersonalNumber => "PERSONAL_NUMBER",
            PhoneType::Pager => "PAGER",
            PhoneType::Uan => "UAN",
            PhoneType::Voicemail => "VOICEMAIL",
            PhoneType::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for PhoneType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What normalisation learned about a value beyond its key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// The country the value belongs to (IBAN, BIC, account or phone country).
    pub country: Option<Country>,
    /// The bank (or sort/routing) code inside an account number, where known.
    pub bank_code: Option<String>,
    /// The type of a telephone number.
    pub phone_type: Option<PhoneType>,
    /// The chain of a crypto address or transaction (`"bitcoin"`, `"evm"`, `"tron"`, …).
    pub chain: Option<&'static str>,
    /// Whether a check digit or checksum in the value was verified.
    pub checksum_verified: bool,
    /// The extension written after a telephone number (`ext. 12`); the key is the number alone.
    pub extension: Option<String>,
    /// The messaging service a number was given for (`"whatsapp"`, `"telegram"`).
    pub messaging_app: Option<&'static str>,
}

/// A normalised identifier: the canonical key that links reports, and how to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    /// The fine-grained kind; `key` starts with `kind.as_str()` and a colon.
    pub kind: Kind,
    /// The canonical key, e.g. `iban:DE89370400440532013000`.
    pub key: String,
    /// A human-readable form; for cards it never contains the full number.
    pub display: String,
    /// What else normalisation learned.
    pub facts: Facts,
}

impl Identifier {
    /// Builds an identifier whose key is `<kind>:<value>`.
    pub(crate) fn new(kind: Kind, value: &str, display: String, facts: Facts) -> Identifier {
        let prefix = kind.as_str();
        let mut key = String::with_capacity(prefix.len() + 1 + value.len());
        key.push_str(prefix);
        key.push(':');
        key.push_str(value);
        Identifier { kind, key, display, facts }
    }

    /// The part of the key after `<kind>:`.
    pub fn value(&self) -> &str {
        self.key.get(self.kind.as_str().len() + 1..).unwrap_or_default()
    }
}

/// What the caller knows about a raw value: the kind a victim chose and the country context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hint {
    /// The kind the victim or front-end stated; `None` lets detection decide.
    pub kind: Option<KindHint>,
    /// The country for national phone numbers and bank accounts.
    pub country: Option<Country>,
}

impl Hint {
    /// A hint with a kind only.
    pub fn kind(kind: KindHint) -> Hint {
        Hint { kind: Some(kind), country: None }
    }
}

/// An identifier found in free text, with its byte span in that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The normalised identifier.
    pub identifier: Identifier,
    /// The byte offset where the matched text starts.
    pub start: usize,
    /// The byte offset just after the matched text.
    pub end: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_table_is_sorted_unique_and_complete() {
        assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(COUNTRY_CODES.len(), 250);
    }

    #[test]
    fn country_parse_accepts_any_case_and_rejects_unassigned() {
        assert_eq!(Country::parse("gb").map(|c| c.as_str()), Some("GB"));
        assert_eq!(Country::parse(" De ").map(|c| c.as_str()), Some("DE"));
        assert_eq!(Country::parse("XK").map(|c| c.as_str()), Some("XK"));
        assert_eq!(Country::parse("UK"), None);
        assert_eq!(Country::parse("ZZ"), None);
        assert_eq!(Country::parse("G"), None);
        assert_eq!(Country::parse("GBR"), None);
        assert_eq!(Country::parse("ǵb"), None);
    }

    #[test]
    fn kind_hint_parses_its_own_names_and_aliases() {
        for hint in KindHint::ALL {
            assert_eq!(hint.as_str().parse::<KindHint>(), Ok(hint));
        }
        assert_eq!("bank-account".parse(), Ok(KindHint::BankAccount));
        assert_eq!("Crypto Wallet".parse(), Ok(KindHint::CryptoWallet));
        assert_eq!("CRYPTO_TRANSACTION".parse(), Ok(KindHint::CryptoTransaction));
        assert_eq!("twitter".parse(), Ok(KindHint::X));
        assert_eq!("fax".parse::<KindHint>(), Err(UnknownKindHint("fax".to_owned())));
    }

    #[test]
    fn identifier_value_strips_the_kind_prefix() {
        let id = Identifier::new(Kind::BankAccount, "gb:1", String::new(), Facts::default());
        assert_eq!(id.key, "acct:gb:1");
        assert_eq!(id.value(), "gb:1");
    }
}

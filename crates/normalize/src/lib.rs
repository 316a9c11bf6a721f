//! scamtrail-normalize: turns the raw payment and contact details a fraud victim typed into
//! canonical identifiers, or into a typed rejection a victim can understand.
//!
//! Reports link when they share an identifier key (`iban:DE89370400440532013000`,
//! `tel:+442079460958`, `evm:0x…`, `domain:trade-fx.co.uk`), so everything here is about
//! making one real-world account, number, wallet or site produce exactly one key however it was
//! written, and refusing what is not valid rather than guessing.
//!
//! What is absent, on purpose: this crate never does I/O (no network, files, clock or
//! randomness), never panics on any input, and never depends on tokio, tonic or sea-orm. It is
//! pure functions over strings plus tables built once (public suffix list, libphonenumber
//! metadata, IBAN registry) and can run on any thread.
//!
//! Code map: [`Normalizer`] is the entry point. One module per kind holds its parser, its rules
//! and its test vectors: `iban`, `bic`, `account` (national bank accounts), `card`, `phone`,
//! `email`, `domain`, `social` (Telegram, Instagram, TikTok, Facebook, X), `whatsapp`, and
//! `crypto::{btc, evm, tron, ltc, xrp, sol, ton, tx}`. `link` routes URLs to the right kind,
//! `detect` picks a kind when the caller gives no hint, `extract` finds identifiers in free text,
//! and `text` holds the input hygiene every kind shares.

mod account;
mod bic;
mod card;
mod crypto;
mod detect;
mod domain;
mod email;
mod extract;
mod iban;
mod link;
mod phone;
mod rejection;
mod social;
mod text;
mod types;
mod whatsapp;

use std::fmt;

pub use card::mask_card_numbers;
pub use extract::MAX_EXTRACT_BYTES;
pub use iban::{IbanRegistry, registry_of as iban_registry};
pub use rejection::{MAX_INPUT_BYTES, Rejection, RejectionCode};
pub use types::{Country, Extracted, Facts, Hint, Identifier, Kind, KindHint, PhoneType, UnknownKindHint};

use social::Network;

/// Configuration of a [`Normalizer`]: the secrets and choices it needs.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct NormalizerConfig {
    /// Server-held secret keying the MAC that stands in for card numbers in `card:` keys.
    pub card_mac_key: Vec<u8>,
}

impl fmt::Debug for NormalizerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NormalizerConfig").field("card_mac_key", &"<redacted>").finish()
    }
}

/// Normalises raw values and extracts identifiers from free text; cheap to clone and share.
#[derive(Clone, Debug)]
pub struct Normalizer {
    card_mac: card::CardMac,
}

impl Normalizer {
    /// Builds a normaliser, loading the shared tables now so the first request is not slow.
    pub fn new(config: NormalizerConfig) -> Self {
        std::sync::LazyLock::force(&rlibphonenumber::PHONE_NUMBER_UTIL);
        Normalizer { card_mac: card::CardMac::new(&config.card_mac_key) }
    }

    /// Normalises one raw value; with a kind hint only that family is tried.
    ///
    /// Input longer than [`MAX_INPUT_BYTES`] is rejected with `TOO_LONG` before any work.
    pub fn normalize(&self, raw: &str, hint: &Hint) -> Result<Identifier, Rejection> {
        let cleaned = text::clean(raw)?;
        let s = cleaned.as_ref();
        let country = hint.country;
        let Some(kind) = hint.kind else {
            return detect::detect(s, country, &self.card_mac);
        };
        match kind {
            KindHint::Iban => iban::parse(s),
            KindHint::Bic => bic::parse(s),
            KindHint::BankAccount => {
                if iban::looks_like(s) {
                    iban::parse(s)
                } else {
                    account::parse(s, country)
                }
            }
            KindHint::Card => card::parse(s, &self.card_mac),
            KindHint::Phone => phone::parse(s, country),
            KindHint::Email => email::parse(s),
            KindHint::Website => link::parse(s),
            KindHint::CryptoWallet => crypto::parse_wallet(s),
            KindHint::CryptoTransaction => crypto::tx::parse(s),
            KindHint::WhatsApp => whatsapp::parse(s, country),
            KindHint::Telegram => {
                // A Telegram account is often given by its phone number.
                if phone::looks_international(s) || (country.is_some() && phone::looks_national(s)) {
                    phone::parse(s, country)
                } else {
                    link::parse_for_network(s, Network::Telegram)
                }
            }
            KindHint::Instagram => link::parse_for_network(s, Network::Instagram),
            KindHint::TikTok => link::parse_for_network(s, Network::TikTok),
            KindHint::Facebook => link::parse_for_network(s, Network::Facebook),
            KindHint::X => link::parse_for_network(s, Network::X),
        }
    }

    /// Finds the identifiers in free text, deduplicated by key, with byte spans into `text`.
    ///
    /// `country` reads national phone numbers. At most [`MAX_EXTRACT_BYTES`] are scanned.
    pub fn extract(&self, text: &str, country: Option<Country>) -> Vec<Extracted> {
        extract::extract(text, country, &self.card_mac)
    }
}

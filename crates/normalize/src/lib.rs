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
//! `shared_host` keys links on shorteners and shared site hosts by the path naming the site,
//! `detect` picks a kind when the caller gives no hint (`decide` chooses among candidates, for it
//! and for wallets), `field` reads a form field as a person wrote it (labels, notes, extensions,
//! several values), `extract` finds identifiers in free text, and `text` holds the input
//! hygiene every kind shares.

mod account;
mod bic;
mod card;
mod crypto;
mod decide;
mod detect;
mod domain;
mod email;
mod extract;
mod field;
mod iban;
mod implied;
mod link;
mod phone;
mod rejection;
mod shared_host;
mod social;
mod text;
mod types;
mod whatsapp;

use std::fmt;
use std::sync::Arc;

pub use card::mask_card_numbers;
pub use extract::MAX_EXTRACT_BYTES;
pub use field::{Ignored, IgnoredPart, MAX_VALUES_PER_FIELD, ReadValue, Reading};
pub use iban::{IbanRegistry, registry_of as iban_registry};
pub use implied::implied_identifiers;
pub use rejection::{MAX_INPUT_BYTES, Rejection, RejectionCode};
pub use shared_host::{SHIPPED_SHARED_HOSTS, SharedHosts, SharedHostsError};
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
    shared_hosts: Arc<SharedHosts>,
}

impl Normalizer {
    /// Builds a normaliser with the shipped shared-hosts list, loading the shared tables now so
    /// the first request is not slow.
    pub fn new(config: NormalizerConfig) -> Self {
        std::sync::LazyLock::force(&rlibphonenumber::PHONE_NUMBER_UTIL);
        Normalizer {
            card_mac: card::CardMac::new(&config.card_mac_key),
            shared_hosts: Arc::new(SharedHosts::shipped()),
        }
    }

    /// The same normaliser keying links on `hosts` (say, the shipped list extended by an
    /// operator's file) instead of the shipped list.
    pub fn with_shared_hosts(mut self, hosts: SharedHosts) -> Self {
        self.shared_hosts = Arc::new(hosts);
        self
    }

    /// The shared hosts this normaliser keys links on.
    pub fn shared_hosts(&self) -> &SharedHosts {
        &self.shared_hosts
    }

    /// Normalises one raw value, read as a person wrote it: the field's identifier, that is the
    /// first value of [`Normalizer::read`]. With a kind hint only that family is tried (unless a
    /// label the victim wrote names another kind).
    ///
    /// Input longer than [`MAX_INPUT_BYTES`] is rejected with `TOO_LONG` before any work.
    pub fn normalize(&self, raw: &str, hint: &Hint) -> Result<Identifier, Rejection> {
        let cleaned = text::clean(raw)?;
        // A clean value pays for nothing else; only a value that does not read as it stands is
        // looked at for labels, notes, extensions and several values.
        match self.normalize_clean(&cleaned, hint) {
            Ok(id) => Ok(id),
            plain => field::read(&|s: &str, h: &Hint| self.normalize_clean(s, h), &cleaned, hint, plain).into_first(),
        }
    }

    /// Reads a field as a person wrote it: every value it holds (the first is the field's own),
    /// each with its outcome and the labels, notes and extension read around it and left out of
    /// its key. Never empty.
    pub fn read(&self, raw: &str, hint: &Hint) -> Reading {
        let cleaned = match text::clean(raw) {
            Ok(cleaned) => cleaned,
            Err(rejection) => return Reading::one(raw.get(..MAX_INPUT_BYTES).unwrap_or_default(), Err(rejection)),
        };
        match self.normalize_clean(&cleaned, hint) {
            // Some kinds read a label themselves (`IBAN: GB29 …`) or stop at a `/`
            // (`0x…/ +44 …`): the caller still hears of the label and of a second value.
            Ok(id) if !field::holds_several(&cleaned) => field::with_label_and_notes(Reading::one(&cleaned, Ok(id))),
            plain => field::read(&|s: &str, h: &Hint| self.normalize_clean(s, h), &cleaned, hint, plain),
        }
    }

    /// Normalises a cleaned value exactly as it stands.
    #[inline]
    pub(crate) fn normalize_clean(&self, s: &str, hint: &Hint) -> Result<Identifier, Rejection> {
        let country = hint.country;
        let shared = self.shared_hosts.as_ref();
        let Some(kind) = hint.kind else {
            return detect::detect(s, country, &self.card_mac, shared);
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
            KindHint::Website => link::parse(s, shared),
            KindHint::CryptoWallet => crypto::parse_wallet(s),
            KindHint::CryptoTransaction => crypto::tx::parse(s),
            KindHint::WhatsApp => whatsapp::parse(s, country),
            KindHint::Telegram => {
                // A Telegram account is often given by its phone number.
                if phone::looks_international(s) || (country.is_some() && phone::looks_national(s)) {
                    phone::parse(s, country).map(|mut id| {
                        id.facts.messaging_app = Some("telegram");
                        id
                    })
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
        extract::extract(text, country, &self.card_mac, &self.shared_hosts)
    }
}

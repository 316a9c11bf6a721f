//! Victims' personal data at rest: the fields that hold it, how each is sealed (XChaCha20-Poly1305
//! under a versioned data key kept outside the database), and the keyed MAC that counts distinct
//! victims without a reversible hash of their e-mail or phone.
//!
//! A sealed value is text, `st1:<key version>:<base64url of nonce ‖ ciphertext ‖ tag>`, so that it
//! fits the columns that held the clear text, names the key that opens it (rotation re-seals
//! value by value, and a half-done rotation leaves every value readable), and is bound to its
//! field and report (the reference is the associated data: a value moved to another column or
//! report does not open). An empty value stays empty: it holds nothing to protect.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::report::{Victim, lower_hex};

/// What every sealed value starts with (the format's version).
pub const SEALED_PREFIX: &str = "st1:";

/// A stored field that holds victims' personal data or free text that may quote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonalField {
    /// `reports.narrative`: what happened, in the victim's words, with details added later.
    Narrative,
    /// `report_victims.name`.
    VictimName,
    /// `report_victims.email`.
    VictimEmail,
    /// `report_victims.phone`.
    VictimPhone,
    /// `report_victims.vulnerability_note`.
    VulnerabilityNote,
    /// `cluster_events.detail` of an investigator's note, which may quote the victim; bound to
    /// the cluster ([`note_binding`]) rather than to a report.
    InvestigatorNote,
}

/// What an investigator's note on cluster `cluster_id` is bound to, in place of a reference.
pub fn note_binding(cluster_id: i64) -> String {
    format!("cluster:{cluster_id}")
}

impl PersonalField {
    /// Every personal field.
    pub const ALL: [PersonalField; 6] = [
        PersonalField::Narrative,
        PersonalField::VictimName,
        PersonalField::VictimEmail,
        PersonalField::VictimPhone,
        PersonalField::VulnerabilityNote,
        PersonalField::InvestigatorNote,
    ];

    /// The field's column, `table.column`, which is also its name in the associated data.
    pub fn column(self) -> &'static str {
        match self {
            PersonalField::Narrative => "reports.narrative",
            PersonalField::VictimName => "report_victims.name",
            PersonalField::VictimEmail => "report_victims.email",
            PersonalField::VictimPhone => "report_victims.phone",
            PersonalField::VulnerabilityNote => "report_victims.vulnerability_note",
            PersonalField::InvestigatorNote => "cluster_events.detail",
        }
    }
}

/// Why a stored value does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Clear text where a sealed value was expected (a row from before sealing).
    #[error("the value is not sealed")]
    NotSealed,
    /// Sealed under a key version this server does not hold.
    #[error("sealed under data key version {0}, which is not in the data key file")]
    UnknownVersion(u32),
    /// Not in the sealed format.
    #[error("the sealed value is malformed")]
    Malformed,
    /// The tag does not verify: another key, another field or report, or an altered value.
    #[error("the sealed value does not verify (another field or report, or altered)")]
    Forged,
    /// The opened bytes are not UTF-8 text.
    #[error("the opened value is not text")]
    NotText,
}

/// Why a set of data keys is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataKeyError {
    /// No data key at all.
    #[error("no data key")]
    Empty,
    /// Version 0 is not a version.
    #[error("data key versions start at 1")]
    VersionZero,
    /// A version listed twice.
    #[error("data key version {0} is listed twice")]
    Duplicate(u32),
    /// The index key is too short to key a MAC.
    #[error("the index key must have at least 16 bytes")]
    ShortIndexKey,
}

/// The data keys: every version that may open a stored value, the newest sealing new ones, and
/// the index key that keys the distinct-victim MAC (which never rotates: rotating it would
/// change every victim's key and the counts made from them).
#[derive(Clone)]
pub struct DataKeys {
    versions: BTreeMap<u32, XChaCha20Poly1305>,
    current: u32,
    index: Vec<u8>,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the keys themselves.
        f.debug_struct("DataKeys")
            .field("versions", &self.versions.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl DataKeys {
    /// Keys from the index key and `(version, key)` pairs; the highest version seals.
    pub fn new(index: &[u8], versions: &[(u32, [u8; 32])]) -> Result<Self, DataKeyError> {
        if index.len() < 16 {
            return Err(DataKeyError::ShortIndexKey);
        }
        let mut map = BTreeMap::new();
        for (version, key) in versions {
            if *version == 0 {
                return Err(DataKeyError::VersionZero);
            }
            if map.insert(*version, XChaCha20Poly1305::new(&Key::from(*key))).is_some() {
                return Err(DataKeyError::Duplicate(*version));
            }
        }
        let current = *map.keys().next_back().ok_or(DataKeyError::Empty)?;
        Ok(Self { versions: map, current, index: index.to_vec() })
    }

    /// Fresh random keys, version 1 (for tests and throwaway databases).
    pub fn generate() -> Self {
        let index: [u8; 32] = rand::random();
        let key: [u8; 32] = rand::random();
        Self::new(&index, &[(1, key)]).expect("one version and a 32-byte index key are valid keys")
    }

    /// The version that seals new values.
    pub fn current(&self) -> u32 {
        self.current
    }

    /// Whether this version is held.
    pub fn holds(&self, version: u32) -> bool {
        self.versions.contains_key(&version)
    }

    /// `text` of `field` in the report with `reference`, sealed under the current key (empty
    /// stays empty).
    pub fn seal(&self, field: PersonalField, reference: &str, text: &str) -> String {
        if text.is_empty() {
            return String::new();
        }
        let cipher = &self.versions[&self.current];
        let nonce_bytes: [u8; 24] = rand::random();
        let aad = associated_data(field, reference);
        let sealed = cipher
            .encrypt(&XNonce::from(nonce_bytes), Payload { msg: text.as_bytes(), aad: aad.as_bytes() })
            .expect("XChaCha20-Poly1305 seals any message a report can hold");
        let mut blob = Vec::with_capacity(24 + sealed.len());
        blob.extend_from_slice(&nonce_bytes);
        blob.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}:{}", self.current, URL_SAFE_NO_PAD.encode(blob))
    }

    /// The clear text of a stored value of `field` in the report with `reference` (empty stays
    /// empty).
    pub fn open(&self, field: PersonalField, reference: &str, stored: &str) -> Result<String, OpenError> {
        if stored.is_empty() {
            return Ok(String::new());
        }
        let version = sealed_version(stored).ok_or(if stored.starts_with(SEALED_PREFIX) {
            OpenError::Malformed
        } else {
            OpenError::NotSealed
        })?;
        let cipher = self.versions.get(&version).ok_or(OpenError::UnknownVersion(version))?;
        let body = stored.splitn(3, ':').nth(2).ok_or(OpenError::Malformed)?;
        let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError::Malformed)?;
        if blob.len() < 24 + 16 {
            return Err(OpenError::Malformed);
        }
        let (nonce, sealed) = blob.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| OpenError::Malformed)?;
        let aad = associated_data(field, reference);
        let clear = cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| OpenError::Forged)?;
        String::from_utf8(clear).map_err(|_| OpenError::NotText)
    }

    /// A stored value of `field` sealed under the current key: opened (or taken as clear text when
    /// it is not sealed, a row from before sealing) and sealed again unless it already is.
    pub fn reseal(&self, field: PersonalField, reference: &str, stored: &str) -> Result<String, OpenError> {
        match sealed_version(stored) {
            Some(v) if v == self.current => Ok(stored.to_owned()),
            _ => {
                let clear = match self.open(field, reference, stored) {
                    Err(OpenError::NotSealed) => stored.to_owned(),
                    other => other?,
                };
                Ok(self.seal(field, reference, &clear))
            }
        }
    }

    /// The victim's key for counting distinct victims: the lower-case hex HMAC-SHA256, under the
    /// index key, of [`Victim::identity`]; `None` when the victim gave neither.
    pub fn victim_key(&self, victim: &Victim) -> Option<String> {
        let identity = victim.identity()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.index).expect("HMAC takes a key of any length");
        mac.update(b"scamtrail/victim/v1\0");
        mac.update(identity.as_bytes());
        Some(lower_hex(&mac.finalize().into_bytes()))
    }
}

/// The key version a stored value names, if it is sealed.
pub fn sealed_version(stored: &str) -> Option<u32> {
    let rest = stored.strip_prefix(SEALED_PREFIX)?;
    let (version, _) = rest.split_once(':')?;
    version.parse().ok()
}

fn associated_data(field: PersonalField, reference: &str) -> String {
    format!("scamtrail/v1/{}/{reference}", field.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(versions: &[u32]) -> DataKeys {
        let pairs: Vec<(u32, [u8; 32])> = versions.iter().map(|v| (*v, [*v as u8; 32])).collect();
        DataKeys::new(&[7; 32], &pairs).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_field_and_report() {
        let k = keys(&[1]);
        let sealed = k.seal(PersonalField::VictimName, "ST-AAAA-BBBB", "Carol Smith");
        assert!(sealed.starts_with("st1:1:"));
        assert!(!sealed.contains("Carol"));
        assert_eq!(k.open(PersonalField::VictimName, "ST-AAAA-BBBB", &sealed).unwrap(), "Carol Smith");
        assert_eq!(k.open(PersonalField::VictimEmail, "ST-AAAA-BBBB", &sealed), Err(OpenError::Forged));
        assert_eq!(k.open(PersonalField::VictimName, "ST-AAAA-CCCC", &sealed), Err(OpenError::Forged));
        // Two seals of one value differ (random nonces): equal texts are not visible as equal.
        assert_ne!(sealed, k.seal(PersonalField::VictimName, "ST-AAAA-BBBB", "Carol Smith"));
    }

    #[test]
    fn altered_unknown_and_clear_values_are_refused_by_name() {
        let k = keys(&[1]);
        let sealed = k.seal(PersonalField::Narrative, "R", "he called");
        let mut altered = sealed.clone().into_bytes();
        // A character in the middle (the last one may hold only padding bits).
        let middle = altered.len() - 10;
        altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(k.open(PersonalField::Narrative, "R", &altered), Err(OpenError::Forged));
        assert_eq!(k.open(PersonalField::Narrative, "R", "he called"), Err(OpenError::NotSealed));
        assert_eq!(k.open(PersonalField::Narrative, "R", "st1:x"), Err(OpenError::Malformed));
        assert_eq!(k.open(PersonalField::Narrative, "R", "st1:1:!!"), Err(OpenError::Malformed));
        let newer = keys(&[1, 2]).seal(PersonalField::Narrative, "R", "x");
        assert_eq!(k.open(PersonalField::Narrative, "R", &newer), Err(OpenError::UnknownVersion(2)));
        assert_eq!(k.open(PersonalField::Narrative, "R", "").unwrap(), "");
        assert_eq!(k.seal(PersonalField::Narrative, "R", ""), "");
    }

    #[test]
    fn rotation_reseals_older_and_clear_values_under_the_newest_key() {
        let old = keys(&[1]);
        let both = keys(&[1, 2]);
        assert_eq!(both.current(), 2);
        let sealed = old.seal(PersonalField::VictimPhone, "R", "+447700900123");
        let resealed = both.reseal(PersonalField::VictimPhone, "R", &sealed).unwrap();
        assert_eq!(sealed_version(&resealed), Some(2));
        assert_eq!(both.open(PersonalField::VictimPhone, "R", &resealed).unwrap(), "+447700900123");
        assert_eq!(both.reseal(PersonalField::VictimPhone, "R", &resealed).unwrap(), resealed);
        let from_clear = both.reseal(PersonalField::VictimPhone, "R", "+447700900123").unwrap();
        assert_eq!(both.open(PersonalField::VictimPhone, "R", &from_clear).unwrap(), "+447700900123");
        assert_eq!(keys(&[2]).open(PersonalField::VictimPhone, "R", &sealed), Err(OpenError::UnknownVersion(1)));
    }

    #[test]
    fn the_victim_key_is_a_mac_of_the_identity_under_the_index_key() {
        let victim = Victim { email: " Jane.Doe@Example.ORG".into(), ..Default::default() };
        let a = keys(&[1]).victim_key(&victim).unwrap();
        assert_eq!(a.len(), 64);
        // Rotating the data keys keeps victims' keys; another index key changes them.
        assert_eq!(keys(&[1, 2]).victim_key(&victim).unwrap(), a);
        let other = DataKeys::new(&[8; 32], &[(1, [1; 32])]).unwrap();
        assert_ne!(other.victim_key(&victim).unwrap(), a);
        // Not the plain SHA-256 of the identity, which enumeration reverses.
        use sha2::Digest as _;
        assert_ne!(a, lower_hex(&Sha256::digest(b"email:jane.doe@example.org")));
        assert_eq!(keys(&[1]).victim_key(&Victim::default()), None);
    }

    #[test]
    fn bad_key_sets_are_refused() {
        assert_eq!(DataKeys::new(&[1; 32], &[]).unwrap_err(), DataKeyError::Empty);
        assert_eq!(DataKeys::new(&[1; 32], &[(0, [0; 32])]).unwrap_err(), DataKeyError::VersionZero);
        assert_eq!(DataKeys::new(&[1; 32], &[(1, [0; 32]), (1, [1; 32])]).unwrap_err(), DataKeyError::Duplicate(1));
        assert_eq!(DataKeys::new(&[1; 4], &[(1, [0; 32])]).unwrap_err(), DataKeyError::ShortIndexKey);
        assert!(!format!("{:?}", keys(&[1])).contains("7, 7"));
    }
}

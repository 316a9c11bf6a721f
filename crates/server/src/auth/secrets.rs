//! Hashing and making secrets: argon2id for passwords and victims' follow-up secrets, random
//! 256-bit bearer tokens stored as SHA-256.
//!
//! Hashes are written in the PHC string format (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`), so
//! that the parameters travel with each hash and can be raised later without breaking old ones.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// OWASP's argon2id parameters for passwords: 19 MiB, 2 passes, 1 lane.
pub const PASSWORD_PARAMS: (u32, u32, u32) = (19 * 1024, 2, 1);

/// Parameters for victims' follow-up secrets. Each secret is 128 random bits made by the server,
/// not a person's choice: no dictionary holds it and 2^128 guesses are out of reach at any cost
/// per guess, so the memory-hard cost that protects passwords buys nothing here, while it would
/// cap intake at a few dozen reports per second per core. The hash stays argon2id (salted,
/// stored in PHC form) with the smallest memory cost the algorithm allows for 1 lane.
pub const FOLLOW_UP_PARAMS: (u32, u32, u32) = (8, 1, 1);

/// Passwords shorter than this are refused.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Passwords longer than this are refused (hashing cost grows with length).
pub const PASSWORD_MAX_CHARS: usize = 256;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(text).ok()
}

/// argon2id of `secret` with a fresh 16-byte salt, as a PHC string.
pub fn hash(secret: &str, (m, t, p): (u32, u32, u32)) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let out = derive(secret, &salt, m, t, p).unwrap_or_default();
    format!("$argon2id$v=19$m={m},t={t},p={p}${}${}", b64(&salt), b64(&out))
}

fn derive(secret: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Option<[u8; 32]> {
    let params = Params::new(m, t, p, Some(32)).ok()?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(secret.as_bytes(), salt, &mut out)
        .ok()?;
    Some(out)
}

/// Whether `secret` matches the PHC string `phc`, compared in constant time. A string that does
/// not parse never matches.
pub fn verify(secret: &str, phc: &str) -> bool {
    let parts: Vec<&str> = phc.split('$').collect();
    let [_, "argon2id", "v=19", params, salt, expected] = parts.as_slice() else { return false };
    let mut cost = [0u32; 3];
    for (slot, (name, value)) in cost.iter_mut().zip(params.split(',').filter_map(|kv| kv.split_once('='))) {
        let Ok(v) = value.parse() else { return false };
        if !matches!(name, "m" | "t" | "p") {
            return false;
        }
        *slot = v;
    }
    let (Some(salt), Some(expected)) = (unb64(salt), unb64(expected)) else { return false };
    match derive(secret, &salt, cost[0], cost[1], cost[2]) {
        Some(out) => bool::from(out.as_slice().ct_eq(&expected)),
        None => false,
    }
}

/// A new random 256-bit token with a prefix saying what it is (`sts_` sessions, `stk_` keys).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// A victim's follow-up secret: 128 random bits, in groups of four for reading aloud.
pub fn new_follow_up_secret() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    canonical_follow_up(&hex::encode(bytes))
}

/// A follow-up secret as typed, in the form it was hashed in: case, spaces and dashes do not
/// matter to a victim reading it from a letter or a screen.
pub fn canonical_follow_up(typed: &str) -> String {
    let chars: Vec<char> =
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The stored form of a bearer token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What is wrong with a new password, if anything.
pub fn password_problem(password: &str, user_name: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Some(format!("at least {PASSWORD_MIN_CHARS} characters"));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Some(format!("at most {PASSWORD_MAX_CHARS} characters"));
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return Some("at least 5 different characters".to_owned());
    }
    if password.to_lowercase().contains(&user_name.to_lowercase()) {
        return Some("must not contain the user name".to_owned());
    }
    None
}

/// Runs password hashes on blocking threads, a bounded number at a time, so that a burst of
/// sign-ins neither starves the async workers nor takes memory without bound (19 MiB each).
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the user does not exist, so that an
    /// unknown name takes as long as a wrong password.
    decoy: Arc<String>,
}

impl PasswordHasher {
    /// A hasher running at most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            decoy: Arc::new(hash(&new_token(""), PASSWORD_PARAMS)),
        }
    }

    /// Verifies `password` against `phc`, or against the decoy when `phc` is `None`
    /// (then never matching).
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.decoy.as_ref().clone());
        let Ok(permit) = self.permits.clone().acquire_owned().await else { return false };
        // The permit goes with the hash: a caller that gives up does not free it early.
        let matched = tokio::task::spawn_blocking(move || {
            let matched = verify(&password, &phc);
            drop(permit);
            matched
        })
        .await
        .unwrap_or(false);
        matched && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_secret_only() {
        let phc = hash("correct horse battery", FOLLOW_UP_PARAMS);
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
        assert!(!verify("correct horse battery", "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA"));
        assert!(!verify("x", "not a hash"));
        assert_ne!(phc, hash("correct horse battery", FOLLOW_UP_PARAMS), "salted");
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..40 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(unb64(&b64(&bytes)).unwrap(), bytes);
        }
        assert_eq!(b64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw");
    }

    #[test]
    fn password_rules() {
        assert!(password_problem("short", "ann").is_some());
        assert!(password_problem("aaaaaaaaaaaaaaaa", "ann").is_some());
        assert!(password_problem("xx-annabel-2026-yy", "annabel").is_some());
        assert!(password_problem("tulip-river-0420", "ann").is_none());
    }

    #[test]
    fn tokens_are_random_and_hash_to_hex() {
        let a = new_token("sts_");
        assert_eq!(a.len(), 4 + 64);
        assert_ne!(a, new_token("sts_"));
        assert_eq!(token_hash(&a).len(), 64);
        let secret = new_follow_up_secret();
        assert_eq!(secret.len(), 39, "{secret}");
        assert_eq!(canonical_follow_up(&secret.to_lowercase().replace('-', " ")), secret);
        assert_eq!(canonical_follow_up("ab12-cd"), "AB12-CD");
    }
}

//! The audit trail's integrity rule. Each event's hash is an HMAC-SHA256, under the server's audit
//! key, over the previous event's hash and this event's fields: changing, removing or re-chaining a
//! stored event breaks every hash after it, and without the key nobody can compute a trail that
//! verifies, so a trail rewritten as a whole fails too. What the chain cannot show alone is a trail
//! cut back at its end; for that an operator keeps a signed [`Checkpoint`] elsewhere, and the trail
//! must still hold the event it names.
//!
//! Trails begun before the key existed hold plain SHA-256 hashes over the same fields. They are
//! accepted as a prefix only: once an event is keyed, every later one must be, and a trail must hold
//! at least one keyed event. The first keyed event chains from the last unkeyed one, so it vouches
//! for the whole prefix; a server starting on such a trail appends one at once (the store's
//! `seal_audit_trail`). A forger without the key can therefore neither rewrite the prefix (the
//! keyed event no longer chains) nor replace the trail by an unkeyed one (no keyed event).

use std::fmt;
use std::str::FromStr;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::digest::Update;
use sha2::{Digest, Sha256};

use crate::UnixMicros;

/// The hash the first event chains from.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain labels, so that an event's MAC can never be taken for a checkpoint's or the reverse.
const EVENT_LABEL: &[u8] = b"scamtrail audit event";
const CHECKPOINT_LABEL: &[u8] = b"scamtrail audit checkpoint";

/// One audit event: who did what to which records, when, from where, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Position in the trail, from 1 without gaps.
    pub sequence: i64,
    /// When.
    pub at: UnixMicros,
    /// A user name, `key:NAME`, or `cli`.
    pub actor: String,
    /// The actor's role name (`cli` for the command line).
    pub role: String,
    /// The full gRPC method, or the CLI command.
    pub action: String,
    /// The records concerned (`report:12`, `cluster:4`, `key:frontend-eu`).
    pub targets: Vec<String>,
    /// The caller's address, or `cli`.
    pub peer: String,
    /// The gRPC status code name, `OK` on success.
    pub outcome: String,
}

/// The server's secret that keys the audit chain and signs checkpoints. It lives in a file of its
/// own, apart from the database, so that write access to the database is not enough to forge a trail.
#[derive(Clone)]
pub struct AuditKey {
    keyed: Hmac<Sha256>,
}

impl AuditKey {
    /// A key from the secret's bytes.
    pub fn new(secret: &[u8]) -> Self {
        // HMAC takes keys of any length: the error branch cannot happen.
        let keyed = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
            Ok(keyed) => keyed,
            Err(_) => <Hmac<Sha256> as KeyInit>::new(&Default::default()),
        };
        Self { keyed }
    }

    /// The checkpoint of event `sequence` whose stored hash is `hash`, signed with this key.
    pub fn sign_checkpoint(&self, sequence: i64, hash: &str) -> Checkpoint {
        let hash = hash.to_ascii_lowercase();
        let mac = self.checkpoint_mac(sequence, &hash);
        Checkpoint { sequence, hash, mac }
    }

    /// Whether `checkpoint` was signed with this key.
    pub fn signed(&self, checkpoint: &Checkpoint) -> bool {
        // A plain comparison: the check runs offline (`audit verify`), nobody can time it.
        self.checkpoint_mac(checkpoint.sequence, &checkpoint.hash) == checkpoint.mac
    }

    fn checkpoint_mac(&self, sequence: i64, hash: &str) -> String {
        let mut mac = self.keyed.clone();
        let mut fields = Fields(&mut mac);
        fields.push(CHECKPOINT_LABEL);
        fields.push(&sequence.to_be_bytes());
        fields.push(hash.as_bytes());
        crate::report::lower_hex(&mac.finalize().into_bytes())
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(<secret>)")
    }
}

/// Writes length-prefixed fields, so that no two different field lists feed the same bytes.
struct Fields<'a, H: Update>(&'a mut H);

impl<H: Update> Fields<'_, H> {
    fn push(&mut self, bytes: &[u8]) {
        self.0.update(&(bytes.len() as u64).to_be_bytes());
        self.0.update(bytes);
    }
}

impl AuditEvent {
    /// An event happening now; the trail numbers it when it is appended.
    pub fn now(actor: &str, role: &str, action: &str, targets: Vec<String>, peer: &str, outcome: &str) -> Self {
        Self {
            sequence: 0,
            at: UnixMicros::now(),
            actor: actor.to_owned(),
            role: role.to_owned(),
            action: action.to_owned(),
            targets,
            peer: peer.to_owned(),
            outcome: outcome.to_owned(),
        }
    }

    /// The hash of this event chained after `prev_hash`: its MAC under `key`.
    pub fn chain_hash(&self, key: &AuditKey, prev_hash: &str) -> String {
        let mut mac = key.keyed.clone();
        let mut fields = Fields(&mut mac);
        fields.push(EVENT_LABEL);
        self.feed(prev_hash, &mut fields);
        crate::report::lower_hex(&mac.finalize().into_bytes())
    }

    /// The plain SHA-256 hash events had before the chain was keyed (see the module's comment).
    pub fn unkeyed_chain_hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        self.feed(prev_hash, &mut Fields(&mut h));
        crate::report::lower_hex(&h.finalize())
    }

    fn feed<H: Update>(&self, prev_hash: &str, fields: &mut Fields<'_, H>) {
        fields.push(prev_hash.as_bytes());
        fields.push(&self.sequence.to_be_bytes());
        fields.push(&self.at.0.to_be_bytes());
        fields.push(self.actor.as_bytes());
        fields.push(self.role.as_bytes());
        fields.push(self.action.as_bytes());
        fields.push(&(self.targets.len() as u64).to_be_bytes());
        for t in &self.targets {
            fields.push(t.as_bytes());
        }
        fields.push(self.peer.as_bytes());
        fields.push(self.outcome.as_bytes());
    }
}

/// A signed statement that the trail held event `sequence` with hash `hash`: `audit verify` prints
/// one for the newest event, the operator keeps it elsewhere and passes it back later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The event's sequence.
    pub sequence: i64,
    /// Its stored hash, lower-case hex.
    pub hash: String,
    /// HMAC-SHA256 under the audit key over the sequence and the hash, lower-case hex.
    pub mac: String,
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "checkpoint {} {} {}", self.sequence, self.hash, self.mac)
    }
}

/// A checkpoint line that is not one `audit verify` prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected `checkpoint SEQUENCE HASH MAC` as `scamtrail audit verify` prints it")]
pub struct CheckpointFormat;

impl FromStr for Checkpoint {
    type Err = CheckpointFormat;

    fn from_str(line: &str) -> Result<Self, CheckpointFormat> {
        let hex64 =
            |s: &str| (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase());
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts[..] {
            ["checkpoint", sequence, hash, mac] => Ok(Checkpoint {
                sequence: sequence.parse().ok().filter(|s| *s >= 1).ok_or(CheckpointFormat)?,
                hash: hex64(hash).ok_or(CheckpointFormat)?,
                mac: hex64(mac).ok_or(CheckpointFormat)?,
            }),
            _ => Err(CheckpointFormat),
        }
    }
}

/// What checking a trail found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerdict {
    /// Events that chain, before the first broken one.
    pub events: i64,
    /// Of those, the events from before the audit key (a prefix of the trail).
    pub unkeyed: i64,
    /// The first event that does not chain, and why; `None` when the chain holds.
    pub broken: Option<(i64, String)>,
    /// A checkpoint of the newest event, signed with the key, when the chain holds.
    pub head: Option<Checkpoint>,
    /// Each given checkpoint the trail contradicts, and why.
    pub checkpoint_faults: Vec<String>,
}

impl AuditVerdict {
    /// Whether the chain holds and every given checkpoint is in it.
    pub fn intact(&self) -> bool {
        self.broken.is_none() && self.checkpoint_faults.is_empty()
    }
}

/// Checks a trail fed event by event, oldest first, against the key and the kept checkpoints.
#[derive(Debug)]
pub struct ChainCheck<'k> {
    key: &'k AuditKey,
    /// Genuine checkpoints not yet met in the trail.
    pending: Vec<Checkpoint>,
    faults: Vec<String>,
    next: i64,
    prev: String,
    keyed: i64,
    unkeyed: i64,
    broken: Option<(i64, String)>,
}

impl<'k> ChainCheck<'k> {
    /// A check of a trail from its first event on; `checkpoints` not signed with `key` are faults.
    pub fn new(key: &'k AuditKey, checkpoints: &[Checkpoint]) -> Self {
        let (pending, forged): (Vec<_>, Vec<_>) = checkpoints.iter().cloned().partition(|c| key.signed(c));
        let faults = forged
            .iter()
            .map(|c| {
                format!(
                    "checkpoint {}: its MAC is not the audit key's (signed with another key, or altered)",
                    c.sequence
                )
            })
            .collect();
        Self { key, pending, faults, next: 1, prev: AUDIT_GENESIS.to_owned(), keyed: 0, unkeyed: 0, broken: None }
    }

    /// The sequence the next event must have.
    pub fn next_sequence(&self) -> i64 {
        self.next
    }

    /// Checks the next stored event (with its stored previous hash and hash); false once the trail
    /// is broken, when feeding more is useless.
    pub fn push(&mut self, event: &AuditEvent, stored_prev: &str, stored_hash: &str) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let why = if event.sequence != self.next {
            Some(format!("event {} is missing", self.next))
        } else if stored_prev != self.prev {
            Some("its previous hash is not the previous event's hash".to_owned())
        } else if event.chain_hash(self.key, &self.prev) == stored_hash {
            self.keyed += 1;
            None
        } else if self.keyed == 0 && event.unkeyed_chain_hash(&self.prev) == stored_hash {
            self.unkeyed += 1;
            None
        } else {
            Some(
                "its hash is not the MAC of its content under the audit key (the row was changed, \
                 or written without this key)"
                    .to_owned(),
            )
        };
        if let Some(why) = why {
            self.broken = Some((self.next, why));
            return false;
        }
        self.pending.retain(|c| {
            if c.sequence != event.sequence {
                return true;
            }
            if c.hash != stored_hash {
                self.faults.push(format!(
                    "checkpoint {}: event {} has another hash now (the trail was rewritten)",
                    c.sequence, c.sequence
                ));
            }
            false
        });
        self.next += 1;
        self.prev = stored_hash.to_owned();
        true
    }

    /// The verdict on the events fed.
    pub fn finish(mut self) -> AuditVerdict {
        let mut events = self.keyed + self.unkeyed;
        if self.broken.is_none() && self.unkeyed > 0 && self.keyed == 0 {
            self.broken = Some((
                1,
                "no event is signed with the audit key: a trail from before the key that no server \
                 has started on since (start one, it seals the trail), or a trail rewritten without the key"
                    .to_owned(),
            ));
            events = 0;
        }
        let last = self.next - 1;
        if self.broken.is_none() {
            for c in &self.pending {
                self.faults.push(format!(
                    "checkpoint {}: the trail ends at event {last} (events removed from its end)",
                    c.sequence
                ));
            }
        }
        let head = (self.broken.is_none() && last > 0).then(|| self.key.sign_checkpoint(last, &self.prev));
        AuditVerdict { events, unkeyed: self.unkeyed, broken: self.broken, head, checkpoint_faults: self.faults }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AuditEvent {
        AuditEvent {
            sequence: 1,
            at: UnixMicros(1_700_000_000_000_000),
            actor: "alice".into(),
            role: "investigator".into(),
            action: "/scamtrail.v1.TriageService/GetReport".into(),
            targets: vec!["report:12".into()],
            peer: "127.0.0.1:5000".into(),
            outcome: "OK".into(),
        }
    }

    fn key() -> AuditKey {
        AuditKey::new(b"the server's audit key, 32 bytes")
    }

    /// A trail of `n` events, hashed by `hash` (sequence, previous hash) → hash; with each its
    /// stored previous hash and hash.
    fn trail(n: i64, hash: impl Fn(&AuditEvent, &str) -> String) -> Vec<(AuditEvent, String, String)> {
        let mut prev = AUDIT_GENESIS.to_owned();
        (1..=n)
            .map(|sequence| {
                let mut e = event();
                e.sequence = sequence;
                e.at = UnixMicros(e.at.0 + sequence);
                let h = hash(&e, &prev);
                let row = (e, prev.clone(), h.clone());
                prev = h;
                row
            })
            .collect()
    }

    fn check(key: &AuditKey, rows: &[(AuditEvent, String, String)], checkpoints: &[Checkpoint]) -> AuditVerdict {
        let mut check = ChainCheck::new(key, checkpoints);
        for (e, prev, hash) in rows {
            if !check.push(e, prev, hash) {
                break;
            }
        }
        check.finish()
    }

    #[test]
    fn any_changed_field_predecessor_or_key_changes_the_hash() {
        let key = key();
        let base = event().chain_hash(&key, AUDIT_GENESIS);
        assert_eq!(base.len(), 64);
        assert_eq!(base, event().chain_hash(&key, AUDIT_GENESIS), "deterministic");
        let mut changed = vec![];
        let mut e = event();
        e.actor = "mallory".into();
        changed.push(e.chain_hash(&key, AUDIT_GENESIS));
        let mut e = event();
        e.targets = vec!["report:1".into(), "2".into()];
        changed.push(e.chain_hash(&key, AUDIT_GENESIS));
        let mut e = event();
        e.at = UnixMicros(e.at.0 + 1);
        changed.push(e.chain_hash(&key, AUDIT_GENESIS));
        changed.push(event().chain_hash(&key, &base));
        changed.push(event().chain_hash(&AuditKey::new(b"another key"), AUDIT_GENESIS));
        changed.push(event().unkeyed_chain_hash(AUDIT_GENESIS));
        assert!(changed.iter().all(|h| h != &base));
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let mut a = event();
        a.actor = "ab".into();
        a.role = "c".into();
        let mut b = event();
        b.actor = "a".into();
        b.role = "bc".into();
        assert_ne!(a.chain_hash(&key(), AUDIT_GENESIS), b.chain_hash(&key(), AUDIT_GENESIS));
        assert_ne!(a.unkeyed_chain_hash(AUDIT_GENESIS), b.unkeyed_chain_hash(AUDIT_GENESIS));
    }

    #[test]
    fn a_keyed_trail_holds_and_its_head_is_a_signed_checkpoint() {
        let key = key();
        let rows = trail(5, |e, prev| e.chain_hash(&key, prev));
        let verdict = check(&key, &rows, &[]);
        assert!(verdict.intact(), "{verdict:?}");
        assert_eq!((verdict.events, verdict.unkeyed), (5, 0));
        let head = verdict.head.unwrap();
        assert_eq!((head.sequence, head.hash.as_str()), (5, rows[4].2.as_str()));
        assert!(key.signed(&head));
        assert!(!AuditKey::new(b"another key").signed(&head));
        assert_eq!(head.to_string().parse::<Checkpoint>().unwrap(), head);
        // Checking with it again passes while the trail is untouched.
        assert!(check(&key, &rows, &[head]).intact());
        // An empty trail holds and has no head.
        let empty = check(&key, &[], &[]);
        assert!(empty.intact() && empty.head.is_none());
    }

    #[test]
    fn a_trail_rewritten_without_the_key_fails() {
        let key = key();
        let plain = trail(5, |e, prev| e.unkeyed_chain_hash(prev));
        let verdict = check(&key, &plain, &[]);
        assert_eq!(verdict.broken.as_ref().map(|b| b.0), Some(1), "{verdict:?}");
        assert!(verdict.head.is_none());
        let other = AuditKey::new(b"another key");
        let foreign = trail(5, |e, prev| e.chain_hash(&other, prev));
        let verdict = check(&key, &foreign, &[]);
        assert_eq!(verdict.broken.as_ref().map(|b| b.0), Some(1), "{verdict:?}");
        assert!(verdict.broken.unwrap().1.contains("audit key"));
    }

    #[test]
    fn an_unkeyed_prefix_holds_only_under_a_keyed_event() {
        let key = key();
        // Three events from before the key, then keyed ones chained after them.
        let rows =
            trail(5, |e, prev| if e.sequence <= 3 { e.unkeyed_chain_hash(prev) } else { e.chain_hash(&key, prev) });
        let verdict = check(&key, &rows, &[]);
        assert!(verdict.intact(), "{verdict:?}");
        assert_eq!((verdict.events, verdict.unkeyed), (5, 3));
        // An unkeyed event after a keyed one is refused.
        let rows =
            trail(5, |e, prev| if e.sequence == 4 { e.unkeyed_chain_hash(prev) } else { e.chain_hash(&key, prev) });
        assert_eq!(check(&key, &rows, &[]).broken.map(|b| b.0), Some(4));
        // A rewritten prefix no longer chains into the first keyed event.
        let mut rows =
            trail(5, |e, prev| if e.sequence <= 3 { e.unkeyed_chain_hash(prev) } else { e.chain_hash(&key, prev) });
        rows[1].0.actor = "mallory".into();
        let forged = rows[1].0.unkeyed_chain_hash(&rows[1].1);
        rows[1].2 = forged.clone();
        rows[2].1 = forged;
        let third = rows[2].0.unkeyed_chain_hash(&rows[2].1);
        rows[2].2 = third.clone();
        rows[3].1 = third;
        assert_eq!(check(&key, &rows, &[]).broken.map(|b| b.0), Some(4));
    }

    #[test]
    fn checkpoints_catch_truncation_and_rewrites() {
        let key = key();
        let rows = trail(6, |e, prev| e.chain_hash(&key, prev));
        let kept = check(&key, &rows[..5], &[]).head.unwrap();
        assert_eq!(kept.sequence, 5);
        // Later events do not matter; the kept event is still there.
        assert!(check(&key, &rows, std::slice::from_ref(&kept)).intact());
        // Cut back below the checkpoint: the chain holds, the checkpoint does not.
        let verdict = check(&key, &rows[..4], std::slice::from_ref(&kept));
        assert!(verdict.broken.is_none());
        assert_eq!(verdict.checkpoint_faults.len(), 1, "{verdict:?}");
        assert!(verdict.checkpoint_faults[0].contains("ends at event 4"), "{verdict:?}");
        // A trail rebuilt under the key from event 5 on (by whoever holds it) shows another hash.
        let mut rebuilt = rows.clone();
        rebuilt[4].0.actor = "mallory".into();
        rebuilt[4].2 = rebuilt[4].0.chain_hash(&key, &rebuilt[4].1);
        rebuilt.truncate(5);
        let verdict = check(&key, &rebuilt, std::slice::from_ref(&kept));
        assert!(verdict.checkpoint_faults[0].contains("another hash"), "{verdict:?}");
        // A checkpoint with a changed hash or sequence is not signed.
        let mut forged = kept.clone();
        forged.sequence = 4;
        let verdict = check(&key, &rows, &[forged]);
        assert!(verdict.checkpoint_faults[0].contains("MAC"), "{verdict:?}");
    }

    #[test]
    fn checkpoint_lines_parse_strictly() {
        let line = format!("checkpoint 12 {} {}", "AB".repeat(32), "cd".repeat(32));
        let parsed: Checkpoint = line.parse().unwrap();
        assert_eq!((parsed.sequence, parsed.hash.as_str()), (12, "ab".repeat(32).as_str()));
        for bad in [
            "checkpoint 12 ab cd".to_owned(),
            format!("checkpoint 0 {} {}", "ab".repeat(32), "cd".repeat(32)),
            format!("checkpoint x {} {}", "ab".repeat(32), "cd".repeat(32)),
            format!("12 {} {}", "ab".repeat(32), "cd".repeat(32)),
            format!("checkpoint 12 {} {}", "zz".repeat(32), "cd".repeat(32)),
        ] {
            assert_eq!(bad.parse::<Checkpoint>(), Err(CheckpointFormat), "{bad}");
        }
    }
}

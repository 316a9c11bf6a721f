//! The audit trail's integrity rule: each event's hash is SHA-256 over the previous event's hash
//! and this event's fields, so changing or removing a stored event breaks every hash after it.

use sha2::{Digest, Sha256};

use crate::UnixMicros;

/// The hash the first event chains from.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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

    /// The hash of this event chained after `prev_hash`. Fields are length-prefixed, so no two
    /// different events hash the same input.
    pub fn chain_hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        field(prev_hash.as_bytes());
        field(&self.sequence.to_be_bytes());
        field(&self.at.0.to_be_bytes());
        field(self.actor.as_bytes());
        field(self.role.as_bytes());
        field(self.action.as_bytes());
        field(&(self.targets.len() as u64).to_be_bytes());
        for t in &self.targets {
            field(t.as_bytes());
        }
        field(self.peer.as_bytes());
        field(self.outcome.as_bytes());
        crate::report::lower_hex(&h.finalize())
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

    #[test]
    fn any_changed_field_or_predecessor_changes_the_hash() {
        let base = event().chain_hash(AUDIT_GENESIS);
        assert_eq!(base.len(), 64);
        assert_eq!(base, event().chain_hash(AUDIT_GENESIS), "deterministic");
        let mut changed = vec![];
        let mut e = event();
        e.actor = "mallory".into();
        changed.push(e.chain_hash(AUDIT_GENESIS));
        let mut e = event();
        e.targets = vec!["report:1".into(), "2".into()];
        changed.push(e.chain_hash(AUDIT_GENESIS));
        let mut e = event();
        e.at = UnixMicros(e.at.0 + 1);
        changed.push(e.chain_hash(AUDIT_GENESIS));
        changed.push(event().chain_hash(&base));
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
        assert_ne!(a.chain_hash(AUDIT_GENESIS), b.chain_hash(AUDIT_GENESIS));
    }
}

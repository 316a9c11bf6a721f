//! The server's secret key files, each created once with 32 random bytes (hex), readable by the
//! server's user only; instances sharing a database must share them.
//!
//! - The card key keys card MACs (`card:<first6>:<last4>:<mac>`), so that two reports of one card
//!   link without the number being readable. Losing it changes every card key: back it up with
//!   the database.
//! - The audit key keys the audit trail's hash chain and signs its checkpoints
//!   (`scamtrail_core::AuditKey`), so that write access to the database is not enough to rewrite
//!   the trail: keep it (and its backups) apart from the database's.

use std::io::Write;
use std::path::Path;

use scamtrail_core::AuditKey;

/// The card MAC key in `path`, created if missing.
pub fn card_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    Ok(load_or_create(path, "created the card MAC key; back it up with the database")?.0)
}

/// The audit key in `path`, created if missing (a server's first start, or a first `user create`),
/// and whether it was created now.
pub fn audit_key(path: &Path) -> anyhow::Result<(AuditKey, bool)> {
    let (secret, created) =
        load_or_create(path, "created the audit key; keep it, and its backups, apart from the database's")?;
    Ok((AuditKey::new(&secret), created))
}

/// The audit key in `path`, which must exist: a trail checked with a new key proves nothing.
pub fn existing_audit_key(path: &Path) -> anyhow::Result<AuditKey> {
    let secret = load(path).map_err(|e| anyhow::anyhow!("the audit key (--audit-key-file): {e}"))?;
    Ok(AuditKey::new(&secret))
}

/// Reads the key file, or creates it when it does not exist (logging `created`, which says what
/// the key is and how to keep it); true when it was created.
fn load_or_create(path: &Path, created: &str) -> anyhow::Result<(Vec<u8>, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((decode(path, &text)?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            writeln!(file, "{hex}")?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "{created}");
            Ok((key.to_vec(), true))
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

/// Reads a key file that must exist already.
fn load(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    decode(path, &text)
}

fn decode(path: &Path, text: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(text.trim())
        .ok()
        .filter(|k| k.len() >= 16)
        .ok_or_else(|| anyhow::anyhow!("{}: expected at least 32 hex digits", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_read_back_the_same_and_only_its_owner_reads_it() {
        let dir = std::env::temp_dir().join(format!("scamtrail-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("card.key");
        let _ = std::fs::remove_file(&path);
        assert!(load(&path).is_err(), "load never creates");
        let (first, created) = load_or_create(&path, "created").unwrap();
        assert!(created);
        assert_eq!(first.len(), 32);
        assert_eq!(load_or_create(&path, "created").unwrap(), (first.clone(), false));
        assert_eq!(load(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "zz").unwrap();
        assert!(load_or_create(&path, "created").is_err());
        assert!(load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

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

use scamtrail_core::{AuditKey, DataKeys};

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

/// The data keys in `path`, created (an index key and version 1) if missing.
pub fn data_keys(path: &Path) -> anyhow::Result<DataKeys> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_data_keys(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = format!("{DATA_KEY_HEADER}index {}\n1 {}\n", random_hex(), random_hex());
            create_new(path, &text)?;
            tracing::info!(
                path = %path.display(),
                "created the data key file; back it up apart from the database's backups: without it no victim's data can be read"
            );
            parse_data_keys(path, &text)
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

/// The data keys in `path`, which must exist: new keys would open nothing already stored.
pub fn existing_data_keys(path: &Path) -> anyhow::Result<DataKeys> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("the data key file (--data-key-file): {}: {e}", path.display()))?;
    parse_data_keys(path, &text)
}

/// Adds a data key version to the file at `path` (which must exist) and returns it; the file is
/// synced before this returns, so that no value is sealed under a key that could be lost.
pub fn add_data_key(path: &Path) -> anyhow::Result<u32> {
    let keys = existing_data_keys(path)?;
    let version = keys.current() + 1;
    let mut file =
        std::fs::OpenOptions::new().append(true).open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    writeln!(file, "{version} {}", random_hex())?;
    file.sync_all()?;
    Ok(version)
}

const DATA_KEY_HEADER: &str = "# scamtrail data keys. `index` keys the distinct-victim MAC and never changes; each\n\
    # `N HEX` line is data key version N, the highest sealing new values. Keep every line while\n\
    # values may be sealed under it; back this file up apart from the database's backups.\n";

fn parse_data_keys(path: &Path, text: &str) -> anyhow::Result<DataKeys> {
    let bad = |line: usize, why: &str| anyhow::anyhow!("{}: line {line}: {why}", path.display());
    let mut index = None;
    let mut versions = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, hex) = line.split_once(' ').ok_or_else(|| bad(n, "expected `index HEX` or `VERSION HEX`"))?;
        let key = hex::decode(hex.trim()).map_err(|_| bad(n, "the key is not hex"))?;
        if name == "index" {
            if key.len() < 16 {
                return Err(bad(n, "the index key needs at least 32 hex digits"));
            }
            index = Some(key);
        } else {
            let version: u32 = name.parse().map_err(|_| bad(n, "expected `index` or a version number"))?;
            let key: [u8; 32] = key.try_into().map_err(|_| bad(n, "a data key is 64 hex digits"))?;
            versions.push((version, key));
        }
    }
    let index = index.ok_or_else(|| anyhow::anyhow!("{}: no `index` line", path.display()))?;
    DataKeys::new(&index, &versions).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn random_hex() -> String {
    let key: [u8; 32] = rand::random();
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates `path` with `text`, readable by its owner only; fails if it exists.
fn create_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Reads the key file, or creates it when it does not exist (logging `created`, which says what
/// the key is and how to keep it); true when it was created.
fn load_or_create(path: &Path, created: &str) -> anyhow::Result<(Vec<u8>, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((decode(path, &text)?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            create_new(path, &format!("{hex}\n"))?;
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

    #[test]
    fn a_data_key_file_is_created_private_read_back_and_grows_by_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.key");
        assert!(existing_data_keys(&path).is_err(), "never created by a reader");
        let first = data_keys(&path).unwrap();
        assert_eq!(first.current(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let sealed = first.seal(scamtrail_core::PersonalField::VictimName, "R", "Carol");
        assert_eq!(add_data_key(&path).unwrap(), 2);
        let both = data_keys(&path).unwrap();
        assert_eq!(both.current(), 2);
        assert!(both.holds(1));
        assert_eq!(both.open(scamtrail_core::PersonalField::VictimName, "R", &sealed).unwrap(), "Carol");
        let victim = scamtrail_core::Victim { phone: "+447700900123".into(), ..Default::default() };
        assert_eq!(both.victim_key(&victim), first.victim_key(&victim), "rotation keeps victims' keys");
        std::fs::write(&path, "index 00\n1 zz\n").unwrap();
        assert!(data_keys(&path).unwrap_err().to_string().contains("line 1"));
        std::fs::write(&path, "1 ".to_owned() + &"00".repeat(32)).unwrap();
        assert!(data_keys(&path).unwrap_err().to_string().contains("no `index` line"));
    }
}

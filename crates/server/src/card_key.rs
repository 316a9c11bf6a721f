//! The server-held secret that keys card MACs (`card:<first6>:<last4>:<mac>`), so that two reports
//! of one card link without the number being readable. Losing the key changes every card key, so it
//! lives in its own file, created once, readable by the server's user only; instances sharing a
//! database must share the file.

use std::io::Write;
use std::path::Path;

/// Reads the key file, or creates it with 32 random bytes (hex) when it does not exist.
pub fn load_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(text) => decode_hex(text.trim())
            .filter(|k| k.len() >= 16)
            .ok_or_else(|| anyhow::anyhow!("{}: expected at least 32 hex digits", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path)?;
            writeln!(file, "{hex}")?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created the card MAC key; back it up with the database");
            Ok(key.to_vec())
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_read_back_the_same() {
        let dir = std::env::temp_dir().join(format!("scamtrail-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("card.key");
        let _ = std::fs::remove_file(&path);
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(load_or_create(&path).unwrap(), first);
        std::fs::write(&path, "zz").unwrap();
        assert!(load_or_create(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

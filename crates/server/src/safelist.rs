//! The safelist: identifiers that never link reports. scamtrail ships one (`data/safelist.tsv`,
//! compiled in) and an operator may add a file of the same form (`--safelist-file`). Each value is
//! normalised like a victim's, so the file may hold values as people write them. A line that does
//! not read or normalise stops the server at start: a safelist that silently lost an entry would
//! link reports it was meant to keep apart.

use std::path::Path;

use scamtrail_normalize::{Hint, KindHint, Normalizer};
use scamtrail_store::IdentifierDecision;

/// The safelist shipped with scamtrail.
pub const SHIPPED: &str = include_str!("../data/safelist.tsv");

/// A safelist line that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{source_name} line {line}: {message}")]
pub struct SafelistError {
    /// The file (or `shipped safelist`).
    pub source_name: String,
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads a safelist (tab-separated kind, value, reason; `#` comments and blank lines skipped)
/// and normalises every value.
pub fn parse(text: &str, source_name: &str, normalizer: &Normalizer) -> Result<Vec<IdentifierDecision>, SafelistError> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let error = |message: String| SafelistError { source_name: source_name.to_owned(), line: index + 1, message };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let mut columns = line.split('\t');
        let (Some(kind), Some(value), Some(reason), None) =
            (columns.next(), columns.next(), columns.next(), columns.next())
        else {
            return Err(error("expected three tab-separated columns: kind, value, reason".into()));
        };
        let kind: KindHint = kind.trim().parse().map_err(|_| error(format!("unknown kind {kind:?}")))?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(error("the reason is empty".into()));
        }
        let id = normalizer
            .normalize(value.trim(), &Hint::kind(kind))
            .map_err(|r| error(format!("{value:?} does not normalise: {}", r.message)))?;
        entries.push(IdentifierDecision {
            key: id.key,
            kind: id.kind.as_str().to_owned(),
            display: id.display,
            reason: reason.to_owned(),
        });
    }
    Ok(entries)
}

/// The shipped safelist plus an operator's file, if given.
pub fn load(extra: Option<&Path>, normalizer: &Normalizer) -> anyhow::Result<Vec<IdentifierDecision>> {
    let mut entries = parse(SHIPPED, "shipped safelist", normalizer)?;
    if let Some(path) = extra {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read safelist file {}: {e}", path.display()))?;
        entries.extend(parse(&text, &path.display().to_string(), normalizer)?);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scamtrail_normalize::NormalizerConfig;

    fn normalizer() -> Normalizer {
        Normalizer::new(NormalizerConfig { card_mac_key: b"test".to_vec() })
    }

    #[test]
    fn the_shipped_safelist_reads_whole() {
        let entries = parse(SHIPPED, "shipped", &normalizer()).unwrap();
        let data_lines = SHIPPED.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).count();
        assert_eq!(entries.len(), data_lines);
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        for expected in ["domain:binance.com", "evm:0x28c6c06298d514db089934071355e5743bf21d60", "tel:+443001232040"] {
            assert!(keys.contains(&expected), "{expected} not in {keys:?}");
        }
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = parse("website\tgoogle.com\tok\niban\tDE00 nonsense\twhy\n", "f.tsv", &normalizer()).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("f.tsv line 2:"), "{err}");
        let err = parse("website\tgoogle.com\n", "f.tsv", &normalizer()).unwrap_err();
        assert!(err.message.contains("three"), "{err}");
        let err = parse("nonsense\tx\ty\n", "f.tsv", &normalizer()).unwrap_err();
        assert!(err.message.contains("unknown kind"), "{err}");
    }
}

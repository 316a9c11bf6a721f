//! The deployment's tag vocabulary (`--tag-vocabulary-file`): the tags and tag families
//! (`campaign:*`) investigators may put on clusters. Without the file every well-formed tag is
//! taken. A line that does not read stops the server at start, naming the file and the line.

use std::path::Path;

use scamtrail_core::TagVocabulary;

/// The largest vocabulary file read (a vocabulary is a few hundred lines).
const MAX_BYTES: u64 = 1 << 20;

/// The vocabulary in the file at `path`, or the open vocabulary without one.
pub fn load(path: Option<&Path>) -> anyhow::Result<TagVocabulary> {
    let Some(path) = path else { return Ok(TagVocabulary::default()) };
    let shown = path.display();
    let size = std::fs::metadata(path).map_err(|e| anyhow::anyhow!("cannot read tag vocabulary {shown}: {e}"))?.len();
    anyhow::ensure!(size <= MAX_BYTES, "the tag vocabulary {shown} is larger than 1 MiB");
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read tag vocabulary {shown}: {e}"))?;
    let vocabulary = TagVocabulary::parse(&text).map_err(|e| anyhow::anyhow!("tag vocabulary {shown} {e}"))?;
    anyhow::ensure!(!vocabulary.is_open(), "the tag vocabulary {shown} names no tag");
    Ok(vocabulary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_and_a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("tags.txt");
        std::fs::write(&good, "# campaigns\ncampaign:*\nbank:reply-awaited\n").unwrap();
        let v = load(Some(&good)).unwrap();
        assert!(v.allows(&scamtrail_core::Tag::parse("campaign:x").unwrap()));
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "campaign:*\nno good\n").unwrap();
        let err = load(Some(&bad)).unwrap_err().to_string();
        assert!(err.contains("bad.txt line 2"), "{err}");
        assert!(load(Some(&dir.path().join("missing.txt"))).is_err());
        assert!(load(None).unwrap().is_open());
    }
}

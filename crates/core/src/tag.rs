//! Tags investigators put on clusters (`campaign:operation-tulip`, `bank:reply-awaited`): free
//! form within a small alphabet, so that a tag reads the same in every list and filters match it
//! exactly. Lower-case letters, digits, `:`, `-` and `.`: no space, no capital that would make
//! `Campaign:Tulip` a second tag, and no `_` or `%`, which SQL's `LIKE` would read as wildcards.

use std::fmt;

/// Longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 64;

/// Most tags one cluster carries.
pub const TAGS_PER_CLUSTER_MAX: usize = 32;

/// A tag on a cluster, as read by [`Tag::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

/// Why a text is not a tag; `code` is the stable reason a rejection names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// Empty after trimming.
    #[error("a tag is not empty")]
    Empty,
    /// Over `TAG_MAX_CHARS`.
    #[error("a tag has at most 64 characters")]
    TooLong,
    /// A character outside the alphabet.
    #[error("a tag has lower-case letters, digits, ':', '-' and '.' only, such as campaign:operation-tulip")]
    InvalidCharacters,
}

impl TagError {
    /// The stable reason code of a rejection.
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "REQUIRED",
            Self::TooLong => "TOO_LONG",
            Self::InvalidCharacters => "INVALID_CHARACTERS",
        }
    }
}

impl Tag {
    /// Reads a tag, trimmed; upper-case ASCII letters are lowered (a tag typed `Campaign:Tulip` is
    /// `campaign:tulip`).
    pub fn parse(text: &str) -> Result<Self, TagError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TagError::Empty);
        }
        if text.chars().count() > TAG_MAX_CHARS {
            return Err(TagError::TooLong);
        }
        let tag = text.to_ascii_lowercase();
        if !tag.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'-' | b'.')) {
            return Err(TagError::InvalidCharacters);
        }
        Ok(Self(tag))
    }

    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A deployment's vocabulary of tags: the tags investigators may put on clusters, each named
/// whole (`bank:reply-awaited`) or as a family (`campaign:*`, any tag starting `campaign:`).
/// Empty (the default) allows every tag. Taking a tag off is always allowed, so that a tag put on
/// before the vocabulary was narrowed can be cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagVocabulary {
    whole: std::collections::BTreeSet<Tag>,
    families: Vec<String>,
}

/// Why a vocabulary's text does not read: the line (from 1) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct VocabularyError {
    /// The line, from 1.
    pub line: usize,
    /// Why it does not read.
    pub reason: String,
}

impl TagVocabulary {
    /// Reads a vocabulary: one tag or family (`campaign:*`) a line; blank lines and lines
    /// starting with `#` are skipped.
    pub fn parse(text: &str) -> Result<Self, VocabularyError> {
        let mut out = Self::default();
        for (i, line) in text.lines().enumerate() {
            let entry = line.trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let error = |e: TagError| VocabularyError { line: i + 1, reason: format!("{entry:?}: {e}") };
            match entry.strip_suffix('*') {
                Some(family) => out.families.push(Tag::parse(family).map_err(error)?.0),
                None => {
                    out.whole.insert(Tag::parse(entry).map_err(error)?);
                }
            }
        }
        Ok(out)
    }

    /// Whether every tag is allowed (no vocabulary configured).
    pub fn is_open(&self) -> bool {
        self.whole.is_empty() && self.families.is_empty()
    }

    /// Whether investigators may put `tag` on a cluster.
    pub fn allows(&self, tag: &Tag) -> bool {
        self.is_open() || self.whole.contains(tag) || self.families.iter().any(|f| tag.as_str().starts_with(f.as_str()))
    }

    /// The vocabulary in words, for a refusal: its first entries (families with their `*`).
    pub fn describe(&self) -> String {
        const SHOWN: usize = 8;
        let entries: Vec<String> =
            self.families.iter().map(|f| format!("{f}*")).chain(self.whole.iter().map(|t| t.0.clone())).collect();
        let more = entries.len().saturating_sub(SHOWN);
        let mut text = entries.into_iter().take(SHOWN).collect::<Vec<_>>().join(", ");
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_in_one_form() {
        assert_eq!(Tag::parse(" Campaign:Operation-Tulip ").unwrap().as_str(), "campaign:operation-tulip");
        assert_eq!(Tag::parse("bank.reply-2026").unwrap().to_string(), "bank.reply-2026");
        assert_eq!(Tag::parse(&"a".repeat(64)).unwrap().as_str().len(), 64);
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        assert_eq!(Tag::parse("  "), Err(TagError::Empty));
        assert_eq!(Tag::parse(&"a".repeat(65)), Err(TagError::TooLong));
        for bad in ["a b", "a_b", "50%", "é", "tag,other", "x;y"] {
            assert_eq!(Tag::parse(bad), Err(TagError::InvalidCharacters), "{bad}");
        }
        assert_eq!(TagError::InvalidCharacters.code(), "INVALID_CHARACTERS");
    }

    #[test]
    fn a_vocabulary_allows_its_tags_and_families_only() {
        let v = TagVocabulary::parse("# ours\ncampaign:*\n\nbank:reply-awaited\n").unwrap();
        let tag = |t: &str| Tag::parse(t).unwrap();
        assert!(v.allows(&tag("campaign:operation-tulip")) && v.allows(&tag("bank:reply-awaited")));
        assert!(!v.allows(&tag("bank:reply")) && !v.allows(&tag("campaigns")));
        assert_eq!(v.describe(), "campaign:*, bank:reply-awaited");
        assert!(TagVocabulary::default().allows(&tag("anything")) && TagVocabulary::default().is_open());
        let err = TagVocabulary::parse("campaign:*\nTwo Words\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }
}

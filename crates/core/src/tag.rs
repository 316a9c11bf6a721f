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
}

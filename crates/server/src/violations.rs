//! Field violations: every bad field of a request, collected before answering, so that a
//! frontend can mark all of them at once. Each has a stable reason code a frontend can translate
//! and an English description.
//!
//! What a rejection carries is bounded whatever the request: at most [`LISTED_MAX`] violations are
//! kept (the rest are only counted), and every description is cut to [`DESCRIPTION_MAX_CHARS`].
//! A request of a million bad entries therefore costs a few kilobytes of answer, not megabytes.

/// Violations listed in one rejection at most; further ones are counted, not kept.
pub const LISTED_MAX: usize = 100;
/// Characters of one violation's description at most.
pub const DESCRIPTION_MAX_CHARS: usize = 200;

/// One bad field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The dotted path of the field in the request, e.g. `report.payments[0].currency`.
    pub field: String,
    /// Stable SCREAMING_SNAKE reason, e.g. `CURRENCY_UNKNOWN`.
    pub reason: &'static str,
    /// English description.
    pub description: String,
}

/// The violations found so far in one request: the first [`LISTED_MAX`], and a count of the rest.
#[derive(Debug, Default)]
pub struct Violations {
    listed: Vec<Violation>,
    unlisted: usize,
}

impl Violations {
    /// Records one bad field.
    pub fn add(&mut self, field: impl Into<String>, reason: &'static str, description: impl Into<String>) {
        if self.listed.len() >= LISTED_MAX {
            self.unlisted = self.unlisted.saturating_add(1);
            return;
        }
        let mut description = description.into();
        if let Some((cut, _)) = description.char_indices().nth(DESCRIPTION_MAX_CHARS) {
            description.truncate(cut);
        }
        self.listed.push(Violation { field: field.into(), reason, description });
    }

    /// Records a `REQUIRED` violation.
    pub fn required(&mut self, field: impl Into<String>) {
        self.add(field, "REQUIRED", "this field is required");
    }

    /// Checks a length in characters, recording `TOO_LONG` when over. Counting stops past the
    /// bound, so an oversized value costs no more than a bounded one.
    pub fn max_chars(&mut self, field: impl Into<String>, value: &str, max: usize) {
        if !within_chars(value, max) {
            self.add(field, "TOO_LONG", format!("at most {max} characters"));
        }
    }

    /// Checks a count of items, recording `TOO_MANY` when over.
    pub fn max_items(&mut self, field: impl Into<String>, count: usize, max: usize) {
        if count > max {
            self.add(field, "TOO_MANY", format!("at most {max} items"));
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// The violations kept, in the order they were found.
    pub fn listed(&self) -> &[Violation] {
        &self.listed
    }

    /// How many violations were found beyond those listed.
    pub fn unlisted(&self) -> usize {
        self.unlisted
    }

    /// `Ok(value)` when nothing was recorded, else the violations.
    pub fn finish<T>(self, value: T) -> Result<T, Violations> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

/// Whether `value` has at most `max` characters, looking at no more than `max + 1` of them.
pub fn within_chars(value: &str, max: usize) -> bool {
    // A UTF-8 character takes at least one byte and at most four.
    value.len() <= max || (value.len() <= max.saturating_mul(4) && value.chars().nth(max).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_violations_keeps_the_first_hundred_and_counts_the_rest() {
        let mut v = Violations::default();
        for i in 0..1_000_000 {
            v.add(format!("report.contact_channels[{i}]"), "UNKNOWN_VALUE", "x".repeat(10_000));
        }
        assert_eq!(v.listed().len(), LISTED_MAX);
        assert_eq!(v.unlisted(), 1_000_000 - LISTED_MAX);
        assert_eq!(v.listed()[99].field, "report.contact_channels[99]");
        assert!(v.listed().iter().all(|x| x.description.chars().count() == DESCRIPTION_MAX_CHARS));
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        assert!(within_chars("", 0));
        assert!(within_chars("ééé", 3));
        assert!(!within_chars("éééé", 3));
        assert!(!within_chars(&"a".repeat(1 << 20), 20_000));
        assert!(within_chars(&"€".repeat(20_000), 20_000));
        assert!(!within_chars(&"€".repeat(20_001), 20_000));
        let mut v = Violations::default();
        v.max_chars("narrative", &"€".repeat(20_001), 20_000);
        assert_eq!(v.listed()[0].reason, "TOO_LONG");
    }
}

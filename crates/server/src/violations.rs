//! Field violations: every bad field of a request, collected before answering, so that a
//! frontend can mark all of them at once. Each has a stable reason code a frontend can translate
//! and an English description.

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

/// The violations found so far in one request.
#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// Records one bad field.
    pub fn add(&mut self, field: impl Into<String>, reason: &'static str, description: impl Into<String>) {
        self.0.push(Violation { field: field.into(), reason, description: description.into() });
    }

    /// Records a `REQUIRED` violation.
    pub fn required(&mut self, field: impl Into<String>) {
        self.add(field, "REQUIRED", "this field is required");
    }

    /// Checks a length in characters, recording `TOO_LONG` when over.
    pub fn max_chars(&mut self, field: impl Into<String>, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, "TOO_LONG", format!("at most {max} characters"));
        }
    }

    /// Checks a count of items, recording `TOO_MANY` when over.
    pub fn max_items(&mut self, field: impl Into<String>, count: usize, max: usize) {
        if count > max {
            self.add(field, "TOO_MANY", format!("at most {max} items"));
        }
    }

    /// Every violation recorded.
    pub fn into_violations(self) -> Vec<Violation> {
        self.0
    }

    /// `Ok(value)` when nothing was recorded, else every violation.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<Violation>> {
        if self.0.is_empty() { Ok(value) } else { Err(self.0) }
    }
}

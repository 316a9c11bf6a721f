//! Instants as microseconds since the Unix epoch: one integer, the same on SQLite and PostgreSQL,
//! ordered and compared without time-zone surprises.

/// An instant in microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMicros(pub i64);

impl UnixMicros {
    /// The current instant from the system clock.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self(i64::try_from(since.as_micros()).unwrap_or(i64::MAX))
    }

    /// Builds an instant from seconds and nanoseconds, as protobuf's `Timestamp` carries them;
    /// `None` when the nanoseconds are out of range or the instant does not fit.
    pub fn from_seconds_nanos(seconds: i64, nanos: i32) -> Option<Self> {
        if !(0..1_000_000_000).contains(&nanos) {
            return None;
        }
        seconds.checked_mul(1_000_000)?.checked_add(i64::from(nanos / 1_000)).map(Self)
    }

    /// Splits the instant into seconds and nanoseconds.
    pub fn to_seconds_nanos(self) -> (i64, i32) {
        let seconds = self.0.div_euclid(1_000_000);
        // rem_euclid of 1_000_000 always fits an i32 once scaled to nanoseconds.
        let nanos = (self.0.rem_euclid(1_000_000) * 1_000) as i32;
        (seconds, nanos)
    }

    /// This instant moved by a number of seconds (saturating).
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }
}

#[cfg(test)]
mod tests {
    use super::UnixMicros;

    #[test]
    fn seconds_and_nanos_round_trip_including_before_the_epoch() {
        for (s, n) in [(0, 0), (1_700_000_000, 123_456_000), (-1, 999_999_000), (-86_400, 0)] {
            let t = UnixMicros::from_seconds_nanos(s, n).expect("in range");
            assert_eq!(t.to_seconds_nanos(), (s, n));
        }
    }

    #[test]
    fn out_of_range_parts_are_refused() {
        assert_eq!(UnixMicros::from_seconds_nanos(0, -1), None);
        assert_eq!(UnixMicros::from_seconds_nanos(0, 1_000_000_000), None);
        assert_eq!(UnixMicros::from_seconds_nanos(i64::MAX, 0), None);
    }
}

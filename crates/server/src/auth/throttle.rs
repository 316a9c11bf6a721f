//! Abuse limits: token-bucket rate limits per key and per peer address (governor), and an
//! exponential back-off after repeated failures on one account or one report reference.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// A rate: calls per second, and how many may come at once after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained calls per second; 0 turns the limit off.
    pub per_second: u32,
    /// Burst allowance.
    pub burst: u32,
}

/// A rate limit per key (an API key, a peer address, an account).
pub struct Limiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl Limiter {
    /// A limiter at `rate`; `per_second == 0` never limits.
    pub fn new(rate: Rate) -> Self {
        let limiter = NonZeroU32::new(rate.per_second).map(|per_second| {
            let burst = NonZeroU32::new(rate.burst.max(rate.per_second)).unwrap_or(per_second);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
        });
        Self { limiter }
    }

    /// Takes one call for `key`; `Err(wait)` when over the limit.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        let outcome = limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).max(Duration::from_millis(1)));
        // Forget idle keys now and then, so a scan from many addresses does not grow memory forever.
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        outcome
    }
}

/// Failures before the back-off starts.
const FREE_FAILURES: u32 = 5;
/// The longest wait after repeated failures.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most; the oldest are dropped beyond.
const MAX_KEYS: usize = 100_000;

/// Counts failures per key (an account name, a report reference) and, after
/// [`FREE_FAILURES`], makes each further attempt wait twice as long as the last, up to
/// [`MAX_WAIT`]; a success forgets the key. A token bucket would also slow the owner's own
/// successful attempts and would never lengthen the wait, which is what stops guessing, so this
/// small counter is written here rather than taken from a rate-limit crate.
#[derive(Default)]
pub struct Backoff {
    state: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Backoff {
    /// `Err(wait)` while `key` must wait before its next attempt.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.get(key) {
            Some(&(_, until)) if until > Instant::now() => Err(until - Instant::now()),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, key: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.len() >= MAX_KEYS {
            let now = Instant::now();
            state.retain(|_, (_, until)| *until > now);
            if state.len() >= MAX_KEYS {
                state.clear();
            }
        }
        let entry = state.entry(key.to_owned()).or_insert((0, Instant::now()));
        entry.0 += 1;
        if entry.0 >= FREE_FAILURES {
            let doublings = (entry.0 - FREE_FAILURES).min(20);
            let wait = Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
            entry.1 = Instant::now() + wait;
        }
    }

    /// Forgets a key after a success.
    pub fn succeeded(&self, key: &str) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limiter_allows_its_burst_then_refuses_with_a_wait() {
        let limiter = Limiter::new(Rate { per_second: 1, burst: 3 });
        for _ in 0..3 {
            assert!(limiter.check("10.0.0.1").is_ok());
        }
        let wait = limiter.check("10.0.0.1").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.check("10.0.0.2").is_ok(), "other keys are not affected");
        let off = Limiter::new(Rate { per_second: 0, burst: 0 });
        assert!((0..1000).all(|_| off.check("k").is_ok()));
    }

    #[test]
    fn backoff_starts_after_free_failures_and_doubles() {
        let b = Backoff::default();
        for _ in 0..FREE_FAILURES - 1 {
            b.failed("ann");
            assert!(b.check("ann").is_ok());
        }
        b.failed("ann");
        let first = b.check("ann").unwrap_err();
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(500), "{first:?}");
        b.failed("ann");
        let second = b.check("ann").unwrap_err();
        assert!(second > Duration::from_millis(1500), "{second:?}");
        assert!(b.check("bob").is_ok());
        b.succeeded("ann");
        assert!(b.check("ann").is_ok());
    }
}
